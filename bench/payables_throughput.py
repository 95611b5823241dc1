"""Bench: a week of payables (driver settlements and carrier bills) against the sandbox with production quotas.

A week of --settlements driver settlements (one per driver, each driver a new vendor) and --carrier-bills carrier
bills (from --carriers new carriers), a --paid-share of each paid in the same week (bill payments), on top of a
small demo book whose own payables are left alone. Pushed twice from empty quota windows, each on its own database
and sandbox: with the vendors synced first (then the bills and payments alone), and with the vendors in the same
run. Requests are counted by the sandbox (all of them) and by entity at the gateway (which are the bills' own).
Then the naive loop (python-quickbooks `save()` per bill, sequential, with the look-ups such loops do) on a sample.

Usage: python bench/payables_throughput.py [--settlements 500] [--carrier-bills 300] [--carriers 30]
       [--paid-share 0.3] [--naive-bills 60] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

from _setup import (
    AS_OF,
    CEILING_PER_MIN,
    Book,
    duplicates,
    local_config,
    map_planted_pay_code,
    new_book,
    production_sandbox,
    sandbox_stats,
    v3_requests,
    wait_for_empty_windows,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.entities.registry import spec_for
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    DeductionCode,
    EntityType,
    Load,
    PayCode,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    Truck,
    Vendor,
)
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.settings import load_settings, save_settings
from qbcore.sync.context import build_refs, load_billing_rows, read_name_lists
from qbcore.sync.prepare import load_extras
from qbcore.sync.records import ensure_sync_records
from qbcore.sync.runner import sync_now
from qbcore.sync.summary import SyncSummary

BILLS = (EntityType.SETTLEMENT, EntityType.CARRIER_BILL)
PAYMENTS = (EntityType.SETTLEMENT_PAYMENT, EntityType.CARRIER_PAYMENT)
QBO_ENTITY = {"Vendor": "vendors", "Bill": "bills", "BillPayment": "bill payments"}
WEEK_START = AS_OF - timedelta(days=AS_OF.weekday() + 14)  # the week closed, settled on the Friday after


@dataclass(frozen=True)
class Week:
    """The sync-record ids of the week's payables, by entity."""

    records: dict[EntityType, list[int]]

    def of(self, *entity_types: EntityType) -> list[int]:
        """The records of these entities."""
        return sorted(rid for e in entity_types for rid in self.records.get(e, []))


def _cents(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low * 4, high * 4) * 25


