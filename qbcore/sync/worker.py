"""Workers: claim queued jobs, hold the company's lease while pushing, write progress; and sync_now for the CLI."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.config import Config, QboEnvironment
from qbcore.models import ConnectionStatus, EntityType, Job, JobStatus, utcnow
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.oauth import ensure_local_connection, get_connection_state
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.sync.engine import SyncEngine, SyncSummary
from qbcore.sync.jobs import enqueue_sync, write_job_progress
from qbcore.sync.lease import LEASE_TTL, acquire_lease, release_lease, renew_lease
from qbcore.sync.selection import expand_dependencies, select_record_ids

log = logging.getLogger(__name__)

JOB_LEASE = timedelta(seconds=30)
PULL_KIND = "pull"  # jobs of this kind belong to qbcore.pull (QuickBooks → billing); the rest push
PROGRESS_EVERY_S = 0.5

GatewayFactory = Callable[[sessionmaker[Session], Config], QboGateway]


class CompanyBusy(RuntimeError):
    """Another worker holds this QuickBooks company's lease."""


def default_worker_id() -> str:
    """host:pid:thread — unique per running worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def prepare_connection(factory: sessionmaker[Session], config: Config) -> bool:
    """True when QuickBooks is usable; in local mode connects (or reconnects) to the sandbox first."""
    if config.qbo_env is QboEnvironment.LOCAL:
        try:
            ensure_local_connection(factory, config)
        # The sandbox may be down or starting; the worker simply waits and tries again.
        except Exception as exc:
            log.warning("local QuickBooks sandbox not reachable: %s", exc)
            return False
    with factory() as session:
        return get_connection_state(session).status == ConnectionStatus.CONNECTED


class _LeaseKeeper:
    """Renews the company lease (and the job's) in the background; sets `lost` when someone took it."""

    def __init__(self, factory: sessionmaker[Session], realm_id: str, owner: str, job_id: int | None,
                 stop: threading.Event) -> None:
        self.factory, self.realm_id, self.owner, self.job_id = factory, realm_id, owner, job_id
        self.stop = stop
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="qbsync-lease", daemon=True)

    def _run(self) -> None:
        interval = LEASE_TTL.total_seconds() / 3
        while not self.done.wait(interval):
            if not renew_lease(self.factory, self.realm_id, self.owner):
                log.warning("lost the lease of company %s; stopping", self.realm_id)
                self.stop.set()
                return
            if self.job_id is not None:
                with self.factory() as session, session.begin():
                    session.execute(update(Job).where(Job.id == self.job_id, Job.lease_owner == self.owner)
                                    .values(lease_expires_at=utcnow() + JOB_LEASE))

    def __enter__(self) -> _LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)


def run_records(factory: sessionmaker[Session], config: Config, record_ids: Sequence[int], *, owner: str,
                job_id: int | None = None, progress: Callable[[SyncSummary], None] | None = None,
                stop_event: threading.Event | None = None, gateway: QboGateway | None = None,
                wait_for_lease_s: float = 60.0) -> SyncSummary:
    """Push records under the company's lease (waiting for it up to wait_for_lease_s)."""
    gateway = gateway or QboGateway(factory, config)
    realm_id = gateway.realm_id
    deadline = time.monotonic() + wait_for_lease_s
    while not acquire_lease(factory, realm_id, owner):
        if time.monotonic() > deadline:
            raise CompanyBusy(f"another worker is syncing QuickBooks company {realm_id}")
        if job_id is not None:
            # Still ours while we wait for the company: no other worker may claim this job meanwhile.
            _renew_job_lease(factory, job_id, owner)
        time.sleep(0.5)
    stop = stop_event or threading.Event()
    try:
        with _LeaseKeeper(factory, realm_id, owner, job_id, stop):
            engine = SyncEngine(factory, config, gateway, job_id=job_id, progress=progress, stop_event=stop)
            return engine.run(record_ids)
    finally:
        release_lease(factory, realm_id, owner)


