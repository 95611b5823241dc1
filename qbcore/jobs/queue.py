"""The job queue: enqueue, claim, write and read progress; the jobs table is its only state."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, and_, false, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM, Actor, require_role, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.db import rows_changed
from qbcore.models import (
    PROBLEM_STATUSES,
    Company,
    EntityType,
    Job,
    JobStatus,
    Role,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.refusals import Refusal

SYNC_KIND = "sync"  # push sync records to QuickBooks (qbcore.sync)
PULL_KIND = "pull"  # pull changes back from QuickBooks (qbcore.pull)
# A claimed job's own lease: renewed while it runs, so a dead worker's job is claimed again once it lapses.
JOB_LEASE = timedelta(seconds=30)
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
PROGRESS_EVERY_S = 0.5
# Statuses a resync may pick up; synced, cleared and paid-outside records need a deliberate action first.
RESYNCABLE = tuple(s.value for s in PROBLEM_STATUSES)


class NothingToSync(Refusal, ValueError):
    """The selection holds no record that can be resynced."""

    nothing_to_do = True


class Progressing(Protocol):
    """A run's summary that can be written onto its job row."""

    def job_counts(self) -> dict[str, Any]:
        """total, done, succeeded, failed and summary, as the jobs table stores them."""
        ...


# -- enqueue -----------------------------------------------------------------------------------------------------
def enqueue_sync(
    session: Session,
    actor: Actor,
    *,
    record_ids: Sequence[int] | Select[int] | None = None,
    entity_types: Sequence[EntityType] | None = None,
    label: str | None = None,
    company_id: int | None = None,
) -> Job:
    """Queue a sync of the chosen sync records (ids, or a SELECT of ids run in the database), of one company if set."""
    require_role(actor, Role.OPERATOR, "resync", session=session)
    query = select(SyncRecord.id).where(SyncRecord.status.in_(RESYNCABLE))
    if company_id is not None:
        query = query.where(SyncRecord.company_id == company_id)
    if isinstance(record_ids, Select):
        query = query.where(SyncRecord.id.in_(record_ids.scalar_subquery()))
    elif record_ids is not None:
        query = query.where(SyncRecord.id.in_(list(record_ids)))
    if entity_types:
        query = query.where(SyncRecord.entity_type.in_([e.value for e in entity_types]))
    ids = list(session.scalars(query.order_by(SyncRecord.id)))
    if not ids:
        raise NothingToSync("none of the selected records can be resynced (synced, cleared or paid ones are skipped)",
                            action="resync")
    for chunk in chunked(ids, SQL_IN_CHUNK):
        session.execute(
            update(SyncRecord)
            .where(SyncRecord.id.in_(chunk), SyncRecord.status != SyncStatus.BLOCKED.value)
            .values(status=SyncStatus.PENDING.value)
        )
    params: dict[str, Any] = {"record_ids": ids, "label": label}
    if company_id is not None:
        params["company_id"] = company_id  # a job of one company: another company's jobs need not wait for it
    job = Job(kind=SYNC_KIND, params=params, total=len(ids), created_by=actor.email)
    session.add(job)
    session.flush()
    write_audit(session, actor, "resync", target_type="job", target_id=job.id, after={"records": len(ids)},
                reason=label)
    return job


def enqueue_sync_job(factory: sessionmaker[Session], *, entity_types: Sequence[EntityType] | None,
                     record_ids: Sequence[int] | None, company_id: int | None = None) -> int:
    """Queue a sync job (of one company, when given) as the system actor (CLI without --wait); returns its id."""
    with factory() as session, session.begin():
        return enqueue_sync(session, SYSTEM, record_ids=record_ids, entity_types=entity_types,
                            company_id=company_id).id


# -- claim and keep ------------------------------------------------------------------------------------------------
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
        claimed = rows_changed(session.execute(
            update(Job).where(Job.id == job_id, claimable)
            .values(status=JobStatus.RUNNING.value, lease_owner=worker_id, lease_expires_at=now + JOB_LEASE,
                    started_at=now)
        ))
        if not claimed:
            return None
    with factory() as session:
        return session.get(Job, job_id)


def renew_job_lease(factory: sessionmaker[Session], job_id: int, owner: str) -> None:
    """Keep a claimed job ours (no other worker may claim it while we run or wait for its company)."""
    with factory() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id, Job.lease_owner == owner)
                        .values(lease_expires_at=utcnow() + JOB_LEASE))


