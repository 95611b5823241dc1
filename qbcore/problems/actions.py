"""What finance ops do to problems: resync, clear, mark paid without sync, restore; role-checked and audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, delete, func, insert, null, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role
from qbcore.chunks import BULK_INSERT_CHUNK, SQL_IN_CHUNK, chunked
from qbcore.jobs.queue import enqueue_sync
from qbcore.labels import plural
from qbcore.models import (
    ENTITY_NOUNS,
    PROBLEM_STATUSES,
    AuditEvent,
    EntityType,
    Invoice,
    InvoiceStatus,
    Job,
    Role,
    SettlementShare,
    SyncRecord,
    SyncStatus,
)
from qbcore.problems.filters import SOURCES, from_records, has_mark_paid, has_set_aside
from qbcore.problems.queries import ProblemFilter, select_problem_ids
from qbcore.pull.bill_payments import BILL_KINDS, PULLED_NOTE
from qbcore.refusals import Refusal, require_reason

# An action's target: the ids the user ticked, or everything matching a filter (resolved in the database).
ActionTarget = Sequence[int] | ProblemFilter

class NothingToChange(Refusal, ValueError):
    """None of the targeted records is in a state the action applies to."""

    nothing_to_do = True


class PaymentDetailsRefused(Refusal, ValueError):
    """The payment details typed for Mark paid without sync do not hold together; nothing was changed."""

    correctable = True


@dataclass(frozen=True)
class OutsidePayment:
    """The payment the team saw in QuickBooks: its date, amount (one invoice only) and reference."""

    paid_on: date | None = None
    amount: Decimal | None = None
    reference: str | None = None

    def describe(self) -> str:
        """'Paid in QuickBooks on 2026-11-20 · $1,234.56 · reference 4411' (only the parts given)."""
        parts = ["Paid in QuickBooks" + (f" on {self.paid_on.isoformat()}" if self.paid_on else "")]
        if self.amount is not None:
            parts.append(f"${self.amount:,.2f}")
        if self.reference:
            parts.append(f"reference {self.reference}")
        return " · ".join(parts)

    def as_json(self) -> dict[str, str | None]:
        """For the audit log."""
        return {"paid_on": self.paid_on.isoformat() if self.paid_on else None,
                "amount": None if self.amount is None else f"{self.amount:.2f}", "reference": self.reference}


def check_outside_payment(payment: OutsidePayment, invoice_totals: Sequence[Decimal], *,
                          today: date | None = None, noun: str = "invoice") -> OutsidePayment:
    """Payment details that make sense for these invoices (or bills), cleaned; PaymentDetailsRefused says why not."""
    today = today or date.today()
    if payment.paid_on is not None and payment.paid_on > today + timedelta(days=1):
        raise PaymentDetailsRefused(f"The payment date {payment.paid_on.isoformat()} is in the future. "
                                    "Nothing was changed.")
    amount = payment.amount
    if amount is not None:
        if len(invoice_totals) != 1:
            raise PaymentDetailsRefused(f"An amount can be recorded for one {noun} at a time; select a single "
                                        f"{noun}, or leave the amount empty. Nothing was changed.")
        try:
            amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise PaymentDetailsRefused("The amount is not a number. Nothing was changed.") from None
        if amount <= 0 or amount > Decimal(str(invoice_totals[0])):
            raise PaymentDetailsRefused(f"The amount must be more than $0.00 and at most the {noun}'s "
                                        f"${Decimal(str(invoice_totals[0])):,.2f}. Nothing was changed.")
    reference = " ".join((payment.reference or "").split()) or None
    if reference is not None and len(reference) > 40:
        raise PaymentDetailsRefused("The reference is at most 40 characters (QuickBooks' payment reference "
                                    "number). Nothing was changed.")
    return OutsidePayment(paid_on=payment.paid_on, amount=amount, reference=reference)


@dataclass(frozen=True)
class ActionResult:
    """What an action changed: how many records and their dollars."""

    action: str
    count: int
    amount: Decimal


def _describe_target(target: ActionTarget) -> str:
    return "all matching the filter" if isinstance(target, ProblemFilter) else f"{len(target)} selected"


def _check_role(actor: Actor, action: str, target: ActionTarget, audit_factory: sessionmaker[Session] | None,
                session: Session) -> None:
    # Refusals are audited through audit_factory, or a sibling of the caller's session.
    require_role(actor, Role.OPERATOR, action, session=session, audit_factory=audit_factory,
                 target_type="sync_records", target_id=_describe_target(target))


def resync_problems(
    session: Session, actor: Actor, entity_type: EntityType, target: ActionTarget, *,
    audit_factory: sessionmaker[Session] | None = None,
) -> Job:
    """Queue a resync of the selected records, or of every record matching the filter (selected in SQL)."""
    _check_role(actor, "resync", target, audit_factory, session)
    record_ids: Sequence[int] | Select[int]
    # The label is shown with the job (Home's recent jobs): the entity in people's words, never its stored name.
    one, many = ENTITY_NOUNS[entity_type]
    if isinstance(target, ProblemFilter):
        record_ids = select_problem_ids(entity_type, target)
        label = f"Resync all matching {one} problems"
    else:
        record_ids = list(target)
        label = f"Resync {plural(len(record_ids), one, many)} (selected)"
    return enqueue_sync(session, actor, record_ids=record_ids, entity_types=[entity_type], label=label)


def _names(entity_type: EntityType) -> tuple[str, str]:
    """How one entity's records are named in the audit log: (target type, plural for the role check)."""
    return entity_type.value, f"{entity_type.value}s"


