"""The classification table: fault codes and HTTP statuses → kind, retry decision, fix hint."""

from __future__ import annotations

import pytest

from qbcore.errors import ErrorKind
from qbcore.qbo.faults import FAULT_RULES, classify_fault, classify_local, classify_status


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        ("6240", ErrorKind.DUPLICATE, False),
        ("6140", ErrorKind.DUPLICATE, False),
        ("5010", ErrorKind.STALE, True),
        ("610", ErrorKind.NOT_FOUND, False),
        ("2500", ErrorKind.NOT_FOUND, False),
        ("6200", ErrorKind.CLOSED_PERIOD, False),
        ("6210", ErrorKind.CLOSED_PERIOD, False),
        ("3001", ErrorKind.THROTTLED, True),
        ("3200", ErrorKind.AUTH, True),
        ("10000", ErrorKind.SERVER, True),
        ("2050", ErrorKind.VALIDATION, False),
        ("6070", ErrorKind.VALIDATION, False),
        ("2010", ErrorKind.MALFORMED, False),
        ("2999", ErrorKind.VALIDATION, False),  # by range
        ("7777", ErrorKind.VALIDATION, False),  # by range
        ("10100", ErrorKind.SERVER, True),  # by range
        ("abc", ErrorKind.MALFORMED, True),  # not a number at all
    ],
)
def test_each_fault_code_maps_to_one_kind_and_retry_decision(code: str, kind: ErrorKind, retryable: bool) -> None:
    error = classify_fault(code, "msg", "detail")
    assert (error.kind, error.retryable, error.code) == (kind, retryable, code)


def test_duplicate_name_hint_names_the_customer_and_the_way_out() -> None:
    error = classify_fault("6240", "Duplicate Name Exists Error", "", name="ACME Logistics")
    assert error.fix_hint == (
        "QuickBooks already has a customer, vendor or employee named ACME Logistics. Give the customer its own "
        "QuickBooks name in Settings → Customer names (or turn on the name-clash rule there); its invoices and "
        "payments follow by themselves."
    )


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [(401, ErrorKind.AUTH, True), (403, ErrorKind.AUTH, False), (429, ErrorKind.THROTTLED, True),
     (500, ErrorKind.SERVER, True), (502, ErrorKind.SERVER, True), (503, ErrorKind.SERVER, True),
     (504, ErrorKind.TIMEOUT, True), (418, ErrorKind.MALFORMED, False), (599, ErrorKind.SERVER, True)],
)
def test_http_statuses_without_a_fault_body_are_classified(status: int, kind: ErrorKind, retryable: bool) -> None:
    error = classify_status(status, "<html>oops</html>")
    assert (error.kind, error.retryable, error.code) == (kind, retryable, f"HTTP {status}")


def test_every_rule_has_a_plain_fix_hint() -> None:
    assert all(rule.fix_hint.endswith(".") and len(rule.fix_hint) > 30 for rule in FAULT_RULES.values())


def test_local_errors_carry_their_kind_and_default_retry_flag() -> None:
    assert classify_local(ErrorKind.TIMEOUT, "no answer").retryable is True
    assert classify_local(ErrorKind.MAPPING, "unmapped").retryable is False
