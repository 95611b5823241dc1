"""The settlement lines file: rows make a driver's settlement, its pay per load (on a truck) and its deductions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, aliased

from qbcore.chunks import BULK_WRITE_CHUNK, SQL_IN_CHUNK, chunked
from qbcore.importer.bulk import insert_returning, insert_rows, update_by_id
from qbcore.importer.cells import cells_read, check_consistent, check_line, money_text, read_row
from qbcore.importer.files.invoices import LOADS
from qbcore.importer.files.vendors import VENDORS, vendor_error
from qbcore.importer.records import (
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
from qbcore.models import (
    DeductionCode,
    Load,
    PayCode,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SettlementStatus,
    Truck,
    Vendor,
)

T, D, M, Q = ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY, ColumnType.QUANTITY
ZERO = Decimal("0.00")
STATUSES = tuple(s.value for s in SettlementStatus)
LINE_TYPES = ("pay", "deduction")
# Rows of one settlement must agree on these.
HEADER_COLUMNS = ("driver_code", "period_start", "period_end", "settlement_date", "status", "paid_on", "memo")
FIELDS = ("period_start", "period_end", "settlement_date", "status", "paid_on", "memo")

# Pay and deduction codes the lines of the payables files name (code → description) and the book's (code → id):
# codes not in the book are created, as charge codes are, and are mapped to expense accounts in Settings.
PAY_CODES: Slot[str, int] = Slot("pay_codes")
DEDUCTION_CODES: Slot[str, int] = Slot("deduction_codes")
# Loads the payables files name that the book already has (load number → id): settlements and bills pay for loads.
LOAD_IDS: Slot[None, int] = Slot("load_ids")
# The book's settlements of the file's drivers, by (driver, period start) → number: one settlement a period.
PERIODS: Slot[None, str] = Slot("settlement_periods")


@dataclass
class TruckRecord:
    """A truck a settlement row names, and who owns it (None: the row did not say, so a new one is the driver's)."""

    number: str
    row: int
    owner_code: str | None
    driver_code: str


@dataclass
class ExistingTruck:
    """A truck the book already has."""

    id: int
    owner_code: str


@dataclass
class DeductionRecord:
    """One deduction of a settlement."""

    code: str
    truck_number: str | None
    description: str | None
    amount: Decimal

    def signature(self) -> tuple[Any, ...]:
        """What makes two deductions the same."""
        return self.code, self.truck_number, self.description, self.amount.quantize(Decimal("0.01"))


@dataclass
class SettlementRecord:
    """A settlement: header, pay lines by load (with its truck) in file order, and deductions."""

    number: str
    row: int
    driver_code: str
    fields: Fields
    loads: dict[str, tuple[str, list[LineRecord]]] = field(default_factory=dict)
    load_rows: dict[str, int] = field(default_factory=dict)
    deductions: list[DeductionRecord] = field(default_factory=list)

    @property
    def pay_total(self) -> Decimal:
        """The sum of the pay lines."""
        return sum((line.amount for _, lines in self.loads.values() for line in lines), ZERO)

    @property
    def deduction_total(self) -> Decimal:
        """The sum of the deductions."""
        return sum((d.amount for d in self.deductions), ZERO)

    def content(self) -> tuple[Any, ...]:
        """Loads, their lines and the deductions as comparable data."""
        return (tuple((load, truck, tuple(line.signature() for line in lines))
                      for load, (truck, lines) in self.loads.items()),
                tuple(d.signature() for d in self.deductions))


@dataclass
class ExistingSettlement:
    """A settlement the book already has (content only for those the file carries)."""

    id: int
    driver_code: str
    fields: Fields
    finalized_at: datetime | None
    content: tuple[Any, ...] = ((), ())


TRUCKS: Slot[TruckRecord, ExistingTruck] = Slot("trucks")
SETTLEMENTS: Slot[SettlementRecord, ExistingSettlement] = Slot("settlements")


def read_load_ids(session: Session, numbers: Iterable[str], book: BookSnapshot) -> None:
    """Put in the book the ids of the loads it has among these numbers."""
    for keys in chunked(sorted(set(numbers) - set(book.of(LOAD_IDS))), SQL_IN_CHUNK):
        book.of(LOAD_IDS).update({row.load_number: row.id for row in session.execute(
            select(Load.load_number, Load.id).where(Load.load_number.in_(keys)))})


def unknown_load(kind: FileKind, row: int, number: str, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    """The error of a row naming a load that is neither in the book nor in the invoice lines file."""
    if number in book.of(LOAD_IDS) or number in batch.of(LOADS):
        return []
    return [RowError(kind, row, "load_number", (
        f"load {number} is neither in the book nor in the invoice lines file; import the invoice that bills it "
        "first (or with this file).")
    )]


def load_ids(ids: Ids, book: BookSnapshot) -> dict[str, int]:
    """Every load id an import knows: the book's loads the payables name and those the invoice lines wrote."""
    return {**book.of(LOAD_IDS), **ids.get(LOADS.name, {})}


def write_codes(session: Session, model: Any, codes: dict[str, str], create: list[str], known: dict[str, int],
                now: datetime) -> dict[str, int]:
    """Create the codes not in the book (every column given); the ids of all of them."""
    created = insert_returning(session, model, model.code, [
        {"code": code, "name": codes[code][:100], "description": codes[code][:400], "active": True,
         "updated_at": now} for code in create])
    return {**known, **created}


class SettlementsFile(FileRules):
    """Driver settlements, matched on their number; a changed settlement's loads, lines and deductions are rewritten."""

    kind = FileKind.SETTLEMENTS
    slot = SETTLEMENTS
    makes = (PAY_CODES, DEDUCTION_CODES, TRUCKS)
    tables = (PayCode, DeductionCode, Truck, Settlement, SettlementLoad, SettlementLine, SettlementDeduction)
    announces = ((PAY_CODES, "map them to QuickBooks expense accounts in Settings → Pay codes"),
                 (DEDUCTION_CODES, "map them to QuickBooks expense accounts in Settings → Pay codes"))
    columns = (
        Column("settlement_number", T, True, 21, "STL-2026-4501", "Rows with the same number make one settlement "
               "(QuickBooks' bill number: at most 21 characters)."),
        Column("driver_code", T, True, 32, "V0101", "A vendor with the driver role, in the book or the vendors "
               "file."),
        Column("period_start", D, True, None, "2026-10-26"),
        Column("period_end", D, True, None, "2026-11-01", "On or after period_start."),
        Column("settlement_date", D, True, None, "2026-11-03", "On or after period_end."),
        Column("status", T, True, 12, "finalized", "draft, finalized, paid or void; a draft stays out of "
               "QuickBooks, a void one too (its bill is deleted there if it was synced)."),
        Column("paid_on", D, False, None, "", "Required when status is paid; blank otherwise."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("line_type", T, True, 12, "pay", "pay (a load's pay line) or deduction."),
        Column("code", T, True, 32, "LH", "The pay code or deduction code; unknown codes are created: map them to "
               "expense accounts in Settings → Pay codes."),
        Column("description", T, False, 400, "Line haul pay", multiline=True),
        Column("load_number", T, False, 32, "L500001", "Pay lines: a load in the book or the invoice lines file; "
               "blank on a deduction."),
        Column("truck_number", T, False, 20, "T-101", "Pay lines: the truck the load ran on; a deduction may name "
               "the truck it is for. Unknown trucks are created."),
        Column("truck_owner_code", T, False, 32, "", "Who owns a new truck (a driver or fleet owner); blank means "
               "the driver."),
        Column("quantity", Q, False, None, "1", "Pay lines: more than zero; blank on a deduction.",
               negative="a deduction is its own row, with line_type deduction"),
        Column("rate", M, False, None, "450.00", "Pay lines: zero or more; blank on a deduction.",
               negative="a deduction is its own row, with line_type deduction"),
        Column("amount", M, True, None, "450.00", "Pay lines: quantity × rate; deductions: more than zero.",
               negative="write a deduction as a positive amount on a row whose line_type is deduction"),
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Rows with one number make a settlement; every row is a pay line of a load or a deduction."""
        kind = parsed.kind
        settlements, trucks = batch.of(SETTLEMENTS), batch.of(TRUCKS)
        pay_codes, deduction_codes = batch.of(PAY_CODES), batch.of(DEDUCTION_CODES)
        firsts: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
        broken: set[str] = set()
        for number, row in parsed.rows:
            values, failed = read_row(kind, self.columns, number, row, errors)
            before = len(errors)
            self._check_row(kind, number, values, failed, errors)
            ok = not failed and len(errors) == before
            stl_no = values["settlement_number"]
            if stl_no is None:
                continue  # no settlement to put the row in; its cell error says why
            if stl_no in firsts:
                ok = check_consistent(kind, number, "settlement", stl_no, HEADER_COLUMNS, firsts[stl_no], values,
                                      failed, errors) and ok
            else:
                firsts[stl_no] = (number, values, failed)
            settlement = settlements.get(stl_no)
            if settlement is None:
                settlement = settlements[stl_no] = SettlementRecord(
                    stl_no, number, values["driver_code"] or "",
                    {"period_start": values["period_start"], "period_end": values["period_end"],
                     "settlement_date": values["settlement_date"],
                     "status": (values["status"] or "").lower(), "paid_on": values["paid_on"],
                     "memo": values["memo"]})
            truck_no, owner = values["truck_number"], values["truck_owner_code"]
            if truck_no is not None:
                truck = trucks.get(truck_no)
                if truck is None:
                    trucks[truck_no] = TruckRecord(truck_no, number, owner, settlement.driver_code)
                elif owner is not None and truck.owner_code not in (None, owner):
                    errors.append(RowError(kind, number, "truck_owner_code", (
                        f"truck {truck_no} is owned by {truck.owner_code} on row {truck.row} but by {owner} here; "
                        "a truck has one owner.")))
                    ok = False
                elif owner is not None:
                    truck.owner_code, truck.row = owner, number
            if not ok:
                broken.add(stl_no)
                continue
            code = values["code"].upper()
            if values["line_type"].lower() == "deduction":
                settlement.deductions.append(DeductionRecord(code, truck_no, values["description"], values["amount"]))
                deduction_codes.setdefault(code, values["description"] or code)
                continue
            load_no = values["load_number"]
            load_truck, lines = settlement.loads.setdefault(load_no, (truck_no, []))
            if load_truck != truck_no:
                errors.append(RowError(kind, number, "truck_number", (
                    f"load {load_no} ran on truck {load_truck} on row {settlement.load_rows[load_no]} of settlement "
                    f"{stl_no} but on {truck_no} here; one load is paid on one truck per settlement.")))
                broken.add(stl_no)
                continue
            settlement.load_rows.setdefault(load_no, number)
            lines.append(LineRecord(code, values["description"], values["quantity"], values["rate"],
                                    values["amount"]))
            pay_codes.setdefault(code, values["description"] or code)
        self._check_settlements(kind, broken, batch, errors)
        batch.rejected[SETTLEMENTS.name] = broken

    @staticmethod
    def _check_row(kind: FileKind, number: int, values: dict[str, Any], failed: set[str],
                   errors: list[RowError]) -> None:
        """The errors one row shows alone: dates out of order, unknown words, a pay line or deduction half filled."""
        if cells_read(failed, "period_start", "period_end") and values["period_end"] < values["period_start"]:
            errors.append(RowError(kind, number, "period_end", (
                f"period end {values['period_end']} is before the period start {values['period_start']}.")))
        if cells_read(failed, "period_end", "settlement_date") and values["settlement_date"] < values["period_end"]:
            errors.append(RowError(kind, number, "settlement_date", (
                f"settlement date {values['settlement_date']} is before the period end {values['period_end']}; a "
                "period is settled after it ends.")))
        status = (values["status"] or "").lower()
        if "status" not in failed and status not in STATUSES:
            errors.append(RowError(kind, number, "status", (
                f"{values['status']!r} is not a settlement status: write draft, finalized, paid or void.")))
        elif "paid_on" not in failed and (status == "paid") != (values["paid_on"] is not None):
            errors.append(RowError(kind, number, "paid_on", (
                "a paid settlement needs the date it was paid in paid_on." if status == "paid" else
                f"paid_on is given but the status is {status}; write status paid, or leave paid_on blank.")))
        line_type = (values["line_type"] or "").lower()
        if "line_type" in failed:
            return
        if line_type not in LINE_TYPES:
            errors.append(RowError(kind, number, "line_type", (
                f"{values['line_type']!r} is not a line type: write pay (a load's pay line) or deduction.")))
        elif line_type == "pay":
            missing = [c for c in ("load_number", "truck_number", "quantity", "rate")
                       if values[c] is None and c not in failed]
            for column in missing:
                errors.append(RowError(kind, number, column, f"{column} is required on a pay line and is empty."))
            if not missing and cells_read(failed, "quantity", "rate", "amount"):
                check_line(kind, number, values, errors)
        else:
            for column in ("load_number", "quantity", "rate"):
                if values[column] is not None:
                    errors.append(RowError(kind, number, column, (
                        f"a deduction has no {column}; leave it blank (a deduction is one amount off the "
                        "settlement).")))
            if values["amount"] == 0:
                errors.append(RowError(kind, number, "amount", "a deduction's amount must be more than zero."))

    @staticmethod
    def _check_settlements(kind: FileKind, broken: set[str], batch: ImportBatch, errors: list[RowError]) -> None:
        """Whole settlements: pay lines to deduct from, deductions within the pay, one settlement a driver a period."""
        periods: dict[tuple[str, date], str] = {}
        for number, settlement in batch.of(SETTLEMENTS).items():
            start = settlement.fields["period_start"]
            if settlement.driver_code and start is not None:
                other = periods.setdefault((settlement.driver_code, start), number)
                if other != number:
                    errors.append(RowError(kind, settlement.row, "period_start", (
                        f"driver {settlement.driver_code} already has settlement {other} for the period starting "
                        f"{start} in this file; one settlement per driver and period.")))
            if number in broken:
                continue  # its rows carry their errors; its totals lack them
            if not settlement.loads:
                errors.append(RowError(kind, settlement.row, "line_type", (
                    f"settlement {number} has no pay line; add a pay row for a load it pays for.")))
            elif settlement.deduction_total > settlement.pay_total:
                errors.append(RowError(kind, settlement.row, "amount", (
                    f"settlement {number}'s deductions ({money_text(settlement.deduction_total)}) are more than its "
                    f"pay ({money_text(settlement.pay_total)}); QuickBooks takes no bill below zero, so carry the "
                    "rest to the next settlement.")))

    def names(self, batch: ImportBatch) -> dict[str, set[str]]:
        """The drivers and truck owners its rows name."""
        owners = {t.owner_code for t in batch.of(TRUCKS).values() if t.owner_code}
        return {VENDORS.name: {s.driver_code for s in batch.of(SETTLEMENTS).values() if s.driver_code} | owners}

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """Codes, the named trucks and loads, the file's settlements (with content) and its drivers' periods."""
        for slot, model in ((PAY_CODES, PayCode), (DEDUCTION_CODES, DeductionCode)):
            book.of(slot).update({row.code: row.id for row in session.execute(select(model.code, model.id))})
        settlements = batch.of(SETTLEMENTS)
        read_load_ids(session, {load for s in settlements.values() for load in s.loads}, book)
        for keys in chunked(sorted(batch.of(TRUCKS)), SQL_IN_CHUNK):
            for row in session.execute(select(Truck.id, Truck.number, Vendor.code).join(
                    Vendor, Vendor.id == Truck.owner_id).where(Truck.number.in_(keys))):
                book.of(TRUCKS)[row.number] = ExistingTruck(row.id, row.code)
        drivers = sorted({s.driver_code for s in settlements.values() if s.driver_code})
        for keys in chunked(drivers, SQL_IN_CHUNK):
            for period in session.execute(select(Settlement.number, Vendor.code, Settlement.period_start).join(
                    Vendor, Vendor.id == Settlement.driver_id).where(Vendor.code.in_(keys))):
                book.of(PERIODS)[f"{period.code}\n{as_date(period.period_start)}"] = period.number
        existing = book.of(SETTLEMENTS)
        for keys in chunked(sorted(settlements), SQL_IN_CHUNK):
            for row in session.execute(select(Settlement.id, Settlement.number, Vendor.code,
                                              Settlement.finalized_at, *(getattr(Settlement, f) for f in FIELDS))
                                       .join(Vendor, Vendor.id == Settlement.driver_id)
                                       .where(Settlement.number.in_(keys))):
                fields = {f: getattr(row, f) for f in FIELDS}
                for name in ("period_start", "period_end", "settlement_date", "paid_on"):
                    fields[name] = as_date(fields[name])
                existing[row.number] = ExistingSettlement(row.id, row.code, fields, row.finalized_at)
        self._read_content(session, book)

    @staticmethod
    def _read_content(session: Session, book: BookSnapshot) -> None:
        existing = book.of(SETTLEMENTS)
        by_id = {s.id: number for number, s in existing.items()}
        loads: dict[int, dict[str, tuple[str, list[tuple[Any, ...]]]]] = {i: {} for i in by_id}
        deductions: dict[int, list[tuple[Any, ...]]] = {i: [] for i in by_id}
        deduction_truck = aliased(Truck)
        for ids in chunked(sorted(by_id), SQL_IN_CHUNK):
            for row in session.execute(
                select(SettlementLoad.settlement_id, Load.load_number, Truck.number.label("truck"), PayCode.code,
                       SettlementLine.description, SettlementLine.quantity, SettlementLine.rate, SettlementLine.amount)
                .join(Load, Load.id == SettlementLoad.load_id).join(Truck, Truck.id == SettlementLoad.truck_id)
                .join(SettlementLine, SettlementLine.settlement_load_id == SettlementLoad.id)
                .join(PayCode, PayCode.id == SettlementLine.pay_code_id)
                .where(SettlementLoad.settlement_id.in_(ids))
                .order_by(SettlementLoad.settlement_id, SettlementLoad.position, SettlementLoad.id,
                          SettlementLine.position, SettlementLine.id)
            ):
                sets = loads[row.settlement_id]
                sets.setdefault(row.load_number, (row.truck, []))[1].append(
                    line_signature(row.code, row.description, row.quantity, row.rate, row.amount))
            for ded in session.execute(
                select(SettlementDeduction.settlement_id, DeductionCode.code, deduction_truck.number.label("truck"),
                       SettlementDeduction.description, SettlementDeduction.amount)
                .join(DeductionCode, DeductionCode.id == SettlementDeduction.deduction_code_id)
                .outerjoin(deduction_truck, deduction_truck.id == SettlementDeduction.truck_id)
                .where(SettlementDeduction.settlement_id.in_(ids))
                .order_by(SettlementDeduction.settlement_id, SettlementDeduction.position, SettlementDeduction.id)
            ):
                deductions[ded.settlement_id].append((ded.code, ded.truck, ded.description, money(ded.amount)))
        for settlement_id, number in by_id.items():
            existing[number].content = (
                tuple((load, truck, tuple(lines)) for load, (truck, lines) in loads[settlement_id].items()),
                tuple(deductions[settlement_id]))

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Drivers, truck owners and loads that are nowhere; a truck's other owner; a settlement's other driver."""
        errors: list[RowError] = []
        kind = self.kind
        for truck in batch.of(TRUCKS).values():
            existing_truck = book.of(TRUCKS).get(truck.number)
            if truck.owner_code is None:
                continue
            if existing_truck is not None and existing_truck.owner_code != truck.owner_code:
                errors.append(RowError(kind, truck.row, "truck_owner_code", (
                    f"truck {truck.number} is owned by {existing_truck.owner_code} in the book, not by "
                    f"{truck.owner_code}; leave truck_owner_code blank or write {existing_truck.owner_code}.")))
            else:
                errors.extend(vendor_error(kind, truck.row, "truck_owner_code", truck.owner_code, "is_fleet_owner",
                                           "a truck's owner", batch, book, "is_driver"))
        for number, settlement in batch.of(SETTLEMENTS).items():
            errors.extend(vendor_error(kind, settlement.row, "driver_code", settlement.driver_code, "is_driver",
                                       "paid on a settlement", batch, book))
            for load_no, row in settlement.load_rows.items():
                errors.extend(unknown_load(kind, row, load_no, batch, book))
            existing = book.of(SETTLEMENTS).get(number)
            if existing is not None and settlement.driver_code and existing.driver_code != settlement.driver_code:
                errors.append(RowError(kind, settlement.row, "driver_code", (
                    f"settlement {number} pays driver {existing.driver_code} in the book, not "
                    f"{settlement.driver_code}; a settlement keeps its driver (give a new settlement a new number).")))
                continue
            start = settlement.fields["period_start"]
            other = book.of(PERIODS).get(f"{settlement.driver_code}\n{start}")
            if other is not None and other != number and other not in batch.of(SETTLEMENTS):
                errors.append(RowError(kind, settlement.row, "period_start", (
                    f"driver {settlement.driver_code} already has settlement {other} for the period starting {start} "
                    "in the book; one settlement per driver and period.")))
        return errors

    def plan(self, plan: Plan) -> None:
        """Codes and trucks the book lacks; settlements by header and content (a changed content is rewritten)."""
        batch, book = plan.batch, plan.book
        made: tuple[Slot[Any, Any], ...] = (PAY_CODES, DEDUCTION_CODES, TRUCKS)
        for slot in made:
            plan.create[slot.name] = sorted(k for k in batch.of(slot) if k not in book.of(slot))
        for number, settlement in batch.of(SETTLEMENTS).items():
            existing = book.of(SETTLEMENTS).get(number)
            if existing is None:
                plan.create[SETTLEMENTS.name].append(number)
                continue
            if existing.content != settlement.content():
                plan.replace[SETTLEMENTS.name].add(number)
            if number in plan.replace[SETTLEMENTS.name] or existing.fields != settlement.fields:
                plan.update[SETTLEMENTS.name].append(number)

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Codes, trucks, settlement headers, then each new or changed settlement's loads, lines and deductions."""
        batch, book = plan.batch, plan.book
        ids[PAY_CODES.name] = write_codes(session, PayCode, batch.of(PAY_CODES), plan.create[PAY_CODES.name],
                                          book.of(PAY_CODES), now)
        ids[DEDUCTION_CODES.name] = write_codes(session, DeductionCode, batch.of(DEDUCTION_CODES),
                                                plan.create[DEDUCTION_CODES.name], book.of(DEDUCTION_CODES), now)
        vendor_ids, trucks = ids[VENDORS.name], batch.of(TRUCKS)
        truck_ids = ids[TRUCKS.name] = {n: t.id for n, t in book.of(TRUCKS).items()}
        truck_ids.update(insert_returning(session, Truck, Truck.number, [
            {"number": n, "owner_id": vendor_ids[trucks[n].owner_code or trucks[n].driver_code], "plate_number": None,
             "vin": None, "active": True, "updated_at": now} for n in plan.create[TRUCKS.name]]))
        settlements, existing = batch.of(SETTLEMENTS), book.of(SETTLEMENTS)

        def header(number: str) -> dict[str, Any]:
            s = settlements[number]
            old = existing[number].finalized_at if number in existing else None
            finalized_at = None if s.fields["status"] == SettlementStatus.DRAFT.value else old or now
            return {"driver_id": vendor_ids[s.driver_code], **s.fields, "pay_total": s.pay_total,
                    "deduction_total": s.deduction_total, "net_pay": s.pay_total - s.deduction_total,
                    "finalized_at": finalized_at, "updated_at": now}

        settlement_ids = ids[SETTLEMENTS.name] = {n: s.id for n, s in existing.items()}
        settlement_ids.update(insert_returning(session, Settlement, Settlement.number, [
            {"number": n, **header(n)} for n in plan.create[SETTLEMENTS.name]]))
        update_by_id(session, Settlement, [{"id": settlement_ids[n], **header(n)}
                                           for n in plan.update[SETTLEMENTS.name]])
        self._write_content(plan, session, ids)

    @staticmethod
    def _write_content(plan: Plan, session: Session, ids: Ids) -> None:
        settlements, replace = plan.batch.of(SETTLEMENTS), plan.replace[SETTLEMENTS.name]
        settlement_ids, truck_ids, loads = ids[SETTLEMENTS.name], ids[TRUCKS.name], load_ids(ids, plan.book)
        for part in chunked([settlement_ids[n] for n in sorted(replace)], SQL_IN_CHUNK):
            old_loads = select(SettlementLoad.id).where(SettlementLoad.settlement_id.in_(part))
            session.execute(delete(SettlementLine).where(SettlementLine.settlement_load_id.in_(old_loads)))
            session.execute(delete(SettlementLoad).where(SettlementLoad.settlement_id.in_(part)))
            session.execute(delete(SettlementDeduction).where(SettlementDeduction.settlement_id.in_(part)))
        numbers = [*plan.create[SETTLEMENTS.name], *sorted(replace)]
        load_rows = [{"settlement_id": settlement_ids[n], "load_id": loads[load], "truck_id": truck_ids[truck],
                      "position": pos}
                     for n in numbers for pos, (load, (truck, _)) in enumerate(settlements[n].loads.items(), start=1)]
        load_row_ids: dict[tuple[int, int], int] = {}
        for rows_part in chunked(load_rows, BULK_WRITE_CHUNK):
            for row in session.execute(insert(SettlementLoad).returning(
                    SettlementLoad.id, SettlementLoad.settlement_id, SettlementLoad.load_id), rows_part):
                load_row_ids[(row.settlement_id, row.load_id)] = row.id
        pay_ids, deduction_ids = ids[PAY_CODES.name], ids[DEDUCTION_CODES.name]
        insert_rows(session, SettlementLine, [
            {"settlement_load_id": load_row_ids[(settlement_ids[n], loads[load])],
             "pay_code_id": pay_ids[line.charge_code], "position": i, "description": line.description,
             "quantity": line.quantity, "rate": line.rate, "amount": line.amount}
            for n in numbers for load, (_, lines) in settlements[n].loads.items()
            for i, line in enumerate(lines, start=1)])
        insert_rows(session, SettlementDeduction, [
            {"settlement_id": settlement_ids[n], "deduction_code_id": deduction_ids[d.code],
             "truck_id": truck_ids[d.truck_number] if d.truck_number else None, "position": i,
             "description": d.description, "amount": d.amount}
            for n in numbers for i, d in enumerate(settlements[n].deductions, start=1)])


FILE = SettlementsFile()
