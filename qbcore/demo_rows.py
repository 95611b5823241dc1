"""The demo's made-up drayage world (codes, branches, names, containers) and the seeded generator of its rows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from qbcore.chunks import BULK_INSERT_CHUNK
from qbcore.containers import make_container_number

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


# A large drayage company bills about this many invoices a year: a bigger demo book spans more years, as a real one
# does (a million invoices are ten years), and never less than six months.
INVOICES_A_YEAR = 100_000


def book_days(invoices: int) -> int:
    """How many days a demo book of this many invoices spans: six months, or a year per 100,000 invoices."""
    return max(182, round(365 * invoices / INVOICES_A_YEAR))


def dollars(cents: int) -> Decimal:
    """Cents as a Decimal amount: 12345 → 123.45."""
    return Decimal(cents).scaleb(-2)


class BookRows:
    """Generates rows in id order; everything derives from one seeded Random."""

    def __init__(self, invoices: int, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.n_invoices = invoices
        self.as_of = as_of
        self.start = as_of - timedelta(days=book_days(invoices))
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
            # Invoices spread evenly over the book's span, in number order.
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
                        description=CHARGE_CODES[ci][1], quantity=Decimal(qty), rate=dollars(rate),
                        amount=dollars(amount),
                    ))
                    self.next_line += 1
            days = TERMS_DAYS[customer["terms"]]
            batch["invoices"].append(dict(
                id=inv_id, number=f"INV-{100000 + inv_id}", customer_id=customer["id"],
                invoice_date=invoice_date, due_date=invoice_date + timedelta(days=days),
                terms=customer["terms"], status="approved", is_combined=combined, total=dollars(total),
                memo=None,
            ))
            if len(batch["invoices"]) >= BULK_INSERT_CHUNK:
                yield batch
                batch = {"loads": [], "invoices": [], "sets": [], "lines": []}
        if batch["invoices"]:
            yield batch
