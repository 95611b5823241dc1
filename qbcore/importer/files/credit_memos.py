"""The credit memos file: one row per credited line; rows with one number make a credit memo, applied at most once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_returning, insert_rows, update_by_id
from qbcore.importer.cells import cells_read, check_consistent, check_line, line_record, money_text, read_row
from qbcore.importer.files.customers import CUSTOMERS, unknown_customer
from qbcore.importer.files.invoices import INVOICES
from qbcore.importer.records import (
    CHARGE_CODES,
    Application,
    BookSnapshot,
    ExistingApplication,
    Fields,
    ImportBatch,
    LineRecord,
    Plan,
    Slot,
    as_date,
    line_signature,
    money,
)
from qbcore.importer.rows import Column, ColumnType, FileKind, ParsedFile, RowError
from qbcore.importer.rules import FileRules, Ids
from qbcore.models import ChargeCode, CreditMemo, CreditMemoApplication, CreditMemoLine, Customer, Invoice

T, D, M, Q = ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY, ColumnType.QUANTITY
# Rows of one credit memo must agree on these.
HEADER_COLUMNS = ("customer_code", "memo_date", "reason", "applied_invoice_number", "applied_amount")


@dataclass
class CreditMemoRecord:
    """A credit memo, its lines and (at most) one application."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    lines: list[LineRecord] = field(default_factory=list)
    applied_invoice: str | None = None
    applied_amount: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass
class ExistingCreditMemo:
    """A credit memo the book already has."""

    id: int
    customer_code: str
    fields: Fields
    lines: tuple[Any, ...]
    applications: dict[str, Decimal]


CREDIT_MEMOS: Slot[CreditMemoRecord, ExistingCreditMemo] = Slot("credit_memos")


