"""The demo book's payables: drivers, fleet owners, carriers, trucks, pay codes, weekly settlements, carrier bills."""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.company_directory import pay_company_id
from qbcore.demo_conflicts import UNMAPPED_PAY_CODE, demo_closing_date, first_invoice_day
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    DeductionCode,
    Load,
    PayablesAccountMapping,
    PayCode,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    Truck,
    Vendor,
)

# code, name, QuickBooks expense account (the sandbox's chart of accounts has each), typical amount in dollars.
PAY_CODES: list[tuple[str, str, str, tuple[int, int]]] = [
    ("LH", "Line haul pay", "Driver Pay", (220, 640)),
    ("FSC", "FSC pay", "Driver Pay", (30, 120)),
    ("DET", "Detention pay", "Driver Pay", (25, 30)),  # per hour
    ("PERDIEM", "Per diem", "Driver Pay", (40, 70)),
    ("WAIT", "Waiting time pay", "Driver Pay", (20, 25)),  # per hour
    # What outside carriers bill for brokered loads: purchased transportation, its own account.
    ("BRK-LH", "Brokered line haul", "Carrier Costs", (420, 1250)),
    ("BRK-FSC", "Brokered fuel surcharge", "Carrier Costs", (60, 240)),
    ("BRK-ACC", "Brokered accessorials", "Carrier Costs", (75, 300)),
]
# Deductions post against what the company paid on the driver's behalf (a negative line reduces that expense).
DEDUCTION_CODES: list[tuple[str, str, str]] = [
    ("FUELADV", "Fuel advance", "Fuel"),
    ("CHASSIS", "Chassis rental", "Chassis Rental Expense"),
    ("OCCACC", "Occupational accident insurance", "Insurance"),
    ("CASHADV", "Cash advance", "Driver Pay"),
]
FLEET_OWNERS = ["Harbor Line Trucking LLC", "Garden State Fleet Inc", "Coastal Haulers LLC"]
CARRIERS = ["Blue Anchor Transport Inc", "Tri-State Drayage LLC", "Peachtree Intermodal Co",
            "Gulf Coast Container Lines", "Pacific Rim Cartage"]
FIRST_NAMES = ["Luis", "Marcus", "Dmitri", "Anthony", "Jamal", "Carlos", "Kevin", "Oleksandr", "Tyrone", "Rafael",
               "Hector", "Derrick", "Manuel", "Brian", "Andre", "Jose", "Terrell", "Victor", "Samuel", "Miguel"]
LAST_NAMES = ["Ortiz", "Johnson", "Petrov", "Russo", "Williams", "Mendez", "Nguyen", "Kovalenko", "Brooks", "Silva",
              "Ramirez", "Coleman", "Alvarez", "Walsh", "Dubois", "Garcia", "Hayes", "Castillo", "Okafor", "Reyes"]
BROKERED_SHARE = 0.12  # loads handed to outside carriers
_CHUNK = 5000  # rows handed to the database at once
PAYABLES_MODELS: tuple[type, ...] = (Vendor, Truck, PayCode, DeductionCode, PayablesAccountMapping, Settlement,
                                     SettlementLoad, SettlementLine, SettlementDeduction, CarrierBill, CarrierBillLine)

