"""Queries the entity modules share: chunked look-ups, and when a record was last synced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, func, null, select
from sqlalchemy.orm import Session

from qbcore.models import EntityType, SyncRecord, SyncStatus

CHUNK = 900  # below SQLite's bound-parameter limit
TEXT = String(200)
NO_TEXT = cast(null(), TEXT)


def aware(moment: datetime | None) -> datetime | None:
    """A stored moment as UTC (SQLite hands timezone-aware columns back naive)."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def chunked_scalars(session: Session, ids: list[int], build: Callable[[list[int]], Any]) -> set[int]:
    """The non-null scalars of build(chunk) over every chunk of ids."""
    out: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        out.update(v for v in session.scalars(build(ids[start:start + CHUNK])) if v is not None)
    return out


def synced_at(session: Session, entity_type: EntityType, entity_ids: Any) -> datetime | None:
    """When the newest of these billing records was synced (with a QuickBooks id), as UTC."""
    return aware(session.scalar(select(func.max(SyncRecord.last_synced_at)).where(
        SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(entity_ids),
        SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None))))