def write_week(session: Session, *, settlements: int, carrier_bills: int, carriers: int, paid_share: float,
               seed: int = 7) -> Week:
    """Add one week's settlements and carrier bills, with their new drivers and carriers, and their sync records."""
    rng = random.Random(seed)
    pay = {code: pid for code, pid in session.execute(select(PayCode.code, PayCode.id))}
    deduction = {code: did for code, did in session.execute(select(DeductionCode.code, DeductionCode.id))}
    loads = list(session.scalars(select(Load.id).order_by(Load.id)))
    settle_day = WEEK_START + timedelta(days=11)
    finalized = datetime.combine(settle_day, clock(17), tzinfo=UTC)
    drivers, carrier_rows = [], []
    for n in range(1, settlements + 1):
        drivers.append(Vendor(code=f"WD{n:04d}", name=f"Week Driver {n:04d}", is_driver=True,
                              terms="Due on receipt", city="Elizabeth", state="NJ"))
    for n in range(1, carriers + 1):
        carrier_rows.append(Vendor(code=f"WC{n:03d}", name=f"Week Carrier {n:03d} LLC", company_name=f"Week Carrier "
                                   f"{n:03d} LLC", is_carrier=True, terms="Net 30", city="Carteret", state="NJ"))
    session.add_all(drivers + carrier_rows)
    session.flush()
    # Owner-operators: each drives the truck he owns.
    trucks = [Truck(number=f"WT{n:04d}", owner_id=driver.id, plate_number=f"WK{n:05d}", active=True)
              for n, driver in enumerate(drivers, start=1)]
    session.add_all(trucks)
    session.flush()
    new_settlements, new_bills = [], []
    for n, (driver, truck) in enumerate(zip(drivers, trucks, strict=True), start=1):
        settlement_loads, pay_cents = [], 0
        for position, load_id in enumerate(sorted(rng.sample(loads, rng.randint(1, 3))), start=1):
            lines = []
            for line_pos, (code, low, high) in enumerate((("LH", 220, 640), ("FSC", 30, 120)), start=1):
                cents = _cents(rng, low, high)
                pay_cents += cents
                money = Decimal(cents).scaleb(-2)
                lines.append(SettlementLine(pay_code_id=pay[code], position=line_pos, quantity=Decimal(1), rate=money,
                                            amount=money))
            settlement_loads.append(SettlementLoad(load_id=load_id, truck_id=truck.id, position=position,
                                                   lines=lines))
        deducted = _cents(rng, 38, 62)  # occupational accident insurance, every week
        paid = rng.random() < paid_share
        new_settlements.append(Settlement(
            number=f"ST-{WEEK_START:%y%m%d}-W{n:04d}", driver_id=driver.id, period_start=WEEK_START,
            period_end=WEEK_START + timedelta(days=6), settlement_date=settle_day,
            status="paid" if paid else "finalized", pay_total=Decimal(pay_cents).scaleb(-2),
            deduction_total=Decimal(deducted).scaleb(-2), net_pay=Decimal(pay_cents - deducted).scaleb(-2),
            finalized_at=finalized, paid_on=settle_day if paid else None, loads=settlement_loads,
            deductions=[SettlementDeduction(deduction_code_id=deduction["OCCACC"], truck_id=truck.id, position=1,
                                            amount=Decimal(deducted).scaleb(-2))]))
    for n in range(1, carrier_bills + 1):
        carrier = carrier_rows[(n - 1) % len(carrier_rows)]
        bill_date = WEEK_START + timedelta(days=rng.randint(0, 6))
        lines, total = [], 0
        for position, (code, low, high) in enumerate((("BRK-LH", 420, 1250), ("BRK-FSC", 60, 240)), start=1):
            cents = _cents(rng, low, high)
            total += cents
            lines.append(CarrierBillLine(pay_code_id=pay[code], position=position, amount=Decimal(cents).scaleb(-2)))
        paid = rng.random() < paid_share  # quick pay: the carrier took a discount to be paid this week
        new_bills.append(CarrierBill(
            carrier_id=carrier.id, load_id=rng.choice(loads), carrier_invoice_number=f"WC{carrier.id}-{70000 + n}",
            bill_date=bill_date, due_date=bill_date + timedelta(days=30), terms="Net 30",
            status="paid" if paid else "accepted", total=Decimal(total).scaleb(-2),
            accepted_at=datetime.combine(bill_date + timedelta(days=1), clock(15), tzinfo=UTC),
            paid_on=bill_date + timedelta(days=3) if paid else None, lines=lines))
    session.add_all(new_settlements + new_bills)
    session.flush()
    ensure_sync_records(session)
    ids = {EntityType.VENDOR: [v.id for v in drivers + carrier_rows], EntityType.SETTLEMENT: [
        s.id for s in new_settlements], EntityType.CARRIER_BILL: [b.id for b in new_bills]}
    ids[EntityType.SETTLEMENT_PAYMENT] = [s.id for s in new_settlements if s.status == "paid"]
    ids[EntityType.CARRIER_PAYMENT] = [b.id for b in new_bills if b.status == "paid"]
    records: dict[EntityType, list[int]] = {}
    for entity_type, entity_ids in ids.items():
        records[entity_type] = list(session.scalars(select(SyncRecord.id).where(
            SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(entity_ids))))
    return Week(records)


