"""One pass: a file's cell errors and its row-level checks (references, duplicates, totals) are reported together."""

from __future__ import annotations

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.importer import FileKind, ImportResult, import_files
from tests.qbcore.importer.conftest import book_state, read_rows, sample_files, to_csv

CUS, INV, PAY, CRM = FileKind.CUSTOMERS, FileKind.INVOICES, FileKind.PAYMENTS, FileKind.CREDIT_MEMOS


def _import(factory, edits: dict[FileKind, list[dict[str, str]]]) -> ImportResult:
    files = sample_files()
    files.update({kind: to_csv(rows) for kind, rows in edits.items()})
    with factory() as session:
        before = book_state(session)
    with transaction(factory) as session:
        result = import_files(files, session=session, actor=LOCAL_ADMIN)
    with factory() as session:
        assert book_state(session) == before  # still all or nothing
    assert not result.written
    return result


def _found(result: ImportResult) -> set[tuple[FileKind, int, str]]:
    return {(e.file, e.row, e.column) for e in result.errors}


def test_a_cell_error_and_an_unknown_customer_on_the_same_invoice_are_reported_together(factory):
    inv = read_rows(INV)
    for r in inv:
        if r["invoice_number"] == "INV-900001":
            r["customer_code"] = "C7777"
    inv[0]["invoice_date"] = "2026.11.02"
    result = _import(factory, {INV: inv})
    assert {(INV, 2, "invoice_date"), (INV, 2, "customer_code")} <= _found(result), result.errors
    assert any("unknown customer code C7777" in e.message for e in result.errors)


def test_a_row_with_a_bad_cell_still_has_its_amount_checked(factory):
    inv = read_rows(INV)
    inv[0]["container_number"] = "MSCU1234560"
    inv[0]["amount"] = "700.00"
    result = _import(factory, {INV: inv})
    assert {(INV, 2, "container_number"), (INV, 2, "amount")} <= _found(result), result.errors
    assert any("is not quantity × rate" in e.message for e in result.errors)


def test_a_customer_with_a_bad_cell_is_still_checked_for_duplicates_and_is_not_called_unknown(factory):
    cus = read_rows(CUS)
    cus[0]["active"] = "maybe"  # C9001
    cus[2]["customer_code"] = "C9001"  # row 4 repeats it
    result = _import(factory, {CUS: cus})
    found = _found(result)
    assert {(CUS, 2, "active"), (CUS, 4, "customer_code")} <= found, result.errors
    assert any("appears twice in the file (first on row 2)" in e.message for e in result.errors)
    # The invoices and payments of C9001 name a customer the file has; it is not "unknown".
    assert not [e for e in result.errors if "unknown customer code C9001" in e.message]


def test_a_payment_row_with_a_bad_method_still_has_its_application_checked(factory):
    pay = read_rows(PAY)
    pay[2].update(method="cash", invoice_number="INV-900001", applied_amount="10.00")  # PMT-900002 is C9003's
    result = _import(factory, {PAY: pay})
    assert {(PAY, 4, "method"), (PAY, 4, "invoice_number")} <= _found(result), result.errors
    assert any("belongs to customer C9001, not to C9003" in e.message for e in result.errors)


def test_a_credit_memo_with_a_bad_cell_still_has_its_application_checked_against_the_book(factory):
    crm = read_rows(CRM)
    for r in crm:
        r["applied_invoice_number"] = "INV-123"
    crm[1]["memo_date"] = "someday"
    result = _import(factory, {CRM: crm})
    assert {(CRM, 3, "memo_date"), (CRM, 2, "applied_invoice_number")} <= _found(result), result.errors
    assert any("invoice INV-123 is neither in the book nor in the invoices file" in e.message
               for e in result.errors)


def test_a_broken_line_does_not_raise_false_balance_errors_on_its_invoice(factory):
    inv = read_rows(INV)
    inv[0]["rate"] = "abc"  # INV-900001 loses its $725 line; the payment of $1,005 must not look too large
    result = _import(factory, {INV: inv})
    assert _found(result) == {(INV, 2, "rate")}, result.errors
