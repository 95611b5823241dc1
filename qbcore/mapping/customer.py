"""Customer (and sub-customer as a job) → QuickBooks Customer JSON."""

from __future__ import annotations

from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import term_ref
from qbcore.mapping.names import COMPANY_NAME_MAX, DISPLAY_NAME_MAX, clean_name, is_email, single_line
from qbcore.mapping.refs import QboRefs
from qbcore.settings import SyncSettings


def display_name(customer: Any) -> str:
    """The DisplayName QuickBooks will know the customer by (also what look-ups search for)."""
    return clean_name(getattr(customer, "qbo_display_name", None) or customer.name, DISPLAY_NAME_MAX)


def build_customer_payload(customer: Any, settings: SyncSettings, refs: QboRefs) -> dict[str, Any]:
    """QuickBooks Customer JSON; a sub-customer becomes a job under its parent's QuickBooks id."""
    payload: dict[str, Any] = {
        "DisplayName": display_name(customer),
        "CompanyName": clean_name(customer.name, COMPANY_NAME_MAX),
    }
    if is_email(customer.billing_email):
        payload["PrimaryEmailAddr"] = {"Address": customer.billing_email}
    if customer.phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": customer.phone[:30]}
    # An address line pasted from a multi-line field keeps its words, on one line as QuickBooks shows it.
    address = {
        key: single_line(value) for key, value in (
            ("Line1", customer.address_line1), ("City", customer.city),
            ("CountrySubDivisionCode", customer.state), ("PostalCode", customer.postal_code),
            ("Country", customer.country),
        ) if value and single_line(value)
    }
    if address:
        payload["BillAddr"] = address
    terms = term_ref(customer.terms, settings, refs)
    if terms:
        payload["SalesTermRef"] = terms
    if customer.parent_id is not None:
        parent_id = refs.customers.get(customer.parent_id)
        if parent_id is None:
            parent_name = customer.parent.name if customer.parent is not None else str(customer.parent_id)
            raise MappingError(f"The parent customer {parent_name!r} is not in QuickBooks yet.",
                               blocked_by=f"customer:{parent_name}")
        payload["ParentRef"] = {"value": parent_id}
        payload["Job"] = True
        payload["BillWithParent"] = True
    return payload
