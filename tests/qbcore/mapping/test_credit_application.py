"""A credit memo applied to an invoice maps to a zero-amount Payment linking both (qbo-api §3.6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qbcore.errors import MappingError
from qbcore.mapping.credit_application import build_credit_application_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import CreditMemo, CreditMemoApplication
from tests.qbcore.mapping.test_mapping import REFS, make_customer, make_invoice


def make_application(memo_date: date = date(2026, 11, 9), **overrides) -> CreditMemoApplication:
    memo = CreditMemo(id=5, number="CM-5001", customer_id=1, customer=make_customer(), memo_date=memo_date,
                      reason="Disputed detention", total=Decimal("170.00"), lines=[])
    values = dict(id=42, credit_memo_id=5, credit_memo=memo, invoice_id=10, invoice=make_invoice(),
                  amount=Decimal("120.005"))
    values.update(overrides)
    return CreditMemoApplication(**values)


def test_a_credit_application_is_a_zero_payment_with_equal_invoice_and_credit_memo_lines() -> None:
    assert build_credit_application_payload(make_application(), REFS) == {
        "CustomerRef": {"value": "58"}, "TotalAmt": 0, "TxnDate": "2026-11-09", "PaymentRefNum": "CMA-42",
        "Line": [{"Amount": 120.01, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
                 {"Amount": 120.01, "LinkedTxn": [{"TxnId": "140", "TxnType": "CreditMemo"}]}],
        "PrivateNote": "Credit memo CM-5001 applied to INV-100001",
    }


def test_a_credit_memo_dated_before_its_invoice_is_applied_on_the_invoice_date() -> None:
    payload = build_credit_application_payload(make_application(memo_date=date(2026, 11, 1)), REFS)
    assert payload["TxnDate"] == "2026-11-05"


def test_the_reference_stays_within_quickbooks_21_characters() -> None:
    payload = build_credit_application_payload(make_application(id=10**25), REFS)
    assert len(payload["PaymentRefNum"]) == 21


@pytest.mark.parametrize(("refs", "blocked_by"), [
    (QboRefs(customers={1: "58"}, credit_memos={5: "140"}), "invoice:INV-100001"),
    (QboRefs(customers={1: "58"}, invoices={10: "130"}), "credit_memo:CM-5001"),
    (QboRefs(invoices={10: "130"}, credit_memos={5: "140"}), "customer:ACME Logistics"),
])
def test_an_application_waits_for_its_invoice_credit_memo_and_customer(refs: QboRefs, blocked_by: str) -> None:
    with pytest.raises(MappingError) as err:
        build_credit_application_payload(make_application(), refs)
    assert err.value.blocked_by == blocked_by
