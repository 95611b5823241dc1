"""Checking import rows: cells → typed records (pure), then the records against the book (pure too)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from qbcore.containers import check_digit
from qbcore.importer.layout import COLUMNS, HEADER_COLUMNS, LOAD_COLUMNS, Column, ColumnType, FileKind
from qbcore.importer.parse import ParsedFile, RowError
from qbcore.importer.records import (
    BookSnapshot,
    CreditMemoRecord,
    CustomerRecord,
    ImportBatch,
    InvoiceRecord,
    LineRecord,
    LoadRecord,
    PaymentRecord,
)
from qbcore.models import PaymentMethod

CENT = Decimal("0.01")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_MAX = Decimal("999999999999.99")
_QUANTITY_MAX = Decimal("99999999.9999")
_TRUE = {"yes", "y", "true", "t", "1", "active"}
_FALSE = {"no", "n", "false", "f", "0", "inactive"}
_METHODS = {m.value for m in PaymentMethod}


class _CellError(ValueError):
    """A cell that cannot be read; the message is for the operator."""


def _money_text(value: Decimal) -> str:
    return f"${value:,.2f}"


def _read_date(text: str) -> date:
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
        match = _US_DATE.match(text)
        if match:
            month, day, year = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError:
        raise _CellError(f"{text!r} is not a real calendar date.") from None
    raise _CellError(f"{text!r} is not a date: write YYYY-MM-DD (2026-11-02) or MM/DD/YYYY (11/02/2026).")


def _read_number(text: str, places: int, maximum: Decimal, what: str) -> Decimal:
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "")
    if cleaned.startswith("-") or (cleaned.startswith("(") and cleaned.endswith(")")):
        raise _CellError(f"{what} {text!r} is negative; negative amounts are not allowed "
                         "(a credit belongs in the credit memos file).")
    if not _NUMBER.match(cleaned):
        raise _CellError(f"{text!r} is not a number (write it like 1250.00, without formulas or letters).")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise _CellError(f"{text!r} is not a number.") from None
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise _CellError(f"{text!r} has more than {places} decimal places.")
    if value > maximum:
        raise _CellError(f"{text!r} is larger than the book can hold ({maximum:,}).")
    return value.quantize(Decimal(1).scaleb(-places))


def _read_container(text: str) -> str:
    number = text.upper().replace(" ", "")
    if len(number) != 11 or not number[:4].isalpha() or not number[:4].isascii() or not number[4:].isdigit() \
            or not number[4:].isascii():
        raise _CellError(f"{text!r} is not a container number: 4 letters then 7 digits, like MSCU1234566.")
    if number[3] not in "UJZ":
        raise _CellError(f"{text!r} is not a container number: the 4th letter is U, J or Z (equipment category).")
    right = check_digit(number[:10])
    if int(number[10]) != right:
        raise _CellError(f"container number {number} has a wrong check digit: {number[10]}; "
                         f"by ISO 6346 it should be {right} ({number[:10]}{right}).")
    return number


def _read_cell(column: Column, text: str) -> Any:
    if text == "":
        if column.required:
            raise _CellError(f"{column.name} is required and is empty.")
        return None
    if column.type is ColumnType.TEXT:
        if column.max_length is not None and len(text) > column.max_length:
            raise _CellError(f"{column.name} has {len(text)} characters; at most {column.max_length} fit.")
        return text
    if column.type is ColumnType.DATE:
        return _read_date(text)
    if column.type is ColumnType.MONEY:
        return _read_number(text, 2, _MONEY_MAX, column.name)
    if column.type is ColumnType.QUANTITY:
        return _read_number(text, 4, _QUANTITY_MAX, column.name)
    if column.type is ColumnType.BOOL:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _CellError(f"{text!r} is not yes or no.")
    return _read_container(text)


def _read_row(kind: FileKind, number: int, row: Mapping[str, str],
              errors: list[RowError]) -> tuple[dict[str, Any], set[str]]:
    """Every cell that reads, and the names of those that do not (None in the values, their errors reported)."""
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for column in COLUMNS[kind]:
        try:
            values[column.name] = _read_cell(column, row.get(column.name, ""))
        except _CellError as exc:
            errors.append(RowError(kind, number, column.name, str(exc)))
            values[column.name] = None
            failed.add(column.name)
    return values, failed


def _read(failed: set[str], *columns: str) -> bool:
    """True when every one of these cells was read, so a check between them can run."""
    return failed.isdisjoint(columns)


def _check_line(kind: FileKind, number: int, values: dict[str, Any], errors: list[RowError]) -> bool:
    quantity, rate, amount = values["quantity"], values["rate"], values["amount"]
    if quantity == 0:
        errors.append(RowError(kind, number, "quantity", "quantity must be more than zero."))
        return False
    expected = (quantity * rate).quantize(CENT)
    if amount != expected:
        errors.append(RowError(kind, number, "amount", (
            f"amount {_money_text(amount)} is not quantity × rate ({quantity.normalize():f} × "
            f"{_money_text(rate)} = {_money_text(expected)}).")))
        return False
    return True


def _check_consistent(kind: FileKind, number: int, what: str, key: str, columns: tuple[str, ...],
                      first: tuple[int, dict[str, Any], set[str]], values: dict[str, Any], failed: set[str],
                      errors: list[RowError]) -> bool:
    first_row, first_values, first_failed = first
    unread = failed | first_failed  # a cell that did not read carries its own error; compare the rest
    for column in columns:
        if column not in unread and first_values.get(column) != values.get(column):
            errors.append(RowError(kind, number, column, (
                f"{what} {key} has {column} {_show(values.get(column))} here but {_show(first_values.get(column))} "
                f"on row {first_row}; every row of one {what} must agree (or is {key} used twice by mistake?).")))
            return False
    return True


def _show(value: Any) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, Decimal):
        return _money_text(value)
    return f"'{value}'" if isinstance(value, str) else str(value)


def _line(values: dict[str, Any]) -> LineRecord:
    return LineRecord(values["charge_code"].upper(), values["description"], values["quantity"], values["rate"],
                      values["amount"])


def read_batch(parsed: Mapping[FileKind, ParsedFile]) -> tuple[ImportBatch, list[RowError]]:
    """Typed records from the parsed files, and every row error the files show on their own."""
    batch = ImportBatch()
    errors: list[RowError] = []
    for pf in parsed.values():
        errors.extend(pf.errors)
        batch.row_counts[pf.kind.value] = len(pf.rows)
    if FileKind.CUSTOMERS in parsed:
        _read_customers(parsed[FileKind.CUSTOMERS], batch, errors)
    if FileKind.INVOICES in parsed:
        _read_invoices(parsed[FileKind.INVOICES], batch, errors)
    if FileKind.PAYMENTS in parsed:
        _read_payments(parsed[FileKind.PAYMENTS], batch, errors)
    if FileKind.CREDIT_MEMOS in parsed:
        _read_credit_memos(parsed[FileKind.CREDIT_MEMOS], batch, errors)
    return batch, errors


def _read_customers(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    for number, row in pf.rows:
        values = _read_row(kind, number, row, errors)[0]
        code = values["customer_code"]
        if code is None:
            continue  # nothing to match the row on; its cell error says why
        if code in batch.customers:
            errors.append(RowError(kind, number, "customer_code", (
                f"customer code {code} appears twice in the file (first on row {batch.customers[code].row}).")))
            continue
        parent = values["parent_code"]
        if parent == code:
            errors.append(RowError(kind, number, "parent_code", f"customer {code} cannot be its own parent."))
            continue
        fields = {
            "name": values["name"], "billing_email": values["billing_email"], "phone": values["phone"],
            "terms": values["terms"] or "Net 30", "branch": values["branch"],
            "address_line1": values["address_line1"], "city": values["city"], "state": values["state"],
            "postal_code": values["postal_code"], "country": values["country"] or "USA",
            "active": True if values["active"] is None else values["active"],
        }
        # A customer with a cell error stays in the batch: rows that refer to it are still checked.
        batch.customers[code] = CustomerRecord(code, number, fields, parent)


def _read_invoices(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    header_columns = HEADER_COLUMNS[kind]
    firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    load_firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    broken: set[str] = set()
    for number, row in pf.rows:
        values, failed = _read_row(kind, number, row, errors)
        ok = not failed
        if _read(failed, "quantity", "rate", "amount"):
            ok = _check_line(kind, number, values, errors) and ok
        if _read(failed, "due_date", "invoice_date") and values["due_date"] < values["invoice_date"]:
            errors.append(RowError(kind, number, "due_date", (
                f"due date {values['due_date']} is before the invoice date {values['invoice_date']}.")))
            ok = False
        if _read(failed, "delivery_date", "pickup_date") and values["delivery_date"] < values["pickup_date"]:
            errors.append(RowError(kind, number, "delivery_date", (
                f"delivery date {values['delivery_date']} is before the pickup date {values['pickup_date']}.")))
            ok = False
        inv_no, load_no = values["invoice_number"], values["load_number"]
        if inv_no is not None:
            if inv_no in firsts:
                ok = _check_consistent(kind, number, "invoice", inv_no, header_columns, firsts[inv_no], values,
                                       failed, errors) and ok
            else:
                firsts[inv_no] = (number, values, failed)
        if load_no is not None:
            if load_no in load_firsts:
                ok = _check_consistent(kind, number, "load", load_no, ("customer_code", *LOAD_COLUMNS),
                                       load_firsts[load_no], values, failed, errors) and ok
            else:
                load_firsts[load_no] = (number, values, failed)
        if inv_no is None:
            continue  # no invoice to put the row in; its cell error says why
        # An invoice with a row error stays in the batch (marked rejected), so its customer and loads are
        # still checked against the book in the same pass; only its total, which lacks that row, is not.
        invoice = batch.invoices.get(inv_no)
        if invoice is None:
            invoice = batch.invoices[inv_no] = InvoiceRecord(
                inv_no, number, values["customer_code"] or "",
                {"invoice_date": values["invoice_date"], "due_date": values["due_date"],
                 "terms": values["terms"], "memo": values["memo"]})
        if load_no is not None and load_no not in batch.loads and values["customer_code"] is not None:
            batch.loads[load_no] = LoadRecord(load_no, number, values["customer_code"],
                                              {c: values[c] for c in LOAD_COLUMNS})
        if not ok:
            broken.add(inv_no)
            continue
        line = _line(values)
        invoice.sets.setdefault(load_no, []).append(line)
        batch.charge_codes.setdefault(line.charge_code, values["description"] or line.charge_code)
    batch.rejected_invoices = broken


def _read_payments(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    for number, row in pf.rows:
        values, failed = _read_row(kind, number, row, errors)
        method = values["method"].lower() if values["method"] is not None else None
        if method is not None and method not in _METHODS:
            errors.append(RowError(kind, number, "method", (
                f"payment method {values['method']!r} is not one of check, ach, wire, card.")))
        values["method"] = method
        if values["amount"] == 0:
            errors.append(RowError(kind, number, "amount", "a payment amount must be more than zero."))
        invoice_no, applied = values["invoice_number"], values["applied_amount"]
        pairing = _read(failed, "invoice_number", "applied_amount")
        if pairing and invoice_no and applied is None:
            errors.append(RowError(kind, number, "applied_amount",
                                   f"applied_amount is required when invoice_number ({invoice_no}) is given."))
        if pairing and applied is not None and not invoice_no:
            errors.append(RowError(kind, number, "invoice_number",
                                   "invoice_number is required when applied_amount is given."))
        if applied == 0:
            errors.append(RowError(kind, number, "applied_amount", "an applied amount must be more than zero."))
        pay_no = values["payment_number"]
        if pay_no is None:
            continue  # no payment to put the row in; its cell error says why
        if pay_no in firsts:
            _check_consistent(kind, number, "payment", pay_no, HEADER_COLUMNS[kind], firsts[pay_no], values,
                              failed, errors)
        else:
            firsts[pay_no] = (number, values, failed)
        # Every application that reads is kept, even on a row with another error, so that the invoice it
        # names, its customer and its open balance are checked in the same pass.
        payment = batch.payments.get(pay_no)
        if payment is None:
            payment = batch.payments[pay_no] = PaymentRecord(
                pay_no, number, values["customer_code"] or "",
                {"payment_date": values["payment_date"], "method": method,
                 "reference_number": values["reference_number"], "amount": values["amount"],
                 "memo": values["memo"]})
        if invoice_no and applied:
            if invoice_no in payment.applications:
                errors.append(RowError(kind, number, "invoice_number", (
                    f"payment {pay_no} is applied to {invoice_no} twice (first on row "
                    f"{payment.application_rows[invoice_no]}); put the whole applied amount on one row.")))
                continue
            payment.applications[invoice_no] = applied
            payment.application_rows[invoice_no] = number
    for payment in batch.payments.values():
        applied_total = sum(payment.applications.values(), Decimal("0.00"))
        if payment.fields["amount"] is not None and applied_total > payment.fields["amount"]:
            errors.append(RowError(kind, payment.row, "applied_amount", (
                f"payment {payment.number} of {_money_text(payment.fields['amount'])} is applied beyond its "
                f"amount: {_money_text(applied_total)} in all.")))


def _read_credit_memos(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    broken: set[str] = set()
    for number, row in pf.rows:
        values, failed = _read_row(kind, number, row, errors)
        ok = not failed
        if _read(failed, "quantity", "rate", "amount"):
            ok = _check_line(kind, number, values, errors) and ok
        invoice_no, applied = values["applied_invoice_number"], values["applied_amount"]
        pairing = _read(failed, "applied_invoice_number", "applied_amount")
        if pairing and invoice_no and applied is None:
            errors.append(RowError(kind, number, "applied_amount",
                                   f"applied_amount is required when applied_invoice_number ({invoice_no}) is given."))
            ok = False
        if pairing and applied is not None and not invoice_no:
            errors.append(RowError(kind, number, "applied_invoice_number",
                                   "applied_invoice_number is required when applied_amount is given."))
            ok = False
        if applied == 0:
            errors.append(RowError(kind, number, "applied_amount", "an applied amount must be more than zero."))
            ok = False
        cm_no = values["credit_memo_number"]
        if cm_no is None:
            continue  # no credit memo to put the row in; its cell error says why
        if cm_no in firsts:
            ok = _check_consistent(kind, number, "credit memo", cm_no, HEADER_COLUMNS[kind], firsts[cm_no],
                                   values, failed, errors) and ok
        else:
            firsts[cm_no] = (number, values, failed)
        # As with invoices: a memo with a row error stays (rejected) so its customer and its application are
        # checked in the same pass; its total, which lacks that row, is not.
        memo = batch.credit_memos.get(cm_no)
        if memo is None:
            memo = batch.credit_memos[cm_no] = CreditMemoRecord(
                cm_no, number, values["customer_code"] or "",
                {"memo_date": values["memo_date"], "reason": values["reason"]},
                applied_invoice=invoice_no if pairing else None, applied_amount=applied if pairing else None)
        if not ok:
            broken.add(cm_no)
            continue
        line = _line(values)
        memo.lines.append(line)
        batch.charge_codes.setdefault(line.charge_code, values["description"] or line.charge_code)
    batch.rejected_credit_memos = broken
    for memo in batch.credit_memos.values():
        if memo.number in broken:
            continue
        if memo.applied_amount is not None and memo.applied_amount > memo.total:
            errors.append(RowError(kind, memo.row, "applied_amount", (
                f"credit memo {memo.number} of {_money_text(memo.total)} is applied beyond its total: "
                f"{_money_text(memo.applied_amount)}.")))


def check_batch(batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    """Every error that shows only against the book: unknown codes, wrong customers, over-application."""
    errors: list[RowError] = []
    known_customers = set(book.customers) | set(batch.customers)
    for record in batch.customers.values():
        if record.parent_code and record.parent_code not in known_customers:
            errors.append(RowError(FileKind.CUSTOMERS, record.row, "parent_code", (
                f"parent customer code {record.parent_code} is neither in the book nor in this file.")))
    errors.extend(_check_parent_cycles(batch, book))

    def customer_known(kind: FileKind, row: int, code: str) -> bool:
        if code in known_customers or code == "":  # "" is a customer_code cell that did not read
            return True
        errors.append(RowError(kind, row, "customer_code", (
            f"unknown customer code {code}: it is neither in the book nor in the customers file.")))
        return False

    for invoice in batch.invoices.values():
        customer_known(FileKind.INVOICES, invoice.row, invoice.customer_code)
    for load in batch.loads.values():
        existing = book.loads.get(load.load_number)
        if existing is not None and existing.customer_code != load.customer_code:
            errors.append(RowError(FileKind.INVOICES, load.row, "load_number", (
                f"load {load.load_number} belongs to customer {existing.customer_code} in the book; "
                f"this row bills it to {load.customer_code}.")))
    for payment in batch.payments.values():
        customer_known(FileKind.PAYMENTS, payment.row, payment.customer_code)
    for memo in batch.credit_memos.values():
        customer_known(FileKind.CREDIT_MEMOS, memo.row, memo.customer_code)
    errors.extend(_check_applications(batch, book))
    return errors


def _parent_of(code: str, batch: ImportBatch, book: BookSnapshot) -> str | None:
    if code in batch.customers:
        return batch.customers[code].parent_code
    existing = book.customers.get(code)
    return existing.parent_code if existing else None


def _check_parent_cycles(batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    errors = []
    for record in batch.customers.values():
        seen = {record.code}
        current = record.parent_code
        while current is not None:
            if current in seen:
                errors.append(RowError(FileKind.CUSTOMERS, record.row, "parent_code", (
                    f"customer {record.code} would be its own ancestor through {current}; "
                    "parents must not form a loop.")))
                break
            seen.add(current)
            current = _parent_of(current, batch, book)
    return errors


def _check_applications(batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    """Payments and credits never exceed an invoice's total, nor a payment its amount."""
    errors: list[RowError] = []
    totals: dict[str, Decimal] = {n: e.total for n, e in book.invoices.items()}
    customers: dict[str, str] = {n: e.customer_code for n, e in book.invoices.items()}
    for number, invoice in batch.invoices.items():
        totals[number] = invoice.total
        customers[number] = invoice.customer_code
    # Applications of payments and credit memos in the files replace theirs in the book; the rest stay.
    kept: dict[str, Decimal] = defaultdict(Decimal)
    for app in book.applications:
        replaced = (app.source_number in batch.payments if app.source == "payment"
                    else app.source_number in batch.credit_memos)
        if not replaced:
            kept[app.invoice_number] += app.amount
    for number, invoice in batch.invoices.items():
        if number not in batch.rejected_invoices and kept[number] > invoice.total:
            errors.append(RowError(FileKind.INVOICES, invoice.row, "amount", (
                f"invoice {number} would total {_money_text(invoice.total)}, less than the "
                f"{_money_text(kept[number])} already paid or credited on it in the book.")))
    applied = dict(kept)
    wanted: list[tuple[FileKind, int, str, str, str, str, Decimal]] = []
    for payment in batch.payments.values():
        for inv_no, amount in payment.applications.items():
            wanted.append((FileKind.PAYMENTS, payment.application_rows[inv_no], "invoice_number", payment.number,
                           payment.customer_code, inv_no, amount))
    for memo in batch.credit_memos.values():
        if memo.applied_invoice and memo.applied_amount is not None:
            wanted.append((FileKind.CREDIT_MEMOS, memo.row, "applied_invoice_number", memo.number,
                           memo.customer_code, memo.applied_invoice, memo.applied_amount))
    for kind, row, column, source, customer, inv_no, amount in wanted:
        if inv_no in batch.rejected_invoices:
            continue  # its own rows already carry the error
        if inv_no not in totals:
            errors.append(RowError(kind, row, column, (
                f"invoice {inv_no} is neither in the book nor in the invoices file.")))
            continue
        owner = customers[inv_no]
        # A customer_code that did not read ("") carries its own error: no owner check against it.
        if customer and owner != customer and _parent_of(owner, batch, book) != customer:
            errors.append(RowError(kind, row, column, (
                f"invoice {inv_no} belongs to customer {owner}, not to {customer}; QuickBooks applies money "
                "only to the same customer's invoices.")))
            continue
        before = applied.get(inv_no, Decimal("0.00"))
        open_balance = totals[inv_no] - before
        if amount > open_balance:
            errors.append(RowError(kind, row, "applied_amount", (
                f"{_money_text(amount)} from {source} is beyond the open balance of invoice {inv_no}: "
                f"{_money_text(open_balance)} of its {_money_text(totals[inv_no])} total is still open.")))
            continue
        applied[inv_no] = before + amount
    return errors

