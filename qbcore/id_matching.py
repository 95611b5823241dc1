"""Our record beside a QuickBooks record: what differs, whether they are twins, and what linking them does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.labels import label_entity
from qbcore.mapping.customer import display_name
from qbcore.mapping.names import DISPLAY_NAME_MAX, clean_name
from qbcore.mapping.payables import vendor_display_name
from qbcore.models import Customer, EntityType, SyncRecord, Vendor
from qbcore.qbo.lookup import QboRecord
from qbcore.queries.ids import PAID_TO_VENDOR, LinkedRecord

# Transactions: records with an amount, compared (and searched) by it.
TRANSACTIONS = tuple(spec.entity_type for spec in ENTITIES if "amount" in spec.searched_by)


@dataclass(frozen=True)
class CustomerRef:
    """Our customer as QuickBooks should know it: its QuickBooks id (once linked) and display name."""

    qbo_id: str | None
    name: str | None


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower()


def _party(record: LinkedRecord) -> str:
    return "vendor" if record.entity_type in PAID_TO_VENDOR else "customer"


def _money(amount: object) -> str:
    return "—" if amount is None else f"${amount:,.2f}"


def _vendor_ref(session: Session, record: LinkedRecord) -> CustomerRef:
    """The QuickBooks id and name of the vendor a bill (or bill payment) of ours pays."""
    spec = spec_for(record.entity_type)
    model: Any = spec.model
    vendor_key: Any = spec.problems.vendor_key if spec.problems else None
    vendor_id = session.scalar(select(vendor_key).where(model.id == record.entity_id))
    vendor = None if vendor_id is None else session.get(Vendor, vendor_id)
    if vendor is None:
        return CustomerRef(None, None)
    qbo_id = session.scalar(select(SyncRecord.qbo_id).where(
        SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.entity_id == vendor.id,
        SyncRecord.company_id == record.company_id))
    return CustomerRef(qbo_id, vendor_display_name(vendor))


def get_customer_ref(session: Session, record: LinkedRecord) -> CustomerRef:
    """The QuickBooks id and display name of the customer a transaction of ours belongs to (a bill's vendor)."""
    if record.entity_type in PAID_TO_VENDOR:
        return _vendor_ref(session, record)
    if record.customer_id is None:
        return CustomerRef(None, None)
    customer = session.get(Customer, record.customer_id)
    qbo_id = session.scalar(select(SyncRecord.qbo_id).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                            SyncRecord.entity_id == record.customer_id))
    return CustomerRef(qbo_id, None if customer is None else display_name(customer))


def is_same_customer(customer: CustomerRef, qbo: QboRecord) -> bool | None:
    """Whether a QuickBooks transaction is our customer's: by linked id, else by name; None when unknown."""
    if customer.qbo_id and qbo.customer_id:
        return customer.qbo_id == qbo.customer_id
    if customer.name and qbo.customer:
        return _same_text(customer.name, qbo.customer)
    return None


def find_mismatches(record: LinkedRecord, qbo: QboRecord, customer: CustomerRef) -> list[str]:
    """Why a QuickBooks transaction is not ours although it may share a number: another customer or amount."""
    if record.entity_type not in TRANSACTIONS:
        return []
    mismatches = []
    if is_same_customer(customer, qbo) is False:
        mismatches.append(f"it belongs to QuickBooks {_party(record)} {qbo.customer or qbo.customer_id}, ours to "
                          f"{record.customer}")
    if record.amount is not None and qbo.amount is not None and record.amount != qbo.amount:
        mismatches.append(f"it is for {_money(qbo.amount)}, ours for {_money(record.amount)}")
    return mismatches


def describe_consequence(record: LinkedRecord, qbo: QboRecord, differences: Sequence[str]) -> str:
    """What the next sync does to the QuickBooks record once ours is linked to it, in plain words."""
    kind = label_entity(record.entity_type).lower()
    theirs = f"QuickBooks {kind} {qbo.name or '(no number)'} (id {qbo.qbo_id})"
    if record.entity_type in TRANSACTIONS:
        nobody = f"no {_party(record)}"
        theirs += f" of {qbo.customer or nobody} for {_money(qbo.amount)}"
        ours = f"our {kind} {record.number_or_name} of {record.customer or nobody} for {_money(record.amount)}"
    else:
        ours = f"our {kind} {record.number_or_name}"
    if not differences:
        return f"Nothing is sent now: {theirs} already matches {ours}; later edits of ours update it."
    return (f"The next sync will overwrite {theirs} with {ours}: its {_party(record)}, lines, amount and date become "
            "ours, and whatever QuickBooks held there is replaced.")


def compare_records(record: LinkedRecord, qbo: QboRecord,
                    customer: CustomerRef | None = None) -> tuple[list[str], bool]:
    """What differs between our record and the QuickBooks one, and whether anything identifies them as twins."""
    differences: list[str] = []
    kind = label_entity(record.entity_type).lower()
    if record.entity_type in TRANSACTIONS:
        number_ok = _same_text(record.number_or_name, qbo.name)
        amount_ok = record.amount is not None and qbo.amount is not None and record.amount == qbo.amount
        if not number_ok:
            differences.append(f"number: ours {record.number_or_name}, QuickBooks {qbo.name or '(none)'}")
        if not amount_ok:
            differences.append(f"amount: ours {_money(record.amount)}, QuickBooks {_money(qbo.amount)}")
        if record.date is not None and qbo.date and record.date.isoformat() != qbo.date[:10]:
            differences.append(f"date: ours {record.date.isoformat()}, QuickBooks {qbo.date[:10]}")
        ours = customer.name if customer and customer.name else (
            clean_name(record.customer, DISPLAY_NAME_MAX) if record.customer else None)
        if ours and qbo.customer and not _same_text(ours, qbo.customer):
            differences.append(f"{_party(record)}: ours {record.customer}, QuickBooks {qbo.customer}")
        identified = number_ok or amount_ok
    elif record.entity_type is EntityType.CUSTOMER:
        name_ok = _same_text(clean_name(record.number_or_name, DISPLAY_NAME_MAX), qbo.name)
        if not name_ok:
            differences.append(f"name: ours {record.number_or_name}, QuickBooks {qbo.name}")
        identified = name_ok
    else:
        # Items are often named differently in QuickBooks (BASE → "Drayage"), so a name is only a hint.
        if not _same_text(record.number_or_name, qbo.name):
            differences.append(f"name: ours {record.number_or_name}, QuickBooks {qbo.name}")
        identified = True
    if not qbo.active:
        differences.append(f"the QuickBooks {kind} is inactive (deleted)")
    return differences, identified
