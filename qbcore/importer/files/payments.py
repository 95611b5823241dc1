"""The payments file: one row per application; rows with one number make a payment applied to invoices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_returning, insert_rows, update_by_id
from qbcore.importer.cells import cells_read, check_consistent, money_text, read_row
from qbcore.importer.files.customers import CUSTOMERS, unknown_customer
from qbcore.importer.files.invoices import INVOICES
from qbcore.importer.records import (
    Application,
    BookSnapshot,
    ExistingApplication,
    Fields,
    ImportBatch,
    Plan,
    Slot,
    as_date,
    money,
)
from qbcore.importer.rows import Column, ColumnType, FileKind, ParsedFile, RowError
from qbcore.importer.rules import FileRules, Ids
from qbcore.models import Customer, Invoice, Payment, PaymentApplication, PaymentMethod

T, D, M = ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY
PAYMENT_METHODS = {m.value for m in PaymentMethod}
# Rows of one payment must agree on these.
HEADER_COLUMNS = ("customer_code", "payment_date", "method", "reference_number", "amount", "memo")


@dataclass
class PaymentRecord:
    """A payment and the invoices it is applied to."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    applications: dict[str, Decimal] = field(default_factory=dict)
    application_rows: dict[str, int] = field(default_factory=dict)


@dataclass
class ExistingPayment:
    """A payment the book already has, with its invoice applications."""

    id: int
    customer_code: str
    fields: Fields
    applications: dict[str, Decimal]


PAYMENTS: Slot[PaymentRecord, ExistingPayment] = Slot("payments")