def detect_changes(factory: sessionmaker[Session], config: Config, entity_types: Sequence[EntityType] | None = None,
                   *, gateway: QboGateway | None = None) -> int:
    """Mark synced records edited since their sync OUT_OF_DATE (for a page button or cron); returns how many."""
    engine = SyncEngine(factory, config, gateway or QboGateway(factory, config))
    return engine.detect_changes(list(entity_types or list(EntityType)))


def _renew_job_lease(factory: sessionmaker[Session], job_id: int, owner: str) -> None:
    with factory() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner)
                        .values(lease_expires_at=utcnow() + JOB_LEASE))


def sync_now(factory: sessionmaker[Session], config: Config, *, entity_types: Sequence[EntityType] | None = None,
             record_ids: Sequence[int] | None = None, progress: Callable[[SyncSummary], None] | None = None,
             gateway: QboGateway | None = None) -> SyncSummary:
    """Sync right here (CLI --wait, tests): detect edits, pick waiting records and their dependencies, push them."""
    summary = _sync_once(factory, config, entity_types=entity_types, record_ids=record_ids, progress=progress,
                         gateway=gateway)
    if summary.paused and config.qbo_env is QboEnvironment.LOCAL:
        # The local sandbox can always be re-authorised without a person: reconnect and carry on once.
        summary = _sync_once(factory, config, entity_types=entity_types, record_ids=record_ids, progress=progress,
                             gateway=None)
    return summary


def _sync_once(factory: sessionmaker[Session], config: Config, *, entity_types: Sequence[EntityType] | None,
               record_ids: Sequence[int] | None, progress: Callable[[SyncSummary], None] | None,
               gateway: QboGateway | None) -> SyncSummary:
    if not prepare_connection(factory, config):
        raise NotConnected("QuickBooks is not connected; connect it in Settings")
    gateway = gateway or QboGateway(factory, config)
    types = list(entity_types or list(EntityType))
    try:
        detect_changes(factory, config, types, gateway=gateway)
    except ReconnectRequired:
        return SyncSummary(total=0, paused=True)
    with factory() as session:
        ids = select_record_ids(session, entity_types=types, record_ids=record_ids)
        ids = expand_dependencies(session, ids)
    return run_records(factory, config, ids, owner=f"sync-now:{default_worker_id()}", progress=progress,
                       gateway=gateway)


