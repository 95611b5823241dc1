"""Every row error: the right file, row, column and plain words, and nothing written to the book."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.importer import MAX_ERRORS, FileKind, import_files
from qbcore.models import Invoice
from tests.qbcore.importer.conftest import book_state, read_rows, sample_files, to_csv

CUS, INV, PAY, CRM = FileKind.CUSTOMERS, FileKind.INVOICES, FileKind.PAYMENTS, FileKind.CREDIT_MEMOS
Rows = list[dict[str, str]]


def _set(row: int, **cells: str) -> Callable[[Rows], None]:
    """Change cells of one data row (spreadsheet numbering: the first data row is 2)."""
    def edit(rows: Rows) -> None:
        rows[row - 2].update(cells)
    return edit


def _set_where(column: str, value: str, **cells: str) -> Callable[[Rows], None]:
    """Change cells of every row whose column has a value."""
    def edit(rows: Rows) -> None:
        for r in rows:
            if r[column] == value:
                r.update(cells)
    return edit


def _drop_column(name: str) -> Callable[[Rows], None]:
    def edit(rows: Rows) -> None:
        for r in rows:
            del r[name]
    return edit


CASES = [
    # (id, file, edit, row, column, words)
    ("bad date format", INV, _set(2, invoice_date="2026.11.02"), 2, "invoice_date", "is not a date: write YYYY-MM-DD"),
    ("impossible date", INV, _set(5, invoice_date="02/30/2026"), 5, "invoice_date", "not a real calendar date"),
    ("unknown customer code", INV, _set_where("invoice_number", "INV-900003", customer_code="C7777"), 8,
     "customer_code", "unknown customer code C7777"),
    ("container check digit", INV, _set_where("load_number", "L900001", container_number="MSCU1234565"), 2,
     "container_number", "wrong check digit: 5; by ISO 6346 it should be 6 (MSCU1234566)"),
    ("container shape", INV, _set_where("load_number", "L900001", container_number="MSC1234566"), 2,
     "container_number", "4 letters then 7 digits"),
    ("amount is not quantity times rate", INV, _set(4, amount="130.00"), 4, "amount",
     "amount $130.00 is not quantity × rate (3 × $45.00 = $135.00)"),
    ("too many decimals", INV, _set(2, rate="725.001", amount="725.00"), 2, "rate", "more than 2 decimal places"),
    ("zero quantity", INV, _set(2, quantity="0", amount="0.00"), 2, "quantity", "more than zero"),
    ("negative amount", CRM, _set(2, rate="-90.00", amount="-90.00"), 2, "rate", "negative amounts are not allowed"),
    ("accounting negative", INV, _set(2, amount="(725.00)"), 2, "amount", "negative amounts are not allowed"),
    ("formula in a money cell is not a number", INV, _set(2, amount="=725*1"), 2, "amount", "is not a number"),
    ("due before invoice date", INV, _set_where("invoice_number", "INV-900001", due_date="2026-11-01"), 2,
     "due_date", "before the invoice date"),
    ("delivery before pickup", INV, _set_where("load_number", "L900004", delivery_date="2026-11-01"), 8,
     "delivery_date", "before the pickup date"),
    ("required cell empty", CUS, _set(2, name=""), 2, "name", "name is required and is empty"),
    ("text too long", INV, _set_where("load_number", "L900001", size_type="40HC-HIGHCUBE"), 2, "size_type",
     "at most 8 fit"),
    ("duplicate customer code", CUS, _set(4, customer_code="C9001"), 4, "customer_code",
     "customer code C9001 appears twice in the file (first on row 2)"),
    ("one invoice number, two customers", INV, _set_where("invoice_number", "INV-900003", invoice_number="INV-900001"),
     8, "customer_code", "every row of one invoice must agree"),
    ("one load, two containers", INV, _set(3, container_number="MAEU4022113"), 3, "container_number",
     "every row of one load must agree"),
    ("payment applied twice to one invoice", PAY, _set(3, invoice_number="INV-900001"), 3, "invoice_number",
     "applied to INV-900001 twice (first on row 2)"),
    ("payment applied beyond its amount", PAY, _set_where("payment_number", "PMT-900001", amount="1000.00"), 2,
     "applied_amount", "applied beyond its amount: $1,405.00 in all"),
    ("payment beyond the invoice's open balance", PAY, lambda rows: (
        _set_where("payment_number", "PMT-900001", amount="3000.00")(rows), _set(3, applied_amount="1600.00")(rows)),
     3, "applied_amount", "beyond the open balance of invoice INV-900002: $1,512.50 of its $1,512.50 total"),
    ("credit beyond the open balance left by a payment", CRM, lambda rows: [
        r.update(applied_invoice_number="INV-900001", customer_code="C9001") for r in rows], 2,
     "applied_amount", "beyond the open balance of invoice INV-900001: $0.00 of its $1,005.00 total"),
    ("payment to an unknown invoice", PAY, _set(3, invoice_number="INV-123"), 3, "invoice_number",
     "invoice INV-123 is neither in the book nor in the invoices file"),
    ("payment to another customer's invoice", PAY, _set(4, invoice_number="INV-900001", applied_amount="10.00"), 4,
     "invoice_number", "belongs to customer C9001, not to C9003"),
    ("applied amount without invoice", PAY, _set(4, applied_amount="10.00"), 4, "invoice_number",
     "invoice_number is required when applied_amount is given"),
    ("unknown payment method", PAY, _set(4, method="bitcoin"), 4, "method", "not one of check, ach, wire, card"),
    ("credit memo applied beyond its total", CRM,
     _set_where("credit_memo_number", "CM-900001", applied_amount="200.00"),
     2, "applied_amount", "applied beyond its total"),
    ("unknown parent", CUS, _set(3, parent_code="C4242"), 3, "parent_code", "neither in the book nor in this file"),
    ("own parent", CUS, _set(2, parent_code="C9001"), 2, "parent_code", "cannot be its own parent"),
    ("parents in a loop", CUS, _set(2, parent_code="C9002"), 2, "parent_code", "its own ancestor"),
    ("not yes or no", CUS, _set(2, active="maybe"), 2, "active", "is not yes or no"),
    ("missing required column", INV, _drop_column("rate"), 1, "rate", "required column rate is missing"),
]


@pytest.mark.parametrize(("file", "edit", "row", "column", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_row_is_reported_in_plain_words_and_nothing_is_written(demo_factory, file, edit, row, column, words):
    files = sample_files()
    rows = read_rows(file)
    edit(rows)
    files[file] = to_csv(rows)
    with demo_factory() as session:
        before = book_state(session)
    with transaction(demo_factory) as session:
        result = import_files(files, session=session, actor=LOCAL_ADMIN)
    assert not result.is_valid and not result.written
    assert any(e.file is file and e.row == row and e.column == column and words in e.message
               for e in result.errors), result.errors
    with demo_factory() as session:
        assert book_state(session) == before


@pytest.mark.parametrize(("name", "data", "words"), [
    ("non-utf8", "customer_code,name\nC1,Atl\xe9s\n".encode("latin-1"), "not UTF-8 text: byte 0xe9 on line 2"),
    ("nul byte", b"customer_code,name\nC1,A\x00\n", "NUL character on line 2"),
    ("empty file", b"", "the file is empty"),
    ("duplicate header", b"customer_code,name,name\nC1,A,B\n", "appears twice in the header"),
    ("too many cells", b"customer_code,name\nC1,Acme,Inc\n", "has 3 cells but the header names 2 columns"),
])
def test_a_broken_file_is_one_clear_error_and_nothing_is_written(factory, name, data, words):
    with factory() as session:
        before = book_state(session)
    with transaction(factory) as session:
        result = import_files({FileKind.CUSTOMERS: data}, session=session, actor=LOCAL_ADMIN)
    assert not result.is_valid
    assert any(words in e.message for e in result.errors), result.errors
    with factory() as session:
        assert book_state(session) == before


def test_a_file_given_as_the_wrong_kind_says_which_kind_it_looks_like(factory):
    with transaction(factory) as session:
        result = import_files({INV: sample_files()[PAY]}, session=session, actor=LOCAL_ADMIN)
    assert result.errors[0].row == 1
    assert "This looks like the payments file." in result.errors[0].message


def test_every_error_is_counted_but_only_the_first_two_hundred_are_listed(factory):
    rows = [{"customer_code": f"C{i}", "name": ""} for i in range(450)]
    with transaction(factory) as session:
        result = import_files({FileKind.CUSTOMERS: to_csv(rows)}, session=session, actor=LOCAL_ADMIN)
    assert result.error_count == 450
    assert len(result.errors) == MAX_ERRORS
    assert [e.row for e in result.errors[:3]] == [2, 3, 4]


def test_all_errors_of_all_files_are_reported_together(factory):
    files = sample_files()
    inv = read_rows(INV)
    inv[0]["amount"] = "1.00"
    pay = read_rows(PAY)
    pay[2]["method"] = "cash"
    files[INV], files[PAY] = to_csv(inv), to_csv(pay)
    with transaction(factory) as session:
        result = import_files(files, session=session, actor=LOCAL_ADMIN)
    assert {(e.file, e.row, e.column) for e in result.errors} >= {(INV, 2, "amount"), (PAY, 4, "method")}


SWALLOW = (b"customer_code,name,billing_email,terms\n"
           b"Z0010,Kept Co,k@x.com,Net 30\n"
           b"Z0011,\"Swallow Co,a@x.com,Net 30\n"
           b"Z0012,Second Co,b@x.com,Net 30\n"
           b"Z0013,Third Co,c@x.com,Net 30\n")


@pytest.mark.parametrize(("name", "data", "row", "column", "words"), [
    ("quote open at the end of the file", SWALLOW, 3, "", "a quote opened on line 3 is never closed"),
    ("a name spanning lines", b"customer_code,name\nC1,\"Acme\nShipping\"\nC2,B\n", 2, "name",
     "the name value runs over lines 2\u20133 of the file, but a name is one line"),
    ("a quote closed rows later", b"customer_code,name\nC1,\"Acme\nC2,B\nC3,\"\nC4,D\n", 2, "name",
     "runs over lines 2\u20134"),
    ("a stray quote inside a value", b"customer_code,name\nC1,5\" pipe co\n", 2, "",
     "a quote inside a value that does not start with one"),
    ("text after a closing quote", b"customer_code,name\nC1,\"Acme\" Co\n", 2, "", "text right after a closing quote"),
    ("mixed line endings", b"customer_code,name\r\nC1,A\r\nC2,B\nC3,C\r\n", 3, "",
     "line 3 ends with LF (Unix) but the header's line ends with CR LF (Windows)"),
    ("a bare CR inside a value", b"customer_code,name\nC1,Acme\rCo\n", 2, "", "ends with CR (old Mac)"),
    ("a memo that swallowed rows", (
        b"payment_number,customer_code,payment_date,method,amount,memo\n"
        b"P1,C9001,2026-11-20,check,10.00,\"rush\nP2,C9001,2026-11-20,check,10.00,x\nP3,C9001,2026-11-20,check,1,\"\n"),
     2, "memo", "holds what looks like 2 whole rows"),
])
def test_a_malformed_csv_structure_is_a_row_error_and_nothing_is_written(factory, name, data, row, column, words):
    kind = FileKind.PAYMENTS if data.startswith(b"payment") else FileKind.CUSTOMERS
    with factory() as session:
        before = book_state(session)
    with transaction(factory) as session:
        result = import_files({kind: data}, session=session, actor=LOCAL_ADMIN)
    assert not result.is_valid and not result.written
    assert any(e.row == row and e.column == column and words in e.message for e in result.errors), result.errors
    with factory() as session:
        assert book_state(session) == before


def test_rows_below_an_unclosed_quote_are_still_read_and_checked(factory):
    with transaction(factory) as session:
        result = import_files({FileKind.CUSTOMERS: SWALLOW + b"Z0014,,d@x.com,Net 30\n"}, session=session,
                              actor=LOCAL_ADMIN)
    assert [(e.row, e.column) for e in result.errors] == [(3, ""), (6, "name")]


def test_a_quoted_memo_and_description_may_hold_line_breaks(demo_factory):
    invoices = read_rows(INV)
    for r in invoices:
        if r["invoice_number"] == "INV-900001":
            r["memo"] = "Rush delivery,\nsigned by J. Doe"
    invoices[0]["description"] = "Line haul\r\nport to DC"
    files = sample_files()
    files[INV] = to_csv(invoices)
    with transaction(demo_factory) as session:
        result = import_files(files, session=session, actor=LOCAL_ADMIN)
    assert result.is_valid and result.written, result.errors
    with demo_factory() as session:
        assert session.scalar(select(Invoice.memo).where(Invoice.number == "INV-900001")) == \
            "Rush delivery,\nsigned by J. Doe"
