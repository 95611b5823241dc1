"""Which sync records a run picks up: the chosen ones plus the unsynced records they depend on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.models import (
    PROBLEM_STATUSES,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    EntityType,
    Invoice,
    Payment,
    PaymentApplication,
    SyncRecord,
)

WAITING = tuple(s.value for s in PROBLEM_STATUSES)


def select_record_ids(session: Session, *, entity_types: Sequence[EntityType] | None = None,
                      record_ids: Sequence[int] | None = None) -> list[int]:
    """Records waiting to sync (never synced, pending, failed, blocked, out of date) among the chosen ones."""
    query = select(SyncRecord.id).where(SyncRecord.status.in_(WAITING))
    if entity_types:
        query = query.where(SyncRecord.entity_type.in_([e.value for e in entity_types]))
    if record_ids is not None:
        ids = list(record_ids)
        out: list[int] = []
        for start in range(0, len(ids), 900):
            out.extend(session.scalars(query.where(SyncRecord.id.in_(ids[start:start + 900]))))
        return sorted(out)
    return list(session.scalars(query.order_by(SyncRecord.id)))


def _waiting_records(session: Session, entity_type: EntityType, entity_ids: Iterable[int]) -> set[int]:
    ids = list(set(entity_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        found.update(session.scalars(select(SyncRecord.id).where(
            SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(ids[start:start + 900]),
            SyncRecord.status.in_(WAITING))))
    return found


def _entity_ids(session: Session, record_ids: Iterable[int], entity_type: EntityType) -> list[int]:
    ids = list(record_ids)
    out: list[int] = []
    for start in range(0, len(ids), 900):
        out.extend(session.scalars(select(SyncRecord.entity_id).where(
            SyncRecord.id.in_(ids[start:start + 900]), SyncRecord.entity_type == entity_type.value)))
    return out


def _chunked(session: Session, ids: list[int], build) -> set[int]:  # type: ignore[no-untyped-def]
    out: set[int] = set()
    for start in range(0, len(ids), 900):
        out.update(v for v in session.scalars(build(ids[start:start + 900])) if v is not None)
    return out


def expand_dependencies(session: Session, record_ids: Sequence[int]) -> list[int]:
    """Add the waiting customers, items, invoices and credit memos the chosen records need."""
    chosen = set(record_ids)
    payments = _entity_ids(session, chosen, EntityType.PAYMENT)
    invoices = set(_entity_ids(session, chosen, EntityType.INVOICE))
    memos = set(_entity_ids(session, chosen, EntityType.CREDIT_MEMO))
    customers: set[int] = set(_entity_ids(session, chosen, EntityType.CUSTOMER))
    if payments:
        invoices |= _chunked(session, payments, lambda c: select(PaymentApplication.invoice_id).where(
            PaymentApplication.payment_id.in_(c)))
        memos |= _chunked(session, payments, lambda c: select(PaymentApplication.credit_memo_id).where(
            PaymentApplication.payment_id.in_(c)))
        customers |= _chunked(session, payments, lambda c: select(Payment.customer_id).where(Payment.id.in_(c)))
        chosen |= _waiting_records(session, EntityType.INVOICE, invoices)
        chosen |= _waiting_records(session, EntityType.CREDIT_MEMO, memos)
    applications = _entity_ids(session, chosen, EntityType.CREDIT_APPLICATION)
    if applications:
        invoices |= _chunked(session, applications, lambda c: select(CreditMemoApplication.invoice_id).where(
            CreditMemoApplication.id.in_(c)))
        memos |= _chunked(session, applications, lambda c: select(CreditMemoApplication.credit_memo_id).where(
            CreditMemoApplication.id.in_(c)))
        chosen |= _waiting_records(session, EntityType.INVOICE, invoices)
        chosen |= _waiting_records(session, EntityType.CREDIT_MEMO, memos)
    invoice_list, memo_list = list(invoices), list(memos)
    codes: set[int] = set()
    if invoice_list:
        customers |= _chunked(session, invoice_list, lambda c: select(Invoice.customer_id).where(Invoice.id.in_(c)))
        codes |= _chunked(session, invoice_list, lambda c: select(ChargeLine.charge_code_id).join(
            ChargeSet, ChargeSet.id == ChargeLine.charge_set_id).where(ChargeSet.invoice_id.in_(c)))
    if memo_list:
        customers |= _chunked(session, memo_list, lambda c: select(CreditMemo.customer_id).where(
            CreditMemo.id.in_(c)))
        codes |= _chunked(session, memo_list, lambda c: select(CreditMemoLine.charge_code_id).where(
            CreditMemoLine.credit_memo_id.in_(c)))
    # Parents of sub-customers, up to QuickBooks' nesting depth.
    frontier = set(customers)
    for _ in range(5):
        parents = _chunked(session, list(frontier), lambda c: select(Customer.parent_id).where(Customer.id.in_(c)))
        frontier = parents - customers
        customers |= parents
        if not frontier:
            break
    chosen |= _waiting_records(session, EntityType.CUSTOMER, customers)
    chosen |= _waiting_records(session, EntityType.ITEM, codes)
    return sorted(chosen)
