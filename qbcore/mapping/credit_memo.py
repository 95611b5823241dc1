"""Credit memo → QuickBooks CreditMemo JSON."""

from __future__ import annotations

from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import branch_refs
from qbcore.mapping.description import fit_description
from qbcore.mapping.invoice import customer_ref_for, doc_number_for, item_ref_for, sales_line
from qbcore.mapping.refs import QboRefs
from qbcore.settings import SyncSettings


def build_credit_memo_payload(credit_memo: Any, settings: SyncSettings, refs: QboRefs) -> dict[str, Any]:
    """QuickBooks CreditMemo JSON; the reason goes to the customer-visible memo."""
    customer = credit_memo.customer
    payload: dict[str, Any] = {
        **doc_number_for(credit_memo.number, settings),
        "CustomerRef": customer_ref_for(credit_memo.customer_id, customer, refs),
        "TxnDate": credit_memo.memo_date.isoformat(),
    }
    payload.update(branch_refs(customer.branch if customer is not None else None, settings, refs))
    lines: list[dict[str, Any]] = []
    for line in credit_memo.lines:
        text = line.description or line.charge_code.name
        lines.append(sales_line(
            item_id=item_ref_for(line.charge_code, refs), quantity=line.quantity, rate=line.rate,
            description=fit_description(text, settings.description_overflow,
                                        where=f"line {len(lines) + 1} of credit memo {credit_memo.number}"),
            line_num=len(lines) + 1,
        ))
    if not lines:
        raise MappingError(f"Credit memo {credit_memo.number} has no lines; QuickBooks needs at least one.")
    payload["Line"] = lines
    if credit_memo.reason:
        payload["CustomerMemo"] = {"value": credit_memo.reason[:1000]}
    return payload
