"""A team: three `qbsync worker` processes on one PostgreSQL share the queue and never twin a QuickBooks record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.jobs.queue import enqueue_sync
from qbcore.models import CompanyLease, Customer, Job, JobStatus, SyncAttempt, SyncRecord, Vendor
from qbcore.qbo.oauth import ensure_local_connection
from tests.conftest import PG_URL
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import statuses, turn_on_payables

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="three worker processes need a shared PostgreSQL; set QBSYNC_TEST_DATABASE_URL (CI does)")

WORKERS = 3
JOBS = 5
FINISHED = (JobStatus.DONE.value, JobStatus.FAILED.value)


@dataclass
class LeaseWatch:
    """Samples the job table and the company lease while the workers run."""

    factory: sessionmaker[Session]
    stop: threading.Event = field(default_factory=threading.Event)
    # job id -> owners seen running it while they held the company lease
    pushers: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    # at each sample: how many running jobs' owners held the company lease at that moment
    holders_per_sample: Counter[int] = field(default_factory=Counter)
    errors: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        try:
            while not self.stop.wait(0.02):
                with self.factory() as session, session.begin():
                    leases = list(session.scalars(select(CompanyLease)))
                    running = session.execute(select(Job.id, Job.lease_owner).where(
                        Job.status == JobStatus.RUNNING.value)).all()
                held = {lease.owner for lease in leases if lease.owner}
                pushing = [(job_id, owner) for job_id, owner in running if owner in held]
                self.holders_per_sample[len({owner for _, owner in pushing})] += 1
                for job_id, owner in pushing:
                    self.pushers[job_id].add(owner)
        except BaseException as exc:  # surfaced by the test's assertion
            self.errors.append(exc)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One `qbsync worker` process, its output going to a file (a full pipe would stall it)."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "qbcore.cli", "worker", "--poll", "0.2"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_ready(proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30) -> str:
    """The worker id from its first line ("worker host:pid:thread waiting for jobs")."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if "waiting for jobs" in line:
                return line.split()[1]
        time.sleep(0.05)
    raise AssertionError(f"worker {proc.pid} did not start (exit {proc.poll()}): {log.read_text(errors='replace')}")


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout_s: float = 15) -> None:
    """SIGTERM, then SIGKILL whoever has not exited by the deadline."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def worker_env(demo_factory: sessionmaker[Session], db_url: str, config: Config, tmp_path: Path) -> dict[str, str]:
    """The environment of a `qbsync worker` pointed at the test schema and the test's sandbox, already connected."""
    assert config.qbo_base_url
    ensure_local_connection(demo_factory, config)  # before the workers look, so none races to connect
    return {**os.environ, "QBSYNC_DATABASE_URL": db_url, "QBSYNC_QBO_ENV": "local",
            "QBSYNC_QBO_BASE_URL": config.qbo_base_url, "QBSYNC_DATA_DIR": str(tmp_path),
            "QBSYNC_SECRET_KEY": config.secret_key, "QBSYNC_BACKGROUND": "off", "PYTHONUNBUFFERED": "1",
            "OAUTHLIB_INSECURE_TRANSPORT": "1"}


@pytest.fixture
def team(worker_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Three running worker processes by worker id, stopped (SIGTERM, then SIGKILL) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        logs = [tmp_path / f"worker{n}.log" for n in range(WORKERS)]
        procs = [start_worker(worker_env, log) for log in logs]
        yield {wait_ready(proc, log): proc for proc, log in zip(procs, logs, strict=True)}
    finally:
        stop_workers(procs)


def queue_in_jobs(factory: sessionmaker[Session], jobs: int) -> list[int]:
    """The whole demo book, split by record id into `jobs` queued jobs (committed together)."""
    with factory() as session:
        ids = list(session.scalars(select(SyncRecord.id).order_by(SyncRecord.id)))
    size = -(-len(ids) // jobs)
    with transaction(factory) as session:
        return [enqueue_sync(session, SYSTEM, record_ids=ids[start:start + size], label=f"team part {n + 1}").id
                for n, start in enumerate(range(0, len(ids), size))]


def test_three_worker_processes_share_the_queue_and_leave_exactly_one_quickbooks_twin_per_record(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient,
    team: dict[str, subprocess.Popen[bytes]],
) -> None:
    assert len(team) == WORKERS
    watch = LeaseWatch(demo_factory)
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    turn_on_payables(demo_factory)  # the whole book, bills and bill payments too
    try:
        job_ids = queue_in_jobs(demo_factory, JOBS)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            with demo_factory() as session:
                states = set(session.scalars(select(Job.status).where(Job.id.in_(job_ids))))
            if states <= set(FINISHED):
                break
            assert all(proc.poll() is None for proc in team.values()), "a worker process died"
            time.sleep(0.2)
    finally:
        watch.stop.set()
        watcher.join(timeout=5)
    assert watch.errors == []

    # Every job done, every record synced.
    with demo_factory() as session:
        jobs = list(session.scalars(select(Job).where(Job.id.in_(job_ids))))
        assert {(job.id, job.status, job.failed) for job in jobs} == {(j, JobStatus.DONE.value, 0) for j in job_ids}
        names = list(session.scalars(select(Customer.name)))
        vendor_names = list(session.scalars(select(Vendor.name)))
        attempts = session.execute(select(SyncAttempt.sync_record_id, SyncAttempt.job_id, SyncAttempt.at,
                                          SyncAttempt.outcome).order_by(SyncAttempt.at)).all()
    assert set(statuses(demo_factory)) == {"synced"}

    # Exactly one QuickBooks invoice per DocNumber and one customer per DisplayName.
    assert sandbox.duplicates("Invoice") == [] and sandbox.duplicates("Customer") == []
    assert sandbox.duplicates("Bill") == [] and sandbox.duplicates("BillPayment") == []
    assert vendor_names and all(sandbox.count("Vendor", DisplayName=name) == 1 for name in vendor_names)
    assert all(sandbox.count("Customer", DisplayName=name) == 1 for name in names)

    # Each job pushed by exactly one worker, all three of them ours, and the work really shared.
    assert set(watch.pushers) <= set(job_ids)
    assert all(len(owners) == 1 for owners in watch.pushers.values()), dict(watch.pushers)
    owners = {owner for group in watch.pushers.values() for owner in group}
    assert owners <= set(team), (owners, set(team))
    assert len(owners) >= 2, f"one worker ran every job: {dict(watch.pushers)}"

    # The company lease never covered two pushers at once, and pushes of different jobs never interleave.
    assert max(watch.holders_per_sample) == 1 and set(watch.holders_per_sample) <= {0, 1}
    windows = defaultdict(list)
    for _, job_id, at, _ in attempts:
        windows[job_id].append(at)
    assert set(windows) <= set(job_ids) and None not in windows
    spans = sorted((min(stamps), max(stamps), job_id) for job_id, stamps in windows.items())
    assert all(earlier[1] <= later[0] for earlier, later in pairwise(spans)), spans

    # No record pushed by two jobs (so by two workers), and none written twice.
    jobs_per_record = defaultdict(set)
    for record_id, job_id, _, _ in attempts:
        jobs_per_record[record_id].add(job_id)
    assert all(len(group) == 1 for group in jobs_per_record.values())
    pushes = Counter(record_id for record_id, _, _, outcome in attempts if outcome in ("synced", "linked"))
    assert pushes and max(pushes.values()) == 1
