"""Invoice (charge sets of one or many loads) → QuickBooks Invoice JSON."""

from __future__ import annotations

from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import branch_refs, term_ref, to_cents, to_number
from qbcore.mapping.description import compose_line_description, fit_description, render_description
from qbcore.mapping.names import DOC_NUMBER_MAX, has_line_break
from qbcore.mapping.refs import CustomFieldSpec, QboRefs
from qbcore.settings import SyncSettings

CUSTOM_FIELD_MAX = 31  # QuickBooks' string custom fields hold 31 characters


def sales_line(*, item_id: str, quantity: Any, rate: Any, description: str, line_num: int,
               service_date: Any = None) -> dict[str, Any]:
    """One SalesItemLineDetail line whose Amount is exactly Qty × UnitPrice to the cent."""
    detail: dict[str, Any] = {
        "ItemRef": {"value": item_id},
        "Qty": to_number(quantity),
        "UnitPrice": to_number(rate),
    }
    if service_date is not None:
        detail["ServiceDate"] = service_date.isoformat()
    line: dict[str, Any] = {
        "LineNum": line_num,
        "DetailType": "SalesItemLineDetail",
        # QuickBooks rejects (6070) an Amount that is not Qty × UnitPrice, so we never send the stored amount.
        "Amount": to_number(to_cents(quantity * rate)),
        "SalesItemLineDetail": detail,
    }
    if description:
        line["Description"] = description
    return line


def item_ref_for(charge_code: Any, refs: QboRefs) -> str:
    """The QuickBooks item of a charge code; MappingError naming the code when it has none."""
    item_id = refs.items.get(charge_code.id)
    if item_id is None:
        raise MappingError(f"Charge code {charge_code.code} is not mapped to a QuickBooks item. Map it on the "
                           "Settings page (or turn on 'create missing items'), then resync.",
                           blocked_by=f"item:{charge_code.code}")
    return item_id


def custom_field_values(invoice: Any, specs: tuple[CustomFieldSpec, ...]) -> list[dict[str, str]]:
    """Up to three string custom fields, from the invoice or its loads (distinct values joined)."""
    fields = []
    for spec in specs[:3]:
        if hasattr(invoice, spec.source_field):
            values = [getattr(invoice, spec.source_field)]
        else:
            values = [getattr(cs.load, spec.source_field, None) for cs in invoice.charge_sets]
        distinct = list(dict.fromkeys(str(v) for v in values if v not in (None, "")))
        if not distinct:
            continue
        fields.append({"DefinitionId": spec.definition_id, "Name": spec.name, "Type": "StringType",
                       "StringValue": ", ".join(distinct)[:CUSTOM_FIELD_MAX]})
    return fields


def customer_ref_for(customer_id: int, customer: Any, refs: QboRefs) -> dict[str, str]:
    """CustomerRef; MappingError naming the customer when it is not in QuickBooks yet."""
    qbo_id = refs.customers.get(customer_id)
    if qbo_id is None:
        name = customer.name if customer is not None else str(customer_id)
        raise MappingError(f"The customer {name!r} is not in QuickBooks yet.", blocked_by=f"customer:{name}")
    return {"value": qbo_id}


def refuse_broken_number(number: str) -> None:
    """MappingError for a document number holding a line break or control character (QuickBooks keeps one line)."""
    # Refused, not tidied: a changed number would no longer match the billing number people search for.
    if has_line_break(number):
        raise MappingError(f"Number {number!r} holds a line break or another control character; a QuickBooks "
                           "document number is one line. Correct the number in billing, then resync.")


def doc_number_for(number: str, settings: SyncSettings) -> dict[str, str]:
    """DocNumber from the billing number, unless QuickBooks numbers documents."""
    if settings.invoice_numbering != "billing":
        return {}
    refuse_broken_number(number)
    if len(number) > DOC_NUMBER_MAX:
        raise MappingError(f"Number {number} is {len(number)} characters; QuickBooks allows {DOC_NUMBER_MAX}. "
                           "Use QuickBooks numbering in Settings or shorten the number.")
    return {"DocNumber": number}


def build_invoice_lines(invoice: Any, settings: SyncSettings, refs: QboRefs) -> list[dict[str, Any]]:
    """One line per charge; each charge set's load text placed per the description template."""
    template = settings.description
    lines: list[dict[str, Any]] = []
    for charge_set in invoice.charge_sets:
        load_text = render_description(charge_set.load, template)
        for index, charge in enumerate(charge_set.lines):
            with_load = template.placement == "every_line" or index == 0
            text = compose_line_description(charge.description or charge.charge_code.name,
                                            load_text if with_load else "")
            where = f"line {len(lines) + 1} of invoice {invoice.number}"
            lines.append(sales_line(
                item_id=item_ref_for(charge.charge_code, refs), quantity=charge.quantity, rate=charge.rate,
                description=fit_description(text, settings.description_overflow, where=where),
                line_num=len(lines) + 1, service_date=charge_set.load.delivery_date,
            ))
    if not lines:
        raise MappingError(f"Invoice {invoice.number} has no charges; QuickBooks needs at least one line.")
    return lines


def build_invoice_payload(invoice: Any, settings: SyncSettings, refs: QboRefs) -> dict[str, Any]:
    """QuickBooks Invoice JSON for one billing invoice (raises MappingError with a plain reason)."""
    customer = invoice.customer
    payload: dict[str, Any] = {
        **doc_number_for(invoice.number, settings),
        "CustomerRef": customer_ref_for(invoice.customer_id, customer, refs),
        "TxnDate": invoice.invoice_date.isoformat(),
        "DueDate": invoice.due_date.isoformat(),
    }
    terms = term_ref(invoice.terms, settings, refs)
    if terms:
        payload["SalesTermRef"] = terms
    payload.update(branch_refs(customer.branch if customer is not None else None, settings, refs))
    payload["Line"] = build_invoice_lines(invoice, settings, refs)
    custom = custom_field_values(invoice, refs.custom_fields)
    if custom:
        payload["CustomField"] = custom
    if invoice.memo:
        payload["PrivateNote"] = invoice.memo[:4000]
    return payload
