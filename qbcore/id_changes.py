"""Changing QuickBooks links by hand: remove an id (forces a re-sync), override it (checked live), re-link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.config import ConfigError
from qbcore.entities.registry import spec_for
from qbcore.errors import QboCallError
from qbcore.id_matching import (
    TRANSACTIONS,
    compare_records,
    describe_consequence,
    find_mismatches,
    get_customer_ref,
    is_same_customer,
)
from qbcore.labels import SYNC_STATUS, label_entity
from qbcore.mapping.names import DISPLAY_NAME_MAX, clean_name
from qbcore.models import EntityType, Role, SyncRecord, SyncStatus, utcnow
from qbcore.qbo.gateway import QboGateway, is_qbo_id
from qbcore.qbo.lookup import (
    QboRecord,
    fetch_record,
    find_by_amount,
    find_by_doc_number,
    find_by_name,
)
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.queries.ids import LinkedRecord, find_record_linked_to, get_linked_record, list_linked_ids
from qbcore.refusals import Refusal, require_reason

REMOVE_WARNING = (
    "Removing a QuickBooks id breaks the link between the two systems. The record goes back to "
    f'"{SYNC_STATUS[SyncStatus.NEVER_SYNCED]}" and the next sync looks QuickBooks up by number or name: if the '
    "QuickBooks record still exists it is re-linked, otherwise a new one is created. If you deleted it in "
    "QuickBooks, that is what you want; if it still exists under another number or name, the next sync creates a "
    "duplicate. Payments and credit memos already applied in QuickBooks stay with the old record."
)
OVERRIDE_WARNING = (
    "Overriding a QuickBooks id points this record at another QuickBooks record. Future updates, payments and "
    "credit memos go to that record; the QuickBooks record it pointed at before is no longer updated. Check "
    "that the number, amount and date below are the ones you expect."
)

# What an admin types to link a record to a QuickBooks twin of another customer or amount.
OVERWRITE_WORD = "OVERWRITE"


class IdChangeRefused(Refusal, ValueError):
    """A QuickBooks id change cannot be made; the message says why, and nothing was changed."""

    correctable = True


@dataclass(frozen=True)
class IdChange:
    """One link changed: which record, and its QuickBooks id before and after."""

    record_id: int
    entity_type: EntityType
    label: str
    before_qbo_id: str | None
    after_qbo_id: str | None


@dataclass(frozen=True)
class OverrideCheck:
    """Our record next to the QuickBooks record a new id points at: what differs, and what the next sync does."""

    record: LinkedRecord
    qbo: QboRecord
    differences: tuple[str, ...]
    # A different customer or amount: probably another transaction, so linking needs OVERWRITE typed.
    mismatches: tuple[str, ...] = ()
    consequence: str = ""

    @property
    def needs_typed_confirmation(self) -> bool:
        """True when the QuickBooks record's customer or amount is not ours."""
        return bool(self.mismatches)


@dataclass(frozen=True)
class RelinkCandidate:
    """A QuickBooks record that may be this record's twin, why it was found, and whom it is linked to."""

    qbo: QboRecord
    reasons: tuple[str, ...]
    linked_record_id: int | None
    mismatches: tuple[str, ...] = ()
    linked_to: str | None = None  # our record it is linked to, as people call it ("invoice INV-100001")


def parse_qbo_id(text: str | None) -> str:
    """A QuickBooks id typed by a person, checked: a positive whole number, or IdChangeRefused."""
    value = (text or "").strip()
    if not is_qbo_id(value):
        raise IdChangeRefused(
            f"{value!r} is not a QuickBooks id: ids are positive whole numbers such as 145 (no letters, signs, "
            "decimals or spaces). Copy it from the record's address in QuickBooks (…?txnId=145). Nothing was changed."
        )
    return value


def _describe_ids(record_ids: Sequence[int]) -> str:
    """The refused targets for the audit log, within its 64-character target column."""
    text = ",".join(str(i) for i in record_ids)
    return text if len(text) <= 64 else f"{len(record_ids):,} records from {min(record_ids)}"


def _label(record: LinkedRecord) -> str:
    return f"{label_entity(record.entity_type).lower()} {record.number_or_name}"