def _target_rows(session: Session, entity_type: EntityType, target: ActionTarget,
                 statuses: Sequence[SyncStatus]) -> list[Any]:
    # (record id, sync status, billing id, number, billing status (invoices only), amount) of the targeted records.
    source = SOURCES[entity_type]
    billing = Invoice.status if entity_type is EntityType.INVOICE else null()
    base = (from_records(entity_type, SyncRecord.id, SyncRecord.status, SyncRecord.entity_id, source.reference,
                         billing, source.amount)
            .where(SyncRecord.status.in_([s.value for s in statuses])))
    if isinstance(target, ProblemFilter):
        subquery = select_problem_ids(entity_type, target).scalar_subquery()
        return list(session.execute(base.where(SyncRecord.id.in_(subquery)).order_by(SyncRecord.id)))
    ids = sorted(set(target))
    rows: list[Any] = []
    for part in chunked(ids, SQL_IN_CHUNK):
        rows.extend(session.execute(base.where(SyncRecord.id.in_(part))))
    return rows


def _invoice_rows(session: Session, target: ActionTarget, statuses: Sequence[SyncStatus]) -> list[Any]:
    return _target_rows(session, EntityType.INVOICE, target, statuses)


def _amount(rows: list[Any]) -> Decimal:
    return sum((Decimal(str(r[5] or 0)) for r in rows), Decimal("0.00"))


def _check_set_aside(entity_type: EntityType, what: str) -> None:
    if not has_set_aside(entity_type):
        one, many = ENTITY_NOUNS[entity_type]
        raise NothingToChange(f"{many.capitalize()} cannot be {what}: a {one} left out of QuickBooks would hold up "
                              "everything that names it. Fix the cause instead.")


def _set_status(session: Session, record_ids: list[int], status: SyncStatus) -> None:
    for part in chunked(record_ids, SQL_IN_CHUNK):
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(part)).values(status=status.value))


def _audit_each(session: Session, actor: Actor, action: str, events: list[dict[str, Any]], reason: str | None,
                target_type: str = "invoice") -> None:
    # One event per record, so the log answers "who cleared INV-1042 and why" directly.
    rows = [dict(actor=actor.email, role=actor.role.value, action=action, outcome="ok", target_type=target_type,
                 reason=reason, **event) for event in events]
    for part in chunked(rows, BULK_INSERT_CHUNK):
        session.execute(insert(AuditEvent), part)


def _nothing(action: str, entity_type: EntityType = EntityType.INVOICE) -> NothingToChange:
    many = ENTITY_NOUNS[entity_type][1]
    return NothingToChange(f"None of the selected {many} can be {action}: only {many} on the problem list "
                           "(failed, blocked, pending, out of date or never synced) can be.")


def clear_records(
    session: Session, actor: Actor, entity_type: EntityType, target: ActionTarget, *, reason: str,
    audit_factory: sessionmaker[Session] | None = None,
) -> ActionResult:
    """Take invoices, bills or bill payments off the problem list for good (never synced); a reason is required."""
    target_type, many = _names(entity_type)
    _check_role(actor, f"clear_{many}", target, audit_factory, session)
    _check_set_aside(entity_type, "cleared")
    text = require_reason(reason, f"clear {ENTITY_NOUNS[entity_type][1]}")
    rows = _target_rows(session, entity_type, target, PROBLEM_STATUSES)
    if not rows:
        raise _nothing("cleared", entity_type)
    _set_status(session, [r[0] for r in rows], SyncStatus.CLEARED)
    _audit_each(session, actor, f"clear_{target_type}", [
        dict(target_id=number, before={"status": status}, after={"status": SyncStatus.CLEARED.value})
        for _, status, _, number, _, _ in rows
    ], text, target_type)
    return ActionResult("clear", len(rows), _amount(rows))


