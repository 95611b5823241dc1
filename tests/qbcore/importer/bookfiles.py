"""A large, valid import file set generated on the fly (the size of a month of a busy drayage TMS)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from qbcore.containers import make_container_number
from qbcore.importer import FileKind, column_names
from tests.qbcore.importer.conftest import to_csv

CODES = ["BASE", "FSC", "CHASSIS", "DETENTION", "PERDIEM", "STORAGE", "TOLL", "PIERPASS"]


def make_book_files(lines: int, seed: int = 1, customers: int = 40) -> dict[FileKind, bytes]:
    """About `lines` invoice lines (3 per load, 1–3 loads per invoice), customers, and a payment per invoice."""
    rng = random.Random(seed)
    cust_rows = [{"customer_code": f"K{i:04d}", "name": f"Importer {i}", "terms": "Net 30"} for i in range(customers)]
    inv_rows: list[dict[str, str]] = []
    pay_rows: list[dict[str, str]] = []
    start = date(2026, 6, 1)
    n, load = 0, 0
    while len(inv_rows) < lines:
        n += 1
        customer = cust_rows[n % customers]["customer_code"]
        day = start + timedelta(days=n % 150)
        total = Decimal(0)
        for _ in range(rng.randint(1, 3)):
            load += 1
            container = make_container_number("MSCU", 100000 + load)
            for code in ("BASE", rng.choice(CODES[1:4]), rng.choice(CODES[4:])):
                qty = rng.randint(1, 4)
                rate = Decimal(rng.randint(40, 900))
                total += qty * rate
                inv_rows.append({
                    "invoice_number": f"INV-{700000 + n}", "customer_code": customer,
                    "invoice_date": day.isoformat(), "due_date": (day + timedelta(days=30)).isoformat(),
                    "load_number": f"L{800000 + load}", "container_number": container, "size_type": "40HC",
                    "pickup_location": "Maher Terminals, Elizabeth NJ", "pickup_date": day.isoformat(),
                    "delivery_location": "DC, 1 Freight Rd, Edison NJ", "delivery_date": day.isoformat(),
                    "charge_code": code, "description": f"{code} charge", "quantity": str(qty),
                    "rate": f"{rate:.2f}", "amount": f"{qty * rate:.2f}"})
        if n % 3:
            pay_rows.append({"payment_number": f"PMT-{600000 + n}", "customer_code": customer,
                             "payment_date": (day + timedelta(days=20)).isoformat(), "method": "ach",
                             "amount": f"{total:.2f}", "invoice_number": f"INV-{700000 + n}",
                             "applied_amount": f"{total:.2f}"})
    return {
        FileKind.CUSTOMERS: to_csv(cust_rows, column_names(FileKind.CUSTOMERS)),
        FileKind.INVOICES: to_csv(inv_rows, column_names(FileKind.INVOICES)),
        FileKind.PAYMENTS: to_csv(pay_rows, column_names(FileKind.PAYMENTS)),
    }
