"""A realistic, deterministic drayage book for the demo, the tests and the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from qbcore.containers import make_container_number
from qbcore.demo_payables import PAYABLES_MODELS, write_demo_payables
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
    utcnow,
)
from qbcore.refusals import Refusal
from qbcore.sync.records import ensure_sync_records

CHARGE_CODES: list[tuple[str, str, tuple[int, int]]] = [
    # code, name, typical rate range in dollars
    ("BASE", "Line haul (drayage base rate)", (350, 1450)),
    ("FSC", "Fuel surcharge", (45, 260)),
    ("CHASSIS", "Chassis rental per day", (35, 55)),
    ("DETENTION", "Detention per hour", (75, 95)),
    ("PERDIEM", "Per diem (container late return)", (95, 175)),
    ("STORAGE", "Yard storage per day", (45, 85)),
    ("PREPULL", "Pre-pull to yard", (125, 275)),
    ("OVERWEIGHT", "Overweight / tri-axle", (150, 300)),
    ("HAZMAT", "Hazardous materials", (150, 350)),
    ("TOLL", "Tolls", (15, 95)),
    ("WAITING", "Driver waiting time per hour", (65, 85)),
    ("DRYRUN", "Dry run", (250, 400)),
    ("REEFER", "Reefer genset", (150, 250)),
    ("PIERPASS", "Terminal clean truck / PierPass fee", (35, 75)),
    ("SPLIT", "Chassis split", (75, 125)),
]

BRANCHES = {
    "Port Newark": [
        "Port Newark Container Terminal, Newark NJ",
        "Maher Terminals, Elizabeth NJ",
        "APM Terminals, Elizabeth NJ",
        "GCT Bayonne, Bayonne NJ",
        "Red Hook Container Terminal, Brooklyn NY",
    ],
    "Savannah": ["Garden City Terminal, Savannah GA", "Ocean Terminal, Savannah GA"],
    "Long Beach": [
        "Long Beach Container Terminal, Long Beach CA",
        "Total Terminals International (Pier T), Long Beach CA",
        "Fenix Marine Services, Los Angeles CA",
        "APM Terminals Pier 400, Los Angeles CA",
        "TraPac, Wilmington CA",
    ],
    "Houston": ["Barbours Cut Terminal, La Porte TX", "Bayport Container Terminal, Pasadena TX"],
}

WAREHOUSE_TOWNS = {
    "Port Newark": ["Edison NJ", "Carteret NJ", "Secaucus NJ", "Cranbury NJ", "Avenel NJ", "Bethlehem PA"],
    "Savannah": ["Pooler GA", "Rincon GA", "Statesboro GA", "Port Wentworth GA"],
    "Long Beach": ["Ontario CA", "Fontana CA", "Carson CA", "Rancho Cucamonga CA", "Commerce CA"],
    "Houston": ["Baytown TX", "Katy TX", "Pasadena TX", "Sugar Land TX"],
}

STREETS = ["Industrial Ave", "Commerce Blvd", "Distribution Way", "Logistics Pkwy", "Freight Rd", "Harbor Dr"]

CUSTOMER_NAMES = [
    "Atlas Import Group", "Blue Harbor Logistics", "Cargo Bridge Forwarding", "Delmar Home Goods",
    "Eastwind Trading Co", "Fairway Apparel", "Garden State Foods", "Harborline Brokers",
    "Ironwood Furniture", "Jetstream Freight", "Keystone Beverages", "Lighthouse Electronics",
    "Meridian Textiles", "Northstar Auto Parts", "Oceanic Toys", "Pacific Rim Importers",
    "Quay Street Wines", "Riverbend Hardware", "Summit Outdoor Supply", "Tidewater Paper",
    "Union Tile & Stone", "Vantage Cosmetics", "Westport Coffee Roasters", "Xpress Customs Brokerage",
    "Yardley Appliances", "Zephyr Bicycles", "ACME Logistics", "Bayside Chemicals", "Coastal Lumber",
    "Dockside Pet Supply", "Evergreen Solar Imports", "Frontier Tire", "Golden Gate Grocers",
    "Highland Flooring",
]
# Sub-customers: (parent name, job name) — billed under a parent in QuickBooks.
SUB_CUSTOMERS = [
    ("Blue Harbor Logistics", "Blue Harbor - Edison DC"),
    ("Blue Harbor Logistics", "Blue Harbor - Pooler DC"),
    ("Pacific Rim Importers", "Pacific Rim - Ontario Warehouse"),
    ("Atlas Import Group", "Atlas - Retail Program"),
    ("Harborline Brokers", "Harborline - Houston Desk"),
    ("Garden State Foods", "Garden State Foods - Cold Chain"),
]

CONTAINER_PREFIXES = ["MSCU", "MAEU", "CMAU", "HLXU", "OOLU", "TGHU", "TCNU", "CSNU", "EGHU", "SEGU",
                      "ONEU", "YMLU", "ZIMU", "BEAU", "FCIU", "TRHU"]
SIZE_TYPES = ["20GP", "40GP", "40HC", "40HC", "40HC", "45HC", "20RF", "40RH"]
TERMS_DAYS = {"Due on receipt": 0, "Net 15": 15, "Net 30": 30, "Net 45": 45}
CREDIT_REASONS = ["Disputed detention", "Duplicate charge", "Rate correction", "Dry run waived",
                  "Per diem billed in error"]

CHUNK = 5000


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run wrote."""

    customers: int
    charge_codes: int
    loads: int
    invoices: int
    charge_lines: int
    payments: int
    credit_memos: int