class CreditMemosFile(FileRules):
    """Credit memos, matched on their number; lines are rewritten whole when they change, and so is the application."""

    kind = FileKind.CREDIT_MEMOS
    slot = CREDIT_MEMOS
    makes = (CHARGE_CODES,)
    tables = (CreditMemo, CreditMemoLine, CreditMemoApplication)
    columns = (
        Column("credit_memo_number", T, True, 32, "CM-5001", "Rows with the same number make one credit memo."),
        Column("customer_code", T, True, 32, "C0001"),
        Column("memo_date", D, True, None, "2026-11-10"),
        Column("reason", T, False, 200, "Disputed detention", multiline=True),
        Column("charge_code", T, True, 32, "DETENTION"),
        Column("description", T, False, 400, "Detention waived, 2 hours", multiline=True),
        Column("quantity", Q, True, None, "2"),
        Column("rate", M, True, None, "85.00"),
        Column("amount", M, True, None, "170.00", "Must equal quantity × rate, rounded to the cent."),
        Column("applied_invoice_number", T, False, 32, "INV-100001",
               "The invoice the credit is applied to; blank: not applied."),
        Column("applied_amount", M, False, None, "170.00", "Required with applied_invoice_number."),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Rows with one number make a credit memo; they must agree on its header and its application."""
        kind, memos, codes = parsed.kind, batch.of(CREDIT_MEMOS), batch.of(CHARGE_CODES)
        firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
        broken: set[str] = set()
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
            ok = not failed
            if cells_read(failed, "quantity", "rate", "amount"):
                ok = check_line(kind, number, values, errors) and ok
            invoice_no, applied = values["applied_invoice_number"], values["applied_amount"]
            pairing = cells_read(failed, "applied_invoice_number", "applied_amount")
            if pairing and invoice_no and applied is None:
                errors.append(RowError(kind, number, "applied_amount", (
                    f"applied_amount is required when applied_invoice_number ({invoice_no}) is given.")))
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
                ok = check_consistent(kind, number, "credit memo", cm_no, HEADER_COLUMNS, firsts[cm_no],
                                      values, failed, errors) and ok
            else:
                firsts[cm_no] = (number, values, failed)
            # As with invoices: a memo with a row error stays (rejected) so its customer and its application are
            # checked in the same pass; its total, which lacks that row, is not.
            memo = memos.get(cm_no)
            if memo is None:
                memo = memos[cm_no] = CreditMemoRecord(
                    cm_no, number, values["customer_code"] or "",
                    {"memo_date": values["memo_date"], "reason": values["reason"]},
                    applied_invoice=invoice_no if pairing else None, applied_amount=applied if pairing else None)
            if not ok:
                broken.add(cm_no)
                continue
            line = line_record(values)
            memo.lines.append(line)
            codes.setdefault(line.charge_code, values["description"] or line.charge_code)
        batch.rejected[CREDIT_MEMOS.name] = broken
        for memo in memos.values():
            if memo.number in broken:
                continue
            if memo.applied_amount is not None and memo.applied_amount > memo.total:
                errors.append(RowError(kind, memo.row, "applied_amount", (
                    f"credit memo {memo.number} of {money_text(memo.total)} is applied beyond its total: "
                    f"{money_text(memo.applied_amount)}.")))

    def names(self, batch: ImportBatch) -> dict[str, set[str]]:
        """The invoices its credit memos are applied to."""
        return {INVOICES.name: {memo.applied_invoice for memo in batch.of(CREDIT_MEMOS).values()
                                if memo.applied_invoice}}

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """The file's credit memos with lines and applications, and every credit on the book's invoices read."""
        existing = book.of(CREDIT_MEMOS)
        for keys in chunked(sorted(batch.of(CREDIT_MEMOS)), SQL_IN_CHUNK):
            rows = session.execute(
                select(CreditMemo.id, CreditMemo.number, Customer.code, CreditMemo.memo_date, CreditMemo.reason,
                       CreditMemo.total)
                .join(Customer, Customer.id == CreditMemo.customer_id).where(CreditMemo.number.in_(keys))
            ).all()
            by_id: dict[int, ExistingCreditMemo] = {}
            for row in rows:
                fields = {"memo_date": as_date(row.memo_date), "reason": row.reason, "total": money(row.total)}
                by_id[row.id] = existing[row.number] = ExistingCreditMemo(row.id, row.code, fields, (), {})
            if not by_id:
                continue
            lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
            for line in session.execute(
                select(CreditMemoLine.credit_memo_id, ChargeCode.code, CreditMemoLine.description,
                       CreditMemoLine.quantity, CreditMemoLine.rate, CreditMemoLine.amount)
                .join(ChargeCode, ChargeCode.id == CreditMemoLine.charge_code_id)
                .where(CreditMemoLine.credit_memo_id.in_(list(by_id)))
                .order_by(CreditMemoLine.credit_memo_id, CreditMemoLine.position, CreditMemoLine.id)
            ):
                lines[line.credit_memo_id].append(
                    line_signature(line.code, line.description, line.quantity, line.rate, line.amount))
            for memo_id, memo_lines in lines.items():
                by_id[memo_id].lines = tuple(memo_lines)
            for link in session.execute(
                select(CreditMemoApplication.credit_memo_id, Invoice.number, CreditMemoApplication.amount)
                .join(Invoice, Invoice.id == CreditMemoApplication.invoice_id)
                .where(CreditMemoApplication.credit_memo_id.in_(list(by_id)))
            ):
                apps = by_id[link.credit_memo_id].applications
                apps[link.number] = apps.get(link.number, Decimal("0.00")) + money(link.amount)
        invoice_numbers = {inv.id: number for number, inv in book.of(INVOICES).items()}
        for ids in chunked(sorted(invoice_numbers), SQL_IN_CHUNK):
            for link in session.execute(
                select(CreditMemoApplication.invoice_id, CreditMemo.number, CreditMemoApplication.amount)
                .join(CreditMemo, CreditMemo.id == CreditMemoApplication.credit_memo_id)
                .where(CreditMemoApplication.invoice_id.in_(ids))
            ):
                book.applications.append(ExistingApplication(INVOICES, invoice_numbers[link.invoice_id], CREDIT_MEMOS,
                                                             link.number, money(link.amount)))

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Unknown customers."""
        return [error for memo in batch.of(CREDIT_MEMOS).values()
                for error in unknown_customer(self.kind, memo.row, memo.customer_code, batch, book)]

    def applications(self, batch: ImportBatch) -> list[Application]:
        """Each credit memo's application to an invoice."""
        return [Application(self.kind, memo.row, "applied_invoice_number", memo.number, memo.customer_code,
                            INVOICES, memo.applied_invoice, memo.applied_amount)
                for memo in batch.of(CREDIT_MEMOS).values()
                if memo.applied_invoice and memo.applied_amount is not None]

    def plan(self, plan: Plan) -> None:
        """New numbers are created; changed lines, customer, fields or application are an update."""
        existing = plan.book.of(CREDIT_MEMOS)
        for number, memo in plan.batch.of(CREDIT_MEMOS).items():
            old = existing.get(number)
            wanted_apps = {memo.applied_invoice: memo.applied_amount} if memo.applied_invoice else {}
            lines = tuple(line.signature() for line in memo.lines)
            if old is None:
                plan.create[CREDIT_MEMOS.name].append(number)
                continue
            if old.lines != lines:
                plan.replace[CREDIT_MEMOS.name].add(number)
            if (old.lines != lines or old.customer_code != memo.customer_code
                    or old.fields != {**memo.fields, "total": memo.total} or old.applications != wanted_apps):
                plan.update[CREDIT_MEMOS.name].append(number)

    def clear(self, plan: Plan, session: Session) -> None:
        """The applications of the credit memos the file restates."""
        replaced = [plan.book.of(CREDIT_MEMOS)[n].id for n in plan.update[CREDIT_MEMOS.name]]
        for part in chunked(replaced, SQL_IN_CHUNK):
            session.execute(delete(CreditMemoApplication).where(CreditMemoApplication.credit_memo_id.in_(part)))

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Credit memos, their lines (rewritten whole when they change), then their applications."""
        memos, customer_ids = plan.batch.of(CREDIT_MEMOS), ids[CUSTOMERS.name]
        created, updated = plan.create[CREDIT_MEMOS.name], plan.update[CREDIT_MEMOS.name]
        replace = plan.replace[CREDIT_MEMOS.name]
        memo_ids = ids[CREDIT_MEMOS.name] = {n: m.id for n, m in plan.book.of(CREDIT_MEMOS).items()}

        def memo_row(number: str) -> dict[str, Any]:
            memo = memos[number]
            return {"customer_id": customer_ids[memo.customer_code], **memo.fields, "total": memo.total}

        memo_ids.update(insert_returning(session, CreditMemo, CreditMemo.number, [
            {"number": n, **memo_row(n)} for n in created]))
        update_by_id(session, CreditMemo, [{"id": memo_ids[n], **memo_row(n), "updated_at": now} for n in updated])
        for part in chunked([memo_ids[n] for n in replace], SQL_IN_CHUNK):
            session.execute(delete(CreditMemoLine).where(CreditMemoLine.credit_memo_id.in_(part)))
        code_ids, invoice_ids = ids[CHARGE_CODES.name], ids[INVOICES.name]
        insert_rows(session, CreditMemoLine, [
            {"credit_memo_id": memo_ids[n], "charge_code_id": code_ids[line.charge_code], "position": i,
             "description": line.description, "quantity": line.quantity, "rate": line.rate, "amount": line.amount}
            for n in [*created, *sorted(replace)] for i, line in enumerate(memos[n].lines, start=1)])
        insert_rows(session, CreditMemoApplication, [
            {"credit_memo_id": memo_ids[n], "invoice_id": invoice_ids[memo.applied_invoice],
             "amount": memo.applied_amount}
            for n in [*created, *updated] if (memo := memos[n]).applied_invoice])

    def applied_to(self, plan: Plan) -> dict[str, set[str]]:
        """Invoices the file's credit memos are applied to now, and those the restated ones were applied to."""
        memos = plan.batch.of(CREDIT_MEMOS)
        numbers = {str(memos[n].applied_invoice) for n in [*plan.create[CREDIT_MEMOS.name],
                                                            *plan.update[CREDIT_MEMOS.name]]
                   if memos[n].applied_invoice}
        before = {inv for n in plan.update[CREDIT_MEMOS.name] for inv in plan.book.of(CREDIT_MEMOS)[n].applications}
        return {INVOICES.name: numbers | before}

    def applied_sums(self, session: Session, to: Slot[Any, Any], ids: list[int]) -> Iterable[tuple[int, Decimal]]:
        """Credits applied to these invoices, summed per invoice."""
        if to != INVOICES:
            return []
        return [(invoice_id, amount) for invoice_id, amount in session.execute(
            select(CreditMemoApplication.invoice_id, func.sum(CreditMemoApplication.amount))
            .where(CreditMemoApplication.invoice_id.in_(ids)).group_by(CreditMemoApplication.invoice_id))]

FILE = CreditMemosFile()
