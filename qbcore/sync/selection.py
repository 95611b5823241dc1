"""Which sync records a run picks up: the chosen ones plus the unsynced records they depend on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.entities.registry import ENTITIES
from qbcore.models import PROBLEM_STATUSES, EntityType, SyncRecord

WAITING = tuple(s.value for s in PROBLEM_STATUSES)


def select_record_ids(session: Session, *, entity_types: Sequence[EntityType] | None = None,
                      record_ids: Sequence[int] | None = None, company_id: int | None = None) -> list[int]:
    """Records waiting to sync (never synced, pending, failed, blocked, out of date) among the chosen ones."""
    query = select(SyncRecord.id).where(SyncRecord.status.in_(WAITING))
    if company_id is not None:
        query = query.where(SyncRecord.company_id == company_id)
    if entity_types:
        query = query.where(SyncRecord.entity_type.in_([e.value for e in entity_types]))
    if record_ids is not None:
        ids = list(record_ids)
        out: list[int] = []
        for chunk in chunked(ids, SQL_IN_CHUNK):
            out.extend(session.scalars(query.where(SyncRecord.id.in_(chunk))))
        return sorted(out)
    return list(session.scalars(query.order_by(SyncRecord.id)))


def _waiting_records(session: Session, company_id: int, entity_type: EntityType, entity_ids: Iterable[int]
                     ) -> set[int]:
    ids = list(set(entity_ids))
    found: set[int] = set()
    for chunk in chunked(ids, SQL_IN_CHUNK):
        found.update(session.scalars(select(SyncRecord.id).where(
            SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
            SyncRecord.entity_id.in_(chunk), SyncRecord.status.in_(WAITING))))
    return found


def records_by_company(session: Session, record_ids: Iterable[int]) -> dict[int, list[int]]:
    """The records grouped by the company they post to (each company is synced under its own lease)."""
    out: dict[int, list[int]] = {}
    for chunk in chunked(sorted(set(record_ids)), SQL_IN_CHUNK):
        for record_id, company_id in session.execute(select(SyncRecord.id, SyncRecord.company_id).where(
                SyncRecord.id.in_(chunk))):
            out.setdefault(company_id, []).append(record_id)
    return {company_id: sorted(ids) for company_id, ids in sorted(out.items())}


def _entity_ids(session: Session, record_ids: Iterable[int]) -> dict[EntityType, set[int]]:
    ids = list(record_ids)
    out: dict[EntityType, set[int]] = {spec.entity_type: set() for spec in ENTITIES}
    for chunk in chunked(ids, SQL_IN_CHUNK):
        for entity_type, entity_id in session.execute(select(SyncRecord.entity_type, SyncRecord.entity_id).where(
                SyncRecord.id.in_(chunk))):
            out[EntityType(entity_type)].add(entity_id)
    return out


def expand_dependencies(session: Session, record_ids: Sequence[int]) -> list[int]:
    """Add the waiting records the chosen ones need (an invoice's customer and items, a payment's invoices, …).

    What a record needs is looked for in its own company only: an invoice of the carrier file waits for the
    carrier file's customer and items, never the broker file's.
    """
    chosen: set[int] = set()
    for company_id, ids in records_by_company(session, record_ids).items():
        chosen |= _expand_in_company(session, company_id, ids)
    return sorted(chosen)


def _expand_in_company(session: Session, company_id: int, record_ids: Sequence[int]) -> set[int]:
    chosen = set(record_ids)
    needed = _entity_ids(session, chosen)
    # Latest in plan order first: what an entity needs is listed before it, so it is gathered before it is read.
    for spec in reversed(ENTITIES):
        ids = needed[spec.entity_type]
        if spec.needs is None or not ids:
            continue
        for entity_type, more in spec.needs(session, list(ids)).items():
            needed[entity_type] |= more
    for entity_type, ids in needed.items():
        chosen |= _waiting_records(session, company_id, entity_type, ids)
    return chosen
