"""Read-only QuickBooks look-ups the pages need: one record by id, re-link candidates, and name lists."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.errors import ErrorKind, QboCallError
from qbcore.models import QBO_OBJECTS, EntityType
from qbcore.qbo.gateway import QboGateway, quote

CANDIDATE_LIMIT = 25


@dataclass(frozen=True)
class QboRecord:
    """What a person needs to recognise a QuickBooks record: name or number, amount, date, customer."""

    entity: str
    qbo_id: str
    name: str | None
    amount: Decimal | None
    date: str | None
    customer: str | None
    sync_token: str | None
    active: bool = True
    customer_id: str | None = None


@dataclass(frozen=True)
class NamedRef:
    """One entry of a QuickBooks name list (item, account, class, location, term)."""

    qbo_id: str
    name: str
    detail: str = ""


@dataclass(frozen=True)
class CustomFieldDefinition:
    """One of the three sales-form string custom fields switched on in QuickBooks' Preferences."""

    definition_id: str
    name: str


def open_gateway(factory: sessionmaker[Session], config: Config, company_id: int | None = None) -> QboGateway:
    """A gateway for look-ups in one company, the default one when None (nothing connects until the first call)."""
    return QboGateway(factory, config, timeout_s=20.0, company_id=company_id)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def summarize_record(entity: str, body: dict[str, Any]) -> QboRecord:
    """The recognisable fields of a QuickBooks entity body, whatever its type."""
    if entity in ("Customer", "Item"):
        name = body.get("DisplayName") or body.get("FullyQualifiedName") or body.get("Name")
    elif entity == "Payment":
        name = body.get("PaymentRefNum")
    else:
        name = body.get("DocNumber")
    amount = body.get("TotalAmt") if "TotalAmt" in body else body.get("Balance")
    # A bill or bill payment names its vendor where a sales form names its customer.
    found_ref = body.get("CustomerRef") or body.get("VendorRef")
    ref: dict[str, Any] = found_ref if isinstance(found_ref, dict) else {}
    customer = ref.get("name")
    return QboRecord(
        entity=entity, qbo_id=str(body.get("Id")), name=None if name is None else str(name),
        amount=_decimal(amount), date=body.get("TxnDate"), customer=customer,
        sync_token=None if body.get("SyncToken") is None else str(body.get("SyncToken")),
        active=bool(body.get("Active", True)),
        customer_id=None if ref.get("value") is None else str(ref.get("value")),
    )


def fetch_record(gateway: QboGateway, entity_type: EntityType, qbo_id: str) -> QboRecord | None:
    """The QuickBooks record of our entity type with this id; None when QuickBooks has no such record."""
    entity = QBO_OBJECTS[entity_type]
    try:
        body = gateway.read(entity, qbo_id)
    except QboCallError as exc:
        # Ids are per entity type in QuickBooks: a customer's id read as an invoice is simply "not found".
        if exc.error.kind in (ErrorKind.NOT_FOUND, ErrorKind.VALIDATION):
            return None
        raise
    return summarize_record(entity, body)


def find_by_doc_number(gateway: QboGateway, entity_type: EntityType, doc_number: str) -> list[QboRecord]:
    """Transactions (invoice, credit memo) whose DocNumber is exactly this."""
    entity = QBO_OBJECTS[entity_type]
    rows = gateway.query(f"SELECT * FROM {entity} WHERE DocNumber = {quote(doc_number)} "
                         f"MAXRESULTS {CANDIDATE_LIMIT}")
    return [summarize_record(entity, row) for row in rows]


def find_by_name(gateway: QboGateway, entity_type: EntityType, name: str) -> list[QboRecord]:
    """Customers (DisplayName) or items (Name) whose name contains this text."""
    entity = QBO_OBJECTS[entity_type]
    column = "DisplayName" if entity == "Customer" else "Name"
    pattern = "%" + name.replace("%", "").strip() + "%"
    rows = gateway.query(f"SELECT * FROM {entity} WHERE {column} LIKE {quote(pattern)} MAXRESULTS {CANDIDATE_LIMIT}")
    return [summarize_record(entity, row) for row in rows]