def remove_qbo_ids(session: Session, actor: Actor, record_ids: Sequence[int], *, reason: str | None,
                   audit_factory: sessionmaker[Session] | None = None) -> list[IdChange]:
    """Clear the QuickBooks id of each record (admin only) so it re-syncs; one audit event per record."""
    require_role(actor, Role.ADMIN, "remove_qbo_id", session=session, audit_factory=audit_factory,
                 target_type="sync_records",
                 target_id=_describe_ids(record_ids))
    text = require_reason(reason, "remove a QuickBooks id", refusal=IdChangeRefused)
    ids = list(dict.fromkeys(int(i) for i in record_ids))
    if not ids:
        raise IdChangeRefused("Select at least one record. Nothing was changed.")
    records: list[SyncRecord] = []
    for chunk in chunked(ids, SQL_IN_CHUNK):
        records.extend(session.scalars(select(SyncRecord).where(SyncRecord.id.in_(chunk))))
    linked = [r for r in records if r.qbo_id]
    if not linked:
        raise IdChangeRefused("None of the selected records has a QuickBooks id. Nothing was changed.")
    changes = []
    for record in sorted(linked, key=lambda r: r.id):
        before = {"qbo_id": record.qbo_id, "qbo_sync_token": record.qbo_sync_token, "status": str(record.status)}
        changes.append(IdChange(record.id, EntityType(record.entity_type), f"record {record.id}",
                                record.qbo_id, None))
        record.qbo_id = None
        record.qbo_sync_token = None
        # A reused requestid would make QuickBooks replay the old create and hand back the old id.
        record.request_id = None
        record.payload_hash = None
        record.status = SyncStatus.NEVER_SYNCED
        write_audit(session, actor, "remove_qbo_id", target_type=str(record.entity_type), target_id=record.id,
                    before=before, after={"qbo_id": None, "status": SyncStatus.NEVER_SYNCED.value}, reason=text)
    session.flush()
    return changes


def check_override(session: Session, gateway: QboGateway, record_id: int, new_qbo_id: str | None) -> OverrideCheck:
    """Validate a new id live: it exists in QuickBooks as our entity type, is ours, and is not linked elsewhere."""
    qbo_id = parse_qbo_id(new_qbo_id)
    record = get_linked_record(session, record_id)
    if record is None:
        raise IdChangeRefused(f"Record {record_id} no longer exists. Nothing was changed.")
    kind = label_entity(record.entity_type).lower()
    if record.qbo_id == qbo_id:
        raise IdChangeRefused(f"Our {_label(record)} is already linked to QuickBooks id {qbo_id}. Nothing was changed.")
    _refuse_if_linked_elsewhere(session, record, qbo_id)
    try:
        qbo = fetch_record(gateway, record.entity_type, qbo_id)
    except QboCallError as exc:
        raise IdChangeRefused(f"Could not check the id in QuickBooks: {exc.error.message} "
                              "Nothing was changed; try again.") from None
    except (NotConnected, ReconnectRequired, ConfigError) as exc:
        raise IdChangeRefused(f"Could not check the id in QuickBooks: {exc} Nothing was changed.") from None
    if qbo is None:
        raise IdChangeRefused(
            f"QuickBooks has no {kind} with id {qbo_id}. QuickBooks numbers each kind of record separately, so "
            f"this may be the id of a customer, payment or another kind of record. Nothing was changed."
        )
    customer = get_customer_ref(session, record)
    differences, identified = compare_records(record, qbo, customer)
    if not identified:
        raise IdChangeRefused(
            f"QuickBooks {kind} {qbo_id} does not look like our {_label(record)} ({'; '.join(differences)}). "
            "It is probably the id of another record. Nothing was changed."
        )
    return OverrideCheck(record=record, qbo=qbo, differences=tuple(differences),
                         mismatches=tuple(find_mismatches(record, qbo, customer)),
                         consequence=describe_consequence(record, qbo, differences))


def _audit_refusal(factory: sessionmaker[Session], actor: Actor, record_id: int, refusal: Refusal,
                   new_qbo_id: str | None) -> None:
    """Record a refused link in its own transaction (nothing else was written)."""
    with factory() as session, session.begin():
        write_audit(session, actor, "override_qbo_id", outcome="refused", target_type="sync_record",
                    target_id=record_id, after={"qbo_id": (new_qbo_id or "").strip()[:40]}, reason=refusal.why)


class TwinRefused(IdChangeRefused):
    """The QuickBooks record belongs to another of our records, or is another transaction not confirmed as ours."""


def override_qbo_id(factory: sessionmaker[Session], gateway: QboGateway, actor: Actor, record_id: int,
                    new_qbo_id: str | None, *, reason: str | None, confirmation: str | None = None) -> IdChange:
    """Point a record at another QuickBooks record (admin only), validated live again, audited before/after.

    A QuickBooks record of another customer or amount is linked only with OVERWRITE typed as the confirmation.
    """
    require_role(actor, Role.ADMIN, "override_qbo_id", audit_factory=factory, target_type="sync_record",
                 target_id=str(record_id))
    text = require_reason(reason, "override a QuickBooks id", refusal=IdChangeRefused)
    try:
        change = _override(factory, gateway, actor, record_id, new_qbo_id, text, confirmation)
    except TwinRefused as refusal:
        _audit_refusal(factory, actor, record_id, refusal, new_qbo_id)
        raise
    return change


def _refuse_if_linked_elsewhere(session: Session, record: LinkedRecord, qbo_id: str) -> None:
    other = find_record_linked_to(session, record.entity_type, qbo_id, record.company_id,
                                  other_than=record.record_id)
    if other is None:
        return
    owner = get_linked_record(session, other)
    owner_text = _label(owner) if owner is not None else f"record {other}"
    raise TwinRefused(
        f"QuickBooks {label_entity(record.entity_type).lower()} {qbo_id} is already linked to our {owner_text}. "
        "Two of our records cannot share one QuickBooks record: remove that link first, or pick another id. "
        "Nothing was changed."
    )