def clear_invoices(
    session: Session, actor: Actor, target: ActionTarget, *, reason: str,
    audit_factory: sessionmaker[Session] | None = None,
) -> ActionResult:
    """Take invoices off the problem list for good (never synced); a reason is required."""
    return clear_records(session, actor, EntityType.INVOICE, target, reason=reason, audit_factory=audit_factory)


def mark_invoices_paid_outside(
    session: Session, actor: Actor, target: ActionTarget, *, reason: str,
    audit_factory: sessionmaker[Session] | None = None, payment: OutsidePayment | None = None,
) -> ActionResult:
    """Record that invoices were paid directly in QuickBooks: no sync, billing status paid; a reason is required.

    The payment's date, amount and reference, when given, go into the audit log and the record's note.
    """
    _check_role(actor, "mark_invoices_paid", target, audit_factory, session)
    text = require_reason(reason, "mark invoices paid without sync")
    rows = _invoice_rows(session, target, PROBLEM_STATUSES)
    if not rows:
        raise _nothing("marked paid")
    paid = check_outside_payment(payment or OutsidePayment(), [Decimal(str(r[5])) for r in rows])
    _set_status(session, [r[0] for r in rows], SyncStatus.PAID_OUTSIDE)
    note = paid.describe()
    for part in chunked([r[0] for r in rows], SQL_IN_CHUNK):
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(part)).values(note=note))
    for part in chunked([r[2] for r in rows], SQL_IN_CHUNK):
        session.execute(update(Invoice).where(Invoice.id.in_(part)).values(status=InvoiceStatus.PAID.value))
    _audit_each(session, actor, "mark_invoice_paid_outside", [
        dict(target_id=number, before={"status": status, "invoice_status": invoice_status},
             after={"status": SyncStatus.PAID_OUTSIDE.value, "invoice_status": InvoiceStatus.PAID.value,
                    "payment": paid.as_json()})
        for _, status, _, number, invoice_status, _ in rows
    ], text)
    return ActionResult("mark_paid", len(rows), sum((Decimal(r[5]) for r in rows), Decimal("0.00")))


def mark_paid_outside(
    session: Session, actor: Actor, entity_type: EntityType, target: ActionTarget, *, reason: str,
    audit_factory: sessionmaker[Session] | None = None, payment: OutsidePayment | None = None,
) -> ActionResult:
    """Mark paid without sync, on the tab it is clicked on: invoices, settlements or carrier bills."""
    if entity_type is EntityType.INVOICE:
        return mark_invoices_paid_outside(session, actor, target, reason=reason, audit_factory=audit_factory,
                                          payment=payment)
    return mark_bills_paid_outside(session, actor, entity_type, target, reason=reason, audit_factory=audit_factory,
                                   payment=payment)


