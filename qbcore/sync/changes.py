"""Finding edits: synced records whose billing data no longer builds the payload QuickBooks has become OUT_OF_DATE."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.errors import MappingError
from qbcore.mapping.common import hash_payload
from qbcore.models import EntityType, SyncRecord, SyncStatus
from qbcore.settings import SyncSettings
from qbcore.sync.context import NameLists, build_refs, load_billing_rows
from qbcore.sync.prepare import build_payload, load_extras


def detect_changes(factory: sessionmaker[Session], settings: SyncSettings, lists: NameLists,
                   entity_types: Sequence[EntityType], company_id: int) -> int:
    """Mark a company's synced records whose billing data changed since their sync OUT_OF_DATE; returns how many."""
    wanted = set(entity_types)
    changed = 0
    for entity_type in (spec.entity_type for spec in ENTITIES if spec.entity_type in wanted):
        with factory() as session:
            synced = session.execute(select(SyncRecord.id, SyncRecord.entity_id, SyncRecord.payload_hash).where(
                SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
                SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None))).all()
            refs = build_refs(session, lists, settings, company_id)
            extras = load_extras(session, entity_type, {}, company_id)
            stale: list[int] = []
            for start in range(0, len(synced), 1000):
                chunk = synced[start:start + 1000]
                rows = load_billing_rows(session, entity_type, [eid for _, eid, _ in chunk])
                if spec_for(entity_type).extras_from_rows:
                    extras = load_extras(session, entity_type, rows, company_id)
                voidable = spec_for(entity_type).voidable
                for record_id, entity_id, old_hash in chunk:
                    row = rows.get(entity_id)
                    if row is not None and voidable is not None and voidable.is_void(row):
                        stale.append(record_id)  # voided in billing: its twin goes from QuickBooks
                        continue
                    try:
                        new_hash = hash_payload(build_payload(entity_type, row, settings, refs, extras)) \
                            if row is not None else None
                    except MappingError:
                        new_hash = None
                    if new_hash != old_hash and old_hash != "mapped":
                        stale.append(record_id)
        with factory() as session, session.begin():
            for start in range(0, len(stale), 900):
                session.execute(update(SyncRecord).where(SyncRecord.id.in_(stale[start:start + 900]))
                                .values(status=SyncStatus.OUT_OF_DATE.value))
        changed += len(stale) + _unvoided(factory, entity_type, company_id)
    return changed


def _unvoided(factory: sessionmaker[Session], entity_type: EntityType, company_id: int) -> int:
    """Records whose bill was deleted after a void, their billing row no longer void: they sync afresh."""
    spec = spec_for(entity_type)
    if spec.voidable is None:
        return 0
    with factory() as session, session.begin():
        removed = session.execute(select(SyncRecord.id, SyncRecord.entity_id).where(
            SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
            SyncRecord.status == SyncStatus.REMOVED.value)).all()
        if not removed:
            return 0
        rows = load_billing_rows(session, entity_type, [eid for _, eid in removed])
        back = [rid for rid, eid in removed if eid in rows and not spec.voidable.is_void(rows[eid])]
        for start in range(0, len(back), 900):
            session.execute(update(SyncRecord).where(SyncRecord.id.in_(back[start:start + 900])).values(
                status=SyncStatus.NEVER_SYNCED.value, request_id=None, payload_hash=None, attempts=0))
    return len(back)