def _override(factory: sessionmaker[Session], gateway: QboGateway, actor: Actor, record_id: int,
              new_qbo_id: str | None, text: str, confirmation: str | None) -> IdChange:
    with factory() as session:
        ours = get_linked_record(session, record_id)
        if ours is not None and is_qbo_id((new_qbo_id or "").strip()):
            _refuse_if_linked_elsewhere(session, ours, (new_qbo_id or "").strip())
        check = check_override(session, gateway, record_id, new_qbo_id)
    if check.mismatches and (confirmation or "").strip().upper() != OVERWRITE_WORD:
        raise TwinRefused(
            f"QuickBooks {label_entity(check.record.entity_type).lower()} {check.qbo.qbo_id} is probably not "
            f"ours: {'; '.join(check.mismatches)}. {check.consequence} Type {OVERWRITE_WORD} to link it anyway. "
            "Nothing was changed."
        )
    with factory() as session, session.begin():
        record_row = session.get(SyncRecord, record_id)
        if record_row is None or record_row.qbo_id != check.record.qbo_id:
            raise IdChangeRefused("Someone changed this record's QuickBooks id a moment ago; reload and check "
                                  "again. Nothing was changed.")
        # Re-checked inside the transaction so two overrides cannot claim one QuickBooks record.
        _refuse_if_linked_elsewhere(session, check.record, check.qbo.qbo_id)
        record = record_row
        before = {"qbo_id": record.qbo_id, "qbo_sync_token": record.qbo_sync_token, "status": str(record.status)}
        record.qbo_id = check.qbo.qbo_id
        record.qbo_sync_token = check.qbo.sync_token
        record.request_id = None
        record.payload_hash = None
        record.error_kind = record.error_code = record.error_message = record.error_detail = None
        record.blocked_by = None
        if check.differences:
            # Ours differs from what QuickBooks holds: the next sync pushes an update onto the new twin.
            record.status = SyncStatus.OUT_OF_DATE
        else:
            record.status = SyncStatus.SYNCED
            record.last_synced_at = utcnow()
        write_audit(session, actor, "override_qbo_id", target_type=str(record.entity_type), target_id=record.id,
                    before=before,
                    after={"qbo_id": record.qbo_id, "qbo_sync_token": record.qbo_sync_token,
                           "status": str(record.status), "qbo_name": check.qbo.name,
                           "qbo_amount": None if check.qbo.amount is None else str(check.qbo.amount),
                           "differences": list(check.differences), "mismatches": list(check.mismatches),
                           "confirmed_overwrite": bool(check.mismatches)},
                    reason=text)
    return IdChange(record_id, check.record.entity_type, _label(check.record), check.record.qbo_id, check.qbo.qbo_id)


def find_relink_candidates(session: Session, gateway: QboGateway, record_id: int) -> list[RelinkCandidate]:
    """QuickBooks records that may be this record's twin: same number, name or amount; best matches first."""
    record = get_linked_record(session, record_id)
    if record is None:
        raise IdChangeRefused(f"Record {record_id} no longer exists.")
    found: dict[str, tuple[QboRecord, list[str]]] = {}

    def add(rows: list[QboRecord], reason: str) -> None:
        for row in rows:
            found.setdefault(row.qbo_id, (row, []))[1].append(reason)

    try:
        searched_by = spec_for(record.entity_type).searched_by
        if "number" in searched_by:
            add(find_by_doc_number(gateway, record.entity_type, record.number_or_name), "same number")
        if "name" in searched_by:
            name = clean_name(record.number_or_name, DISPLAY_NAME_MAX)
            add(find_by_name(gateway, record.entity_type, name), "similar name")
        if "amount" in searched_by and record.amount is not None:
            add(find_by_amount(gateway, record.entity_type, record.amount), "same amount")
    except QboCallError as exc:
        raise IdChangeRefused(f"Could not search QuickBooks: {exc.error.message}") from None
    except (NotConnected, ReconnectRequired, ConfigError) as exc:
        raise IdChangeRefused(f"Could not search QuickBooks: {exc}") from None
    linked = list_linked_ids(session, record.entity_type, list(found), record.company_id)
    customer = get_customer_ref(session, record)
    candidates = []
    for qbo, reasons in found.values():
        mismatches = find_mismatches(record, qbo, customer)
        if record.entity_type in TRANSACTIONS:
            if record.date is not None and qbo.date and qbo.date[:10] == record.date.isoformat():
                reasons.append("same date")
            if is_same_customer(customer, qbo):
                reasons.append("same customer")
        owner_id = linked.get(qbo.qbo_id)
        owner = None if owner_id is None else get_linked_record(session, owner_id)
        candidates.append(RelinkCandidate(qbo=qbo, reasons=tuple(reasons), linked_record_id=owner_id,
                                          mismatches=tuple(mismatches),
                                          linked_to=None if owner is None else _label(owner)))
    # Unlinked, no mismatch, many reasons, then the lowest id (the original rather than a later twin).
    return sorted(candidates, key=lambda c: (c.linked_record_id is not None, bool(c.mismatches), -len(c.reasons),
                                             int(c.qbo.qbo_id)))
