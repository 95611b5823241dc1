"""Payments: a QuickBooks Payment found by PaymentRefNum, after the invoices and credit memos it applies to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, cast, select
from sqlalchemy.orm import Session, joinedload, selectinload

from qbcore.entities.common import NO_TEXT, TEXT, chunked_scalars
from qbcore.entities.routes import to_customers_company
from qbcore.entities.spec import EntitySpec, ImportFile, Ledger, ProblemTab, Switch
from qbcore.mapping.payment import build_payment_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import Customer, EntityType, Invoice, Payment, PaymentApplication, SyncRecord
from qbcore.settings import SyncSettings


def reference_key(payload: dict[str, Any], _matching: str) -> tuple[str, str] | None:
    """PaymentRefNum: our payment number (or the application's reference) travels in it."""
    return "PaymentRefNum", payload["PaymentRefNum"]


def needs(session: Session, payment_ids: list[int]) -> Mapping[EntityType, set[int]]:
    """The invoices and credit memos the payment applies to, and its customer."""
    return {
        EntityType.INVOICE: chunked_scalars(session, payment_ids, lambda c: select(PaymentApplication.invoice_id)
                                            .where(PaymentApplication.payment_id.in_(c))),
        EntityType.CREDIT_MEMO: chunked_scalars(session, payment_ids, lambda c: select(
            PaymentApplication.credit_memo_id).where(PaymentApplication.payment_id.in_(c))),
        EntityType.CUSTOMER: chunked_scalars(session, payment_ids, lambda c: select(Payment.customer_id).where(
            Payment.id.in_(c))),
    }


def load_extras(session: Session, rows: Mapping[int, Any], _company_id: int) -> dict[str, Any]:
    """Numbers of the invoices the payments apply to (a blocked payment names the invoice it waits for)."""
    invoice_ids = {a.invoice_id for row in rows.values() for a in row.applications if a.invoice_id}
    return {"invoice_numbers": dict(session.execute(
        select(Invoice.id, Invoice.number).where(Invoice.id.in_(invoice_ids))).all()) if invoice_ids else {}}


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row: number, customer, amount, payment date."""
    return (select(*record, cast(Payment.number, TEXT).label("number_or_name"),
                   cast(Customer.name, TEXT).label("customer"), Customer.id.label("customer_id"),
                   Payment.amount.label("amount"), Payment.payment_date.label("date"), NO_TEXT.label("email"))
            .join(Payment, and_(SyncRecord.entity_type == EntityType.PAYMENT.value, SyncRecord.entity_id == Payment.id))
            .join(Customer, Customer.id == Payment.customer_id))


def build_payload(row: Any, _settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]) -> dict[str, Any]:
    """QuickBooks Payment JSON."""
    return build_payment_payload(row, refs, invoice_numbers=extras.get("invoice_numbers"))


SPEC = EntitySpec(
    entity_type=EntityType.PAYMENT, model=Payment, request_code="pmt",
    build_payload=build_payload, natural_key=reference_key, record_name=lambda row: str(row.number),
    switch=Switch("sync_payments", "Payments"), ids_view=ids_view,
    load_options=(joinedload(Payment.customer), selectinload(Payment.applications)),
    load_extras=load_extras, extras_from_rows=True,
    depends_on=(EntityType.CUSTOMER, EntityType.INVOICE, EntityType.CREDIT_MEMO), needs=needs,
    searched_by=("amount",),
    ledger=Ledger(day=Payment.payment_date, amount=Payment.amount, number=Payment.number),
    pulled_payments=True,
    company_route=lambda: to_customers_company(Payment.customer_id),
    problems=ProblemTab(position=2, customer_key=Payment.customer_id, changed_at=Payment.updated_at,
                        named_by=Payment.number),
    import_file=ImportFile("payments", 3, "payments.csv", "Payment applications",
                           "One row per application; a payment applied to three invoices has three rows."),
)
