"""Bench: two QuickBooks companies pushed at once, each against its own quotas, beside one company alone.

A demo book split evenly between two companies (every other top-level customer moved to the second), both connected
to the sandbox with production quotas and real latency. Customers and items go first; after the quota windows
empty, each company's invoices are pushed by its own thread, at the same time. Each company should reach the
rate one company reaches alone: QuickBooks' quotas are per company (realm), so one file never slows the other.

Usage: python bench/companies_throughput.py [--invoices 2000] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import threading
import time

from _setup import (
    CEILING_PER_MIN,
    duplicates,
    local_config,
    new_book,
    production_sandbox,
    sandbox_stats,
    wait_for_empty_windows,
)
from sqlalchemy import func, select

from qbcore.access import LOCAL_ADMIN
from qbcore.companies import add_company
from qbcore.customer_moves import move_customer
from qbcore.db import transaction
from qbcore.models import Customer, EntityType, SyncRecord
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.qbo.oauth import ensure_local_connection, local_realm_for
from qbcore.sync.runner import sync_now
from qbcore.sync.summary import SyncSummary


def main() -> None:
    """Split the book, connect both companies, then push both companies' invoices at once."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000, help="invoices per company")
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()

    book = new_book(invoices=args.invoices * 2, seed=3)
    factory = book.factory
    with transaction(factory) as session:
        second = add_company(session, LOCAL_ADMIN, "Brokerage").id
        tops = list(session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)))
        for customer_id in tops[1::2]:
            move_customer(session, LOCAL_ADMIN, customer_id, second, reason="bench: an even split")
    with factory() as session:
        per_company = dict(session.execute(select(SyncRecord.company_id, func.count()).where(
            SyncRecord.entity_type == EntityType.INVOICE.value).group_by(SyncRecord.company_id)).all())
    with production_sandbox(args.latency_ms) as sandbox:
        config = local_config(book, sandbox.url)
        companies = (1, second)
        gateways = {}
        for company_id in companies:
            ensure_local_connection(factory, config, company_id)
            gateways[company_id] = QboGateway(factory, config, quota=QuotaPolicy(), company_id=company_id)
            sync_now(factory, config, entity_types=[EntityType.CUSTOMER, EntityType.ITEM],
                     gateway=gateways[company_id])
        print(f"invoices per company: {per_company}; latency {args.latency_ms:g} ms; production quotas")
        wait_for_empty_windows("the warm-up's calls leave the quota windows")

        throttled_before = sandbox_stats(sandbox.url)["throttled"]
        results: dict[int, SyncSummary] = {}

        def push(company_id: int) -> None:
            results[company_id] = sync_now(factory, config, entity_types=[EntityType.INVOICE],
                                           gateway=gateways[company_id])

        started = time.perf_counter()
        threads = [threading.Thread(target=push, args=(c,)) for c in companies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        throttled = sandbox_stats(sandbox.url)["throttled"] - throttled_before

        print("| Company | Invoices synced | Seconds | Invoices/min | Share of its ceiling (1,660/min) | "
              "Duplicates |")
        print("|---|---|---|---|---|---|")
        for company_id in companies:
            summary = results[company_id]
            rate = summary.synced / summary.seconds * 60
            realm = local_realm_for(company_id) or sandbox.options.default_realm
            print(f"| {company_id} | {summary.synced:,} | {summary.seconds:.1f} | {rate:,.0f} | "
                  f"{rate / CEILING_PER_MIN:.2f} | {duplicates(sandbox.url, realm, 'Invoice')} |")
        total = sum(r.synced for r in results.values())
        print(f"both at once: {total:,} invoices in {wall:.1f} s wall = {total / wall * 60:,.0f}/min together; "
              f"throttled (429) during the push: {throttled}")


if __name__ == "__main__":
    main()