class CountingGateway(QboGateway):
    """The gateway, counting its calls by kind and QuickBooks entity (look-ups, batch calls, single writes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: Counter[tuple[str, str]] = Counter()

    def query(self, select: str) -> list[dict[str, Any]]:
        """A query, counted under its entity (IN look-ups apart from whole-list reads)."""
        entity = select.split(" FROM ", 1)[1].split()[0]
        self.counts[("look-up IN" if " IN (" in select else "query", entity)] += 1
        return super().query(select)

    def batch(self, items: list[dict[str, Any]], *, request_id: str | None, wait: bool = True
              ) -> dict[str, dict[str, Any]]:
        """A batch call, counted under the entity its items carry."""
        entity = next((k for k in items[0] if k not in ("bId", "operation")), "?") if items else "?"
        self.counts[("batch call", entity)] += 1
        return super().batch(items, request_id=request_id, wait=wait)

    def write(self, entity: str, payload: dict[str, Any], *, request_id: str, name: str | None = None,
              spare: bool = False) -> dict[str, Any]:
        """A single write, counted under its entity."""
        self.counts[("single write", entity)] += 1
        return super().write(entity, payload, request_id=request_id, name=name, spare=spare)

    def own(self, entity: str) -> int:
        """Every call this gateway made for one entity."""
        return sum(n for (_, e), n in self.counts.items() if e == entity)


@dataclass(frozen=True)
class Push:
    """One measured push."""

    label: str
    summary: SyncSummary
    vendors: int
    bills: int
    payments: int
    requests: int
    bill_requests: int
    throttled: int
    counts: Counter[tuple[str, str]]
    dupes: dict[str, int]

    @property
    def per_min(self) -> float:
        """Bills synced per minute."""
        return self.bills / max(self.summary.seconds, 1e-9) * 60


def _synced(book: Book, record_ids: list[int]) -> int:
    with book.factory() as session:
        found = 0
        for start in range(0, len(record_ids), 1000):
            found += len(session.scalars(select(SyncRecord.id).where(
                SyncRecord.id.in_(record_ids[start:start + 1000]), SyncRecord.status == "synced")).all())
        return found


def measure(label: str, book: Book, week: Week, *, vendors_first: bool, latency_ms: float,
            naive_bills: int) -> tuple[Push, tuple[int, int, float, int] | None]:
    """Connect a fresh sandbox, push (vendors first or not), count; then the naive loop when asked."""
    with production_sandbox(latency_ms) as sandbox:
        config = local_config(book, sandbox.url)
        ensure_local_connection(book.factory, config)
        if vendors_first:
            sync_now(book.factory, config, record_ids=week.of(EntityType.VENDOR),
                     gateway=QboGateway(book.factory, config, quota=QuotaPolicy()))
            wait_for_empty_windows("the vendors' calls leave the quota windows")
        else:
            wait_for_empty_windows("the connection's calls leave the quota windows")
        # A fresh gateway, as a new job has: the run reads the company's name lists itself.
        gateway = CountingGateway(book.factory, config, quota=QuotaPolicy())
        wanted = week.of(*BILLS, *PAYMENTS) if vendors_first else week.of(EntityType.VENDOR, *BILLS, *PAYMENTS)
        before = sandbox_stats(sandbox.url)
        summary = sync_now(book.factory, config, record_ids=wanted, gateway=gateway)
        after = sandbox_stats(sandbox.url)
        realm = sandbox.options.default_realm
        dupes = {"vendors": duplicates(sandbox.url, realm, "Vendor", "DisplayName"),
                 "bills": duplicates(sandbox.url, realm, "Bill", "DocNumber", "VendorRef"),
                 "bill payments": duplicates(sandbox.url, realm, "BillPayment", "DocNumber", "VendorRef")}
        push = Push(label=label, summary=summary,
                    vendors=_synced(book, week.of(EntityType.VENDOR)) if not vendors_first else 0,
                    bills=_synced(book, week.of(*BILLS)), payments=_synced(book, week.of(*PAYMENTS)),
                    requests=v3_requests(sandbox.url, after) - v3_requests(sandbox.url, before),
                    bill_requests=gateway.own("Bill"), throttled=after["throttled"] - before["throttled"],
                    counts=gateway.counts, dupes=dupes)
        naive = None
        if naive_bills:
            wait_for_empty_windows("the naive loop starts with empty quota windows too")
            naive = run_naive(book, gateway, week, naive_bills, sandbox.url)
    return push, naive


def run_naive(book: Book, gateway: QboGateway, week: Week, count: int, url: str) -> tuple[int, int, float, int]:
    """The loop most integrations start with: per bill, look up its vendor and its number, then save()."""
    from quickbooks.objects.bill import Bill as QbBill
    from quickbooks.objects.vendor import Vendor as QbVendor

    qb = gateway.client()
    with book.factory() as session:
        settings = load_settings(session)
        refs = build_refs(session, read_name_lists(gateway), settings, gateway.company_id)
        ids = list(session.scalars(select(SyncRecord.entity_id).where(
            SyncRecord.id.in_(week.of(EntityType.SETTLEMENT)[:count]))))
        rows = load_billing_rows(session, EntityType.SETTLEMENT, ids)
        extras = load_extras(session, EntityType.SETTLEMENT, rows, gateway.company_id)
        spec = spec_for(EntityType.SETTLEMENT)
        payloads = [(row.driver.name, {**spec.build_payload(row, settings, refs, extras),
                                       "DocNumber": f"N{row.number}"[:21]}) for row in rows.values()]
    before = v3_requests(url)
    errors = 0
    started = time.perf_counter()
    for vendor_name, payload in payloads:
        try:
            QbVendor.filter(DisplayName=vendor_name, qb=qb)
            if not QbBill.filter(DocNumber=payload["DocNumber"], qb=qb):
                QbBill.from_json(payload).save(qb=qb)
        # The naive loop has no retry of its own; we only count its failures.
        except Exception:
            errors += 1
    return len(payloads), v3_requests(url) - before, time.perf_counter() - started, errors


def report(push: Push) -> None:
    """One push's figures."""
    s = push.summary
    print(f"engine, {push.label}: {push.vendors} vendors, {push.bills} bills, {push.payments} bill payments synced "
          f"({s.failed} failed, {s.blocked} blocked) in {s.seconds:.1f} s with {push.requests} QuickBooks requests")
    print(f"  requests per bill: {push.requests / max(push.bills, 1):.4f} (all the run's requests / bills; goal "
          f"<= 0.05); the bills' own calls: {push.bill_requests} = {push.bill_requests / max(push.bills, 1):.4f} "
          "per bill")
    within = " (a push inside one minute's batch budget: the ceiling binds past a minute)" if s.seconds < 60 else ""
    print(f"  bills per minute: {push.per_min:.0f} = {push.per_min / CEILING_PER_MIN:.2f} of the true ceiling "
          f"({CEILING_PER_MIN}/min){within}; throttled (429) in this push: {push.throttled}")
    records = push.bills + push.payments + push.vendors
    print(f"  requests per synced record (vendors, bills and bill payments of the run): "
          f"{push.requests / max(records, 1):.4f}")
    for entity, noun in QBO_ENTITY.items():
        calls = ", ".join(f"{n} {kind}" for (kind, e), n in sorted(push.counts.items()) if e == entity) or "none"
        print(f"  {noun}: {calls}")
    others = ", ".join(f"{n} {kind} {e}" for (kind, e), n in sorted(push.counts.items()) if e not in QBO_ENTITY)
    print(f"  other calls: {others or 'none'}")
    print("  duplicates in QuickBooks: " + ", ".join(f"{noun} {n}" for noun, n in push.dupes.items())
          + " (vendors by DisplayName, bills and bill payments by DocNumber + vendor)")


