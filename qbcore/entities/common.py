"""Queries the entity modules share: chunked look-ups, and when a record was last synced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Date, Numeric, String, cast, func, null, select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.models import EntityType, SyncRecord, SyncStatus

TEXT = String(200)
NO_TEXT = cast(null(), TEXT)
# Typed, so a union of views whose parts are each a subquery (PostgreSQL types a bare NULL there as text) still
# lines up with the money and date columns of the others.
NO_AMOUNT = cast(null(), Numeric(14, 2))
NO_DATE = cast(null(), Date)


def chunked_scalars(session: Session, ids: list[int], build: Callable[[list[int]], Any]) -> set[int]:
    """The non-null scalars of build(chunk) over every chunk of ids."""
    out: set[int] = set()
    for chunk in chunked(ids, SQL_IN_CHUNK):
        out.update(v for v in session.scalars(build(chunk)) if v is not None)
    return out


def synced_at(session: Session, entity_type: EntityType, entity_ids: Any,
              company_id: int | None = None) -> datetime | None:
    """When the newest of these billing records was synced (with a QuickBooks id), in one company or any, as UTC."""
    query = select(func.max(SyncRecord.last_synced_at)).where(
        SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(entity_ids),
        SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None))
    if company_id is not None:
        # An item synced in the broker file fixes nothing in the carrier file.
        query = query.where(SyncRecord.company_id == company_id)
    return session.scalar(query)

