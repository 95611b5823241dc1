"""The worker: claim queued jobs one at a time and run each with the runner its kind names."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.alerts.outbox import deliver_in_worker
from qbcore.company_directory import list_companies
from qbcore.config import Config
from qbcore.jobs.lease import default_worker_id
from qbcore.jobs.queue import (
    PULL_KIND,
    SYNC_KIND,
    claim_job,
    resume_paused_jobs,
    write_job_progress,
)
from qbcore.models import Job, JobStatus
from qbcore.pull.runner import run_pull_job
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.oauth import prepare_connection
from qbcore.sync.runner import run_sync_job

log = logging.getLogger(__name__)

GatewayFactory = Callable[[sessionmaker[Session], Config], QboGateway]


class Outcome(Protocol):
    """What a runner returns: whether the job paused for a reconnect."""

    @property
    def paused(self) -> bool:
        """True when QuickBooks needs a person to reconnect before the job can go on."""
        ...


class JobRunner(Protocol):
    """Runs one claimed job to its end, a pause or a stop, writing its progress and status."""

    def __call__(self, factory: sessionmaker[Session], config: Config, job: Job, *, worker_id: str,
                 stop_event: threading.Event | None = None, gateway: QboGateway | None = None) -> Outcome:
        """Run the job."""
        ...


# Which runner a job's kind calls; a new kind of job is one line here.
RUNNERS: dict[str, JobRunner] = {SYNC_KIND: run_sync_job, PULL_KIND: run_pull_job}


def _set_status(factory: sessionmaker[Session], job: Job, *, status: JobStatus, error: str | None = None) -> None:
    counts = {"total": job.total, "done": 0, "succeeded": 0, "failed": 0}
    write_job_progress(factory, job.id, counts, status=status, error=error)


def connected_companies(factory: sessionmaker[Session], config: Config) -> set[int]:
    """The companies whose QuickBooks is usable now (local mode reconnects each to the sandbox first)."""
    with factory() as session:
        companies = [c.id for c in list_companies(session)]
    return {company_id for company_id in companies if prepare_connection(factory, config, company_id)}


def run_worker(factory: sessionmaker[Session], config: Config, *, worker_id: str | None = None,
               stop_event: threading.Event | None = None, poll_s: float = 1.0, once: bool = False,
               gateway_factory: GatewayFactory | None = None) -> int:
    """Claim and run jobs until stopped, or with once=True until the queue is empty; returns how many ran."""
    worker_id = worker_id or default_worker_id()
    stop = stop_event or threading.Event()
    ran = 0
    while not stop.is_set():
        deliver_in_worker(factory, config.secret_key)  # before the connection check: a disconnect is news too
        connected = connected_companies(factory, config)
        if not connected:
            if once:
                return ran
            stop.wait(poll_s)
            continue
        resume_paused_jobs(factory, connected)
        job = claim_job(factory, worker_id)
        if job is None:
            if once:
                return ran
            stop.wait(poll_s)
            continue
        runner = RUNNERS.get(job.kind)
        if runner is None:
            _set_status(factory, job, status=JobStatus.FAILED, error=f"no worker runs jobs of kind {job.kind!r}")
            continue
        gateway = gateway_factory(factory, config) if gateway_factory else None
        try:
            outcome = runner(factory, config, job, worker_id=worker_id, stop_event=stop, gateway=gateway)
        # A passing database error (a restart, no free connection) requeues the job instead of failing it.
        except OperationalError as exc:
            log.warning("job %s interrupted by the database (%s); requeued", job.id, exc)
            with contextlib.suppress(OperationalError):
                _set_status(factory, job, status=JobStatus.QUEUED)
            if once:
                return ran
            stop.wait(poll_s * 5)
            continue
        # A job's crash must not kill the worker loop; the job is marked failed with the reason.
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            _set_status(factory, job, status=JobStatus.FAILED, error=str(exc))
            continue
        ran += 1
        if outcome.paused and once:
            return ran
    return ran
