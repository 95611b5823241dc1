"""Checking import records against the book (pure): unknown codes, wrong customers, cycles, over-application."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from qbcore.importer.cells import (
    money_text,
)
from qbcore.importer.layout import FileKind
from qbcore.importer.parse import RowError
from qbcore.importer.records import (
    BookSnapshot,
    ImportBatch,
)


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
                f"invoice {number} would total {money_text(invoice.total)}, less than the "
                f"{money_text(kept[number])} already paid or credited on it in the book.")))
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
                f"{money_text(amount)} from {source} is beyond the open balance of invoice {inv_no}: "
                f"{money_text(open_balance)} of its {money_text(totals[inv_no])} total is still open.")))
            continue
        applied[inv_no] = before + amount
    return errors
