"""Bench: ~5,000 records through a sandbox injecting 10% transient faults (incl. resets and timeouts after commit),
optionally killing the worker process with SIGKILL three times. Prints duplicates, lost and synced counts.

Payables are switched on (driver settlements and carrier bills, so vendors, bills and bill payments go too; the
duplicates are printed for each); --no-payables leaves them off. A small book (--invoices 300) finishes in minutes.

Usage: python bench/sync_chaos.py [--invoices 2780] [--fault-rate 0.1] [--kill 3] [--no-payables]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import requests
from _setup import duplicates, local_config, map_planted_pay_code, new_book, sandbox_stats
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from qbcore.access import LOCAL_ADMIN, SYSTEM
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.jobs.schedule import enqueue_all_open
from qbcore.mapping.payables import vendor_display_name
from qbcore.models import (
    CarrierBill,
    CreditMemo,
    Customer,
    EntityType,
    Invoice,
    Job,
    JobStatus,
    Payment,
    Settlement,
    SettlementShare,
    SyncRecord,
    Vendor,
)
from qbcore.qbo.gateway import QboGateway, RetryPolicy
from qbcore.qbo.limiter import UNLIMITED
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.settings import load_settings, save_settings
from qbcore.sync.prepare import enabled_types
from qbcore.sync.runner import sync_now
from qbo_sandbox.server import SandboxOptions, start_in_thread

# (what it is, in the audit's words; QuickBooks entity; the fields a twin shares there)
TWINS = [
    ("customers", "Customer", ("DisplayName",)), ("invoices", "Invoice", ("DocNumber",)),
    ("creditmemos", "CreditMemo", ("DocNumber",)), ("payments", "Payment", ("PaymentRefNum",)),
    ("vendors", "Vendor", ("DisplayName",)), ("bills", "Bill", ("DocNumber", "VendorRef")),
    ("billpayments", "BillPayment", ("DocNumber", "VendorRef")),
]


def _key(*parts: object) -> str:
    return "|".join(str(p or "").strip().lower() for p in parts)


def _ours(session: Session) -> dict[str, list[str]]:
    """The natural key of every billing record that should be in QuickBooks now (bills: number and vendor)."""
    enabled = enabled_types(load_settings(session))

    def synced_kind(entity_type: EntityType) -> Any:
        return select(SyncRecord.entity_id).where(SyncRecord.entity_type == entity_type.value)

    ours = {"customers": [_key(n) for n in session.scalars(select(Customer.name))],
            "invoices": [_key(n) for n in session.scalars(select(Invoice.number))],
            "creditmemos": [_key(n) for n in session.scalars(select(CreditMemo.number))],
            "payments": [_key(n) for n in session.scalars(select(Payment.number))],
            "vendors": [], "bills": [], "billpayments": []}
    if EntityType.VENDOR in enabled:
        ours["vendors"] = [_key(vendor_display_name(v)) for v in session.scalars(
            select(Vendor).where(Vendor.id.in_(synced_kind(EntityType.VENDOR))))]
    # A settlement's own bill goes to its first payee as routed (its driver unless routed to fleet owners).
    first_payee = {sid: vendor for sid, vendor in session.execute(
        select(SettlementShare.settlement_id, Vendor).join(Vendor, Vendor.id == SettlementShare.payee_id)
        .where(SettlementShare.position == 1))}
    for entity_type, kind in ((EntityType.SETTLEMENT, "bills"), (EntityType.SETTLEMENT_PAYMENT, "billpayments")):
        if entity_type in enabled:
            ours[kind] += [_key(s.number, vendor_display_name(first_payee.get(s.id, s.driver))) for s in
                           session.scalars(select(Settlement).where(Settlement.id.in_(synced_kind(entity_type)))
                                           .options(joinedload(Settlement.driver)))]
    for entity_type, kind in ((EntityType.SETTLEMENT_SHARE, "bills"), (EntityType.SHARE_PAYMENT, "billpayments")):
        if entity_type in enabled:
            ours[kind] += [_key(n, vendor_display_name(v)) for n, v in session.execute(
                select(SettlementShare.doc_number, Vendor).join(Vendor, Vendor.id == SettlementShare.payee_id)
                .where(SettlementShare.id.in_(synced_kind(entity_type))))]
    for entity_type, kind in ((EntityType.CARRIER_BILL, "bills"), (EntityType.CARRIER_PAYMENT, "billpayments")):
        if entity_type in enabled:
            rows = session.execute(select(CarrierBill.carrier_invoice_number, Vendor).join(CarrierBill.carrier).where(
                CarrierBill.id.in_(synced_kind(entity_type)))).all()
            ours[kind] += [_key(n, vendor_display_name(v)) for n, v in rows]
    return ours


def audit(factory: sessionmaker[Session], gateway: QboGateway) -> dict[str, int]:
    """Duplicates and lost records, comparing every billing key with what QuickBooks holds."""
    result = Counter[str]()
    with factory() as session:
        ours = _ours(session)
        enabled = [e.value for e in enabled_types(load_settings(session))]
        result["records"] = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type.in_(enabled))) or 0
        result["synced"] = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type.in_(enabled), SyncRecord.status == "synced")) or 0
    vendor_names = {str(row["Id"]): row.get("DisplayName") for row in gateway.query_all("Vendor")} \
        if ours["vendors"] else {}
    for kind, entity, fields in TWINS:
        if not ours[kind]:
            result[kind] = 0
            continue
        theirs = Counter(_key(*(vendor_names.get(str((row.get(f) or {}).get("value"))) if f == "VendorRef"
                                else row.get(f, "") for f in fields)) for row in gateway.query_all(entity))
        for key in ours[kind]:
            n = theirs.get(key, 0)
            result["lost"] += n == 0
            result["duplicated"] += n > 1
            result[f"lost_{kind}"] += n == 0
            result[f"duplicated_{kind}"] += n > 1
        result[kind] = len(ours[kind])
    return dict(result)


def run_killed_workers(factory, config: Config, kills: int, env: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """Queue one job for everything; kill -9 the worker `kills` times mid-run; a last worker finishes it."""
    with transaction(factory) as session:
        job_id = enqueue_all_open(session, SYSTEM, label="sync_chaos").id
    cmd = [sys.executable, "-m", "qbcore.cli", "worker", "--poll", "0.2"]
    with factory() as session:
        total = session.get(Job, job_id).total or 0
    # Kills spread over the job: a small book still sees every kill before it is done.
    step = max(20, min(600, total // (kills + 2)))
    for n in range(kills):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until this worker has made progress, then kill it without warning.
        start_done = _job_done(factory, job_id)
        deadline = time.monotonic() + 120
        while _job_done(factory, job_id) < start_done + random.randint(step // 2, step) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"  kill -9 #{n + 1} at job progress {_job_done(factory, job_id)}")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while _job_status(factory, job_id) not in (JobStatus.DONE.value, JobStatus.FAILED.value):
        if time.monotonic() - started > 900:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    print(f"  last worker finished the job ({_job_status(factory, job_id)}) after {time.monotonic() - started:.0f} s "
          "(each restart first waits for the killed worker's 30 s leases to lapse)")
    return job_id


def _job_done(factory, job_id: int) -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        return session.get(Job, job_id).done or 0


def _job_status(factory, job_id: int) -> str:  # type: ignore[no-untyped-def]
    with factory() as session:
        return session.get(Job, job_id).status


def _waiting(factory: sessionmaker[Session]) -> int:
    """Records of the switched-on entities not synced yet."""
    with factory() as session:
        enabled = [e.value for e in enabled_types(load_settings(session))]
        return session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type.in_(enabled), SyncRecord.status != "synced")) or 0


def main() -> None:
    """One chaos run; prints the audit."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2780, help="2,780 invoices make about 5,000 records")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--kill", type=int, default=0, help="kill -9 the worker process this many times")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--no-payables", action="store_true", help="leave driver pay and carrier pay off")
    parser.add_argument("--routing", choices=("driver", "fleet_owner", "both"), default="driver",
                        help="whom settlements are billed to (fleet_owner splits a settlement per owner)")
    args = parser.parse_args()

    book = new_book(invoices=args.invoices, seed=5, name="chaos.db")
    factory = book.factory
    if not args.no_payables:
        with transaction(factory) as session:
            save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True,
                                                 "settlement_vendor": args.routing})
            map_planted_pay_code(session)
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    options = SandboxOptions(port=0, latency_ms=args.latency_ms, quotas="off", fault_rate=args.fault_rate,
                             fault_seed=42, slow_response_s=3.0)
    with start_in_thread(options) as sandbox:
        config = local_config(book, sandbox.url)
        ensure_local_connection(factory, config)
        print(f"records to sync: {_waiting(factory)} (payables {'off' if args.no_payables else 'on'})")
        started = time.perf_counter()
        rounds = 0
        if args.kill:
            env = {**os.environ, "QBSYNC_DATABASE_URL": book.url, "QBSYNC_QBO_ENV": "local",
                   "QBSYNC_QBO_BASE_URL": sandbox.url, "QBSYNC_SECRET_KEY": config.secret_key,
                   "QBSYNC_DATA_DIR": str(book.workdir)}
            print(f"{args.kill} kill -9 of the worker process, fault rate {args.fault_rate:.0%}")
            run_killed_workers(factory, config, args.kill, env)
        # Whatever is still failed (retries exhausted) goes again, as the problem page's resync would.
        while rounds < 6 and _waiting(factory):
            rounds += 1
            gateway = QboGateway(factory, config, timeout_s=2.0, quota=UNLIMITED,
                                 retry=RetryPolicy(attempts=5, base_delay_s=0.05, max_delay_s=0.5))
            summary = sync_now(factory, config, gateway=gateway)
            print(f"  round {rounds}: {summary.synced} synced, {summary.failed} failed {summary.by_kind}, "
                  f"{summary.blocked} blocked, {summary.requests} requests, {summary.seconds:.1f} s")
        seconds = time.perf_counter() - started
        stats = sandbox_stats(sandbox.url)
        requests.post(f"{sandbox.url}/_sandbox/config", json={"fault_rate": 0}, timeout=10)
        result = audit(factory, QboGateway(factory, config, quota=UNLIMITED))
        with factory() as session:
            left = Counter(session.scalars(select(SyncRecord.error_kind).where(
                SyncRecord.entity_type.in_([e.value for e in enabled_types(load_settings(session))]),
                SyncRecord.status != "synced")))
        twins = {kind: duplicates(sandbox.url, options.default_realm, entity, *fields)
                 for kind, entity, fields in TWINS}
        print(f"faults injected by the sandbox: {stats['faults_injected']}")
        print(f"records: {result['records']} ({result['customers']} customers, {result['invoices']} invoices, "
              f"{result['creditmemos']} credit memos, {result['payments']} payments, {result['vendors']} vendors, "
              f"{result['bills']} bills, {result['billpayments']} bill payments, + items)")
        print(f"synced: {result['synced']}; duplicates in QuickBooks: {result['duplicated']}; "
              f"lost (no QuickBooks twin): {result['lost']}; still on the problem list: {dict(left)}")
        print("  payables: " + "; ".join(
            f"{noun} {result[kind]}: duplicated {result.get(f'duplicated_{kind}', 0)}, lost "
            f"{result.get(f'lost_{kind}', 0)}"
            for kind, noun in (("vendors", "vendors"), ("bills", "bills"), ("billpayments", "bill payments"))))
        print("  twins QuickBooks holds (groups sharing DisplayName / DocNumber + vendor / reference): "
              + ", ".join(f"{kind} {n}" for kind, n in twins.items()))
        print(f"rounds after the first run: {max(rounds - 1, 0)}; total {seconds:.0f} s")


if __name__ == "__main__":
    main()