class BookNotEmptyError(Refusal, RuntimeError):
    """The database already holds a billing book; the demo never mixes into one."""


def has_book(session: Session) -> bool:
    """True when any customer exists."""
    return session.scalar(select(func.count()).select_from(Customer)) != 0


def _bulk_insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL (several times faster), executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    table = model.__table__  # type: ignore[attr-defined]
    # COPY skips Python-side defaults; the only one these tables have is updated_at.
    if "updated_at" in table.c and "updated_at" not in rows[0]:
        now = utcnow()
        rows = [{**row, "updated_at": now} for row in rows]
    columns = list(rows[0])
    raw = connection.connection.driver_connection
    assert raw is not None, "a checked-out connection has a driver connection"
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Book:
    """Generates rows in id order; everything derives from one seeded Random."""

    def __init__(self, invoices: int, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.n_invoices = invoices
        self.as_of = as_of
        self.start = as_of - timedelta(days=182)
        self.customers: list[dict[str, Any]] = []
        self.codes: list[dict[str, Any]] = []
        self.next_load = 1
        self.next_set = 1
        self.next_line = 1
        self.container_serial = self.rng.randrange(100000, 400000)

    def make_customers(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        by_name: dict[str, int] = {}
        for i, name in enumerate(CUSTOMER_NAMES, start=1):
            branch = rng.choice(list(BRANCHES))
            town = rng.choice(WAREHOUSE_TOWNS[branch])
            city, state = town.rsplit(" ", 1)
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:18]
            rows.append(dict(
                id=i, code=f"C{i:04d}", name=name, parent_id=None,
                billing_email=f"ap@{slug}.example.com" if rng.random() > 0.1 else None,
                phone=f"({rng.randint(201, 989)}) 555-{rng.randint(1000, 9999)}",
                terms=rng.choices(list(TERMS_DAYS), weights=[1, 3, 8, 2])[0],
                branch=branch, address_line1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
                city=city, state=state, postal_code=f"{rng.randint(10000, 99999)}", country="USA",
                active=True,
            ))
            by_name[name] = i
        for j, (parent, name) in enumerate(SUB_CUSTOMERS, start=len(rows) + 1):
            p = rows[by_name[parent] - 1]
            rows.append({**p, "id": j, "code": f"C{j:04d}", "name": name, "parent_id": by_name[parent],
                         "billing_email": p["billing_email"]})
        self.customers = rows
        return rows

    def make_codes(self) -> list[dict[str, Any]]:
        self.codes = [
            dict(id=i, code=code, name=name, description=name, active=True)
            for i, (code, name, _) in enumerate(CHARGE_CODES, start=1)
        ]
        return self.codes

    def _rate_cents(self, code_index: int) -> int:
        low, high = CHARGE_CODES[code_index][2]
        return self.rng.randint(low * 4, high * 4) * 25  # quarter-dollar rates look real

    def _load(self, customer: dict[str, Any], invoice_date: date) -> dict[str, Any]:
        rng = self.rng
        self.container_serial = (self.container_serial + rng.randint(1, 97)) % 1_000_000
        branch = customer["branch"]
        delivery = invoice_date - timedelta(days=rng.randint(0, 6))
        pickup = delivery - timedelta(days=rng.randint(0, 3))
        town = rng.choice(WAREHOUSE_TOWNS[branch])
        load_id = self.next_load
        self.next_load += 1
        return dict(
            id=load_id, load_number=f"L{load_id + 500000}", customer_id=customer["id"],
            container_number=make_container_number(rng.choice(CONTAINER_PREFIXES), self.container_serial),
            size_type=rng.choice(SIZE_TYPES),
            bol=f"{rng.choice(['MEDU', 'MAEU', 'COSU', 'HLCU', 'ONEY'])}{rng.randint(10**8, 10**9 - 1)}",
            reference_number=f"PO-{rng.randint(100000, 999999)}" if rng.random() > 0.15 else None,
            pickup_location=rng.choice(BRANCHES[branch]), pickup_date=pickup,
            delivery_location=f"{customer['name'].split(' ')[0]} DC, {rng.randint(10, 999)} "
            f"{rng.choice(STREETS)}, {town}",
            delivery_date=delivery,
            chassis_number=f"{rng.choice(['DCLZ', 'TRAC', 'FLXZ', 'MCCZ'])}{rng.randint(100000, 999999)}"
            if rng.random() > 0.2 else None,
        )

    def invoice_batches(self) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """Invoices with their loads, charge sets and lines, a chunk at a time."""
        rng = self.rng
        span = (self.as_of - self.start).days
        batch: dict[str, list[dict[str, Any]]] = {"loads": [], "invoices": [], "sets": [], "lines": []}
        # Main customers bill most; sub-customers a little.
        weights = [3.0 if c["parent_id"] is None else 1.0 for c in self.customers]
        for inv_id in range(1, self.n_invoices + 1):
            customer = rng.choices(self.customers, weights=weights)[0]
            # Invoices spread evenly over six months, in number order.
            invoice_date = self.start + timedelta(days=(inv_id - 1) * span // max(self.n_invoices, 1))
            combined = rng.random() < 0.12
            n_loads = rng.randint(2, 12) if combined else 1
            total = 0
            for position in range(1, n_loads + 1):
                load = self._load(customer, invoice_date)
                batch["loads"].append(load)
                set_id = self.next_set
                self.next_set += 1
                batch["sets"].append(dict(id=set_id, invoice_id=inv_id, load_id=load["id"], position=position))
                n_lines = min(9, max(1, int(rng.triangular(1, 9, 2))))
                code_indexes = [0, *rng.sample(range(1, len(CHARGE_CODES)), n_lines - 1)]
                for line_pos, ci in enumerate(code_indexes, start=1):
                    qty = 1 if ci in (0, 1, 6, 7, 8, 11, 13, 14) else rng.randint(1, 6)
                    rate = self._rate_cents(ci)
                    amount = qty * rate
                    total += amount
                    batch["lines"].append(dict(
                        id=self.next_line, charge_set_id=set_id, charge_code_id=ci + 1, position=line_pos,
                        description=CHARGE_CODES[ci][1], quantity=Decimal(qty), rate=_money(rate),
                        amount=_money(amount),
                    ))
                    self.next_line += 1
            days = TERMS_DAYS[customer["terms"]]
            batch["invoices"].append(dict(
                id=inv_id, number=f"INV-{100000 + inv_id}", customer_id=customer["id"],
                invoice_date=invoice_date, due_date=invoice_date + timedelta(days=days),
                terms=customer["terms"], status="approved", is_combined=combined, total=_money(total),
                memo=None,
            ))
            if len(batch["invoices"]) >= CHUNK:
                yield batch
                batch = {"loads": [], "invoices": [], "sets": [], "lines": []}
        if batch["invoices"]:
            yield batch


def write_demo_book(session: Session, *, invoices: int, seed: int, as_of: date | None = None) -> DemoSummary:
    """Write the demo book into an empty database, streaming in chunks (bounded memory)."""
    if has_book(session):
        raise BookNotEmptyError("the database already holds a billing book; the demo only fills an empty one")
    book = _Book(invoices, seed, as_of or date.today())
    _bulk_insert(session, Customer, book.make_customers())
    _bulk_insert(session, ChargeCode, book.make_codes())

    rng = book.rng
    # Per-invoice facts the payment and credit pass needs: (id, customer, date, total cents).
    open_invoices: list[tuple[int, int, date, int]] = []
    counts = {"lines": 0, "loads": 0}
    for batch in book.invoice_batches():
        _bulk_insert(session, Load, batch["loads"])
        _bulk_insert(session, Invoice, batch["invoices"])
        _bulk_insert(session, ChargeSet, batch["sets"])
        _bulk_insert(session, ChargeLine, batch["lines"])
        counts["lines"] += len(batch["lines"])
        counts["loads"] += len(batch["loads"])
        for inv in batch["invoices"]:
            open_invoices.append((inv["id"], inv["customer_id"], inv["invoice_date"], int(inv["total"] * 100)))

    credit_rows: list[dict[str, Any]] = []
    credit_lines: list[dict[str, Any]] = []
    credit_apps: list[dict[str, Any]] = []
    credited: dict[int, int] = {}
    for inv_id, customer_id, inv_date, total in open_invoices:
        if rng.random() < 0.04 and total > 10000:
            cm_id = len(credit_rows) + 1
            amount = min(total // 2, rng.randint(40, 400) * 100)
            code = rng.choice([3, 4, 5, 11])  # DETENTION, PERDIEM, STORAGE, DRYRUN
            cm_date = min(book.as_of, inv_date + timedelta(days=rng.randint(3, 25)))
            credit_rows.append(dict(id=cm_id, number=f"CM-{5000 + cm_id}", customer_id=customer_id,
                                    memo_date=cm_date, reason=rng.choice(CREDIT_REASONS), total=_money(amount)))
            credit_lines.append(dict(id=cm_id, credit_memo_id=cm_id, charge_code_id=code + 1, position=1,
                                     description=CREDIT_REASONS[0], quantity=Decimal(1), rate=_money(amount),
                                     amount=_money(amount)))
            if rng.random() < 0.75:
                credit_apps.append(dict(id=len(credit_apps) + 1, credit_memo_id=cm_id, invoice_id=inv_id,
                                        amount=_money(amount)))
                credited[inv_id] = amount

    payments: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    paid_status: dict[int, str] = {}
    pending: list[tuple[int, int, date, int]] = []
    for inv_id, customer_id, inv_date, total in open_invoices:
        age = (book.as_of - inv_date).days
        if age < 20 or rng.random() > min(0.92, age / 60):
            continue
        pending.append((inv_id, customer_id, inv_date, total - credited.get(inv_id, 0)))
    i = 0
    while i < len(pending):
        inv_id, customer_id, inv_date, _due = pending[i]
        # One check sometimes pays several invoices of the same customer.
        group = [pending[i]]
        j = i + 1
        while j < len(pending) and len(group) < 4 and pending[j][1] == customer_id and rng.random() < 0.5:
            group.append(pending[j])
            j += 1
        i = j
        pay_id = len(payments) + 1
        apps = []
        for g_inv, _, _, g_due in group:
            if g_due <= 0:
                continue
            partial = rng.random() < 0.08
            applied = g_due if not partial else max(100, g_due * rng.randint(30, 80) // 100)
            apps.append((g_inv, applied))
            paid_status[g_inv] = "partially_paid" if applied < g_due else "paid"
        if not apps:
            continue
        applied_total = sum(a for _, a in apps)
        unapplied = rng.choice([0] * 12 + [rng.randint(1, 300) * 100])
        method = rng.choices(["check", "ach", "wire", "card"], weights=[5, 6, 2, 1])[0]
        pay_date = min(book.as_of, inv_date + timedelta(days=rng.randint(12, 50)))
        payments.append(dict(
            id=pay_id, number=f"PMT-{20000 + pay_id}", customer_id=customer_id, method=method,
            reference_number=(f"CHK {rng.randint(1000, 99999)}" if method == "check"
                              else f"{method.upper()}-{rng.randint(10**7, 10**8 - 1)}"),
            payment_date=pay_date, amount=_money(applied_total + unapplied), memo=None,
        ))
        for g_inv, applied in apps:
            applications.append(dict(id=len(applications) + 1, payment_id=pay_id, invoice_id=g_inv,
                                     credit_memo_id=None, amount=_money(applied)))

    for rows, model in ((credit_rows, CreditMemo), (credit_lines, CreditMemoLine),
                        (credit_apps, CreditMemoApplication), (payments, Payment),
                        (applications, PaymentApplication)):
        for start in range(0, len(rows), CHUNK):
            _bulk_insert(session, model, rows[start:start + CHUNK])
    _mark_paid(session, paid_status)
    write_demo_payables(session, seed=seed, as_of=book.as_of, insert_rows=_bulk_insert)
    _advance_id_sequences(session, (Customer, ChargeCode, Load, Invoice, ChargeSet, ChargeLine, CreditMemo,
                                    CreditMemoLine, CreditMemoApplication, Payment, PaymentApplication,
                                    *PAYABLES_MODELS))
    ensure_sync_records(session)
    return DemoSummary(
        customers=len(book.customers), charge_codes=len(book.codes), loads=counts["loads"],
        invoices=len(open_invoices), charge_lines=counts["lines"], payments=len(payments),
        credit_memos=len(credit_rows),
    )


def _advance_id_sequences(session: Session, models: tuple[type, ...]) -> None:
    """Move PostgreSQL's id sequences past the ids the demo wrote itself, so later inserts don't collide."""
    if session.connection().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__.name  # type: ignore[attr-defined]
        next_id = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id}, false)"))


def _mark_paid(session: Session, paid_status: dict[int, str]) -> None:
    by_status: dict[str, list[int]] = {}
    for inv_id, status in paid_status.items():
        by_status.setdefault(status, []).append(inv_id)
    for status, ids in by_status.items():
        for start in range(0, len(ids), 900):
            session.query(Invoice).filter(Invoice.id.in_(ids[start:start + 900])).update(
                {Invoice.status: status}, synchronize_session=False
            )


# The customer the demo's QuickBooks company already knows as a vendor (a 6240 name clash).
CLASHING_VENDOR = "ACME Logistics"
# The charge code whose QuickBooks item someone made inactive.
INACTIVE_CHARGE_CODE = "HAZMAT"


def plan_demo_conflicts(session: Session) -> dict[str, Any]:
    """What to plant in a fresh local QuickBooks so the demo's first sync meets real-world problems."""
    first_day = session.scalar(select(func.min(Invoice.invoice_date)))
    if first_day is None:
        return {}
    # A recent invoice someone already keyed into QuickBooks by hand, for another customer and amount.
    keyed = session.execute(
        select(Invoice.number, Invoice.invoice_date).join(Customer, Customer.id == Invoice.customer_id)
        .where(Customer.name != CLASHING_VENDOR)
        .order_by(Invoice.invoice_date.desc(), Invoice.id.desc()).offset(5).limit(1)
    ).first()
    month_end = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    plan: dict[str, Any] = {
        "vendors": [CLASHING_VENDOR],
        "items": [INACTIVE_CHARGE_CODE],
        "inactive_items": [INACTIVE_CHARGE_CODE],
        "closing_date": month_end.isoformat(),
    }
    if keyed is not None:
        plan["invoices"] = [{"DocNumber": keyed.number, "CustomerName": "Walk-in Customer", "Amount": 125.0,
                             "TxnDate": keyed.invoice_date.isoformat()}]
    return plan
