"""The invoice lines file: rows make invoices and their charge sets (one per load); money is applied to invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from qbcore.chunks import BULK_WRITE_CHUNK, SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_returning, insert_rows, update_by_id
from qbcore.importer.cells import cells_read, check_consistent, check_line, line_record, money_text, read_row
from qbcore.importer.files.customers import CUSTOMERS, parent_of, terms_of, unknown_customer
from qbcore.importer.records import (
    CHARGE_CODES,
    Application,
    BookSnapshot,
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
from qbcore.models import ChargeCode, ChargeLine, ChargeSet, Customer, Invoice, InvoiceStatus, Load

T, D, M, Q, C = ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY, ColumnType.QUANTITY, ColumnType.CONTAINER
CENT = Decimal("0.01")
# Rows of one invoice must agree on these.
HEADER_COLUMNS = ("customer_code", "invoice_date", "due_date", "terms", "memo")
LOAD_COLUMNS = ("container_number", "size_type", "bol", "reference_number", "pickup_location", "pickup_date",
                "delivery_location", "delivery_date", "chassis_number")
_SETTLEABLE = (InvoiceStatus.APPROVED.value, InvoiceStatus.PARTIALLY_PAID.value, InvoiceStatus.PAID.value)


@dataclass
class LoadRecord:
    """A load, as the invoice lines describe it."""

    load_number: str
    row: int
    customer_code: str
    fields: Fields


@dataclass
class InvoiceRecord:
    """An invoice: header, then charge sets keyed by load number in file order."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    sets: dict[str, list[LineRecord]] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((line.amount for lines in self.sets.values() for line in lines), Decimal("0.00"))

    def content(self) -> tuple[Any, ...]:
        """The charge sets as comparable data."""
        return tuple((load, tuple(line.signature() for line in lines)) for load, lines in self.sets.items())


@dataclass
class ExistingLoad:
    """A load the book already has."""

    id: int
    customer_code: str
    fields: Fields


@dataclass
class ExistingInvoice:
    """An invoice the book already has (content only for invoices the files carry)."""

    id: int
    customer_code: str
    total: Decimal
    fields: Fields = field(default_factory=dict)
    content: tuple[Any, ...] = ()


LOADS: Slot[LoadRecord, ExistingLoad] = Slot("loads")
INVOICES: Slot[InvoiceRecord, ExistingInvoice] = Slot("invoices")
Firsts = dict[str, tuple[int, dict[str, Any], set[str]]]


