"""Planning an import: which records the batch creates and which it updates, compared with the book."""

from __future__ import annotations

from dataclasses import dataclass, field

from qbcore.importer.records import BookSnapshot, ImportBatch

KINDS = ("customers", "charge_codes", "loads", "invoices", "payments", "credit_memos")


@dataclass
class Plan:
    """Keys to create and to update, per kind, after comparing the batch with the book."""

    batch: ImportBatch
    book: BookSnapshot
    create: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    update: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    replace_content: set[str] = field(default_factory=set)  # invoices whose charge sets change
    replace_lines: set[str] = field(default_factory=set)  # credit memos whose lines change
    touched_invoices: set[str] = field(default_factory=set)  # invoices whose loads changed


def make_plan(batch: ImportBatch, book: BookSnapshot) -> Plan:
    """Which keys of each kind the batch creates and which it updates, compared with the book."""
    plan = Plan(batch, book)
    for code, record in batch.customers.items():
        existing = book.customers.get(code)
        if existing is None:
            plan.create["customers"].append(code)
        elif existing.fields != record.fields or existing.parent_code != record.parent_code:
            plan.update["customers"].append(code)
    plan.create["charge_codes"] = sorted(c for c in batch.charge_codes if c not in book.charge_codes)
    for number, load in batch.loads.items():
        existing_load = book.loads.get(number)
        if existing_load is None:
            plan.create["loads"].append(number)
        elif existing_load.fields != load.fields:
            plan.update["loads"].append(number)
    changed_loads = set(plan.update["loads"])
    for number, invoice in batch.invoices.items():
        invoice.fields["terms"] = invoice.fields["terms"] or _customer_terms(batch, book, invoice.customer_code)
        existing_inv = book.invoices.get(number)
        if existing_inv is None:
            plan.create["invoices"].append(number)
            continue
        content_changed = existing_inv.content != invoice.content()
        if content_changed:
            plan.replace_content.add(number)
        if content_changed or existing_inv.fields != invoice.fields \
                or existing_inv.customer_code != invoice.customer_code:
            plan.update["invoices"].append(number)
        elif changed_loads.intersection(invoice.sets):
            plan.touched_invoices.add(number)
    for number, payment in batch.payments.items():
        existing_pay = book.payments.get(number)
        if existing_pay is None:
            plan.create["payments"].append(number)
        elif (existing_pay.fields != payment.fields or existing_pay.customer_code != payment.customer_code
              or existing_pay.applications != payment.applications):
            plan.update["payments"].append(number)
    for number, memo in batch.credit_memos.items():
        existing_cm = book.credit_memos.get(number)
        wanted_apps = {memo.applied_invoice: memo.applied_amount} if memo.applied_invoice else {}
        lines = tuple(line.signature() for line in memo.lines)
        if existing_cm is None:
            plan.create["credit_memos"].append(number)
            continue
        if existing_cm.lines != lines:
            plan.replace_lines.add(number)
        if (existing_cm.lines != lines or existing_cm.customer_code != memo.customer_code
                or existing_cm.fields != {**memo.fields, "total": memo.total}
                or existing_cm.applications != wanted_apps):
            plan.update["credit_memos"].append(number)
    return plan


def _customer_terms(batch: ImportBatch, book: BookSnapshot, code: str) -> str:
    if code in batch.customers:
        return str(batch.customers[code].fields["terms"])
    return str(book.customers[code].fields["terms"])
