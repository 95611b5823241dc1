"""Bench: ~5,000 records through a sandbox injecting 10% transient faults (incl. resets and timeouts after commit),
optionally killing the worker process with SIGKILL three times. Prints duplicates, lost and synced counts.

Usage: python bench/sync_chaos.py [--invoices 2780] [--fault-rate 0.1] [--kill 3]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from qbcore.access import SYSTEM
from qbcore.config import Config, QboEnvironment
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.jobs.queue import enqueue_sync
from qbcore.models import CreditMemo, Customer, EntityType, Invoice, Job, JobStatus, Payment, SyncRecord
from qbcore.qbo.gateway import QboGateway, RetryPolicy
from qbcore.qbo.limiter import UNLIMITED
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.sync.runner import sync_now
from qbo_sandbox.server import SandboxOptions, start_in_thread

# (our model, its natural key column, QuickBooks entity, QuickBooks field)
KEYS = [
    (Customer, Customer.name, "Customer", "DisplayName"),
    (Invoice, Invoice.number, "Invoice", "DocNumber"),
    (CreditMemo, CreditMemo.number, "CreditMemo", "DocNumber"),
    (Payment, Payment.number, "Payment", "PaymentRefNum"),
]


def audit(factory, gateway: QboGateway) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Duplicates and lost records, comparing every billing key with what QuickBooks holds."""
    result = Counter[str]()
    for model, column, entity, field in KEYS:
        with factory() as session:
            ours = list(session.scalars(select(column)))
        theirs = Counter(str(row.get(field, "")).strip().lower() for row in gateway.query_all(entity))
        for key in ours:
            n = theirs.get(key.strip().lower(), 0)
            result["lost"] += n == 0
            result["duplicated"] += n > 1
        result[f"{entity.lower()}s"] = len(ours)
        del model
    with factory() as session:
        result["records"] = session.scalar(select(func.count()).select_from(SyncRecord)) or 0
        result["synced"] = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.status == "synced")) or 0
    return dict(result)


def run_killed_workers(factory, config: Config, kills: int, env: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """Queue one job for everything; kill -9 the worker `kills` times mid-run; a last worker finishes it."""
    with transaction(factory) as session:
        job_id = enqueue_sync(session, SYSTEM, entity_types=list(EntityType)).id
    cmd = [sys.executable, "-m", "qbcore.cli", "worker", "--poll", "0.2"]
    for n in range(kills):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait until this worker has made progress, then kill it without warning.
        start_done = _job_done(factory, job_id)
        deadline = time.monotonic() + 120
        while _job_done(factory, job_id) < start_done + random.randint(200, 600) and time.monotonic() < deadline:
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


def main() -> None:
    """One chaos run; prints the audit."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2780, help="2,780 invoices make about 5,000 records")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--kill", type=int, default=0, help="kill -9 the worker process this many times")
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / 'chaos.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=args.invoices, seed=5, as_of=date(2026, 11, 29))
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    options = SandboxOptions(port=0, latency_ms=args.latency_ms, quotas="off", fault_rate=args.fault_rate,
                             fault_seed=42, slow_response_s=3.0)
    with start_in_thread(options) as sandbox:
        key = Fernet.generate_key().decode()
        config = Config(database_url=url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url, secret_key=key,
                        data_dir=workdir)
        ensure_local_connection(factory, config)
        started = time.perf_counter()
        rounds = 0
        if args.kill:
            env = {**os.environ, "QBSYNC_DATABASE_URL": url, "QBSYNC_QBO_ENV": "local",
                   "QBSYNC_QBO_BASE_URL": sandbox.url, "QBSYNC_SECRET_KEY": key, "QBSYNC_DATA_DIR": str(workdir)}
            print(f"{args.kill} kill -9 of the worker process, fault rate {args.fault_rate:.0%}")
            run_killed_workers(factory, config, args.kill, env)
        # Whatever is still failed (retries exhausted) goes again, as the problem page's resync would.
        while rounds < 6:
            with factory() as session:
                waiting = session.scalar(select(func.count()).select_from(SyncRecord).where(
                    SyncRecord.status != "synced"))
            if not waiting:
                break
            rounds += 1
            gateway = QboGateway(factory, config, timeout_s=2.0, quota=UNLIMITED,
                                 retry=RetryPolicy(attempts=5, base_delay_s=0.05, max_delay_s=0.5))
            summary = sync_now(factory, config, gateway=gateway)
            print(f"  round {rounds}: {summary.synced} synced, {summary.failed} failed {summary.by_kind}, "
                  f"{summary.blocked} blocked, {summary.requests} requests, {summary.seconds:.1f} s")
        seconds = time.perf_counter() - started
        stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
        requests.post(f"{sandbox.url}/_sandbox/config", json={"fault_rate": 0}, timeout=10)
        result = audit(factory, QboGateway(factory, config, quota=UNLIMITED))
        with factory() as session:
            left = Counter(session.scalars(select(SyncRecord.error_kind).where(SyncRecord.status != "synced")))
        print(f"faults injected by the sandbox: {stats['faults_injected']}")
        print(f"records: {result['records']} ({result['customers']} customers, {result['invoices']} invoices, "
              f"{result['creditmemos']} credit memos, {result['payments']} payments, + items)")
        print(f"synced: {result['synced']}; duplicates in QuickBooks: {result['duplicated']}; "
              f"lost (no QuickBooks twin): {result['lost']}; still on the problem list: {dict(left)}")
        print(f"rounds after the first run: {max(rounds - 1, 0)}; total {seconds:.0f} s")


if __name__ == "__main__":
    main()
