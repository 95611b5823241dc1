"""Sync records: one per billing record and QuickBooks company it goes to, created in bulk where missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, insert, literal, select, true
from sqlalchemy.orm import Session

from qbcore.db import rows_changed
from qbcore.entities.registry import ENTITIES
from qbcore.models import Company, SyncRecord, SyncStatus


def ensure_sync_records(session: Session) -> int:
    """Insert a never-synced record for every billing record (in each company it goes to) that has none."""
    added = 0
    model: Any
    for spec in ENTITIES:
        entity_type, model = spec.entity_type, spec.model
        route = spec.company_route() if spec.company_route is not None else true()
        same = and_(SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id == model.id)
        # A document that already has a record keeps it, in its company, even after its customer moved away.
        existing = and_(same, SyncRecord.company_id == Company.id) if spec.linked_in_each_company else same
        missing = (
            select(Company.id, literal(entity_type.value), model.id, literal(SyncStatus.NEVER_SYNCED.value),
                   literal(0))
            .select_from(model).join(Company, route)
            .where(~select(SyncRecord.id).where(existing).exists(), *spec.syncs_only)
        )
        result = session.execute(
            insert(SyncRecord).from_select(["company_id", "entity_type", "entity_id", "status", "attempts"], missing)
        )
        added += rows_changed(result)
    return added
