"""Credit memo applied to an invoice → a zero-amount QuickBooks Payment linking both (qbo-api §3.6)."""

from __future__ import annotations

from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import to_cents, to_number
from qbcore.mapping.invoice import customer_ref_for
from qbcore.mapping.refs import QboRefs

REF_PREFIX = "CMA-"


def credit_application_ref(application_id: int) -> str:
    """The PaymentRefNum that names our application in QuickBooks (≤ 21 characters): its natural key."""
    return f"{REF_PREFIX}{application_id}"[:21]


def build_credit_application_payload(application: Any, refs: QboRefs) -> dict[str, Any]:
    """QuickBooks Payment JSON with TotalAmt 0: one line on the invoice, one of equal amount on the credit memo."""
    memo, invoice = application.credit_memo, application.invoice
    invoice_id = refs.invoices.get(application.invoice_id)
    if invoice_id is None:
        raise MappingError(f"Credit memo {memo.number} applies to invoice {invoice.number}, which is not in "
                           "QuickBooks yet.", blocked_by=f"invoice:{invoice.number}")
    memo_id = refs.credit_memos.get(application.credit_memo_id)
    if memo_id is None:
        raise MappingError(f"Credit memo {memo.number} is not in QuickBooks yet.",
                           blocked_by=f"credit_memo:{memo.number}")
    amount = to_number(to_cents(application.amount))
    return {
        "CustomerRef": customer_ref_for(memo.customer_id, memo.customer, refs),
        "TotalAmt": 0,
        # The application has no date of its own; it cannot precede either document.
        "TxnDate": max(memo.memo_date, invoice.invoice_date).isoformat(),
        "PaymentRefNum": credit_application_ref(application.id),
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": memo_id, "TxnType": "CreditMemo"}]},
        ],
        "PrivateNote": f"Credit memo {memo.number} applied to {invoice.number}",
    }
