"""Payment → QuickBooks Payment JSON, linked to invoices and credit memos by their QuickBooks ids."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import to_cents, to_number
from qbcore.mapping.invoice import customer_ref_for, refuse_broken_number
from qbcore.mapping.refs import QboRefs

METHOD_NAMES = {"check": "Check", "ach": "ACH", "wire": "Wire", "card": "Credit Card"}


def unapplied_amount(payment: Any) -> Decimal:
    """What QuickBooks will show as unapplied: TotalAmt − Σ amounts applied to invoices."""
    applied = sum((a.amount for a in payment.applications if a.invoice_id is not None), Decimal(0))
    return to_cents(payment.amount - applied)


def build_payment_payload(payment: Any, refs: QboRefs, *, invoice_numbers: dict[int, str] | None = None,
                          credit_memo_numbers: dict[int, str] | None = None) -> dict[str, Any]:
    """QuickBooks Payment JSON; PaymentRefNum carries our payment number so a retry can find it."""
    invoice_numbers = invoice_numbers or {}
    credit_memo_numbers = credit_memo_numbers or {}
    lines = []
    for application in sorted(payment.applications, key=lambda a: a.id or 0):
        if application.invoice_id is not None:
            txn_id = refs.invoices.get(application.invoice_id)
            txn_type, label = "Invoice", invoice_numbers.get(application.invoice_id, str(application.invoice_id))
        else:
            txn_id = refs.credit_memos.get(application.credit_memo_id)
            txn_type = "CreditMemo"
            label = credit_memo_numbers.get(application.credit_memo_id, str(application.credit_memo_id))
        if txn_id is None:
            kind = "invoice" if txn_type == "Invoice" else "credit_memo"
            raise MappingError(f"Payment {payment.number} applies to {label}, which is not in QuickBooks yet.",
                               blocked_by=f"{kind}:{label}")
        lines.append({"Amount": to_number(to_cents(application.amount)),
                      "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]})
    refuse_broken_number(payment.number)
    payload: dict[str, Any] = {
        "CustomerRef": customer_ref_for(payment.customer_id, payment.customer, refs),
        "TotalAmt": to_number(to_cents(payment.amount)),
        "TxnDate": payment.payment_date.isoformat(),
        "PaymentRefNum": payment.number[:21],
        "Line": lines,
    }
    method_id = refs.payment_methods.get(METHOD_NAMES.get(str(payment.method), ""))
    if method_id:
        payload["PaymentMethodRef"] = {"value": method_id}
    note = " ".join(p for p in (METHOD_NAMES.get(str(payment.method)), payment.reference_number, payment.memo) if p)
    if note:
        payload["PrivateNote"] = note[:4000]
    return payload