def mark_bills_paid_outside(
    session: Session, actor: Actor, entity_type: EntityType, target: ActionTarget, *, reason: str,
    audit_factory: sessionmaker[Session] | None = None, payment: OutsidePayment | None = None,
) -> ActionResult:
    """Record that settlements or carrier bills were entered and paid directly in QuickBooks; a reason is required.

    The bill does not sync, its billing row is paid (on the payment date given, else today), and its payment record
    is set aside too, so the sync never pushes a bill payment QuickBooks already has.
    """
    target_type, many = _names(entity_type)
    _check_role(actor, f"mark_{many}_paid", target, audit_factory, session)
    kind = BILL_KINDS.get(entity_type)
    one, nouns = ENTITY_NOUNS[entity_type]
    if kind is None:
        raise NothingToChange(f"{nouns.capitalize()} cannot be marked paid without sync.")
    text = require_reason(reason, f"mark {nouns} paid without sync")
    rows = _target_rows(session, entity_type, target, PROBLEM_STATUSES)
    if not rows:
        raise _nothing("marked paid", entity_type)
    paid = check_outside_payment(payment or OutsidePayment(), [Decimal(str(r[5])) for r in rows], noun=one)
    paid_on = paid.paid_on or date.today()
    note = paid.describe()
    events = []
    for record_id, status, entity_id, number, _, _ in rows:
        record = session.get(SyncRecord, record_id)
        bill = session.get(kind.model, entity_id)
        if record is None or bill is None:
            continue
        before = {"status": status, "billing_status": str(bill.status),
                  "paid_on": bill.paid_on.isoformat() if bill.paid_on else None}
        record.status, record.note = SyncStatus.PAID_OUTSIDE, note
        if str(bill.status) != "paid":
            bill.status, bill.paid_on = "paid", paid_on
        _set_payment_aside_by_hand(session, kind.payment_type, entity_id, record.company_id, note)
        for payment_type, share_id in _split_records(session, entity_type, entity_id):
            # Entered in QuickBooks by hand, the whole settlement is there: none of its split bills is sent either.
            _set_payment_aside_by_hand(session, payment_type, share_id, record.company_id, note)
        events.append(dict(target_id=number, company_id=record.company_id, before=before,
                           after={"status": SyncStatus.PAID_OUTSIDE.value, "billing_status": "paid",
                                  "paid_on": bill.paid_on.isoformat() if bill.paid_on else None,
                                  "payment": paid.as_json()}))
    session.flush()
    _audit_each(session, actor, f"mark_{target_type}_paid_outside", events, text, target_type)
    return ActionResult("mark_paid", len(rows), _amount(rows))


def _split_records(session: Session, entity_type: EntityType, entity_id: int) -> list[tuple[EntityType, int]]:
    """A split settlement's other bills and their payments, as (record type, share id)."""
    if entity_type is not EntityType.SETTLEMENT:
        return []
    shares = list(session.scalars(select(SettlementShare.id).where(SettlementShare.settlement_id == entity_id,
                                                                   SettlementShare.position >= 2)))
    return [(kind, share) for share in shares for kind in (EntityType.SETTLEMENT_SHARE, EntityType.SHARE_PAYMENT)]


def _set_payment_aside_by_hand(session: Session, payment_type: EntityType, entity_id: int, company_id: int,
                               note: str) -> None:
    record = session.scalar(select(SyncRecord).where(SyncRecord.company_id == company_id,
                                                     SyncRecord.entity_type == payment_type.value,
                                                     SyncRecord.entity_id == entity_id))
    if record is None:
        session.add(SyncRecord(company_id=company_id, entity_type=payment_type.value, entity_id=entity_id,
                               status=SyncStatus.PAID_OUTSIDE.value, attempts=0, note=note))
    elif record.qbo_id is None and record.status != SyncStatus.CLEARED.value:
        record.status, record.note = SyncStatus.PAID_OUTSIDE, note


def _states_before(session: Session, action: str, numbers: list[str],
                   target_type: str = "invoice") -> dict[str, dict[str, Any]]:
    """Record number → the `before` of its newest event of this action (clearing or marking paid)."""
    before: dict[str, dict[str, Any]] = {}
    for part in chunked(numbers, SQL_IN_CHUNK):
        events = session.execute(
            select(AuditEvent.target_id, AuditEvent.before)
            .where(AuditEvent.action == action, AuditEvent.outcome == "ok",
                   AuditEvent.target_type == target_type, AuditEvent.target_id.in_(part))
            .order_by(AuditEvent.id)
        )
        for number, state in events:
            if isinstance(state, dict) and state.get("status"):
                before[number] = state  # the newest wins
    return before


