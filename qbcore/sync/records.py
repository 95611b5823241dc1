"""Sync records: one per billing record, created in bulk where missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from qbcore.db import rows_changed
from qbcore.entities.registry import ENTITIES
from qbcore.models import SyncRecord, SyncStatus


def ensure_sync_records(session: Session) -> int:
    """Insert a never-synced record for every billing record that has none; returns how many."""
    added = 0
    model: Any
    for spec in ENTITIES:
        entity_type, model = spec.entity_type, spec.model
        missing = (
            select(literal(entity_type.value), model.id, literal(SyncStatus.NEVER_SYNCED.value), literal(0))
            .where(~select(SyncRecord.id).where(
                SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id == model.id
            ).exists(), *spec.syncs_only)
        )
        result = session.execute(
            insert(SyncRecord).from_select(["entity_type", "entity_id", "status", "attempts"], missing)
        )
        added += rows_changed(result)
    return added
