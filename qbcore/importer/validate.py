"""Reading import files: each file's typed rows folded into records (pure), with the errors the files show alone."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from qbcore.importer.cells import (
    PAYMENT_METHODS,
    cells_read,
    check_consistent,
    check_line,
    line_record,
    money_text,
    read_row,
)
from qbcore.importer.layout import HEADER_COLUMNS, LOAD_COLUMNS, FileKind
from qbcore.importer.parse import ParsedFile, RowError
from qbcore.importer.records import (
    CreditMemoRecord,
    CustomerRecord,
    ImportBatch,
    InvoiceRecord,
    LoadRecord,
    PaymentRecord,
)


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
        values = read_row(kind, number, row, errors)[0]
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
        values, failed = read_row(kind, number, row, errors)
        ok = not failed
        if cells_read(failed, "quantity", "rate", "amount"):
            ok = check_line(kind, number, values, errors) and ok
        if cells_read(failed, "due_date", "invoice_date") and values["due_date"] < values["invoice_date"]:
            errors.append(RowError(kind, number, "due_date", (
                f"due date {values['due_date']} is before the invoice date {values['invoice_date']}.")))
            ok = False
        if cells_read(failed, "delivery_date", "pickup_date") and values["delivery_date"] < values["pickup_date"]:
            errors.append(RowError(kind, number, "delivery_date", (
                f"delivery date {values['delivery_date']} is before the pickup date {values['pickup_date']}.")))
            ok = False
        inv_no, load_no = values["invoice_number"], values["load_number"]
        if inv_no is not None:
            if inv_no in firsts:
                ok = check_consistent(kind, number, "invoice", inv_no, header_columns, firsts[inv_no], values,
                                       failed, errors) and ok
            else:
                firsts[inv_no] = (number, values, failed)
        if load_no is not None:
            if load_no in load_firsts:
                ok = check_consistent(kind, number, "load", load_no, ("customer_code", *LOAD_COLUMNS),
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
        line = line_record(values)
        invoice.sets.setdefault(load_no, []).append(line)
        batch.charge_codes.setdefault(line.charge_code, values["description"] or line.charge_code)
    batch.rejected_invoices = broken


def _read_payments(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    for number, row in pf.rows:
        values, failed = read_row(kind, number, row, errors)
        method = values["method"].lower() if values["method"] is not None else None
        if method is not None and method not in PAYMENT_METHODS:
            errors.append(RowError(kind, number, "method", (
                f"payment method {values['method']!r} is not one of check, ach, wire, card.")))
        values["method"] = method
        if values["amount"] == 0:
            errors.append(RowError(kind, number, "amount", "a payment amount must be more than zero."))
        invoice_no, applied = values["invoice_number"], values["applied_amount"]
        pairing = cells_read(failed, "invoice_number", "applied_amount")
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
            check_consistent(kind, number, "payment", pay_no, HEADER_COLUMNS[kind], firsts[pay_no], values,
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
                f"payment {payment.number} of {money_text(payment.fields['amount'])} is applied beyond its "
                f"amount: {money_text(applied_total)} in all.")))


def _read_credit_memos(pf: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
    kind = pf.kind
    firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    broken: set[str] = set()
    for number, row in pf.rows:
        values, failed = read_row(kind, number, row, errors)
        ok = not failed
        if cells_read(failed, "quantity", "rate", "amount"):
            ok = check_line(kind, number, values, errors) and ok
        invoice_no, applied = values["applied_invoice_number"], values["applied_amount"]
        pairing = cells_read(failed, "applied_invoice_number", "applied_amount")
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
            ok = check_consistent(kind, number, "credit memo", cm_no, HEADER_COLUMNS[kind], firsts[cm_no],
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
        line = line_record(values)
        memo.lines.append(line)
        batch.charge_codes.setdefault(line.charge_code, values["description"] or line.charge_code)
    batch.rejected_credit_memos = broken
    for memo in batch.credit_memos.values():
        if memo.number in broken:
            continue
        if memo.applied_amount is not None and memo.applied_amount > memo.total:
            errors.append(RowError(kind, memo.row, "applied_amount", (
                f"credit memo {memo.number} of {money_text(memo.total)} is applied beyond its total: "
                f"{money_text(memo.applied_amount)}.")))