def restore_records(
    session: Session, actor: Actor, entity_type: EntityType, target: ActionTarget, *, reason: str | None = None,
    audit_factory: sessionmaker[Session] | None = None,
) -> ActionResult:
    """Undo Clear (and, for invoices, Mark paid without sync): each record goes back to the status it had.

    Without a record of the earlier status it comes back as never synced (an invoice approved in billing).
    """
    target_type, many = _names(entity_type)
    _check_role(actor, f"restore_{many}", target, audit_factory, session)
    _check_set_aside(entity_type, "restored")
    # A payment record set aside because QuickBooks holds the payment comes back only with its bill (or a void there).
    undoable = (SyncStatus.CLEARED, SyncStatus.PAID_OUTSIDE) if has_mark_paid(entity_type) else (SyncStatus.CLEARED,)
    rows = _target_rows(session, entity_type, target, undoable)
    if not rows:
        raise NothingToChange(f"None of the selected {ENTITY_NOUNS[entity_type][1]} is cleared or marked paid "
                              "without sync, so there is nothing to restore.")
    numbers = [r[3] for r in rows]
    cleared_before = _states_before(session, f"clear_{target_type}", numbers, target_type)
    paid_before = _states_before(session, f"mark_{target_type}_paid_outside", numbers, target_type)
    # Pending means "in a job"; that job is long gone, so such an invoice comes back as never synced.
    back_to = {s.value for s in PROBLEM_STATUSES} - {SyncStatus.PENDING.value}
    by_status: dict[SyncStatus, list[int]] = {}
    billing: dict[str, list[int]] = {}
    cleared_events, paid_events = [], []
    for record_id, status, invoice_id, number, invoice_status, _ in rows:
        was_paid = status == SyncStatus.PAID_OUTSIDE.value
        state = (paid_before if was_paid else cleared_before).get(number, {})
        new = SyncStatus(state["status"]) if state.get("status") in back_to else SyncStatus.NEVER_SYNCED
        by_status.setdefault(new, []).append(record_id)
        if was_paid and entity_type is not EntityType.INVOICE:
            paid_events.append(_restore_bill(session, entity_type, invoice_id, number, status, new, state))
        elif was_paid:
            old_billing = state.get("invoice_status")
            if old_billing not in {s.value for s in InvoiceStatus}:
                old_billing = InvoiceStatus.APPROVED.value
            billing.setdefault(old_billing, []).append(invoice_id)
            paid_events.append(dict(target_id=number, before={"status": status, "invoice_status": invoice_status},
                                    after={"status": new.value, "invoice_status": old_billing}))
        else:
            cleared_events.append(dict(target_id=number, before={"status": status}, after={"status": new.value}))
    for new_status, ids in by_status.items():
        _set_status(session, ids, new_status)
    paid_record_ids = [r[0] for r in rows if r[1] == SyncStatus.PAID_OUTSIDE.value]
    for part in chunked(paid_record_ids, SQL_IN_CHUNK):
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(part)).values(note=None))
    for invoice_status, invoice_ids in billing.items():
        for part in chunked(invoice_ids, SQL_IN_CHUNK):
            session.execute(update(Invoice).where(Invoice.id.in_(part)).values(status=invoice_status))
    text = (reason or "").strip() or None
    _audit_each(session, actor, f"restore_{target_type}", cleared_events, text, target_type)
    _audit_each(session, actor, "undo_mark_paid_outside", paid_events, text, target_type)
    return ActionResult("restore", len(rows), _amount(rows))


def _restore_bill(session: Session, entity_type: EntityType, entity_id: int, number: str, status: str,
                  new: SyncStatus, state: dict[str, Any]) -> dict[str, Any]:
    """A bill marked paid without sync: its billing status and paid date as they were; its payment record let go."""
    kind = BILL_KINDS[entity_type]
    bill = session.get(kind.model, entity_id)
    billing = state.get("billing_status") if state.get("billing_status") in (kind.open_status, "paid") else \
        kind.open_status
    paid_on = date.fromisoformat(state["paid_on"]) if billing == "paid" and state.get("paid_on") else None
    before = {"status": status, "billing_status": str(bill.status) if bill else None}
    if bill is not None:
        bill.status, bill.paid_on = billing, paid_on if billing == "paid" else None
        if billing == "paid" and bill.paid_on is None:
            bill.paid_on = date.today()
    for payment_type, eid in [(kind.payment_type, entity_id), *_split_records(session, entity_type, entity_id)]:
        # Let go (the next sync gives them fresh records), unless the pull set them aside for a real payment.
        session.execute(delete(SyncRecord).where(
            SyncRecord.entity_type == payment_type.value, SyncRecord.entity_id == eid,
            SyncRecord.status == SyncStatus.PAID_OUTSIDE.value, SyncRecord.qbo_id.is_(None),
            ~func.coalesce(SyncRecord.note, "").startswith(PULLED_NOTE)))
    return dict(target_id=number, before=before, after={"status": new.value, "billing_status": billing})


def restore_invoices(
    session: Session, actor: Actor, target: ActionTarget, *, reason: str | None = None,
    audit_factory: sessionmaker[Session] | None = None,
) -> ActionResult:
    """Undo Clear and Mark paid without sync: each invoice goes back to the sync status (and billing status) it had.

    Without a record of the earlier status an invoice comes back as never synced (and approved in billing).
    """
    return restore_records(session, actor, EntityType.INVOICE, target, reason=reason, audit_factory=audit_factory)
