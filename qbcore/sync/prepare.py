"""Building each record's QuickBooks payload before any call: blocked, failed, unchanged or ready to send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.errors import ErrorKind, MappingError
from qbcore.mapping.common import hash_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import EntityType, SyncRecord, SyncStatus
from qbcore.qbo.faults import classify_local
from qbcore.settings import SyncSettings
from qbcore.sync.context import build_refs, ensure_branch_refs, load_billing_rows
from qbcore.sync.plan import Phase
from qbcore.sync.remove import voided_send
from qbcore.sync.run import Run
from qbcore.sync.steps import MAPPING_PREFIXES, Send, record_blocked, record_synced, record_unchanged

# A record already in QuickBooks with this payload needs no call while it is in one of these statuses.
_UNCHANGED_OK = (SyncStatus.SYNCED.value, SyncStatus.PENDING.value, SyncStatus.OUT_OF_DATE.value,
                 SyncStatus.FAILED.value, SyncStatus.BLOCKED.value)


def build_payload(entity_type: EntityType, row: Any, settings: SyncSettings, refs: QboRefs,
                  extras: dict[str, Any]) -> dict[str, Any]:
    """The QuickBooks JSON of one billing row (MappingError when it cannot be built)."""
    return spec_for(entity_type).build_payload(row, settings, refs, extras)


def enabled_types(settings: SyncSettings) -> set[EntityType]:
    """Entity types the settings let sync (items always: invoices need them)."""
    return {spec.entity_type for spec in ENTITIES if spec.is_enabled(settings)}


def load_extras(session: Session, entity_type: EntityType, rows: dict[int, Any], company_id: int) -> dict[str, Any]:
    """What an entity's payload builder needs beyond its own rows (the company's item mappings, applied documents)."""
    load = spec_for(entity_type).load_extras
    return load(session, rows, company_id) if load is not None else {}


def prepare(run: Run, phase: Phase) -> list[Send]:
    """Build payloads; records that cannot be built are blocked or failed here, without a call."""
    entity_type = phase.entity_type
    spec = spec_for(entity_type)
    sends: list[Send] = []
    with run.factory() as session:
        # Only this company's records: a run never posts a record into another company's QuickBooks.
        records = list(session.scalars(select(SyncRecord).where(SyncRecord.id.in_(phase.record_ids),
                                                                SyncRecord.company_id == run.company_id)))
        rows = load_billing_rows(session, entity_type, [r.entity_id for r in records])
        if spec.sales_form:
            branches = {row.customer.branch for row in rows.values() if row.customer and row.customer.branch}
            ensure_branch_refs(run.gateway, run.lists, run.settings, branches)
        refs = build_refs(session, run.lists, run.settings, run.company_id)
        extras = load_extras(session, entity_type, rows, run.company_id)
        for record in records:
            row = rows.get(record.entity_id)
            if row is None:
                run.fail(record.id, classify_local(ErrorKind.MAPPING, "The billing record no longer exists"))
                continue
            if spec.voidable is not None and spec.voidable.is_void(row):
                removal = voided_send(run, spec, record, row, refs)
                if removal is not None:
                    sends.append(removal)
                continue
            name = spec.record_name(row)
            mapping = extras.get("item_mappings", {}).get(row.id) if entity_type is EntityType.ITEM else None
            if mapping is not None and mapping.qbo_item_id and record.qbo_id == mapping.qbo_item_id:
                record_unchanged(run.factory, record.id)  # a hand-mapped item is never rewritten by us
                run.tally.add("skipped")
                continue
            if mapping is not None and mapping.qbo_item_id:
                # Mapped by hand in Settings: that QuickBooks item is the twin; nothing to create.
                send = Send(record_id=record.id, entity_type=entity_type, entity_id=record.entity_id,
                            name=str(row.code), payload={}, payload_hash="mapped")
                record_synced(run.factory, send, qbo_id=mapping.qbo_item_id, sync_token=None,
                              job_id=run.job_id, outcome="mapped")
                run.tally.add("synced")
                continue
            try:
                payload = build_payload(entity_type, row, run.settings, refs, extras)
            except MappingError as exc:
                record_blocked(run.factory, record.id, blocked_by=exc.blocked_by, message=exc.message,
                               job_id=run.job_id)
                is_mapping = not exc.blocked_by or exc.blocked_by.startswith(MAPPING_PREFIXES)
                run.tally.add("blocked" if exc.blocked_by else "failed",
                              (ErrorKind.MAPPING if is_mapping else ErrorKind.DEPENDENCY).value)
                continue
            payload_hash = hash_payload(payload)
            if record.qbo_id and record.payload_hash == payload_hash and record.status in _UNCHANGED_OK:
                record_unchanged(run.factory, record.id)
                run.tally.add("skipped")
                continue
            sends.append(Send(record_id=record.id, entity_type=entity_type, entity_id=record.entity_id,
                              name=str(name), payload=payload, payload_hash=payload_hash,
                              update=bool(record.qbo_id), qbo_id=record.qbo_id,
                              sync_token=record.qbo_sync_token, request_id=record.request_id,
                              attempts=record.attempts or 0))
    return sends
