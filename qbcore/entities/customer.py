"""Customers: QuickBooks Customer, found by DisplayName (or email), parents before their jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, Select, and_, cast, func, null, select
from sqlalchemy.orm import Session, joinedload

from qbcore.entities.common import NO_AMOUNT, NO_DATE, NO_TEXT, TEXT, chunked_scalars, synced_at
from qbcore.entities.routes import to_own_company
from qbcore.entities.spec import EntitySpec, ImportFile, ProblemTab, Switch
from qbcore.mapping.customer import build_customer_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import Customer, EntityType, Invoice, InvoiceStatus, SyncRecord
from qbcore.settings import SyncSettings

PARENT_DEPTH = 5  # QuickBooks nests sub-customers at most five levels deep


def natural_key(payload: dict[str, Any], customer_matching: str) -> tuple[str, str] | None:
    """DisplayName, or the email address when the settings match customers by email and there is one."""
    email = (payload.get("PrimaryEmailAddr") or {}).get("Address")
    if customer_matching == "email" and email:
        return "PrimaryEmailAddr", email
    return "DisplayName", payload["DisplayName"]


def needs(session: Session, customer_ids: list[int]) -> Mapping[EntityType, set[int]]:
    """Parents of sub-customers, up to QuickBooks' nesting depth."""
    customers = set(customer_ids)
    frontier = set(customers)
    for _ in range(PARENT_DEPTH):
        parents = chunked_scalars(session, list(frontier),
                                  lambda c: select(Customer.parent_id).where(Customer.id.in_(c)))
        frontier = parents - customers
        customers |= parents
        if not frontier:
            break
    return {EntityType.CUSTOMER: customers}


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row: named by its name, searched by its billing email."""
    return (select(*record, cast(Customer.name, TEXT).label("number_or_name"), NO_TEXT.label("customer"),
                   cast(null(), Integer).label("customer_id"), NO_AMOUNT.label("amount"), NO_DATE.label("date"),
                   cast(Customer.billing_email, TEXT).label("email"))
            .join(Customer, and_(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                 SyncRecord.entity_id == Customer.id)))


def open_invoice_total() -> Any:
    """A customer's stake (its Problem Sync amount): what it still owes on invoices not paid or voided."""
    open_statuses = (InvoiceStatus.APPROVED.value, InvoiceStatus.PARTIALLY_PAID.value)
    return (select(func.coalesce(func.sum(Invoice.total), 0))
            .where(Invoice.customer_id == Customer.id, Invoice.status.in_(open_statuses))
            .correlate(Customer).scalar_subquery())


def build_payload(row: Any, settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]) -> dict[str, Any]:
    """QuickBooks Customer JSON."""
    return build_customer_payload(row, settings, refs)


SPEC = EntitySpec(
    entity_type=EntityType.CUSTOMER, model=Customer, request_code="cus",
    build_payload=build_payload, natural_key=natural_key, record_name=lambda row: str(row.name or row.code),
    switch=Switch("sync_customers", "Customers"), ids_view=ids_view,
    load_options=(joinedload(Customer.parent),), needs=needs,
    fixed_at=lambda session, name, company_id: synced_at(
        session, EntityType.CUSTOMER, select(Customer.id).where(Customer.name == name), company_id),
    linked_by_name=True, searched_by=("name",),
    refs_field="customers",
    company_route=to_own_company, linked_in_each_company=True,
    problems=ProblemTab(position=3, reference=Customer.code, amount=open_invoice_total(),
                        record_date=Customer.updated_at, date_is_timestamp=True, changed_at=Customer.updated_at,
                        named_by=Customer.name),
    import_file=ImportFile("customers", 1, "customers.csv", "Customers",
                           "One row per customer; matched by customer_code."),
)
