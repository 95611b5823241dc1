"""Bill payments entered in QuickBooks (check or card): recorded against our synced bills, settling them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore import labels
from qbcore.access import SYSTEM, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.models import (
    CarrierBill,
    EntityType,
    PulledBillPayment,
    PulledPaymentStatus,
    Settlement,
    SettlementShare,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.pull.apply import ApplyCounts, is_deleted, is_voided, linked_records, money

# The note on a bill's payment record the pull set aside because QuickBooks holds the payment; the pull alone
# takes such a record back when that payment is voided or deleted.
PULLED_NOTE = "Paid in QuickBooks by bill payment"
APPLIED = PulledPaymentStatus.APPLIED.value


@dataclass(frozen=True)
class BillKind:
    """How one kind of bill is settled: its billing model, open and paid statuses, amount, number, payment record."""

    entity_type: EntityType
    payment_type: EntityType
    model: Any
    open_status: str
    amount: Any
    number: Any


BILL_KINDS = {
    EntityType.SETTLEMENT: BillKind(EntityType.SETTLEMENT, EntityType.SETTLEMENT_PAYMENT, Settlement, "finalized",
                                    Settlement.net_pay, Settlement.number),
    EntityType.CARRIER_BILL: BillKind(EntityType.CARRIER_BILL, EntityType.CARRIER_PAYMENT, CarrierBill, "accepted",
                                      CarrierBill.total, CarrierBill.carrier_invoice_number),
}
# A split settlement's other bills are paid by their own payments, and count toward the settlement.
PAYMENT_TYPES = (*(kind.payment_type for kind in BILL_KINDS.values()), EntityType.SHARE_PAYMENT)


def bill_lines(payment: dict[str, Any]) -> dict[str, Decimal]:
    """Amount paid per QuickBooks bill id by one bill payment."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for line in payment.get("Line") or []:
        for link in (line or {}).get("LinkedTxn") or []:
            if str(link.get("TxnType")) == "Bill" and link.get("TxnId"):
                paid[str(link["TxnId"])] += money(line.get("Amount"))
    return dict(paid)


def _is_pushed_by_us(row: dict[str, Any], ours: dict[str, SyncRecord]) -> bool:
    if str(row.get("Id")) in ours:
        return True
    # One we pushed whose answer was lost: our payload's memo names the bill by its own number.
    note, number = str(row.get("PrivateNote") or ""), str(row.get("DocNumber") or "")
    return bool(number) and note in (f"Settlement {number} paid.", f"Carrier bill {number} paid.")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def paid_in_quickbooks(session: Session, entity_type: EntityType, entity_ids: Sequence[int],
                       company_id: int | None = None) -> dict[int, Decimal]:
    """Billing id → what bill payments entered in QuickBooks paid on its bills (every bill of a split settlement)."""
    paid: dict[int, Decimal] = {}
    for chunk in chunked(sorted(set(entity_ids)), SQL_IN_CHUNK):
        query = (select(PulledBillPayment.entity_id, func.sum(PulledBillPayment.amount))
                 .where(PulledBillPayment.entity_type == entity_type.value, PulledBillPayment.status == APPLIED,
                        PulledBillPayment.entity_id.in_(chunk)).group_by(PulledBillPayment.entity_id))
        if company_id is not None:
            query = query.where(PulledBillPayment.company_id == company_id)
        paid.update({int(e): money(a) for e, a in session.execute(query)})
    return paid


def paid_on_rows(session: Session, rows: Sequence[tuple[str, int, int]]) -> list[Decimal | None]:
    """Per (entity type, company id, billing id) row, what QuickBooks bill payments paid on it; None off a bill."""
    # The QuickBooks IDs grid and the Problem Sync bill tabs (and their CSV) show this as "Paid in QuickBooks".
    paid: dict[tuple[str, int, int], Decimal] = {}
    for kind in BILL_KINDS:
        of_kind = [(int(company_id), int(entity_id)) for entity_type, company_id, entity_id in rows
                   if entity_type == kind.value]
        for company_id in {c for c, _ in of_kind}:
            ids = [e for c, e in of_kind if c == company_id]
            for entity_id, amount in paid_in_quickbooks(session, kind, ids, company_id).items():
                paid[(kind.value, company_id, entity_id)] = amount
    return [paid.get((str(entity_type), int(company_id), int(entity_id)))
            for entity_type, company_id, entity_id in rows]