class PaymentsFile(FileRules):
    """Payments, matched on their number; the file's applications replace a payment's invoice applications."""

    kind = FileKind.PAYMENTS
    slot = PAYMENTS
    tables = (Payment, PaymentApplication)
    columns = (
        Column("payment_number", T, True, 32, "PMT-20001", "Rows with the same number make one payment."),
        Column("customer_code", T, True, 32, "C0001"),
        Column("payment_date", D, True, None, "2026-11-20"),
        Column("method", T, True, 10, "check", "check, ach, wire or card."),
        Column("reference_number", T, False, 40, "CHK 10442", "Check number or bank reference."),
        Column("amount", M, True, None, "1450.00", "The whole payment (more than zero)."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("invoice_number", T, False, 32, "INV-100001", "Blank: a payment not applied to any invoice."),
        Column("applied_amount", M, False, None, "725.00", "Required with invoice_number; more than zero."),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Rows with one number make a payment; each row with an invoice applies part of it."""
        kind, payments = parsed.kind, batch.of(PAYMENTS)
        firsts: dict[str, tuple[int, dict[str, object], set[str]]] = {}
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
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
                check_consistent(kind, number, "payment", pay_no, HEADER_COLUMNS, firsts[pay_no], values,
                                 failed, errors)
            else:
                firsts[pay_no] = (number, values, failed)
            # Every application that reads is kept, even on a row with another error, so that the invoice it
            # names, its customer and its open balance are checked in the same pass.
            payment = payments.get(pay_no)
            if payment is None:
                payment = payments[pay_no] = PaymentRecord(
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
        for payment in payments.values():
            applied_total = sum(payment.applications.values(), Decimal("0.00"))
            if payment.fields["amount"] is not None and applied_total > payment.fields["amount"]:
                errors.append(RowError(kind, payment.row, "applied_amount", (
                    f"payment {payment.number} of {money_text(payment.fields['amount'])} is applied beyond its "
                    f"amount: {money_text(applied_total)} in all.")))

    def names(self, batch: ImportBatch) -> dict[str, set[str]]:
        """The invoices its payments are applied to."""
        return {INVOICES.name: {n for payment in batch.of(PAYMENTS).values() for n in payment.applications}}

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """The file's payments with their applications, and every payment applied to the book's invoices read."""
        existing = book.of(PAYMENTS)
        for keys in chunked(sorted(batch.of(PAYMENTS)), SQL_IN_CHUNK):
            rows = session.execute(
                select(Payment.id, Payment.number, Customer.code, Payment.payment_date, Payment.method,
                       Payment.reference_number, Payment.amount, Payment.memo)
                .join(Customer, Customer.id == Payment.customer_id).where(Payment.number.in_(keys))
            ).all()
            by_id: dict[int, ExistingPayment] = {}
            for row in rows:
                fields = {"payment_date": as_date(row.payment_date), "method": row.method,
                          "reference_number": row.reference_number, "amount": money(row.amount), "memo": row.memo}
                by_id[row.id] = existing[row.number] = ExistingPayment(row.id, row.code, fields, {})
            if not by_id:
                continue
            for link in session.execute(
                select(PaymentApplication.payment_id, Invoice.number, PaymentApplication.amount)
                .join(Invoice, Invoice.id == PaymentApplication.invoice_id)
                .where(PaymentApplication.payment_id.in_(list(by_id)))
            ):
                apps = by_id[link.payment_id].applications
                apps[link.number] = apps.get(link.number, Decimal("0.00")) + money(link.amount)
        invoice_numbers = {inv.id: number for number, inv in book.of(INVOICES).items()}
        for ids in chunked(sorted(invoice_numbers), SQL_IN_CHUNK):
            for invoice_id, payment_number, amount in session.execute(
                select(PaymentApplication.invoice_id, Payment.number, PaymentApplication.amount)
                .join(Payment, Payment.id == PaymentApplication.payment_id)
                .where(PaymentApplication.invoice_id.in_(ids))
            ):
                if invoice_id is not None:  # never: the query asks for these invoices
                    book.applications.append(ExistingApplication(INVOICES, invoice_numbers[invoice_id], PAYMENTS,
                                                                 payment_number, money(amount)))

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Unknown customers."""
        return [error for payment in batch.of(PAYMENTS).values()
                for error in unknown_customer(self.kind, payment.row, payment.customer_code, batch, book)]

    def applications(self, batch: ImportBatch) -> list[Application]:
        """Each row that applies a payment to an invoice."""
        return [Application(self.kind, payment.application_rows[inv_no], "invoice_number", payment.number,
                            payment.customer_code, INVOICES, inv_no, amount)
                for payment in batch.of(PAYMENTS).values() for inv_no, amount in payment.applications.items()]

    def plan(self, plan: Plan) -> None:
        """New numbers are created; changed fields, customer or applications are an update."""
        existing = plan.book.of(PAYMENTS)
        for number, payment in plan.batch.of(PAYMENTS).items():
            old = existing.get(number)
            if old is None:
                plan.create[PAYMENTS.name].append(number)
            elif (old.fields != payment.fields or old.customer_code != payment.customer_code
                  or old.applications != payment.applications):
                plan.update[PAYMENTS.name].append(number)

    def clear(self, plan: Plan, session: Session) -> None:
        """The invoice applications of the payments the file restates (credits applied through them stay)."""
        replaced = [plan.book.of(PAYMENTS)[n].id for n in plan.update[PAYMENTS.name]]
        for part in chunked(replaced, SQL_IN_CHUNK):
            session.execute(delete(PaymentApplication).where(PaymentApplication.payment_id.in_(part),
                                                             PaymentApplication.invoice_id.is_not(None)))

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Payments, then their applications to invoices."""
        payments, customer_ids = plan.batch.of(PAYMENTS), ids[CUSTOMERS.name]
        created, updated = plan.create[PAYMENTS.name], plan.update[PAYMENTS.name]
        payment_ids = ids[PAYMENTS.name] = {n: p.id for n, p in plan.book.of(PAYMENTS).items()}

        def payment_row(number: str) -> dict[str, object]:
            pay = payments[number]
            return {"customer_id": customer_ids[pay.customer_code], **pay.fields}

        payment_ids.update(insert_returning(session, Payment, Payment.number, [
            {"number": n, **payment_row(n)} for n in created]))
        update_by_id(session, Payment, [{"id": payment_ids[n], **payment_row(n), "updated_at": now} for n in updated])
        invoice_ids = ids[INVOICES.name]
        insert_rows(session, PaymentApplication, [
            {"payment_id": payment_ids[n], "invoice_id": invoice_ids[inv], "amount": amount}
            for n in [*created, *updated] for inv, amount in payments[n].applications.items()])

    def applied_to(self, plan: Plan) -> dict[str, set[str]]:
        """Invoices the file's payments are applied to now, and those the restated ones were applied to."""
        payments = plan.batch.of(PAYMENTS)
        numbers = {inv for n in [*plan.create[PAYMENTS.name], *plan.update[PAYMENTS.name]]
                   for inv in payments[n].applications}
        before = {inv for n in plan.update[PAYMENTS.name] for inv in plan.book.of(PAYMENTS)[n].applications}
        return {INVOICES.name: numbers | before}

    def applied_sums(self, session: Session, to: Slot[Any, Any], ids: list[int]) -> Iterable[tuple[int, Decimal]]:
        """Payments applied to these invoices, summed per invoice."""
        if to != INVOICES:
            return
        for invoice_id, amount in session.execute(
            select(PaymentApplication.invoice_id, func.sum(PaymentApplication.amount))
            .where(PaymentApplication.invoice_id.in_(ids)).group_by(PaymentApplication.invoice_id)
        ):
            if invoice_id is not None:  # never: the query asks for these invoices
                yield invoice_id, amount


FILE = PaymentsFile()