class InvoicesFile(FileRules):
    """Invoices and the loads and charge codes their lines name; the file money from other files is applied to."""

    kind = FileKind.INVOICES
    slot = INVOICES
    makes = (CHARGE_CODES, LOADS)
    tables = (Load, Invoice, ChargeSet, ChargeLine)
    columns = (
        Column("invoice_number", T, True, 32, "INV-100001", "Rows with the same number make one invoice."),
        Column("customer_code", T, True, 32, "C0001", "Must exist in the book or in the customers file."),
        Column("invoice_date", D, True, None, "2026-11-02"),
        Column("due_date", D, True, None, "2026-12-02", "On or after the invoice date."),
        Column("terms", T, False, 40, "Net 30", "Blank means the customer's terms."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("load_number", T, True, 32, "L500001", "Rows with the same load make one charge set."),
        Column("container_number", C, True, None, "MSCU1234566", "ISO 6346, check digit included."),
        Column("size_type", T, True, 8, "40HC"),
        Column("bol", T, False, 40, "MEDU123456789"),
        Column("reference_number", T, False, 40, "PO-448812", "The customer's reference or PO."),
        Column("pickup_location", T, True, 120, "Maher Terminals, Elizabeth NJ"),
        Column("pickup_date", D, True, None, "2026-10-30"),
        Column("delivery_location", T, True, 200, "Atlas DC, 12 Freight Rd, Edison NJ"),
        Column("delivery_date", D, True, None, "2026-10-31", "On or after the pickup date."),
        Column("chassis_number", T, False, 20, "DCLZ401233"),
        Column("charge_code", T, True, 32, "BASE", "Unknown codes are created; map them to items in Settings."),
        Column("description", T, False, 400, "Line haul (drayage base rate)", multiline=True),
        Column("quantity", Q, True, None, "1", "More than zero; up to 4 decimals."),
        Column("rate", M, True, None, "725.00", "Zero or more; cents."),
        Column("amount", M, True, None, "725.00", "Must equal quantity × rate, rounded to the cent."),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Rows with one number make an invoice, rows with one load a charge set; both must agree row to row."""
        kind = parsed.kind
        invoices, loads, codes = batch.of(INVOICES), batch.of(LOADS), batch.of(CHARGE_CODES)
        firsts: Firsts = {}
        load_firsts: Firsts = {}
        broken: set[str] = set()
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
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
                    ok = check_consistent(kind, number, "invoice", inv_no, HEADER_COLUMNS, firsts[inv_no], values,
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
            invoice = invoices.get(inv_no)
            if invoice is None:
                invoice = invoices[inv_no] = InvoiceRecord(
                    inv_no, number, values["customer_code"] or "",
                    {"invoice_date": values["invoice_date"], "due_date": values["due_date"],
                     "terms": values["terms"], "memo": values["memo"]})
            if load_no is not None and load_no not in loads and values["customer_code"] is not None:
                loads[load_no] = LoadRecord(load_no, number, values["customer_code"],
                                            {c: values[c] for c in LOAD_COLUMNS})
            if not ok:
                broken.add(inv_no)
                continue
            line = line_record(values)
            invoice.sets.setdefault(load_no, []).append(line)
            codes.setdefault(line.charge_code, values["description"] or line.charge_code)
        batch.rejected[INVOICES.name] = broken

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """The file's loads; its invoices and those other files apply money to; the charge sets of its own."""
        for keys in chunked(batch.of(LOADS), SQL_IN_CHUNK):
            rows = session.execute(
                select(Load.id, Load.load_number, Customer.code, *(getattr(Load, c) for c in LOAD_COLUMNS))
                .join(Customer, Customer.id == Load.customer_id).where(Load.load_number.in_(keys))
            ).all()
            for row in rows:
                fields = {c: getattr(row, c) for c in LOAD_COLUMNS}
                fields["pickup_date"] = as_date(fields["pickup_date"])
                fields["delivery_date"] = as_date(fields["delivery_date"])
                book.of(LOADS)[row.load_number] = ExistingLoad(row.id, row.code, fields)
        invoices, existing = batch.of(INVOICES), book.of(INVOICES)
        for keys in chunked(sorted(set(invoices) | named), SQL_IN_CHUNK):
            rows = session.execute(
                select(Invoice.id, Invoice.number, Customer.code, Invoice.total, Invoice.invoice_date,
                       Invoice.due_date, Invoice.terms, Invoice.memo)
                .join(Customer, Customer.id == Invoice.customer_id).where(Invoice.number.in_(keys))
            ).all()
            for row in rows:
                fields = {"invoice_date": as_date(row.invoice_date), "due_date": as_date(row.due_date),
                          "terms": row.terms, "memo": row.memo}
                existing[row.number] = ExistingInvoice(row.id, row.code, money(row.total), fields)
        by_id = {inv.id: number for number, inv in existing.items()}
        in_file = [inv.id for number, inv in existing.items() if number in invoices]
        content: dict[int, dict[str, list[tuple[Any, ...]]]] = defaultdict(dict)
        for ids in chunked(in_file, SQL_IN_CHUNK):
            set_rows = session.execute(
                select(ChargeSet.invoice_id, Load.load_number, ChargeCode.code, ChargeLine.description,
                       ChargeLine.quantity, ChargeLine.rate, ChargeLine.amount)
                .join(Load, Load.id == ChargeSet.load_id)
                .join(ChargeLine, ChargeLine.charge_set_id == ChargeSet.id)
                .join(ChargeCode, ChargeCode.id == ChargeLine.charge_code_id)
                .where(ChargeSet.invoice_id.in_(ids))
                .order_by(ChargeSet.invoice_id, ChargeSet.position, ChargeSet.id, ChargeLine.position, ChargeLine.id)
            ).all()
            for line in set_rows:
                sets = content[line.invoice_id]
                sets.setdefault(line.load_number, []).append(
                    line_signature(line.code, line.description, line.quantity, line.rate, line.amount))
        for invoice_id, sets in content.items():
            existing[by_id[invoice_id]].content = tuple((load, tuple(lines)) for load, lines in sets.items())

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Unknown customers, and loads the book bills to another customer."""
        errors: list[RowError] = []
        for invoice in batch.of(INVOICES).values():
            errors.extend(unknown_customer(self.kind, invoice.row, invoice.customer_code, batch, book))
        for load in batch.of(LOADS).values():
            existing = book.of(LOADS).get(load.load_number)
            if existing is not None and existing.customer_code != load.customer_code:
                errors.append(RowError(self.kind, load.row, "load_number", (
                    f"load {load.load_number} belongs to customer {existing.customer_code} in the book; "
                    f"this row bills it to {load.customer_code}.")))
        return errors

    def check_applications(self, batch: ImportBatch, book: BookSnapshot,
                           wanted: Sequence[Application]) -> list[RowError]:
        """Payments and credits never exceed an invoice's total, nor go to another customer's invoice."""
        errors: list[RowError] = []
        existing, invoices, rejected = book.of(INVOICES), batch.of(INVOICES), batch.rejected[INVOICES.name]
        totals: dict[str, Decimal] = {n: e.total for n, e in existing.items()}
        customers: dict[str, str] = {n: e.customer_code for n, e in existing.items()}
        for number, invoice in invoices.items():
            totals[number] = invoice.total
            customers[number] = invoice.customer_code
        # Money applied by records in the files replaces theirs in the book; the rest stays.
        kept: dict[str, Decimal] = defaultdict(Decimal)
        for app in book.applications:
            if app.to == INVOICES and app.source_number not in batch.of(app.source):
                kept[app.target] += app.amount
        for number, invoice in invoices.items():
            if number not in rejected and kept[number] > invoice.total:
                errors.append(RowError(self.kind, invoice.row, "amount", (
                    f"invoice {number} would total {money_text(invoice.total)}, less than the "
                    f"{money_text(kept[number])} already paid or credited on it in the book.")))
        applied = dict(kept)
        for want in (w for w in wanted if w.to == INVOICES):
            inv_no, amount, customer = want.target, want.amount, want.customer_code
            if inv_no in rejected:
                continue  # its own rows already carry the error
            if inv_no not in totals:
                errors.append(RowError(want.file, want.row, want.column, (
                    f"invoice {inv_no} is neither in the book nor in the invoices file.")))
                continue
            owner = customers[inv_no]
            # A customer_code that did not read ("") carries its own error: no owner check against it.
            if customer and owner != customer and parent_of(owner, batch, book) != customer:
                errors.append(RowError(want.file, want.row, want.column, (
                    f"invoice {inv_no} belongs to customer {owner}, not to {customer}; QuickBooks applies money "
                    "only to the same customer's invoices.")))
                continue
            before = applied.get(inv_no, Decimal("0.00"))
            open_balance = totals[inv_no] - before
            if amount > open_balance:
                errors.append(RowError(want.file, want.row, "applied_amount", (
                    f"{money_text(amount)} from {want.source_number} is beyond the open balance of invoice "
                    f"{inv_no}: {money_text(open_balance)} of its {money_text(totals[inv_no])} total is still open.")))
                continue
            applied[inv_no] = before + amount
        return errors

    def plan(self, plan: Plan) -> None:
        """Loads by their fields; invoices by header and charge sets (an unchanged one on a changed load is touched)."""
        batch, book = plan.batch, plan.book
        for number, load in batch.of(LOADS).items():
            existing_load = book.of(LOADS).get(number)
            if existing_load is None:
                plan.create[LOADS.name].append(number)
            elif existing_load.fields != load.fields:
                plan.update[LOADS.name].append(number)
        changed_loads = set(plan.update[LOADS.name])
        for number, invoice in batch.of(INVOICES).items():
            invoice.fields["terms"] = invoice.fields["terms"] or terms_of(invoice.customer_code, batch, book)
            existing_inv = book.of(INVOICES).get(number)
            if existing_inv is None:
                plan.create[INVOICES.name].append(number)
                continue
            content_changed = existing_inv.content != invoice.content()
            if content_changed:
                plan.replace[INVOICES.name].add(number)
            if content_changed or existing_inv.fields != invoice.fields \
                    or existing_inv.customer_code != invoice.customer_code:
                plan.update[INVOICES.name].append(number)
            elif changed_loads.intersection(invoice.sets):
                plan.touched[INVOICES.name].add(number)

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Loads, then invoice headers, then their charge sets (rewritten whole when they change)."""
        batch, book = plan.batch, plan.book
        customer_ids, loads = ids[CUSTOMERS.name], batch.of(LOADS)
        load_ids = ids[LOADS.name] = {number: load.id for number, load in book.of(LOADS).items()}
        load_ids.update(insert_returning(session, Load, Load.load_number, [
            {"load_number": n, "customer_id": customer_ids[loads[n].customer_code], **loads[n].fields}
            for n in plan.create[LOADS.name]]))
        update_by_id(session, Load, [{"id": load_ids[n], **{c: loads[n].fields[c] for c in LOAD_COLUMNS}}
                                     for n in plan.update[LOADS.name]])
        invoices = batch.of(INVOICES)
        invoice_ids = ids[INVOICES.name] = {number: inv.id for number, inv in book.of(INVOICES).items()}

        def invoice_row(number: str) -> dict[str, Any]:
            inv = invoices[number]
            return {"customer_id": customer_ids[inv.customer_code], **inv.fields, "total": inv.total,
                    "is_combined": len(inv.sets) > 1}

        invoice_ids.update(insert_returning(session, Invoice, Invoice.number, [
            {"number": n, "status": InvoiceStatus.APPROVED.value, **invoice_row(n)}
            for n in plan.create[INVOICES.name]]))
        update_by_id(session, Invoice, [{"id": invoice_ids[n], **invoice_row(n), "updated_at": now}
                                        for n in plan.update[INVOICES.name]])
        self._write_charge_sets(plan, session, ids)

    def _write_charge_sets(self, plan: Plan, session: Session, ids: Ids) -> None:
        invoices, replace = plan.batch.of(INVOICES), plan.replace[INVOICES.name]
        invoice_ids, load_ids, code_ids = ids[INVOICES.name], ids[LOADS.name], ids[CHARGE_CODES.name]
        for part in chunked([invoice_ids[n] for n in sorted(replace)], SQL_IN_CHUNK):
            old_sets = select(ChargeSet.id).where(ChargeSet.invoice_id.in_(part)).scalar_subquery()
            session.execute(delete(ChargeLine).where(ChargeLine.charge_set_id.in_(old_sets)))
            session.execute(delete(ChargeSet).where(ChargeSet.invoice_id.in_(part)))
        numbers = [*plan.create[INVOICES.name], *sorted(replace)]
        set_rows = [{"invoice_id": invoice_ids[n], "load_id": load_ids[load], "position": pos}
                    for n in numbers for pos, load in enumerate(invoices[n].sets, start=1)]
        set_ids: dict[tuple[int, int], int] = {}
        for rows_part in chunked(set_rows, BULK_WRITE_CHUNK):
            for row in session.execute(
                insert(ChargeSet).returning(ChargeSet.id, ChargeSet.invoice_id, ChargeSet.load_id), rows_part
            ):
                set_ids[(row.invoice_id, row.load_id)] = row.id
        insert_rows(session, ChargeLine, [
            {"charge_set_id": set_ids[(invoice_ids[n], load_ids[load])], "charge_code_id": code_ids[line.charge_code],
             "position": i, "description": line.description, "quantity": line.quantity, "rate": line.rate,
             "amount": line.amount}
            for n in numbers for load, lines in invoices[n].sets.items()
            for i, line in enumerate(lines, start=1)])

    def settle(self, plan: Plan, session: Session, files: Sequence[FileRules]) -> None:
        """Approved / partially paid / paid from the money now applied to every invoice the import touched."""
        numbers = set(plan.create[INVOICES.name]) | set(plan.update[INVOICES.name])
        for rules in files:
            numbers |= rules.applied_to(plan).get(INVOICES.name, set())
        changes = []
        for part in chunked(sorted(numbers), SQL_IN_CHUNK):
            invoices = session.execute(select(Invoice.id, Invoice.total, Invoice.status).where(
                Invoice.number.in_(part), Invoice.status.in_(_SETTLEABLE))).all()
            ids = [row.id for row in invoices]
            applied: dict[int, Decimal] = {}
            for rules in files:
                for invoice_id, amount in rules.applied_sums(session, INVOICES, ids):
                    applied[invoice_id] = applied.get(invoice_id, Decimal("0.00")) + Decimal(str(amount)).quantize(CENT)
            for invoice_id, total, status in invoices:
                total, paid = Decimal(str(total)).quantize(CENT), applied.get(invoice_id, Decimal("0.00"))
                wanted = (InvoiceStatus.PAID if total > 0 and paid >= total
                          else InvoiceStatus.PARTIALLY_PAID if paid > 0 else InvoiceStatus.APPROVED).value
                if wanted != status:
                    changes.append({"id": invoice_id, "status": wanted})
        update_by_id(session, Invoice, changes)


FILE = InvoicesFile()