def apply_bill_payments(session: Session, rows: Sequence[dict[str, Any]], company_id: int | None = None
                        ) -> ApplyCounts:
    """Record bill payments entered in a company's QuickBooks against its synced bills; idempotent per line."""
    company = resolve_company_id(session, company_id)
    counts = ApplyCounts(changes=len(rows))
    ids = [str(r.get("Id")) for r in rows if r.get("Id")]
    ours: dict[str, SyncRecord] = {}
    for payment_type in PAYMENT_TYPES:
        ours.update(linked_records(session, payment_type, ids, company))
    bill_ids = [txn for r in rows if not is_deleted(r) for txn in bill_lines(r)]
    # QuickBooks bill → the billing row it settles: a settlement or carrier bill; a split bill, its settlement.
    bills: dict[str, tuple[str, int]] = {}
    for kind in BILL_KINDS:
        bills.update({qbo: (str(r.entity_type), r.entity_id)
                      for qbo, r in linked_records(session, kind, bill_ids, company).items()})
    bills.update(_split_bills(session, linked_records(session, EntityType.SETTLEMENT_SHARE, bill_ids, company)))
    existing: dict[tuple[str, str], PulledBillPayment] = {}
    for chunk in chunked(dict.fromkeys(ids), SQL_IN_CHUNK):
        for pulled in session.scalars(select(PulledBillPayment).where(
                PulledBillPayment.company_id == company, PulledBillPayment.qbo_bill_payment_id.in_(chunk))):
            existing[(pulled.qbo_bill_payment_id, pulled.qbo_bill_id)] = pulled
    touched: set[tuple[str, int]] = set()
    for row in rows:
        qbo_id = str(row.get("Id") or "")
        if not qbo_id:
            continue
        gone = is_deleted(row) or is_voided(row)
        if qbo_id in ours or (not gone and _is_pushed_by_us(row, ours)):
            counts.ignored += 1
            continue
        wanted = {} if gone else bill_lines(row)
        # Lines that no longer pay a bill (voided, deleted, or re-applied in QuickBooks): reverse them.
        for (pid, qbo_bill), pulled in existing.items():
            if pid == qbo_id and qbo_bill not in wanted and pulled.status == APPLIED:
                pulled.status, pulled.reversed_at = PulledPaymentStatus.REVERSED, utcnow()
                counts.reversed += 1
                touched.add((pulled.entity_type, pulled.entity_id))
                write_audit(session, SYSTEM, "reverse_pulled_bill_payment", target_type=pulled.entity_type,
                            target_id=pulled.entity_id, before={"status": APPLIED},
                            after={"qbo_bill_payment_id": qbo_id, "amount": str(pulled.amount)},
                            reason="deleted or voided in QuickBooks" if gone else "no longer applied in QuickBooks",
                            company_id=company)
        for qbo_bill, amount in wanted.items():
            billed = bills.get(qbo_bill)
            if billed is None or amount <= 0:
                continue  # not one of our bills in this company
            entity_type, entity_id = billed
            known = existing.get((qbo_id, qbo_bill))
            if known is not None:
                if known.status == APPLIED and money(known.amount) != amount:
                    write_audit(session, SYSTEM, "update_pulled_bill_payment", target_type=known.entity_type,
                                target_id=known.entity_id, before={"amount": str(known.amount)},
                                after={"amount": str(amount), "qbo_bill_payment_id": qbo_id}, company_id=company)
                    known.amount = amount
                    touched.add((known.entity_type, known.entity_id))
                continue
            pulled = PulledBillPayment(
                company_id=company, qbo_bill_payment_id=qbo_id, qbo_bill_id=qbo_bill,
                entity_type=entity_type, entity_id=entity_id, amount=amount,
                pay_type=str(row.get("PayType") or "")[:12] or None, txn_date=_date(row.get("TxnDate")),
                reference=str(row.get("DocNumber") or "")[:40] or None, status=PulledPaymentStatus.APPLIED)
            session.add(pulled)
            existing[(qbo_id, qbo_bill)] = pulled
            counts.bill_payments += 1
            touched.add((pulled.entity_type, pulled.entity_id))
            write_audit(session, SYSTEM, "apply_pulled_bill_payment", target_type=pulled.entity_type,
                        target_id=entity_id,
                        after={"qbo_bill_payment_id": qbo_id, "qbo_bill_id": qbo_bill, "amount": str(amount),
                               "pay_type": pulled.pay_type}, reason="bill paid in QuickBooks", company_id=company)
    session.flush()
    for entity_type, entity_id in sorted(touched):
        refresh_bill_status(session, EntityType(entity_type), entity_id, company)
    return counts


def _split_bills(session: Session, records: dict[str, SyncRecord]) -> dict[str, tuple[str, int]]:
    """Split bills' QuickBooks ids → their settlement (what a payment of any of its bills settles)."""
    share_ids = [record.entity_id for record in records.values()]
    settlement_of: dict[int, int] = {}
    for chunk in chunked(share_ids, SQL_IN_CHUNK):
        settlement_of.update({share_id: settlement_id for share_id, settlement_id in session.execute(
            select(SettlementShare.id, SettlementShare.settlement_id).where(SettlementShare.id.in_(chunk)))})
    return {qbo: (EntityType.SETTLEMENT.value, settlement_of[record.entity_id])
            for qbo, record in records.items() if record.entity_id in settlement_of}


