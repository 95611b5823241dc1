"""Bench: the sync engine against the sandbox with production quotas and real latency, beside the naive loop.

Prints requests per synced invoice, invoices per minute as a share of the quota ceiling, and the ratio to the naive
loop (python-quickbooks `save()` per invoice, sequential, with the look-ups such loops do).

Usage: python bench/sync_throughput.py [--invoices 3000] [--naive-invoices 60] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from qbcore.config import Config, QboEnvironment
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.mapping.invoice import build_invoice_payload
from qbcore.models import ChargeLine, ChargeSet, EntityType, Invoice
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.settings import load_settings
from qbcore.sync.context import build_refs, read_name_lists
from qbcore.sync.runner import sync_now
from qbo_sandbox.server import SandboxOptions, start_in_thread

# Batch creates are bound by 40 batch calls per minute per app and realm, 30 operations each.
CEILING_PER_MIN = 40 * 30


def v3_requests(url: str) -> int:
    """Requests the sandbox served under /v3 (what counts against QuickBooks' quotas)."""
    stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return sum(sum(codes.values()) for route, codes in stats["by_route"].items() if " /v3/" in route)


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
        refs = build_refs(session, read_name_lists(gateway), settings)
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
    parser.add_argument("--invoices", type=int, default=3000)
    parser.add_argument("--naive-invoices", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=args.invoices, seed=3, as_of=date(2026, 11, 29))
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    options = SandboxOptions(port=0, latency_ms=args.latency_ms, quotas="production")
    with start_in_thread(options) as sandbox:
        config = Config(database_url=url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=workdir)
        ensure_local_connection(factory, config)
        gateway = QboGateway(factory, config, quota=QuotaPolicy())
        # Customers and items first: the figure is for new invoices whose customers exist. (The invoice run
        # still creates the four branch classes the sandbox lacks: 4 of its requests.)
        sync_now(factory, config, entity_types=[EntityType.CUSTOMER, EntityType.ITEM], gateway=gateway)
        print(f"waiting 62 s so the warm-up's calls leave the quota windows (latency {args.latency_ms:g} ms)")
        time.sleep(62)

        before = v3_requests(sandbox.url)
        summary = sync_now(factory, config, entity_types=[EntityType.INVOICE], gateway=gateway)
        ours_requests = v3_requests(sandbox.url) - before
        stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
        per_min = summary.synced / summary.seconds * 60
        print(f"engine: {summary.synced} invoices synced ({summary.failed} failed, {summary.blocked} blocked) "
              f"in {summary.seconds:.1f} s with {ours_requests} QuickBooks requests")
        print(f"  requests per synced invoice: {ours_requests / max(summary.synced, 1):.4f} (goal <= 0.05)")
        print(f"  invoices per minute: {per_min:.0f} = {per_min / CEILING_PER_MIN:.2f} of the quota ceiling "
              f"({CEILING_PER_MIN}/min: 40 batch calls x 30) (goal >= 0.8)")
        print(f"  throttled by the sandbox (429): {stats['throttled']}; client limiter waited (thread-seconds) "
              f"{gateway.limiter.waited_s:.1f} s")
        dupes = requests.get(f"{sandbox.url}/_sandbox/realms/{options.default_realm}/duplicates",
                             params={"entity": "Invoice"}, timeout=30).json()["duplicates"]
        print(f"  duplicate DocNumbers in QuickBooks: {len(dupes)}")

        print("waiting 62 s before the naive loop, so both start with empty quota windows")
        time.sleep(62)
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


if __name__ == "__main__":
    main()