def main() -> None:
    """The week pushed with vendors first and with vendors in the same run; then the naive loop on a sample."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--settlements", type=int, default=500)
    parser.add_argument("--carrier-bills", type=int, default=300)
    parser.add_argument("--carriers", type=int, default=30)
    parser.add_argument("--paid-share", type=float, default=0.3, help="of each, paid in the week (bill payments)")
    parser.add_argument("--naive-bills", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--invoices", type=int, default=200, help="the demo book under the week (its loads)")
    args = parser.parse_args()

    pushes: list[Push] = []
    naive: tuple[int, int, float, int] | None = None
    for label, vendors_first in (("vendors synced first", True), ("vendors in the same run", False)):
        book = new_book(invoices=args.invoices, seed=3)
        with transaction(book.factory) as session:
            save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
            map_planted_pay_code(session)
            week = write_week(session, settlements=args.settlements, carrier_bills=args.carrier_bills,
                              carriers=args.carriers, paid_share=args.paid_share)
        print(f"{label}: {len(week.of(EntityType.VENDOR))} vendors, {len(week.of(*BILLS))} bills "
              f"({args.settlements} settlements, {args.carrier_bills} carrier bills), {len(week.of(*PAYMENTS))} "
              f"bill payments; latency {args.latency_ms:g} ms, production quotas")
        push, ran = measure(label, book, week, vendors_first=vendors_first, latency_ms=args.latency_ms,
                            naive_bills=args.naive_bills if vendors_first else 0)
        report(push)
        pushes.append(push)
        naive = naive or ran
    naive_rate = 0.0
    if naive is not None:
        count, naive_requests, seconds, errors = naive
        naive_rate = (count - errors) / max(seconds, 1e-9) * 60
        print(f"naive loop (python-quickbooks save() per bill, sequential, vendor and number look-ups): {count} "
              f"bills, {errors} errors, in {seconds:.1f} s with {naive_requests} requests")
    print("side by side (true ceiling 1,660 creates/min; goal <= 0.05 requests per bill):")
    for push in pushes:
        print(f"  engine, {push.label}: {push.requests / max(push.bills, 1):.4f} requests/bill (all), "
              f"{push.bill_requests / max(push.bills, 1):.4f} (the bills' own), {push.per_min:.0f} bills/min, "
              f"{push.summary.seconds:.1f} s")
    if naive is not None:
        count, naive_requests, _, _ = naive
        print(f"  naive loop: {naive_requests / max(count, 1):.2f} requests/bill, {naive_rate:.0f} bills/min; "
              f"ratio engine (vendors first) / naive: {pushes[0].per_min / max(naive_rate, 1e-9):.1f}x")


if __name__ == "__main__":
    main()
