"""Turning changed QuickBooks objects into local facts: pulled payments (applied or proposed) and drift."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore import labels
from qbcore.access import SYSTEM, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.entities.registry import spec_for
from qbcore.mapping.credit_application import REF_PREFIX as CREDIT_REF_PREFIX
from qbcore.models import (
    CreditMemoApplication,
    Customer,
    Drift,
    DriftKind,
    EntityType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentApplication,
    PulledPayment,
    PulledPaymentStatus,
    SyncRecord,
    SyncStatus,
    Vendor,
    utcnow,
)
from qbcore.settings import SyncSettings

CENT = Decimal("0.01")
LIVE = (PulledPaymentStatus.APPLIED.value, PulledPaymentStatus.PROPOSED.value)


@dataclass
class ApplyCounts:
    """What one batch of changes did locally."""

    changes: int = 0
    applied: int = 0
    proposed: int = 0
    reversed: int = 0
    drifts: int = 0
    resolved: int = 0
    ignored: int = 0
    bill_payments: int = 0  # lines of bill payments entered in QuickBooks recorded against our bills
    invoices_touched: set[int] = field(default_factory=set)

    def add(self, other: ApplyCounts) -> None:
        """Fold another batch's counts into this one."""
        for name in ("changes", "applied", "proposed", "reversed", "drifts", "resolved", "ignored",
                     "bill_payments"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.invoices_touched |= other.invoices_touched


def money(value: Any) -> Decimal:
    """A QuickBooks amount as cents."""
    try:
        return Decimal(str(value if value is not None else 0)).quantize(CENT)
    except ArithmeticError:
        return Decimal(0)


def is_deleted(row: dict[str, Any]) -> bool:
    """A CDC tombstone."""
    return str(row.get("status", "")).lower() == "deleted"


def is_voided(row: dict[str, Any]) -> bool:
    """QuickBooks zeroes a voided transaction and puts 'Voided' at the start of PrivateNote."""
    return str(row.get("PrivateNote") or "").startswith("Voided") and money(row.get("TotalAmt")) == 0


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    return chunked(dict.fromkeys(values), SQL_IN_CHUNK)


def linked_records(session: Session, entity_type: EntityType, qbo_ids: Sequence[str],
                   company_id: int) -> dict[str, SyncRecord]:
    """Our sync records of these QuickBooks ids in one company (ids mean something only there; 900 per query)."""
    found: dict[str, SyncRecord] = {}
    for chunk in _chunks(qbo_ids):
        for record in session.scalars(select(SyncRecord).where(
                SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
                SyncRecord.qbo_id.in_(chunk))):
            found[str(record.qbo_id)] = record
    return found


# -- invoice status --------------------------------------------------------------------------------------------
def paid_amount(session: Session, invoice_id: int) -> Decimal:
    """Everything applied to an invoice: our payments, credit memos, and applied pulled payments."""
    ours = session.scalar(select(func.coalesce(func.sum(PaymentApplication.amount), 0))
                          .where(PaymentApplication.invoice_id == invoice_id))
    credits = session.scalar(select(func.coalesce(func.sum(CreditMemoApplication.amount), 0))
                             .where(CreditMemoApplication.invoice_id == invoice_id))
    pulled = session.scalar(select(func.coalesce(func.sum(PulledPayment.amount), 0)).where(
        PulledPayment.invoice_id == invoice_id, PulledPayment.status == PulledPaymentStatus.APPLIED.value))
    return money(ours) + money(credits) + money(pulled)


def refresh_invoice_status(session: Session, invoice_id: int) -> tuple[str, str] | None:
    """Paid, partially paid or open from what is applied; returns (before, after) when it changed."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.status in (InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value):
        return None
    paid = paid_amount(session, invoice_id)
    if paid >= money(invoice.total) and paid > 0:
        status = InvoiceStatus.PAID.value
    elif paid > 0:
        status = InvoiceStatus.PARTIALLY_PAID.value
    else:
        status = InvoiceStatus.APPROVED.value
    before = str(invoice.status)
    if before == status:
        return None
    invoice.status = InvoiceStatus(status)
    return before, status


# -- payments -------------------------------------------------------------------------------------------------
def invoice_lines(payment: dict[str, Any]) -> dict[str, Decimal]:
    """Amount applied per QuickBooks invoice id by one payment."""
    applied: dict[str, Decimal] = defaultdict(Decimal)
    for line in payment.get("Line") or []:
        for link in (line or {}).get("LinkedTxn") or []:
            if str(link.get("TxnType")) == "Invoice" and link.get("TxnId"):
                applied[str(link["TxnId"])] += money(line.get("Amount"))
    return dict(applied)


def _is_pushed_by_us(session: Session, payment: dict[str, Any], ours: dict[str, SyncRecord]) -> bool:
    if str(payment.get("Id")) in ours:
        return True
    # A payment we pushed whose answer was lost carries our payment number as PaymentRefNum.
    ref = payment.get("PaymentRefNum")
    if not ref:
        return False
    if _is_credit_application(session, payment):
        return True
    return session.scalar(select(Payment.id).where(Payment.number == str(ref))) is not None


def _is_credit_application(session: Session, payment: dict[str, Any]) -> bool:
    """A zero-amount payment we pushed to apply one of our credit memos, known by its "CMA-<id>" reference."""
    ref = str(payment.get("PaymentRefNum") or "")
    if not ref.startswith(CREDIT_REF_PREFIX) or not ref[len(CREDIT_REF_PREFIX):].isdigit():
        return False
    if money(payment.get("TotalAmt")) != 0:
        return False
    return session.get(CreditMemoApplication, int(ref[len(CREDIT_REF_PREFIX):])) is not None


def apply_payments(session: Session, rows: Sequence[dict[str, Any]], settings: SyncSettings,
                   company_id: int | None = None) -> ApplyCounts:
    """Record payments entered in a company's QuickBooks against its synced invoices; idempotent per line."""
    company = resolve_company_id(session, company_id)
    counts = ApplyCounts(changes=len(rows))
    ids = [str(r.get("Id")) for r in rows if r.get("Id")]
    ours = linked_records(session, EntityType.PAYMENT, ids, company)
    # Credit memos applied by us (zero-amount payments): ours, never a payment entered in QuickBooks.
    applications = linked_records(session, EntityType.CREDIT_APPLICATION, ids, company)
    invoice_ids = [txn for r in rows if not is_deleted(r) for txn in invoice_lines(r)]
    invoices = linked_records(session, EntityType.INVOICE, invoice_ids, company)
    existing: dict[tuple[str, str], PulledPayment] = {}
    for chunk in _chunks(ids):
        for pulled in session.scalars(select(PulledPayment).where(PulledPayment.company_id == company,
                                                                  PulledPayment.qbo_payment_id.in_(chunk))):
            existing[(pulled.qbo_payment_id, pulled.qbo_invoice_id)] = pulled
    touched: set[int] = set()
    context = load_drift_context(session, EntityType.PAYMENT, list(ours.values()), settings, company)
    for row in rows:
        qbo_id = str(row.get("Id") or "")
        if not qbo_id:
            continue
        if qbo_id in ours:
            counts.drifts += drift_of(session, context, ours[qbo_id], row)
            continue
        if qbo_id in applications:
            counts.ignored += 1
            continue
        gone = is_deleted(row) or is_voided(row)
        wanted = {} if gone else invoice_lines(row)
        if not gone and _is_pushed_by_us(session, row, ours):
            counts.ignored += 1
            continue
        # Lines that no longer point at an invoice (payment voided, deleted or re-applied): reverse them.
        for (pid, qbo_invoice), pulled in existing.items():
            if pid == qbo_id and qbo_invoice not in wanted and pulled.status in LIVE:
                before = pulled.status
                pulled.status = PulledPaymentStatus.REVERSED
                pulled.decided_at = utcnow()
                counts.reversed += 1
                touched.add(pulled.invoice_id)
                write_audit(session, SYSTEM, "reverse_pulled_payment", target_type="invoice",
                            target_id=pulled.invoice_id, before={"status": before},
                            after={"qbo_payment_id": qbo_id, "amount": str(pulled.amount)},
                            reason="deleted or voided in QuickBooks" if gone else "no longer applied in QuickBooks")
        for qbo_invoice, amount in wanted.items():
            record = invoices.get(qbo_invoice)
            if record is None or amount <= 0:
                continue  # not one of our invoices
            known = existing.get((qbo_id, qbo_invoice))
            if known is not None:
                if known.status in LIVE and money(known.amount) != amount:
                    write_audit(session, SYSTEM, "update_pulled_payment", target_type="invoice",
                                target_id=record.entity_id, before={"amount": str(known.amount)},
                                after={"amount": str(amount), "qbo_payment_id": qbo_id})
                    known.amount = amount
                    touched.add(known.invoice_id)
                continue
            status = PulledPaymentStatus.APPLIED if settings.pulled_payments == "apply" else \
                PulledPaymentStatus.PROPOSED
            pulled = PulledPayment(
                company_id=company, qbo_payment_id=qbo_id, qbo_invoice_id=qbo_invoice, invoice_id=record.entity_id,
                amount=amount,
                txn_date=_date(row.get("TxnDate")), reference=str(row["PaymentRefNum"])[:40] or None
                if row.get("PaymentRefNum") else None, status=status,
                applied_at=utcnow() if status is PulledPaymentStatus.APPLIED else None,
                decided_by=SYSTEM.email if status is PulledPaymentStatus.APPLIED else None,
            )
            session.add(pulled)
            existing[(qbo_id, qbo_invoice)] = pulled
            if status is PulledPaymentStatus.APPLIED:
                counts.applied += 1
                touched.add(record.entity_id)
            else:
                counts.proposed += 1
            write_audit(session, SYSTEM, "apply_pulled_payment" if status is PulledPaymentStatus.APPLIED
                        else "propose_pulled_payment", target_type="invoice", target_id=record.entity_id,
                        after={"qbo_payment_id": qbo_id, "qbo_invoice_id": qbo_invoice, "amount": str(amount)},
                        reason="payment applied in QuickBooks")
    session.flush()
    for invoice_id in sorted(touched):
        change = refresh_invoice_status(session, invoice_id)
        if change is not None:
            write_audit(session, SYSTEM, "invoice_status_from_quickbooks", target_type="invoice",
                        target_id=invoice_id, before={"status": change[0]}, after={"status": change[1]})
    counts.invoices_touched = touched
    return counts


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# -- drift ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Expected:
    amount: Decimal
    number: str | None
    customer_qbo_id: str | None  # the customer's (a bill: the vendor's) QuickBooks id
    customer_name: str | None
    party_ref: str = "CustomerRef"  # a bill names its vendor




@dataclass
class DriftContext:
    """What one page's drift checks need, read in bulk: what we pushed, and the drifts already open."""

    entity_type: EntityType
    expected: dict[int, _Expected]
    open_drifts: dict[str, list[Drift]]
    company_id: int


def load_drift_context(session: Session, entity_type: EntityType, records: Sequence[SyncRecord],
                       settings: SyncSettings, company_id: int) -> DriftContext:
    """Expected amount/number/customer per record (its sync record is SYNCED, so the billing row is what we pushed)."""
    spec = spec_for(entity_type)
    model: Any = spec.model
    if spec.watched is not None:
        # A bill: its amount, its number (always ours) and its vendor.
        amount_col, number_col, party_col = spec.watched.amount, spec.watched.number, spec.watched.party
        party_model: Any = Vendor
        party_type, party_ref = EntityType.VENDOR, "VendorRef"
    elif spec.ledger is not None:
        amount_col, number_col, party_col = spec.ledger.amount, spec.ledger.number, model.customer_id
        party_model, party_type, party_ref = Customer, EntityType.CUSTOMER, "CustomerRef"
    else:
        raise ValueError(f"{entity_type} has no amount or number to compare with QuickBooks")
    ids = [r.entity_id for r in records]
    rows: list[Any] = []
    for chunk in chunked(ids, SQL_IN_CHUNK):
        rows.extend(session.execute(select(model.id, amount_col, number_col, party_col).where(
            model.id.in_(chunk))).all())
    party_ids = list({r[3] for r in rows})
    parties: dict[int, tuple[str | None, str]] = {}
    for chunk in chunked(party_ids, SQL_IN_CHUNK):
        names: dict[int, str] = dict(session.execute(select(party_model.id, party_model.name).where(
            party_model.id.in_(chunk))).all())
        linked = dict(session.execute(select(SyncRecord.entity_id, SyncRecord.qbo_id).where(
            SyncRecord.company_id == company_id, SyncRecord.entity_type == party_type.value,
            SyncRecord.entity_id.in_(chunk))).all())
        for pid in chunk:
            parties[pid] = (linked.get(pid), names.get(pid, ""))
    expected = {}
    for entity_id, amount, number, party_id in rows:
        if entity_type is EntityType.PAYMENT:
            doc = number[:21]
        elif spec.watched is not None:
            doc = number  # a bill carries our number (settlement number, carrier's invoice number)
        else:
            doc = number if settings.invoice_numbering == "billing" else None
        qbo_party, name = parties.get(party_id, (None, ""))
        expected[entity_id] = _Expected(money(amount), doc, str(qbo_party) if qbo_party else None, name, party_ref)
    open_drifts: dict[str, list[Drift]] = defaultdict(list)
    qbo_ids = [str(r.qbo_id) for r in records]
    for qbo_chunk in _chunks(qbo_ids):
        for drift in session.scalars(select(Drift).where(Drift.company_id == company_id,
                                                         Drift.entity_type == entity_type.value,
                                                         Drift.qbo_id.in_(qbo_chunk), Drift.resolved_at.is_(None))):
            open_drifts[drift.qbo_id].append(drift)
    return DriftContext(entity_type, expected, open_drifts, company_id)


def summarize_qbo(row: dict[str, Any]) -> dict[str, Any]:
    """The fields drift compares, as QuickBooks has them."""
    ref = row.get("CustomerRef") or row.get("VendorRef") or {}
    return {"amount": str(money(row.get("TotalAmt"))), "number": row.get("DocNumber") or row.get("PaymentRefNum"),
            "customer": ref.get("name") or ref.get("value"), "customer_id": ref.get("value"),
            "balance": str(money(row.get("Balance"))) if "Balance" in row else None,
            "note": row.get("PrivateNote")}


def _edits(expected: _Expected, row: dict[str, Any]) -> list[str]:
    changes = []
    theirs = money(row.get("TotalAmt"))
    if theirs != expected.amount:
        changes.append(f"amount {labels.money(expected.amount)} → {labels.money(theirs)}")
    number = row.get("DocNumber") if "DocNumber" in row or "PaymentRefNum" not in row else row.get("PaymentRefNum")
    if expected.number is not None and (number or "") != expected.number:
        changes.append(f"number {expected.number} → {number or '(none)'}")
    ref = row.get(expected.party_ref) or {}
    party = ref.get("value")
    if expected.customer_qbo_id and party and str(party) != expected.customer_qbo_id:
        who = "vendor" if expected.party_ref == "VendorRef" else "customer"
        changes.append(f"{who} → {ref.get('name') or party}")
    return changes


def record_drift(session: Session, context: DriftContext, record: SyncRecord, kind: DriftKind, *,
                 before: Any, after: Any, summary: str) -> bool:
    """Store (or refresh) one open drift; True when it is new."""
    opened = context.open_drifts.setdefault(str(record.qbo_id), [])
    for drift in opened:
        if drift.kind == kind.value:
            drift.after, drift.summary = after, summary
            return False
    drift = Drift(company_id=context.company_id, entity_type=context.entity_type.value, entity_id=record.entity_id,
                  qbo_id=str(record.qbo_id),
                  kind=kind, before=before, after=after, summary=summary)
    session.add(drift)
    opened.append(drift)
    write_audit(session, SYSTEM, "detect_drift", target_type=context.entity_type.value, target_id=record.entity_id,
                before=before, after=after, reason=summary, company_id=context.company_id)
    return True


def drift_of(session: Session, context: DriftContext, record: SyncRecord, row: dict[str, Any]) -> int:
    """Drift of one record we pushed; returns 1 when a new drift was stored."""
    label = context.entity_type.value.replace("_", " ").capitalize()
    if is_deleted(row):
        return int(record_drift(session, context, record, DriftKind.DELETE, before={"qbo_id": record.qbo_id},
                                after={"status": "Deleted"}, summary=f"{label} deleted in QuickBooks"))
    expected = context.expected.get(record.entity_id)
    if expected is None:
        return 0
    before = {"amount": str(expected.amount), "number": expected.number, "customer": expected.customer_name}
    if is_voided(row) and expected.amount != 0:
        return int(record_drift(session, context, record, DriftKind.VOID, before=before, after=summarize_qbo(row),
                                summary=f"{label} voided in QuickBooks (was {labels.money(expected.amount)})"))
    if record.status != SyncStatus.SYNCED.value:
        return 0  # edited here since the push: the next push decides, not QuickBooks' copy
    changes = _edits(expected, row)
    if changes:
        return int(record_drift(session, context, record, DriftKind.EDIT, before=before, after=summarize_qbo(row),
                                summary=f"Edited in QuickBooks: {'; '.join(changes)}"))
    # Back in line with what we pushed (re-pushed, or edited back): an open edit drift is over.
    for drift in context.open_drifts.get(str(record.qbo_id), []):
        if drift.kind == DriftKind.EDIT.value and drift.resolved_at is None:
            drift.resolved_at, drift.resolved_by = utcnow(), SYSTEM.email
    return 0


def detect_drift(session: Session, entity_type: EntityType, rows: Sequence[dict[str, Any]],
                 settings: SyncSettings, company_id: int | None = None) -> ApplyCounts:
    """Compare a company's changed invoices, credit memos or bills with what we pushed; store voids, deletes, edits."""
    company = resolve_company_id(session, company_id)
    counts = ApplyCounts(changes=len(rows))
    records = linked_records(session, entity_type, [str(r.get("Id")) for r in rows if r.get("Id")], company)
    context = load_drift_context(session, entity_type, list(records.values()), settings, company)
    for row in rows:
        record = records.get(str(row.get("Id") or ""))
        if record is not None:
            counts.drifts += drift_of(session, context, record, row)
    return counts


def missing_records(session: Session, entity_type: EntityType, present: set[str], checked: Sequence[str],
                    company_id: int | None = None) -> ApplyCounts:
    """A company's synced records its QuickBooks no longer has (found by an existence check): deletion drift."""
    company = resolve_company_id(session, company_id)
    counts = ApplyCounts()
    records = linked_records(session, entity_type, [q for q in checked if q not in present], company)
    context = load_drift_context(session, entity_type, list(records.values()), SyncSettings(), company)
    for record in records.values():
        counts.drifts += drift_of(session, context, record, {"Id": record.qbo_id, "status": "Deleted"})
    return counts
