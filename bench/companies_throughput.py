"""Bench: two QuickBooks companies pushed at once, each against its own quotas, beside one company alone.

A demo book split evenly between two companies (every other top-level customer moved to the second), both connected
to the sandbox with production quotas and real latency. Customers and items go first; after the quota windows
empty, each company's invoices are pushed by its own thread, at the same time. Each company should reach the
rate one company reaches alone: QuickBooks' quotas are per company (realm), so one file never slows the other.

Usage: python bench/companies_throughput.py [--invoices 2000] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from qbcore.access import LOCAL_ADMIN
from qbcore.companies import add_company
from qbcore.config import Config, QboEnvironment
from qbcore.customer_moves import move_customer
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.models import Customer, EntityType, SyncRecord
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.qbo.oauth import ensure_local_connection, local_realm_for
from qbcore.sync.runner import sync_now
from qbcore.sync.summary import SyncSummary
from qbo_sandbox.server import SandboxOptions, start_in_thread

CEILING_PER_MIN = 40 * 30 + 500 - 40  # per company: 40 batch calls of 30, plus the rest of its 500 requests


def _duplicates(url: str, realm: str, entity: str) -> int:
    answer = requests.get(f"{url}/_sandbox/realms/{realm}/duplicates", params={"entity": entity}, timeout=30)
    return len(answer.json()["duplicates"])


def main() -> None:
    """Split the book, connect both companies, then push both companies' invoices at once."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000, help="invoices per company")
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=args.invoices * 2, seed=3, as_of=date(2026, 11, 29))
        second = add_company(session, LOCAL_ADMIN, "Brokerage").id
        tops = list(session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)))
        for customer_id in tops[1::2]:
            move_customer(session, LOCAL_ADMIN, customer_id, second, reason="bench: an even split")
    with factory() as session:
        per_company = dict(session.execute(select(SyncRecord.company_id, func.count()).where(
            SyncRecord.entity_type == EntityType.INVOICE.value).group_by(SyncRecord.company_id)).all())
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    options = SandboxOptions(port=0, latency_ms=args.latency_ms, quotas="production")
    with start_in_thread(options) as sandbox:
        config = Config(database_url=url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=workdir)
        companies = (1, second)
        gateways = {}
        for company_id in companies:
            ensure_local_connection(factory, config, company_id)
            gateways[company_id] = QboGateway(factory, config, quota=QuotaPolicy(), company_id=company_id)
            sync_now(factory, config, entity_types=[EntityType.CUSTOMER, EntityType.ITEM],
                     gateway=gateways[company_id])
        print(f"invoices per company: {per_company}; latency {args.latency_ms:g} ms; production quotas")
        print("waiting 62 s so the warm-up's calls leave the quota windows")
        time.sleep(62)

        throttled_before = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()["throttled"]
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
        throttled = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()["throttled"] - throttled_before

        print("| Company | Invoices synced | Seconds | Invoices/min | Share of its ceiling (1,660/min) | "
              "Duplicates |")
        print("|---|---|---|---|---|---|")
        for company_id in companies:
            summary = results[company_id]
            rate = summary.synced / summary.seconds * 60
            realm = local_realm_for(company_id) or options.default_realm
            print(f"| {company_id} | {summary.synced:,} | {summary.seconds:.1f} | {rate:,.0f} | "
                  f"{rate / CEILING_PER_MIN:.2f} | {_duplicates(sandbox.url, realm, 'Invoice')} |")
        total = sum(r.synced for r in results.values())
        print(f"both at once: {total:,} invoices in {wall:.1f} s wall = {total / wall * 60:,.0f}/min together; "
              f"throttled (429) during the push: {throttled}")


if __name__ == "__main__":
    main()