Insert = Callable[[Session, type, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class PayablesSummary:
    """What the payables pass wrote."""

    vendors: int
    trucks: int
    settlements: int
    carrier_bills: int


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _quarters(rng: random.Random, low: int, high: int) -> int:
    """A rate in cents on a quarter dollar, between low and high dollars."""
    return rng.randint(low * 4, high * 4) * 25


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class _LoadDays:
    """(load id, delivery day) pairs held as two compact columns: a million loads in ~16 MB, not ~200 MB of tuples."""

    def __init__(self, session: Session) -> None:
        self.ids, self.days = array("q"), array("q")
        for load_id, day in session.execute(select(Load.id, Load.delivery_date).order_by(Load.id)
                                            .execution_options(yield_per=20000)):
            self.ids.append(load_id)
            self.days.append(day.toordinal())

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[tuple[int, date]]:
        return ((load_id, date.fromordinal(day)) for load_id, day in zip(self.ids, self.days, strict=True))


# The payables' tables in the order their rows may be inserted (a settlement before its loads, a bill before its lines).
_OUT = ("settlements", "loads", "lines", "deductions", "bills", "bill_lines")
Rows = dict[str, list[dict[str, Any]]]


class _Payables:
    """Generates the payables rows in id order from one seeded Random (the receivables' own is left alone)."""

    def __init__(self, seed: int, as_of: date, loads: Sequence[tuple[int, date]] | _LoadDays,
                 closing: date | None = None) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.as_of = as_of
        self.loads = loads
        # The first load delivered on or before QuickBooks' closing date is brokered: its bill lands in the closed
        # month and QuickBooks refuses it (the demo's closed-period carrier bill).
        # min over one pass, not a sorted list: a 1M-invoice book has 1.7M loads.
        closed = min(((day, load_id) for load_id, day in loads if day <= closing), default=None) \
            if closing is not None else None
        self.closing = closing
        self.closed_load = closed[1] if closed else None
        self.vendors: list[dict[str, Any]] = []
        self.trucks: list[dict[str, Any]] = []
        self.driver_trucks: dict[int, list[int]] = {}
        self.truck_owner: dict[int, int] = {}
        self.written = dict.fromkeys(_OUT, 0)  # rows made so far per table (the next id is one more)
        self._disputed = False

    def _vendor(self, **values: Any) -> dict[str, Any]:
        rng = self.rng
        vendor_id = len(self.vendors) + 1
        row = dict(id=vendor_id, code=f"V{vendor_id:04d}", qbo_display_name=None, company_name=None,
                   is_driver=False, is_fleet_owner=False, is_carrier=False, is_1099=True, terms="Due on receipt",
                   email=None, phone=f"({rng.randint(201, 989)}) 555-{rng.randint(1000, 9999)}",
                   address_line1=f"{rng.randint(10, 9999)} {rng.choice(['Port Rd', 'Terminal Ave', 'Yard Ln'])}",
                   city=None, state=None, postal_code=f"{rng.randint(10000, 99999)}", country="USA",
                   mc_number=None, dot_number=None, active=True)
        row.update(values)
        self.vendors.append(row)
        return row

    def _truck(self, owner_id: int) -> int:
        truck_id = len(self.trucks) + 1
        self.trucks.append(dict(id=truck_id, number=f"T{100 + truck_id}", owner_id=owner_id,
                                plate_number=f"AP{self.rng.randint(10000, 99999)}", vin=None, active=True))
        self.truck_owner[truck_id] = owner_id
        return truck_id

    def make_vendors(self) -> list[int]:
        """Fleet owners with their trucks, drivers (owner-operators or driving owners' trucks), carriers."""
        rng = self.rng
        owners = []
        for name in FLEET_OWNERS:
            owner = self._vendor(name=name, company_name=name, is_fleet_owner=True, city="Newark", state="NJ",
                                 email=f"settlements@{name.split()[0].lower()}fleet.example.com")
            owners.append((owner["id"], [self._truck(owner["id"]) for _ in range(4)]))
        weeks = max(1, len({_week_start(day) for _, day in self.loads}))
        n_drivers = max(8, min(400, len(self.loads) // weeks // 5))
        drivers = []
        for i in range(n_drivers):
            last = LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {last}"
            if i >= len(FIRST_NAMES):
                name = f"{name} {i // len(FIRST_NAMES) + 1}"  # a second Luis Ortiz is told apart by a number
            driver = self._vendor(name=name, is_driver=True, city="Elizabeth", state="NJ")
            kind = i % 5
            if kind in (0, 1):
                # An owner-operator drives the truck he owns.
                self.driver_trucks[driver["id"]] = [self._truck(driver["id"])]
            elif kind == 4:
                # Drives for two fleet owners (the settlement PortPro cannot sync).
                first, second = rng.sample(owners, 2)
                self.driver_trucks[driver["id"]] = [rng.choice(first[1]), rng.choice(second[1])]
            else:
                self.driver_trucks[driver["id"]] = [rng.choice(rng.choice(owners)[1])]
            drivers.append(driver["id"])
        for name in CARRIERS:
            self._vendor(name=name, company_name=name, is_carrier=True, terms="Net 30", city="Carteret", state="NJ",
                         email=f"billing@{name.split()[0].lower()}.example.com",
                         mc_number=f"MC{rng.randint(100000, 999999)}", dot_number=str(rng.randint(1000000, 3999999)))
        return drivers

    def codes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        pay = [dict(id=i, code=code, name=name, description=name, active=True)
               for i, (code, name, _, _) in enumerate(PAY_CODES, start=1)]
        deduction = [dict(id=i, code=code, name=name, description=name, active=True)
                     for i, (code, name, _) in enumerate(DEDUCTION_CODES, start=1)]
        # One pay code is left unmapped: its settlements wait, naming it, until Settings → Pay codes maps it.
        mapped = [(i, account) for i, (code, _, account, _) in enumerate(PAY_CODES, start=1)
                  if code != UNMAPPED_PAY_CODE]
        mappings = [dict(id=n, pay_code_id=i, deduction_code_id=None, qbo_account_name=account, qbo_account_id=None,
                         qbo_item_id=None, qbo_item_name=None) for n, (i, account) in enumerate(mapped, start=1)]
        mappings += [dict(id=len(mappings) + i, pay_code_id=None, deduction_code_id=i, qbo_account_name=account,
                          qbo_account_id=None, qbo_item_id=None, qbo_item_name=None)
                     for i, (_, _, account) in enumerate(DEDUCTION_CODES, start=1)]
        return pay, deduction, mappings

    def _pay_line(self, code_index: int, quantity: int = 1) -> tuple[int, Decimal, int]:
        low, high = PAY_CODES[code_index][3]
        rate = _quarters(self.rng, low, high)
        return code_index + 1, Decimal(quantity), rate

    def settlements(self, drivers: list[int], flush: Callable[[Rows], None] | None = None) -> Rows:
        """Weekly settlements per driver from the loads they ran; brokered loads become carrier bills.

        With `flush`, the rows are handed over a chunk at a time (then dropped) and what is returned is empty.
        """
        rng = self.rng
        out: Rows = {k: [] for k in _OUT}
        # Which loads each driver ran in a week, as load ids (a settlement lists them in id order).
        by_week: dict[tuple[int, date], array[int]] = {}
        carriers = [v["id"] for v in self.vendors if v["is_carrier"]]
        for load_id, day in self.loads:
            if rng.random() < BROKERED_SHARE or load_id == self.closed_load:
                self._carrier_bill(out, rng.choice(carriers), load_id, day)
            else:
                by_week.setdefault((rng.choice(drivers), _week_start(day)), array("q")).append(load_id)
            if flush is not None and sum(len(rows) for rows in out.values()) >= _CHUNK:
                self._hand_over(out, flush)
        for (driver_id, start), loads in sorted(by_week.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self._settlement(out, driver_id, start, loads)
            if flush is not None and sum(len(rows) for rows in out.values()) >= _CHUNK:
                self._hand_over(out, flush)
        if flush is not None:
            self._hand_over(out, flush)
        return out

    @staticmethod
    def _hand_over(out: Rows, flush: Callable[[Rows], None]) -> None:
        flush(out)
        for rows in out.values():
            rows.clear()

    def _next(self, table: str) -> int:
        self.written[table] += 1
        return self.written[table]

    def _settlement(self, out: Rows, driver_id: int, start: date, loads: Sequence[int]) -> None:
        rng = self.rng
        settlement_id = self._next("settlements")
        end = start + timedelta(days=6)
        settle_day = end + timedelta(days=5)  # paid the Friday after the week closes
        pay = 0
        for position, load_id in enumerate(sorted(loads), start=1):
            sl_id = self._next("loads")
            out["loads"].append(dict(id=sl_id, settlement_id=settlement_id, load_id=load_id,
                                     truck_id=rng.choice(self.driver_trucks[driver_id]), position=position))
            lines = [self._pay_line(0), self._pay_line(1)]
            if rng.random() < 0.2:
                lines.append(self._pay_line(2, rng.randint(1, 4)))
            if rng.random() < 0.1:
                lines.append(self._pay_line(3, rng.randint(1, 3)))
            for line_pos, (code_id, qty, rate) in enumerate(lines, start=1):
                amount = int(qty) * rate
                pay += amount
                out["lines"].append(dict(id=self._next("lines"), settlement_load_id=sl_id, pay_code_id=code_id,
                                         position=line_pos, description=None, quantity=qty, rate=_money(rate),
                                         amount=_money(amount)))
        trucks = self.driver_trucks[driver_id]
        owner_operator = self.truck_owner[trucks[0]] == driver_id
        wanted: list[tuple[int, int | None, int]] = [(3, trucks[0], _quarters(rng, 38, 62))]
        if not owner_operator:
            wanted.append((2, trucks[0], 2500 * len(loads)))  # the fleet owner's chassis, per load
        if rng.random() < 0.3:
            wanted.append((1, None, _quarters(rng, 100, 300)))
        if rng.random() < 0.05:
            wanted.append((4, None, _quarters(rng, 50, 150)))
        deducted, position = 0, 0
        for code_id, truck_id, amount in wanted:
            # Deductions never take more than 60% of the week's pay (a bill owing less than $0 is refused).
            if deducted + amount > pay * 6 // 10:
                continue
            deducted += amount
            position += 1  # counted here: searching every deduction written so far was quadratic in the book
            out["deductions"].append(dict(id=self._next("deductions"), settlement_id=settlement_id,
                                          deduction_code_id=code_id, truck_id=truck_id, position=position,
                                          description=None, amount=_money(amount)))
        status, finalized_at, paid_on = "draft", None, None
        if settle_day <= self.as_of:
            status = "finalized"
            finalized_at = datetime.combine(settle_day, time(17), tzinfo=UTC)
            if (self.as_of - settle_day).days >= 14 and rng.random() < 0.9:
                status, paid_on = "paid", settle_day + timedelta(days=2)
        out["settlements"].append(dict(
            id=settlement_id, number=f"ST-{start:%y%m%d}-{driver_id:04d}", driver_id=driver_id, period_start=start,
            period_end=end, settlement_date=settle_day, status=status, pay_total=_money(pay),
            deduction_total=_money(deducted), net_pay=_money(pay - deducted), finalized_at=finalized_at,
            paid_on=paid_on, memo=None))

    def _carrier_bill(self, out: Rows, carrier_id: int, load_id: int, day: date) -> None:
        rng = self.rng
        bill_id = self._next("bills")
        bill_date = min(self.as_of, day + timedelta(days=rng.randint(1, 5)))
        if load_id == self.closed_load and self.closing is not None:
            bill_date = min(bill_date, self.closing)  # the carrier dated it in the month QuickBooks has closed
        lines = [self._pay_line(5), self._pay_line(6)]
        if rng.random() < 0.25:
            lines.append(self._pay_line(7))
        total = 0
        for position, (code_id, qty, rate) in enumerate(lines, start=1):
            total += int(qty) * rate
            out["bill_lines"].append(dict(id=self._next("bill_lines"), carrier_bill_id=bill_id,
                                          pay_code_id=code_id, position=position, description=None,
                                          amount=_money(int(qty) * rate)))
        due = bill_date + timedelta(days=30)
        status, accepted_at, paid_on = "received", None, None
        if (self.as_of - bill_date).days >= 3:
            status, accepted_at = "accepted", datetime.combine(bill_date + timedelta(days=2), time(15), tzinfo=UTC)
            if due <= self.as_of and rng.random() < 0.8:
                status, paid_on = "paid", due
        out["bills"].append(dict(
            id=bill_id, carrier_id=carrier_id, load_id=load_id,
            carrier_invoice_number=f"{self.vendors[carrier_id - 1]['name'][:3].upper()}-{40000 + bill_id}",
            bill_date=bill_date, due_date=due, terms="Net 30", status=status, total=_money(total),
            dispute_reason=None, accepted_at=accepted_at, paid_on=paid_on, memo=None))
        if not self._disputed and status in ("accepted", "received") and load_id != self.closed_load:
            # The first open carrier invoice is disputed (a tiny book may have no open bill to dispute); never the
            # closed-period one, which is there to be refused by QuickBooks.
            reason = "Detention not approved by dispatch; carrier asked for a corrected invoice"
            out["bills"][-1].update(status="disputed", accepted_at=None, dispute_reason=reason)
            self._disputed = True


def write_demo_payables(session: Session, *, seed: int, as_of: date, insert_rows: Insert) -> PayablesSummary:
    """Add the payables to a demo book whose loads are written (deterministic for a seed and day), in chunks."""
    first_day = first_invoice_day(session)
    book = _Payables(seed, as_of, _LoadDays(session), demo_closing_date(first_day) if first_day else None)
    drivers = book.make_vendors()
    pay, deduction, mappings = book.codes()
    # The accounts are the driver pay company's; a second company copies them when it is split off.
    company_id = pay_company_id(session, "driver_pay")
    mappings = [{**mapping, "company_id": company_id} for mapping in mappings]
    for model, batch in ((Vendor, book.vendors), (Truck, book.trucks), (PayCode, pay), (DeductionCode, deduction),
                         (PayablesAccountMapping, mappings)):
        for start in range(0, len(batch), _CHUNK):
            insert_rows(session, model, batch[start:start + _CHUNK])
    models = dict(zip(_OUT, (Settlement, SettlementLoad, SettlementLine, SettlementDeduction, CarrierBill,
                             CarrierBillLine), strict=True))

    def flush(out: Rows) -> None:
        for table in _OUT:
            insert_rows(session, models[table], out[table])

    book.settlements(drivers, flush)
    return PayablesSummary(vendors=len(book.vendors), trucks=len(book.trucks),
                           settlements=book.written["settlements"], carrier_bills=book.written["bills"])