def _payment_records(session: Session, kind: BillKind, entity_id: int, company_id: int
                     ) -> list[tuple[EntityType, int, SyncRecord | None]]:
    """The payment records a bill's payment in QuickBooks stands for: its own, and a split settlement's others'."""
    found = [(kind.payment_type, entity_id)]
    if kind.entity_type is EntityType.SETTLEMENT:
        found += [(EntityType.SHARE_PAYMENT, share_id) for share_id in session.scalars(
            select(SettlementShare.id).where(SettlementShare.settlement_id == entity_id,
                                             SettlementShare.position >= 2).order_by(SettlementShare.position))]
    return [(payment_type, eid, session.scalar(select(SyncRecord).where(
        SyncRecord.company_id == company_id, SyncRecord.entity_type == payment_type.value,
        SyncRecord.entity_id == eid))) for payment_type, eid in found]


def refresh_bill_status(session: Session, entity_type: EntityType, entity_id: int, company_id: int) -> str | None:
    """Paid when QuickBooks' payments cover the whole bill (all its bills), open again when they no longer do.

    A bill paid in QuickBooks sets its payment record aside, so the sync never pushes a second payment for it.
    Returns the new billing status when it changed.
    """
    kind = BILL_KINDS[entity_type]
    row = session.get(kind.model, entity_id)
    if row is None:
        return None
    applied = list(session.execute(select(PulledBillPayment.amount, PulledBillPayment.txn_date,
                                          PulledBillPayment.qbo_bill_payment_id, PulledBillPayment.reference)
                                   .where(PulledBillPayment.company_id == company_id,
                                          PulledBillPayment.entity_type == entity_type.value,
                                          PulledBillPayment.entity_id == entity_id,
                                          PulledBillPayment.status == APPLIED)
                                   .order_by(PulledBillPayment.txn_date, PulledBillPayment.id)))
    paid = sum((money(a) for a, *_ in applied), Decimal("0.00"))
    total = money(session.scalar(select(kind.amount).where(kind.model.id == entity_id)))
    records = _payment_records(session, kind, entity_id, company_id)
    record = records[0][2]
    number = str(session.scalar(select(kind.number).where(kind.model.id == entity_id)))
    if total > 0 and paid >= total:
        _, paid_on, last_id, reference = applied[-1]
        changed = None
        if str(row.status) == kind.open_status:
            row.status, row.paid_on = "paid", paid_on or date.today()
            changed = "paid"
            write_audit(session, SYSTEM, f"{entity_type.value}_paid_from_quickbooks", target_type=entity_type.value,
                        target_id=number, before={"status": kind.open_status},
                        after={"status": "paid", "paid_on": row.paid_on.isoformat(), "paid": str(paid)},
                        reason="paid in full in QuickBooks", company_id=company_id)
        if str(row.status) == "paid":
            note = f"{PULLED_NOTE} {reference or last_id} ({labels.money(paid)})" \
                + (f" on {paid_on.isoformat()}" if paid_on else "")
            for payment_type, eid, each in records:
                _set_payment_aside(session, payment_type, eid, company_id, each, note)
        return changed
    if str(row.status) == "paid" and record is not None and _set_aside_by_pull(record):
        # QuickBooks no longer holds the whole payment and nothing else paid it: owed again.
        before = row.paid_on
        row.status, row.paid_on = kind.open_status, None
        for _, _, each in records:
            if each is not None and _set_aside_by_pull(each):
                session.delete(each)
        write_audit(session, SYSTEM, f"{entity_type.value}_unpaid_from_quickbooks", target_type=entity_type.value,
                    target_id=number, before={"status": "paid", "paid_on": before.isoformat() if before else None},
                    after={"status": kind.open_status, "paid": str(paid)},
                    reason="its payment was voided or deleted in QuickBooks", company_id=company_id)
        return kind.open_status
    return None


def _set_aside_by_pull(record: SyncRecord) -> bool:
    return (record.status == SyncStatus.PAID_OUTSIDE.value and record.qbo_id is None
            and (record.note or "").startswith(PULLED_NOTE))


def _set_payment_aside(session: Session, payment_type: EntityType, entity_id: int, company_id: int,
                       record: SyncRecord | None, note: str) -> None:
    if record is None:
        session.add(SyncRecord(company_id=company_id, entity_type=payment_type.value, entity_id=entity_id,
                               status=SyncStatus.PAID_OUTSIDE.value, attempts=0, note=note))
        return
    if record.qbo_id is not None or record.status in (SyncStatus.SYNCED.value, SyncStatus.CLEARED.value):
        return  # our own payment is in QuickBooks already, or someone set it aside themselves
    if record.status == SyncStatus.PAID_OUTSIDE.value and not _set_aside_by_pull(record):
        return  # marked paid without sync by someone: theirs to undo
    record.status, record.note = SyncStatus.PAID_OUTSIDE, note
    record.blocked_by = record.error_kind = record.error_code = record.error_message = None