def find_by_amount(gateway: QboGateway, entity_type: EntityType, amount: Decimal) -> list[QboRecord]:
    """Transactions whose TotalAmt is exactly this amount."""
    entity = QBO_OBJECTS[entity_type]
    rows = gateway.query(f"SELECT * FROM {entity} WHERE TotalAmt = '{amount:.2f}' MAXRESULTS {CANDIDATE_LIMIT}")
    return [summarize_record(entity, row) for row in rows]


def _named(rows: list[dict[str, Any]], detail_key: str | None = None) -> list[NamedRef]:
    refs = []
    for row in rows:
        if row.get("Active") is False:
            continue
        name = row.get("FullyQualifiedName") or row.get("Name") or row.get("DisplayName") or ""
        detail = str(row.get(detail_key) or "") if detail_key else ""
        refs.append(NamedRef(qbo_id=str(row.get("Id")), name=str(name), detail=detail))
    return sorted(refs, key=lambda r: r.name.lower())


def list_items(gateway: QboGateway) -> list[NamedRef]:
    """Active products and services, by name (detail: the type)."""
    return _named(gateway.query_all("Item"), "Type")


def list_accounts(gateway: QboGateway, *, income_only: bool = True) -> list[NamedRef]:
    """Active accounts (income accounts only by default), by name."""
    where = "AccountType = 'Income'" if income_only else ""
    return _named(gateway.query_all("Account", where=where), "AccountType")


def list_classes(gateway: QboGateway) -> list[NamedRef]:
    """Active classes, by name."""
    return _named(gateway.query_all("Class"))


def list_departments(gateway: QboGateway) -> list[NamedRef]:
    """Active locations (QuickBooks calls them departments), by name."""
    return _named(gateway.query_all("Department"))


def list_terms(gateway: QboGateway) -> list[NamedRef]:
    """Active payment terms, by name."""
    return _named(gateway.query_all("Term"))


def list_custom_field_definitions(gateway: QboGateway) -> list[CustomFieldDefinition]:
    """The sales-form string custom fields that are switched on, with their definition id (1-3)."""
    # QuickBooks serves Preferences at /preferences with no id.
    prefs = gateway.call("GET", "preferences").get("Preferences") or {}
    groups = (prefs.get("SalesFormsPrefs") or {}).get("CustomField") or []
    flat: dict[str, Any] = {}
    for group in groups:
        for entry in (group or {}).get("CustomField") or []:
            flat[str(entry.get("Name"))] = entry.get("StringValue", entry.get("BooleanValue"))
    definitions = []
    for n in (1, 2, 3):
        used = flat.get(f"SalesFormsPrefs.UseSalesCustom{n}")
        name = flat.get(f"SalesFormsPrefs.SalesCustomName{n}")
        if used and name:
            definitions.append(CustomFieldDefinition(definition_id=str(n), name=str(name)))
    return definitions


# The account types a bill's expense line may post to (what pay and deduction codes are mapped to).
EXPENSE_ACCOUNT_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")


@dataclass(frozen=True)
class QboLists:
    """Everything the Settings page offers from QuickBooks, read in one go."""

    items: tuple[NamedRef, ...]
    accounts: tuple[NamedRef, ...]  # income accounts (for items)
    classes: tuple[NamedRef, ...]
    departments: tuple[NamedRef, ...]
    terms: tuple[NamedRef, ...]
    custom_fields: tuple[CustomFieldDefinition, ...]
    expense_accounts: tuple[NamedRef, ...] = ()  # expense and cost of goods sold accounts (for pay codes)
    bank_accounts: tuple[NamedRef, ...] = ()  # bank accounts (what paid bills are paid from)


def read_qbo_lists(gateway: QboGateway) -> QboLists:
    """Items, income and expense accounts, classes, locations, terms and custom fields (six small queries)."""
    # One query for every account: the income ones go to items, the expense ones to pay and deduction codes.
    every = list_accounts(gateway, income_only=False)
    return QboLists(
        items=tuple(list_items(gateway)), accounts=tuple(a for a in every if a.detail == "Income"),
        classes=tuple(list_classes(gateway)), departments=tuple(list_departments(gateway)),
        terms=tuple(list_terms(gateway)), custom_fields=tuple(list_custom_field_definitions(gateway)),
        expense_accounts=tuple(a for a in every if a.detail in EXPENSE_ACCOUNT_TYPES),
        bank_accounts=tuple(a for a in every if a.detail == "Bank"),
    )
