"""Bulk work as jobs: enqueue, read progress; workers claim and run them (qbcore.sync.worker)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.models import PROBLEM_STATUSES, EntityType, Job, JobStatus, Role, SyncRecord, SyncStatus, utcnow
from qbcore.refusals import Refusal

# Statuses a resync may pick up; synced, cleared and paid-outside records need a deliberate action first.
RESYNCABLE = tuple(s.value for s in PROBLEM_STATUSES)


class NothingToSync(Refusal, ValueError):
    """The selection holds no record that can be resynced."""

    nothing_to_do = True


def enqueue_sync(
    session: Session,
    actor: Actor,
    *,
    record_ids: Sequence[int] | Select[tuple[int]] | None = None,
    entity_types: Sequence[EntityType] | None = None,
    kind: str = "sync",
    label: str | None = None,
) -> Job:
    """Queue a sync of the chosen sync records (ids, or a SELECT of ids run in the database)."""
    require_role(actor, Role.OPERATOR, "resync", session=session)
    query = select(SyncRecord.id).where(SyncRecord.status.in_(RESYNCABLE))
    if isinstance(record_ids, Select):
        query = query.where(SyncRecord.id.in_(record_ids.scalar_subquery()))
    elif record_ids is not None:
        query = query.where(SyncRecord.id.in_(list(record_ids)))
    if entity_types:
        query = query.where(SyncRecord.entity_type.in_([e.value for e in entity_types]))
    ids = list(session.scalars(query.order_by(SyncRecord.id)))
    if not ids:
        raise NothingToSync("none of the selected records can be resynced (synced, cleared or paid ones are skipped)")
    for start in range(0, len(ids), 900):
        session.execute(
            update(SyncRecord)
            .where(SyncRecord.id.in_(ids[start:start + 900]), SyncRecord.status != SyncStatus.BLOCKED.value)
            .values(status=SyncStatus.PENDING.value)
        )
    job = Job(kind=kind, params={"record_ids": ids, "label": label}, total=len(ids), created_by=actor.email)
    session.add(job)
    session.flush()
    write_audit(session, actor, "resync", target_type="job", target_id=job.id, after={"records": len(ids)},
                reason=label)
    return job


def get_job(session: Session, job_id: int) -> Job | None:
    """One job by id."""
    return session.get(Job, job_id)


def list_recent_jobs(session: Session, limit: int = 10) -> list[Job]:
    """Newest jobs first."""
    return list(session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))


def has_active_job(session: Session) -> bool:
    """True while a job is queued or running."""
    active = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
    return session.scalar(select(Job.id).where(Job.status.in_(active)).limit(1)) is not None


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
