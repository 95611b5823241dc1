"""Bench: a team of three `qbsync worker` processes on PostgreSQL pushing ~5,000 records through a sandbox that
injects 10% faults (two kinds of five after the commit: a reset connection, a slow answer), then the same with three
kill -9 of the worker holding the company lease. Prints duplicates, lost and synced counts and wall time.

Usage: python bench/team_chaos.py [--database-url URL] [--invoices 2780] [--fault-rate 0.1] [--workers 3]
                                  [--jobs 6] [--kill 3] [--runs chaos,crash] [--latency-ms 20] [--quotas off]

One quota for a team: `--quotas production --fault-rate 0` has the sandbox enforce QuickBooks' limits while the
lease passes between workers under load (a job done, a kill -9); the run prints the handoffs and the 429s drawn.

The database URL defaults to QBSYNC_BENCH_DATABASE_URL, then QBSYNC_TEST_DATABASE_URL, then the local
postgresql+psycopg://postgres@127.0.0.1:5432/test; every run gets (and drops) its own schema there.
Faults: the sandbox's seeded injector draws one of http500, http503, expired_token (before the commit), slow, reset
(after the commit) for `--fault-rate` of all write requests (creates, updates and batches, so a faulted batch hits
every record in it). After the queued jobs finish, whatever is still on the problem list is queued again for the
workers (as the Problem Sync page's resync would), up to 6 rounds.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from sync_chaos import audit  # noqa: E402

from qbcore.access import SYSTEM  # noqa: E402
from qbcore.config import Config, QboEnvironment  # noqa: E402
from qbcore.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from qbcore.demo import write_demo_book  # noqa: E402
from qbcore.jobs.queue import NothingToSync, enqueue_sync  # noqa: E402
from qbcore.models import CompanyLease, Job, JobStatus, SyncAttempt, SyncRecord  # noqa: E402
from qbcore.qbo.gateway import QboGateway  # noqa: E402
from qbcore.qbo.limiter import UNLIMITED  # noqa: E402
from qbcore.qbo.oauth import ensure_local_connection  # noqa: E402
from qbcore.settings import load_settings  # noqa: E402
from qbcore.sync.prepare import enabled_types  # noqa: E402
from qbo_sandbox.server import SandboxOptions, start_in_thread  # noqa: E402

REALM = "9341455130166501"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FINISHED = (JobStatus.DONE.value, JobStatus.FAILED.value)
# Kinds a person must act on (bad data, a missing mapping, a closed period): a record left with one is a problem
# shown on the page, not lost. Anything else left unsynced (transient kinds, or no error at all) counts as lost.
LEGITIMATE = {"validation", "mapping", "dependency", "closed_period"}
# (QuickBooks entity, field) pairs checked with the sandbox's duplicates endpoint.
DUPLICATE_KEYS = [("Invoice", "DocNumber"), ("CreditMemo", "DocNumber"), ("Customer", "DisplayName"),
                  ("Payment", "PaymentRefNum")]


class Watch:
    """Samples the jobs and the company lease every 20 ms: who claimed each job, who pushed it under the lease."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.stop = threading.Event()
        self.claimers: dict[int, set[str]] = defaultdict(set)
        self.pushers: dict[int, set[str]] = defaultdict(set)
        self.max_pushers = 0
        self.requeued: set[int] = set()
        self.pushing_now: set[str] = set()
        self.handoffs = 0  # the lease passing from one worker to another (released, or taken after a kill -9)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last_status: dict[int, str] = {}
        last_holder: str | None = None
        while not self.stop.wait(0.02):
            try:
                with self.factory() as session, session.begin():
                    lease = session.get(CompanyLease, REALM)
                    jobs = session.execute(select(Job.id, Job.status, Job.lease_owner)).all()
            except Exception:  # a transient database hiccup must not end the watch
                continue
            holder = lease.owner if lease is not None else None
            if holder is not None and holder != last_holder:
                self.handoffs += last_holder is not None
                last_holder = holder
            pushing = set()
            for job_id, status, owner in jobs:
                if last_status.get(job_id) == JobStatus.RUNNING.value and status == JobStatus.QUEUED.value:
                    self.requeued.add(job_id)
                last_status[job_id] = status
                if status == JobStatus.RUNNING.value and owner:
                    self.claimers[job_id].add(owner)
                    if owner == holder:
                        self.pushers[job_id].add(owner)
                        pushing.add(owner)
            self.pushing_now = pushing
            self.max_pushers = max(self.max_pushers, len(pushing))

    def __enter__(self) -> Watch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


