"""The carrier bill lines file: rows make an outside carrier's invoice for a brokered load, line by pay code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from qbcore.chunks import BULK_WRITE_CHUNK, SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_rows, update_by_id
from qbcore.importer.cells import cells_read, check_consistent, read_row
from qbcore.importer.files.settlements import PAY_CODES, load_ids, read_load_ids, unknown_load
from qbcore.importer.files.vendors import VENDORS, vendor_error
from qbcore.importer.records import BookSnapshot, Fields, ImportBatch, Plan, Slot, as_date, money
from qbcore.importer.rows import Column, ColumnType, FileKind, ParsedFile, RowError
from qbcore.importer.rules import FileRules, Ids
from qbcore.models import CarrierBill, CarrierBillLine, CarrierBillStatus, Load, PayCode, Vendor

T, D, M = ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY
ZERO = Decimal("0.00")
STATUSES = tuple(s.value for s in CarrierBillStatus)
ACCEPTED = (CarrierBillStatus.ACCEPTED.value, CarrierBillStatus.PAID.value)
# Rows of one bill must agree on these.
HEADER_COLUMNS = ("load_number", "bill_date", "due_date", "terms", "status", "dispute_reason", "paid_on", "memo")
FIELDS = ("bill_date", "due_date", "terms", "status", "dispute_reason", "paid_on", "memo")


def bill_key(carrier_code: str, number: str) -> str:
    """A bill's natural key: its carrier and the carrier's invoice number (the length keeps the pair unambiguous)."""
    return f"{len(carrier_code)}:{carrier_code}:{number}"


@dataclass
class CarrierBillRecord:
    """A carrier's bill: header and its lines (pay code, description, amount) in file order."""

    carrier_code: str
    number: str
    row: int
    load_number: str
    fields: Fields
    lines: list[tuple[str, str | None, Decimal]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((amount for _, _, amount in self.lines), ZERO)


@dataclass
class ExistingCarrierBill:
    """A carrier bill the book already has."""

    id: int
    load_number: str
    fields: Fields
    accepted_at: datetime | None
    lines: tuple[tuple[str, str | None, Decimal], ...] = ()


CARRIER_BILLS: Slot[CarrierBillRecord, ExistingCarrierBill] = Slot("carrier_bills")


class CarrierBillsFile(FileRules):
    """Carrier bills, matched on carrier and the carrier's invoice number; a changed bill's lines are rewritten."""

    kind = FileKind.CARRIER_BILLS
    slot = CARRIER_BILLS
    makes = (PAY_CODES,)  # created with the settlements' codes (the settlements file writes them)
    tables = (CarrierBill, CarrierBillLine)
    columns = (
        Column("carrier_code", T, True, 32, "V0301", "A vendor with the carrier role, in the book or the vendors "
               "file."),
        Column("carrier_invoice_number", T, True, 21, "88120", "The carrier's own invoice number (QuickBooks' bill "
               "number); rows with the same carrier and number make one bill."),
        Column("load_number", T, True, 32, "L500001", "The brokered load: in the book or the invoice lines file."),
        Column("bill_date", D, True, None, "2026-11-04"),
        Column("due_date", D, True, None, "2026-12-04", "On or after the bill date."),
        Column("terms", T, False, 40, "Net 30", "Blank means the carrier's terms."),
        Column("status", T, True, 12, "accepted", "received, accepted, disputed, paid or void; received, "
               "disputed and void bills stay out of QuickBooks (a void one synced before is deleted there)."),
        Column("dispute_reason", T, False, 400, "", "Required when status is disputed."),
        Column("paid_on", D, False, None, "", "Required when status is paid; blank otherwise."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("pay_code", T, True, 32, "LH", "Unknown codes are created; map them to expense accounts in "
               "Settings → Pay codes."),
        Column("description", T, False, 400, "Line haul", multiline=True),
        Column("amount", M, True, None, "1150.00", "Zero or more; cents.",
               negative="write what the carrier charges; a carrier's credit is a vendor credit in QuickBooks"),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Rows with one carrier and number make a bill; they must agree on its header."""
        kind, bills, codes = parsed.kind, batch.of(CARRIER_BILLS), batch.of(PAY_CODES)
        firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
        broken: set[str] = set()
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
            before = len(errors)
            self._check_row(kind, number, values, failed, errors)
            ok = not failed and len(errors) == before
            carrier, invoice_no = values["carrier_code"], values["carrier_invoice_number"]
            if carrier is None or invoice_no is None:
                continue  # nothing to match the row on; its cell error says why
            key = bill_key(carrier, invoice_no)
            if key in firsts:
                ok = check_consistent(kind, number, "carrier bill", invoice_no, HEADER_COLUMNS, firsts[key], values,
                                      failed, errors) and ok
            else:
                firsts[key] = (number, values, failed)
            bill = bills.get(key)
            if bill is None:
                bill = bills[key] = CarrierBillRecord(carrier, invoice_no, number, values["load_number"] or "", {
                    "bill_date": values["bill_date"], "due_date": values["due_date"], "terms": values["terms"],
                    "status": (values["status"] or "").lower(), "dispute_reason": values["dispute_reason"],
                    "paid_on": values["paid_on"], "memo": values["memo"]})
            if not ok:
                broken.add(key)
                continue
            code = values["pay_code"].upper()
            bill.lines.append((code, values["description"], values["amount"]))
            codes.setdefault(code, values["description"] or code)
        batch.rejected[CARRIER_BILLS.name] = broken

    @staticmethod
    def _check_row(kind: FileKind, number: int, values: dict[str, Any], failed: set[str],
                   errors: list[RowError]) -> None:
        """The errors one row shows alone: due before billed, an unknown status, a dispute without a reason."""
        if cells_read(failed, "bill_date", "due_date") and values["due_date"] < values["bill_date"]:
            errors.append(RowError(kind, number, "due_date", (
                f"due date {values['due_date']} is before the bill date {values['bill_date']}.")))
        status = (values["status"] or "").lower()
        if "status" in failed:
            return
        if status not in STATUSES:
            errors.append(RowError(kind, number, "status", (
                f"{values['status']!r} is not a carrier bill status: write received, accepted, disputed, paid or "
                "void.")))
            return
        if status == CarrierBillStatus.DISPUTED.value and values["dispute_reason"] is None \
                and "dispute_reason" not in failed:
            errors.append(RowError(kind, number, "dispute_reason", (
                "a disputed bill needs the reason in dispute_reason (what the carrier billed wrongly).")))
        if "paid_on" not in failed and (status == CarrierBillStatus.PAID.value) != (values["paid_on"] is not None):
            errors.append(RowError(kind, number, "paid_on", (
                "a paid bill needs the date it was paid in paid_on." if status == CarrierBillStatus.PAID.value else
                f"paid_on is given but the status is {status}; write status paid, or leave paid_on blank.")))

    def names(self, batch: ImportBatch) -> dict[str, set[str]]:
        """The carriers its bills are from."""
        return {VENDORS.name: {b.carrier_code for b in batch.of(CARRIER_BILLS).values()}}

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """The loads the bills name; the file's bills with their lines."""
        bills, existing = batch.of(CARRIER_BILLS), book.of(CARRIER_BILLS)
        read_load_ids(session, {b.load_number for b in bills.values() if b.load_number}, book)
        numbers = sorted({b.number for b in bills.values()})
        for keys in chunked(numbers, SQL_IN_CHUNK):
            for row in session.execute(
                select(CarrierBill.id, Vendor.code, CarrierBill.carrier_invoice_number, Load.load_number,
                       CarrierBill.accepted_at, *(getattr(CarrierBill, f) for f in FIELDS))
                .join(Vendor, Vendor.id == CarrierBill.carrier_id).join(Load, Load.id == CarrierBill.load_id)
                .where(CarrierBill.carrier_invoice_number.in_(keys))
            ):
                key = bill_key(row.code, row.carrier_invoice_number)
                if key in bills:
                    fields = {f: getattr(row, f) for f in FIELDS}
                    for name in ("bill_date", "due_date", "paid_on"):
                        fields[name] = as_date(fields[name])
                    existing[key] = ExistingCarrierBill(row.id, row.load_number, fields, row.accepted_at)
        by_id = {b.id: key for key, b in existing.items()}
        lines: dict[int, list[tuple[str, str | None, Decimal]]] = {i: [] for i in by_id}
        for ids in chunked(sorted(by_id), SQL_IN_CHUNK):
            for row in session.execute(
                select(CarrierBillLine.carrier_bill_id, PayCode.code, CarrierBillLine.description,
                       CarrierBillLine.amount)
                .join(PayCode, PayCode.id == CarrierBillLine.pay_code_id)
                .where(CarrierBillLine.carrier_bill_id.in_(ids))
                .order_by(CarrierBillLine.carrier_bill_id, CarrierBillLine.position, CarrierBillLine.id)
            ):
                lines[row.carrier_bill_id].append((row.code, row.description, money(row.amount)))
        for bill_id, key in by_id.items():
            existing[key].lines = tuple(lines[bill_id])

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Carriers and loads that are nowhere, or a vendor that is not a carrier."""
        errors: list[RowError] = []
        for bill in batch.of(CARRIER_BILLS).values():
            errors.extend(vendor_error(self.kind, bill.row, "carrier_code", bill.carrier_code, "is_carrier",
                                       "billing a brokered load", batch, book))
            if bill.load_number:
                errors.extend(unknown_load(self.kind, bill.row, bill.load_number, batch, book))
        return errors

    def _terms(self, bill: CarrierBillRecord, batch: ImportBatch, book: BookSnapshot) -> str:
        """The bill's terms, or else its carrier's (as the file has them, else the book)."""
        if bill.fields["terms"]:
            return str(bill.fields["terms"])
        record = batch.of(VENDORS).get(bill.carrier_code)
        fields = record.fields if record is not None else book.of(VENDORS)[bill.carrier_code].fields
        return str(fields["terms"])

    def plan(self, plan: Plan) -> None:
        """New bills are created; a changed header, load or line is an update (lines rewritten when they change)."""
        batch, book = plan.batch, plan.book
        for key, bill in batch.of(CARRIER_BILLS).items():
            bill.fields["terms"] = self._terms(bill, batch, book)
            existing = book.of(CARRIER_BILLS).get(key)
            if existing is None:
                plan.create[CARRIER_BILLS.name].append(key)
                continue
            if existing.lines != tuple(bill.lines):
                plan.replace[CARRIER_BILLS.name].add(key)
            if key in plan.replace[CARRIER_BILLS.name] or existing.fields != bill.fields \
                    or existing.load_number != bill.load_number:
                plan.update[CARRIER_BILLS.name].append(key)

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Bill headers (every column given), then the lines of each new or changed bill."""
        batch, book = plan.batch.of(CARRIER_BILLS), plan.book.of(CARRIER_BILLS)
        vendor_ids, loads = ids[VENDORS.name], load_ids(ids, plan.book)

        def header(key: str) -> dict[str, Any]:
            bill = batch[key]
            old = book[key].accepted_at if key in book else None
            accepted_at = (old or now) if bill.fields["status"] in ACCEPTED else old
            return {"carrier_id": vendor_ids[bill.carrier_code], "load_id": loads[bill.load_number],
                    "carrier_invoice_number": bill.number, **bill.fields, "total": bill.total,
                    "accepted_at": accepted_at, "updated_at": now}

        bill_ids = ids[CARRIER_BILLS.name] = {key: b.id for key, b in book.items()}
        created = plan.create[CARRIER_BILLS.name]
        code_of = {vendor_id: code for code, vendor_id in vendor_ids.items()}
        for part in chunked([header(key) for key in created], BULK_WRITE_CHUNK):
            for row in session.execute(insert(CarrierBill).returning(
                    CarrierBill.id, CarrierBill.carrier_id, CarrierBill.carrier_invoice_number), part):
                bill_ids[bill_key(code_of[row.carrier_id], row.carrier_invoice_number)] = row.id
        update_by_id(session, CarrierBill, [{"id": bill_ids[key], **header(key)}
                                            for key in plan.update[CARRIER_BILLS.name]])
        replace = sorted(plan.replace[CARRIER_BILLS.name])
        for id_part in chunked([bill_ids[key] for key in replace], SQL_IN_CHUNK):
            session.execute(delete(CarrierBillLine).where(CarrierBillLine.carrier_bill_id.in_(id_part)))
        pay_ids = ids[PAY_CODES.name]
        insert_rows(session, CarrierBillLine, [
            {"carrier_bill_id": bill_ids[key], "pay_code_id": pay_ids[code], "position": i, "description": text,
             "amount": amount}
            for key in [*created, *replace] for i, (code, text, amount) in enumerate(batch[key].lines, start=1)])


FILE = CarrierBillsFile()
