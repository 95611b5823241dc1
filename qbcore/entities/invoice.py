"""Invoices: a QuickBooks Invoice found by DocNumber, after its customer and the items of its charge lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, cast, select
from sqlalchemy.orm import Session, joinedload, selectinload

from qbcore.entities.common import NO_TEXT, TEXT, chunked_scalars, synced_at
from qbcore.entities.routes import to_customers_company
from qbcore.entities.spec import EntitySpec, ImportFile, Ledger, ProblemTab, Switch
from qbcore.mapping.invoice import build_invoice_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import ChargeLine, ChargeSet, Customer, EntityType, Invoice, InvoiceStatus, SyncRecord
from qbcore.settings import SyncSettings


def doc_number_key(payload: dict[str, Any], _matching: str) -> tuple[str, str] | None:
    """DocNumber, when we send one (QuickBooks numbers the form itself otherwise)."""
    return ("DocNumber", payload["DocNumber"]) if payload.get("DocNumber") else None


def needs(session: Session, invoice_ids: list[int]) -> Mapping[EntityType, set[int]]:
    """The invoice's customer and the charge codes of its lines."""
    return {
        EntityType.CUSTOMER: chunked_scalars(session, invoice_ids, lambda c: select(Invoice.customer_id).where(
            Invoice.id.in_(c))),
        EntityType.ITEM: chunked_scalars(session, invoice_ids, lambda c: select(ChargeLine.charge_code_id).join(
            ChargeSet, ChargeSet.id == ChargeLine.charge_set_id).where(ChargeSet.invoice_id.in_(c))),
    }


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row: number, customer, total, invoice date."""
    return (select(*record, cast(Invoice.number, TEXT).label("number_or_name"),
                   cast(Customer.name, TEXT).label("customer"), Customer.id.label("customer_id"),
                   Invoice.total.label("amount"), Invoice.invoice_date.label("date"), NO_TEXT.label("email"))
            .join(Invoice, and_(SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == Invoice.id))
            .join(Customer, Customer.id == Invoice.customer_id))


def build_payload(row: Any, settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]) -> dict[str, Any]:
    """QuickBooks Invoice JSON."""
    return build_invoice_payload(row, settings, refs)


SPEC = EntitySpec(
    entity_type=EntityType.INVOICE, model=Invoice, request_code="inv",
    build_payload=build_payload, natural_key=doc_number_key, record_name=lambda row: str(row.number),
    switch=Switch("sync_invoices", "Invoices"), ids_view=ids_view,
    load_options=(joinedload(Invoice.customer),
                  selectinload(Invoice.charge_sets).joinedload(ChargeSet.load),
                  selectinload(Invoice.charge_sets).selectinload(ChargeSet.lines).joinedload(ChargeLine.charge_code)),
    depends_on=(EntityType.CUSTOMER, EntityType.ITEM), needs=needs,
    fixed_at=lambda session, number, company_id: synced_at(
        session, EntityType.INVOICE, select(Invoice.id).where(Invoice.number == number), company_id),
    sales_form=True, searched_by=("number", "amount"),
    # Drafts and voided invoices never go to QuickBooks; they are not part of the month's close.
    ledger=Ledger(day=Invoice.invoice_date, amount=Invoice.total, number=Invoice.number,
                  in_books=(Invoice.status.not_in([InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value]),)),
    refs_field="invoices",
    company_route=lambda: to_customers_company(Invoice.customer_id),
    # Only invoices can be set aside (cleared, or marked paid outside the sync) and restored.
    problems=ProblemTab(position=1, customer_key=Invoice.customer_id, changed_at=Invoice.updated_at,
                        named_by=Invoice.number, set_aside=True, mark_paid=True),
    import_file=ImportFile("invoices", 2, "invoice_lines.csv", "Invoice lines",
                           "One row per charge line; rows with the same invoice_number make one invoice, "
                           "rows with the same load_number one charge set."),
)