class Team:
    """The worker processes, each logging to a file; kill -9 one and start a replacement."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started = 0

    def start(self) -> str:
        """Start one worker; returns its worker id once it waits for jobs."""
        self.started += 1
        log = self.logdir / f"worker{self.started}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "qbcore.cli", "worker", "--poll", "0.2"], env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            for line in log.read_text(errors="replace").splitlines():
                if "waiting for jobs" in line:
                    self.procs[line.split()[1]] = proc
                    return line.split()[1]
            time.sleep(0.05)
        raise RuntimeError(f"worker did not start: {log.read_text(errors='replace')}")

    def kill(self, worker_id: str) -> None:
        proc = self.procs.pop(worker_id)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def queue_jobs(factory: sessionmaker[Session], jobs: int, label: str) -> list[int]:
    """Everything resyncable, split by record id into `jobs` queued jobs committed together."""
    with factory() as session:
        ids = list(session.scalars(select(SyncRecord.id).where(SyncRecord.status != "synced")
                                   .order_by(SyncRecord.id)))
    if not ids:
        return []
    size = -(-len(ids) // jobs)
    job_ids = []
    with transaction(factory) as session:
        for start in range(0, len(ids), size):
            try:
                job_ids.append(enqueue_sync(session, SYSTEM, record_ids=ids[start:start + size], label=label).id)
            except NothingToSync:
                continue
    return job_ids


def job_progress(factory: sessionmaker[Session], job_ids: list[int]) -> tuple[int, bool]:
    """Records done across the jobs, and whether every job has finished."""
    with factory() as session:
        rows = session.execute(select(Job.done, Job.status).where(Job.id.in_(job_ids))).all()
    return sum(done or 0 for done, _ in rows), all(status in FINISHED for _, status in rows)


def wait_jobs(factory: sessionmaker[Session], team: Team, watch: Watch, job_ids: list[int], *, kills: int,
              rng: random.Random, timeout_s: float = 1800) -> int:
    """Wait for the jobs; meanwhile kill -9 the lease holder `kills` times (a replacement starts each time)."""
    killed = 0
    mark = 0
    target = rng.randint(200, 600)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, finished = job_progress(factory, job_ids)
        if finished:
            return killed
        holder = next(iter(watch.pushing_now), None)  # mid-job: it holds the lease and runs a job
        if killed < kills and done - mark >= target and holder in team.procs:
            team.kill(holder)
            killed += 1
            print(f"    kill -9 #{killed}: the lease holder {holder} at {done} records done; ", end="", flush=True)
            replacement = team.start()
            print(f"replacement {replacement} started", flush=True)
            mark, target = done, rng.randint(200, 600)
        time.sleep(0.2)
    print(f"    gave up waiting after {timeout_s:.0f} s")
    return killed


def run_once(base_url: str, args: argparse.Namespace, *, kills: int) -> None:
    """One team run on a fresh schema and a fresh sandbox; prints its figures."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    engine = make_engine(url)
    try:
        migrate(engine)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            write_demo_book(session, invoices=args.invoices, seed=5, as_of=date(2026, 11, 29))
        workdir = Path(tempfile.mkdtemp(prefix="team_chaos_"))
        options = SandboxOptions(port=0, latency_ms=args.latency_ms, quotas=args.quotas, fault_rate=args.fault_rate,
                                 fault_seed=42, slow_response_s=3.0, default_realm=REALM)
        with start_in_thread(options) as sandbox:
            key = Fernet.generate_key().decode()
            config = Config(database_url=url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                            secret_key=key, data_dir=workdir)
            ensure_local_connection(factory, config)
            env = {**os.environ, "QBSYNC_DATABASE_URL": url, "QBSYNC_QBO_ENV": "local",
                   "QBSYNC_QBO_BASE_URL": sandbox.url, "QBSYNC_SECRET_KEY": key, "QBSYNC_DATA_DIR": str(workdir),
                   "QBSYNC_BACKGROUND": "off", "OAUTHLIB_INSECURE_TRANSPORT": "1", "PYTHONUNBUFFERED": "1"}
            team = Team(env, workdir)
            rng = random.Random(7)
            with Watch(factory) as watch:
                try:
                    for _ in range(args.workers):
                        team.start()
                    started = time.perf_counter()
                    job_ids = queue_jobs(factory, args.jobs, "team chaos")
                    print(f"  {len(job_ids)} jobs queued for {args.workers} workers")
                    killed = wait_jobs(factory, team, watch, job_ids, kills=kills, rng=rng)
                    first_pass = time.perf_counter() - started
                    with factory() as session:
                        synced_first = session.scalar(select(func.count()).select_from(SyncRecord).where(
                            SyncRecord.status == "synced")) or 0
                    print(f"  first pass: {synced_first} synced in {first_pass:.0f} s ({killed} kill -9)")
                    rounds = 0
                    while rounds < 6:
                        more = queue_jobs(factory, args.workers, f"resync round {rounds + 1}")
                        if not more:
                            break
                        rounds += 1
                        wait_jobs(factory, team, watch, more, kills=0, rng=rng)
                        job_ids += more
                        with factory() as session:
                            enabled = [e.value for e in enabled_types(load_settings(session))]
                            left = Counter(session.scalars(select(SyncRecord.error_kind).where(
                                SyncRecord.status != "synced", SyncRecord.entity_type.in_(enabled))))
                        print(f"  resync round {rounds}: {len(more)} jobs; still unsynced {dict(left)}")
                    seconds = time.perf_counter() - started
                finally:
                    team.stop()
            stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
            requests.post(f"{sandbox.url}/_sandbox/config", json={"fault_rate": 0}, timeout=10)
            result = audit(factory, QboGateway(factory, config, quota=UNLIMITED))
            duplicates = {}
            for entity, field in DUPLICATE_KEYS:
                answer = requests.get(f"{sandbox.url}/_sandbox/realms/{REALM}/duplicates",
                                      params={"entity": entity, "field": field}, timeout=30).json()
                duplicates[f"{entity}.{field}"] = len(answer["duplicates"])
        report(factory, job_ids, watch, stats, result, duplicates, seconds, rounds)
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            print(f"  kept schema {schema}")
        admin.dispose()