def resume_paused_jobs(factory: sessionmaker[Session], connected: set[int] | None = None) -> int:
    """Requeue jobs paused for a reconnect whose companies are connected again (all paused jobs when None).

    A job of one company resumes when that company is connected; a job spanning companies when all of them are.
    """
    with factory() as session, session.begin():
        query = update(Job).where(Job.status == JobStatus.PAUSED.value)
        if connected is not None:
            owner = Job.params["company_id"].as_integer()
            every = session.scalar(select(func.count()).select_from(Company).where(Company.id.not_in(connected))) == 0
            query = query.where(or_(owner.in_(sorted(connected)), and_(owner.is_(None), true() if every else false())))
        return rows_changed(session.execute(query.values(status=JobStatus.QUEUED.value, error=None,
                                                         lease_owner=None).execution_options(synchronize_session=False)))


# -- progress --------------------------------------------------------------------------------------------------------
def write_job_progress(factory: sessionmaker[Session], job_id: int, counts: dict[str, Any], *,
                       status: JobStatus | None = None, error: str | None = None) -> None:
    """Write a job's counters (done, total, succeeded, failed, summary) and, when given, its new status."""
    values: dict[str, Any] = dict(counts)
    if status is not None:
        values["status"] = status.value
        if status in (JobStatus.DONE, JobStatus.FAILED):
            values["finished_at"] = utcnow()
        if status is not JobStatus.RUNNING:
            # A job back in the queue (or ended) belongs to no worker.
            values["lease_owner"] = None
    if error is not None:
        values["error"] = error
    with factory() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(**values))


def write_outcome(factory: sessionmaker[Session], job_id: int, summary: Progressing, status: JobStatus, *,
                  error: str | None = None) -> None:
    """Write a run's final counts and where the job now stands."""
    write_job_progress(factory, job_id, summary.job_counts(), status=status, error=error)


def progress_writer(factory: sessionmaker[Session], job_id: int, *, every_s: float = PROGRESS_EVERY_S
                    ) -> Callable[[Progressing], None]:
    """A progress callback that writes the job's counts at most every `every_s` seconds."""
    last = [0.0]

    def write(summary: Progressing) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            write_job_progress(factory, job_id, summary.job_counts())

    return write


# -- reading -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobProgress:
    """A resync job as the page shows it: progress, and once finished what became of its records."""

    job_id: int
    status: JobStatus
    total: int
    done: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    synced: int
    still_failing: dict[str, int]
    error: str | None

    @property
    def is_active(self) -> bool:
        """True while queued or running."""
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def fraction(self) -> float:
        """Share done, 0..1."""
        return 0.0 if not self.total else min(1.0, self.done / self.total)


def list_recent_jobs(session: Session, limit: int = 10) -> list[Job]:
    """Newest jobs first."""
    return list(session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))


def has_active_job(session: Session, company_id: int | None = None) -> bool:
    """True while a job is queued or running (of that company, or one spanning every company, when given)."""
    query = select(Job.id).where(Job.status.in_(ACTIVE))
    if company_id is not None:
        owner = Job.params["company_id"].as_integer()
        query = query.where(or_(owner == company_id, owner.is_(None)))
    return session.scalar(query.limit(1)) is not None


def _job_progress(session: Session, job: Job) -> JobProgress:
    status = JobStatus(job.status)
    synced, failing = 0, {}
    if status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        ids = list((job.params or {}).get("record_ids") or [])
        counts: dict[str, int] = {}
        for chunk in chunked(ids, SQL_IN_CHUNK):
            rows = session.execute(
                select(SyncRecord.status, SyncRecord.error_kind, func.count())
                .where(SyncRecord.id.in_(chunk))
                .group_by(SyncRecord.status, SyncRecord.error_kind)
            ).all()
            for record_status, kind, count in rows:
                if record_status == SyncStatus.SYNCED.value:
                    synced += count
                elif record_status in (SyncStatus.FAILED.value, SyncStatus.BLOCKED.value):
                    counts[kind or "unknown"] = counts.get(kind or "unknown", 0) + count
        failing = dict(sorted(counts.items(), key=lambda item: -item[1]))
    return JobProgress(
        job_id=job.id, status=status, total=job.total, done=job.done, created_by=job.created_by,
        created_at=job.created_at, finished_at=job.finished_at,
        synced=synced, still_failing=failing, error=job.error,
    )


def get_latest_resync(session: Session, known: JobProgress | None = None) -> JobProgress | None:
    """The newest active sync job, else the newest finished one, with its outcome (`known` if it is that job)."""
    job = session.scalar(select(Job).where(Job.kind == SYNC_KIND, Job.status.in_(ACTIVE))
                         .order_by(Job.id.desc()).limit(1))
    if job is None:
        job = session.scalar(select(Job).where(Job.kind == SYNC_KIND).order_by(Job.id.desc()).limit(1))
    if job is None:
        return None
    if known is not None and known.job_id == job.id and not known.is_active and job.status == known.status.value:
        return known
    return _job_progress(session, job)