# -- jobs --------------------------------------------------------------------------------------------------
def claim_job(factory: sessionmaker[Session], worker_id: str) -> Job | None:
    """Take the oldest queued job, or a running one whose worker died (lease expired)."""
    now = utcnow()
    claimable = or_(Job.status == JobStatus.QUEUED.value,
                    and_(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < now))
    with factory() as session, session.begin():
        query = select(Job.id).where(claimable).order_by(Job.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_id = session.scalar(query)
        if job_id is None:
            return None
        # Guarded: on SQLite two workers may pick the same id; only one UPDATE matches.
        claimed = session.execute(
            update(Job).where(Job.id == job_id, claimable)
            .values(status=JobStatus.RUNNING.value, lease_owner=worker_id, lease_expires_at=now + JOB_LEASE,
                    started_at=now)
        ).rowcount
        if not claimed:
            return None
    with factory() as session:
        return session.get(Job, job_id)


def _write_progress(factory: sessionmaker[Session], job_id: int, summary: SyncSummary, *,
                    status: JobStatus | None = None, error: str | None = None) -> None:
    counts = {
        "total": max(summary.total, summary.done),
        "done": summary.done, "succeeded": summary.synced + summary.skipped,
        "failed": summary.failed + summary.blocked,
        "summary": {"by_kind": summary.by_kind, "blocked": summary.blocked, "skipped": summary.skipped,
                    "requests": summary.requests, "seconds": round(summary.seconds, 2), "paused": summary.paused},
    }
    write_job_progress(factory, job_id, counts, status=status, error=error)


def run_job(factory: sessionmaker[Session], config: Config, job: Job, *, worker_id: str,
            stop_event: threading.Event | None = None, gateway: QboGateway | None = None) -> SyncSummary:
    """Run one claimed job to its end (DONE), a pause (PAUSED) or a stop (back to QUEUED)."""
    last = [0.0]

    def progress(summary: SyncSummary) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            _write_progress(factory, job.id, summary)

    record_ids = list((job.params or {}).get("record_ids") or [])
    with factory() as session:
        record_ids = expand_dependencies(session, record_ids) if record_ids else []
    try:
        summary = run_records(factory, config, record_ids, owner=worker_id, job_id=job.id, progress=progress,
                              stop_event=stop_event, gateway=gateway)
    except CompanyBusy:
        _write_progress(factory, job.id, SyncSummary(total=len(record_ids)), status=JobStatus.QUEUED)
        return SyncSummary(total=len(record_ids), stopped=True)
    except (ReconnectRequired, NotConnected) as exc:
        summary = SyncSummary(total=len(record_ids), paused=True)
        _write_progress(factory, job.id, summary, status=JobStatus.PAUSED, error=str(exc))
        return summary
    if summary.paused:
        _write_progress(factory, job.id, summary, status=JobStatus.PAUSED,
                        error="QuickBooks needs to be reconnected; the job resumes afterwards")
    elif summary.stopped:
        _write_progress(factory, job.id, summary, status=JobStatus.QUEUED)
    else:
        _write_progress(factory, job.id, summary, status=JobStatus.DONE)
    return summary


def resume_paused_jobs(factory: sessionmaker[Session]) -> int:
    """Requeue jobs paused for a reconnect (call once the connection is healthy again)."""
    with factory() as session, session.begin():
        return session.execute(update(Job).where(Job.status == JobStatus.PAUSED.value)
                               .values(status=JobStatus.QUEUED.value, error=None, lease_owner=None)).rowcount or 0


def run_worker(factory: sessionmaker[Session], config: Config, *, worker_id: str | None = None,
               stop_event: threading.Event | None = None, poll_s: float = 1.0, once: bool = False,
               gateway_factory: GatewayFactory | None = None) -> int:
    """Claim and run jobs (sync pushes, and pulls) until stopped, or with once=True until the queue is empty."""
    worker_id = worker_id or default_worker_id()
    stop = stop_event or threading.Event()
    ran = 0
    while not stop.is_set():
        if not prepare_connection(factory, config):
            if once:
                return ran
            stop.wait(poll_s)
            continue
        resume_paused_jobs(factory)
        job = claim_job(factory, worker_id)
        if job is None:
            if once:
                return ran
            stop.wait(poll_s)
            continue
        gateway = gateway_factory(factory, config) if gateway_factory else None
        try:
            if job.kind == PULL_KIND:
                from qbcore.pull.runner import run_pull_job  # the pull side's own job runner

                pulled = run_pull_job(factory, config, job, worker_id=worker_id, stop_event=stop, gateway=gateway)
                ran += 1
                if pulled.paused and once:
                    return ran
                continue
            summary = run_job(factory, config, job, worker_id=worker_id, stop_event=stop, gateway=gateway)
        # A passing database error (a restart, no free connection) requeues the job instead of failing it.
        except OperationalError as exc:
            log.warning("job %s interrupted by the database (%s); requeued", job.id, exc)
            with contextlib.suppress(OperationalError):
                _write_progress(factory, job.id, SyncSummary(total=job.total), status=JobStatus.QUEUED)
            if once:
                return ran
            stop.wait(poll_s * 5)
            continue
        # A job's crash must not kill the worker loop; the job is marked failed with the reason.
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            _write_progress(factory, job.id, SyncSummary(total=job.total), status=JobStatus.FAILED, error=str(exc))
            continue
        ran += 1
        if summary.paused and once:
            return ran
    return ran


def enqueue_sync_job(factory: sessionmaker[Session], config: Config, *, entity_types: Sequence[EntityType] | None,
                     record_ids: Sequence[int] | None) -> int:
    """Queue a sync job as the system actor (CLI without --wait); returns the job id."""
    with factory() as session, session.begin():
        job = enqueue_sync(session, SYSTEM, record_ids=record_ids, entity_types=entity_types)
        return job.id