def report(factory: sessionmaker[Session], job_ids: list[int], watch: Watch, stats: dict, result: dict[str, int],
           duplicates: dict[str, int], seconds: float, rounds: int) -> None:
    """Print one run's figures."""
    with factory() as session:
        # Only the types that sync: a switched-off type's records wait by design and are not lost.
        enabled = [e.value for e in enabled_types(load_settings(session))]
        left = session.execute(select(SyncRecord.status, SyncRecord.error_kind).where(
            SyncRecord.status != "synced", SyncRecord.entity_type.in_(enabled))).all()
        pushes = Counter(session.scalars(select(SyncAttempt.sync_record_id).where(
            SyncAttempt.outcome.in_(("synced", "linked")))))
        jobs_per_record: dict[int, set[int | None]] = defaultdict(set)
        for record_id, job_id in session.execute(select(SyncAttempt.sync_record_id, SyncAttempt.job_id).where(
                SyncAttempt.outcome.in_(("synced", "linked")))):
            jobs_per_record[record_id].add(job_id)
        job_states = Counter(session.scalars(select(Job.status).where(Job.id.in_(job_ids))))
        job_errors = Counter(session.scalars(select(Job.error).where(Job.id.in_(job_ids),
                                                                    Job.status == JobStatus.FAILED.value)))
    lost = sum(1 for _, kind in left if kind not in LEGITIMATE)
    problems = Counter(f"{status}/{kind}" for status, kind in left)
    writes = {route: sum(codes.values()) for route, codes in stats["by_route"].items()
              if route.startswith("POST /v3/") and not route.endswith("/query")}
    batches = writes.get("POST /v3/company/{realm}/batch", 0)
    faulted = sum(stats["faults_injected"].values())
    print(f"  faults injected by the sandbox: {stats['faults_injected']} = {faulted} of {sum(writes.values())} write "
          f"requests ({batches} of them batches of up to 30 records); {stats['requests_total']} requests in all, "
          f"throttled {stats['throttled']}")
    print(f"  lease handoffs between workers: {watch.handoffs}; throttled (429) responses: {stats['throttled']} "
          f"{stats['throttled_by_limit']}")
    print(f"  records: {result['records']} ({result['customers']} customers, {result['invoices']} invoices, "
          f"{result['creditmemos']} credit memos, {result['payments']} payments, + items)")
    print(f"  synced: {result['synced']}; still on the problem list: {dict(problems)}")
    print(f"  duplicates (sandbox endpoint): {duplicates}; billing keys with 2+ QuickBooks twins: "
          f"{result['duplicated']}")
    print(f"  lost (unsynced without a legitimate problem): {lost}; billing keys with no QuickBooks twin: "
          f"{result['lost']}")
    print(f"  records written (created/linked) more than once: {sum(1 for n in pushes.values() if n > 1)}; "
          f"written by two jobs: {sum(1 for jobs in jobs_per_record.values() if len(jobs) > 1)}")
    print(f"  jobs: {dict(job_states)}; claimed by 2+ workers: "
          f"{sum(1 for owners in watch.claimers.values() if len(owners) > 1)}; pushed under the lease by 2+ "
          f"workers: {sum(1 for owners in watch.pushers.values() if len(owners) > 1)}; requeued (company busy): "
          f"{len(watch.requeued)}; most workers pushing at one moment: {watch.max_pushers}")
    if job_errors:
        print(f"  failed jobs' errors: {dict(job_errors)}")
    print(f"  resync rounds: {rounds}; wall time {seconds:.0f} s")


def main() -> None:
    """The chaos run, then the crash run; prints the figures of each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("QBSYNC_BENCH_DATABASE_URL")
                        or os.environ.get("QBSYNC_TEST_DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--invoices", type=int, default=2780, help="2,780 invoices make about 5,000 records")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=6, help="the book is queued as this many jobs")
    parser.add_argument("--kill", type=int, default=3, help="kill -9 of the lease holder in the crash run")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--quotas", default="off", choices=("off", "production"))
    parser.add_argument("--runs", default="chaos,crash")
    parser.add_argument("--keep", action="store_true", help="keep each run's schema for inspection")
    args = parser.parse_args()
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    print(f"{args.invoices} invoices, {args.workers} workers, {args.jobs} jobs, fault rate {args.fault_rate:.0%} "
          f"of write requests, latency {args.latency_ms:.0f} ms, sandbox quotas {args.quotas}, PostgreSQL")
    for run in args.runs.split(","):
        kills = args.kill if run == "crash" else 0
        print(f"{run} run" + (f" ({kills} kill -9 of the worker holding the company lease)" if kills else ""))
        run_once(args.database_url, args, kills=kills)


if __name__ == "__main__":
    main()
