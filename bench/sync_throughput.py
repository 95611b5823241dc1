"""Bench: the sync engine against the sandbox with production quotas and real latency, beside the naive loop.

Two pushes of new invoices whose customers and items exist, each from empty quota windows: a backlog the batch
budget carries in a minute (--carried, all batches: requests per invoice), then a large one (--invoices, batches
plus single writes with the rest of the minute: invoices per minute against the true ceiling). Then the naive loop
(python-quickbooks `save()` per invoice, sequential, with the look-ups such loops do) on a sample, side by side.

Steady state: each record's sync time (sync_records.last_synced_at) is taken from the push's start and counted per
minute; the steady rate is the mean of the full minutes after the first (2..k): the first minute holds the planning
and look-ups, the last partial one the drain of the backlog's end. The rate from 60 s to the last record is printed too.

Usage: python bench/sync_throughput.py [--invoices 5000] [--carried 1000] [--naive-invoices 60] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime

from _setup import (
    CEILING_PER_MIN,
    duplicates,
    local_config,
    new_book,
    production_sandbox,
    route_requests,
    sandbox_stats,
    v3_requests,
    wait_for_empty_windows,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from qbcore.mapping.invoice import build_invoice_payload
from qbcore.models import ChargeLine, ChargeSet, EntityType, Invoice, SyncRecord
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.settings import load_settings
from qbcore.sync.context import build_refs, read_name_lists
from qbcore.sync.runner import sync_now


def sync_offsets(factory: sessionmaker[Session], since: datetime) -> list[float]:
    """Seconds from `since` at which each invoice synced since then was recorded as synced, in order."""
    with factory() as session:
        stamps = session.scalars(select(SyncRecord.last_synced_at).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.last_synced_at >= since))
        return sorted((stamp.replace(tzinfo=stamp.tzinfo or UTC) - since).total_seconds() for stamp in stamps)


def steady_per_minute(offsets: list[float]) -> float | None:
    """Records a minute over the full minutes after the first (2..k): no planning, no last partial minute's drain."""
    full = int(offsets[-1] // 60) if offsets else 0
    if full < 2:
        return None
    return sum(1 for t in offsets if 60 <= t < full * 60) / (full - 1)


def after_first_minute(offsets: list[float]) -> float | None:
    """Records a minute from 60 s to the last record (minutes 2..n, the last one's drain included)."""
    if not offsets or offsets[-1] < 90:
        return None
    return sum(1 for t in offsets if t >= 60) / (offsets[-1] - 60) * 60


def per_minute_counts(offsets: list[float]) -> list[int]:
    """Records synced in each minute of the push."""
    counts = [0] * (int(offsets[-1] // 60) + 1 if offsets else 0)
    for t in offsets:
        counts[int(t // 60)] += 1
    return counts


def run_naive(factory, config, gateway: QboGateway, count: int, *, lean: bool = False  # type: ignore[no-untyped-def]
              ) -> tuple[int, int, float, int]:
    """The loop most integrations start with: per invoice, look up customer, items and number, then save().

    lean=True is the kindest naive loop: items cached, no number check — one customer look-up and one save.
    """
    from quickbooks.objects.customer import Customer as QbCustomer
    from quickbooks.objects.invoice import Invoice as QbInvoice
    from quickbooks.objects.item import Item as QbItem

    qb = gateway.client()
    with factory() as session:
        settings = load_settings(session)
        refs = build_refs(session, read_name_lists(gateway), settings, gateway.company_id)
        invoices = list(session.scalars(select(Invoice).order_by(Invoice.id).limit(count).options(
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.lines).selectinload(ChargeLine.charge_code),
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.load), selectinload(Invoice.customer))))
        payloads = [(inv, build_invoice_payload(inv, settings, refs)) for inv in invoices]
    before = v3_requests(config.qbo_base_url)
    errors = 0
    started = time.perf_counter()
    for invoice, payload in payloads:
        try:
            QbCustomer.filter(DisplayName=invoice.customer.name, qb=qb)
            if not lean:
                for code in dict.fromkeys(line.charge_code.code for cs in invoice.charge_sets for line in cs.lines):
                    QbItem.filter(Name=code, qb=qb)
            number = f"{'L' if lean else 'N'}{invoice.number}"[:21]
            if lean or not QbInvoice.filter(DocNumber=number, qb=qb):
                obj = QbInvoice.from_json({**payload, "DocNumber": number})
                obj.save(qb=qb)
        # The naive loop has no retry of its own; we only count its failures.
        except Exception:
            errors += 1
    seconds = time.perf_counter() - started
    return len(payloads), v3_requests(config.qbo_base_url) - before, seconds, errors


def main() -> None:
    """Sync N new invoices whose customers and items exist; then the naive loop on a sample."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=5000, help="the large push")
    parser.add_argument("--carried", type=int, default=1000, help="the push the batch budget carries (< 1,200)")
    parser.add_argument("--naive-invoices", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()
    print("load average at start (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))

    book = new_book(invoices=args.invoices + args.carried, seed=3)
    factory = book.factory
    with production_sandbox(args.latency_ms) as sandbox:
        config = local_config(book, sandbox.url)
        ensure_local_connection(factory, config)
        gateway = QboGateway(factory, config, quota=QuotaPolicy())
        # Customers and items first: the figure is for new invoices whose customers exist. (The invoice run
        # still creates the four branch classes the sandbox lacks: 4 of its requests.)
        sync_now(factory, config, entity_types=[EntityType.CUSTOMER, EntityType.ITEM], gateway=gateway)
        wait_for_empty_windows(f"the warm-up's calls leave the quota windows (latency {args.latency_ms:g} ms)")

        with factory() as session:
            carried_ids = list(session.scalars(select(SyncRecord.id).where(
                SyncRecord.entity_type == EntityType.INVOICE.value).order_by(SyncRecord.id).limit(args.carried)))
        results: list[tuple[str, int, int, float, float | None, float, int, int]] = []
        for label, record_ids in ((f"a backlog the batch budget carries ({args.carried})", carried_ids),
                                  (f"a backlog beyond the batch budget ({args.invoices})", None)):
            if results:
                wait_for_empty_windows("the quota windows are empty again")
            before, throttled_before = v3_requests(sandbox.url), sandbox_stats(sandbox.url)["throttled"]
            dupes_before = duplicates(sandbox.url, sandbox.options.default_realm, 'Invoice')
            started = datetime.now(UTC)
            summary = sync_now(factory, config, entity_types=[EntityType.INVOICE], record_ids=record_ids,
                               gateway=gateway)
            ours_requests = v3_requests(sandbox.url) - before
            stats = sandbox_stats(sandbox.url)
            throttled = stats["throttled"] - throttled_before
            dupes = duplicates(sandbox.url, sandbox.options.default_realm, 'Invoice') - dupes_before
            per_min = summary.synced / summary.seconds * 60
            offsets = sync_offsets(factory, started)
            steady = steady_per_minute(offsets)
            batches = route_requests(stats, "POST /v3/company/{realm}/batch")
            singles = route_requests(stats, "POST /v3/company/{realm}/invoice")
            print(f"engine, {label}: {summary.synced} invoices synced ({summary.failed} failed, "
                  f"{summary.blocked} blocked) in {summary.seconds:.1f} s with {ours_requests} QuickBooks requests "
                  f"(batch calls so far {batches}, single invoice writes so far {singles})")
            print(f"  requests per synced invoice: {ours_requests / max(summary.synced, 1):.4f}")
            print(f"  invoices per minute overall: {per_min:.0f} = {per_min / CEILING_PER_MIN:.2f} of the true ceiling "
                  f"({CEILING_PER_MIN}/min: 40 batch calls x 30 + 460 single writes)")
            print(f"  invoices synced in each minute of the push: {per_minute_counts(offsets)}")
            print("  invoices per minute steady (full minutes 2..k, from the push's start): " + (
                f"{steady:.0f} = {steady / CEILING_PER_MIN:.2f} of the true ceiling" if steady is not None
                else "n/a (the push took under two full minutes)"))
            tail = after_first_minute(offsets)
            if tail is not None:
                print(f"  invoices per minute from 60 s to the last record (its drain included): {tail:.0f} = "
                      f"{tail / CEILING_PER_MIN:.2f} of the true ceiling")
            if offsets:
                print(f"  first invoice synced {offsets[0]:.1f} s after the push started (planning and look-ups); "
                      f"last at {offsets[-1]:.1f} s")
            print(f"  throttled by the sandbox (429) in this push: {throttled} (all pushes "
                  f"by limit: {stats['throttled_by_limit']}); duplicate DocNumbers made by this push: {dupes}; client "
                  f"limiter waited (thread-seconds, all pushes so far) {gateway.limiter.waited_s:.1f} s")
            results.append((label, summary.synced, ours_requests, per_min, steady, summary.seconds, throttled, dupes))
        print(f"  duplicate DocNumbers in QuickBooks: "
              f"{duplicates(sandbox.url, sandbox.options.default_realm, 'Invoice')}")
        per_min = results[-1][3]

        wait_for_empty_windows("the naive loop starts with empty quota windows too")
        naive: list[tuple[str, float, float]] = []
        for lean, label in ((False, "customer, item and number look-ups"), (True, "lean: customer look-up only")):
            count, naive_requests, naive_seconds, errors = run_naive(factory, config, gateway, args.naive_invoices,
                                                                     lean=lean)
            naive_per_min = (count - errors) / naive_seconds * 60
            print(f"naive loop (python-quickbooks save() per invoice, sequential, {label}): {count} invoices, "
                  f"{errors} errors, in {naive_seconds:.1f} s with {naive_requests} requests")
            print(f"  requests per invoice: {naive_requests / max(count, 1):.2f}; "
                  f"invoices per minute: {naive_per_min:.0f}")
            print(f"  extrapolated to {summary.synced} invoices: {summary.synced / max(naive_per_min, 1e-9):.1f} min "
                  "(measured on the sample above, not run in full)")
            print(f"  ratio engine / naive (invoices per minute): {per_min / max(naive_per_min, 1e-9):.1f}x "
                  "(goal >= 10x)")
            naive.append((label, naive_requests / max(count, 1), naive_per_min))
        print("side by side (true ceiling 1,660 invoices/min; goals: >= 1,500/min on the large push, <= 0.05 "
              "requests per invoice on the carried one):")
        for label, synced, ours, rate, steady, seconds, throttled, dupes in results:
            steady_text = "n/a" if steady is None else f"{steady:.0f}/min = {steady / CEILING_PER_MIN:.2f}"
            print(f"  engine, {label}: {synced} records in {seconds:.1f} s; overall {rate:.0f}/min = "
                  f"{rate / CEILING_PER_MIN:.2f} of the ceiling; steady {steady_text}; "
                  f"{ours / max(synced, 1):.4f} requests/record; {throttled} throttled; {dupes} duplicates")
        for label, per_invoice, rate in naive:
            print(f"  naive loop, {label}: {per_invoice:.2f} requests/invoice, {rate:.0f}/min = "
                  f"{rate / CEILING_PER_MIN:.3f} of the ceiling")
        print("load average at the end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
