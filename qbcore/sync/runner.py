"""Running a sync: each company's records pushed under its own lease, right here (sync_now) or as a claimed job."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from qbcore.company_directory import list_companies, resolve_company_id
from qbcore.config import Config, QboEnvironment
from qbcore.jobs.lease import CompanyBusy, WaitNotice, default_worker_id, hold_lease
from qbcore.jobs.queue import progress_writer, write_outcome
from qbcore.models import EntityType, Job, JobStatus
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.oauth import prepare_connection
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.sync.engine import SyncEngine
from qbcore.sync.records import ensure_sync_records
from qbcore.sync.selection import expand_dependencies, records_by_company, select_record_ids
from qbcore.sync.summary import SyncSummary

Progress = Callable[[SyncSummary], None]


def run_records(factory: sessionmaker[Session], config: Config, record_ids: Sequence[int], *, owner: str,
                job_id: int | None = None, progress: Progress | None = None,
                stop_event: threading.Event | None = None, gateway: QboGateway | None = None,
                wait_for_lease_s: float = 60.0, on_wait: WaitNotice | None = None) -> SyncSummary:
    """Push records, each company's under its own lease and through its own gateway (`gateway` serves its company).

    A company that needs a reconnect pauses its own records only; the other companies' records still go.
    """
    stop = stop_event or threading.Event()
    with factory() as session:
        # Nothing to push still takes the lease once, so a master pause or a busy company is reported as before.
        by_company = records_by_company(session, record_ids) or {
            gateway.company_id if gateway is not None else resolve_company_id(session, None): []}
    done = SyncSummary(total=0)
    for company_id, ids in by_company.items():
        if stop.is_set():
            return done.plus(SyncSummary(total=len(ids), stopped=True))
        company_gateway = gateway if gateway is not None and gateway.company_id == company_id else \
            _gateway_like(factory, config, gateway, company_id)
        try:
            summary = _run_company(factory, company_gateway, ids, owner=owner, job_id=job_id,
                                   progress=_after(done, progress), stop=stop,
                                   wait_for_lease_s=wait_for_lease_s, on_wait=on_wait)
        except (ReconnectRequired, NotConnected):
            if len(by_company) <= 1:
                raise
            summary = SyncSummary(total=len(ids), paused=True)  # this company waits; the others go on
        done = done.plus(summary)
    return done


def _after(done: SyncSummary, progress: Progress | None) -> Progress | None:
    """Progress of the next company's run, reported on top of what the companies before it did."""
    if progress is None:
        return None
    report = progress
    return lambda summary: report(done.plus(summary))


def _gateway_like(factory: sessionmaker[Session], config: Config, model: QboGateway | None,
                  company_id: int) -> QboGateway:
    """A gateway to another company with the same quota and retry policies as the one the caller gave."""
    if model is None:
        return QboGateway(factory, config, company_id=company_id)
    return QboGateway(factory, config, company_id=company_id, timeout_s=model.timeout_s, retry=model.retry,
                      quota=model.quota, pool=model.pool)


def _run_company(factory: sessionmaker[Session], gateway: QboGateway, record_ids: Sequence[int], *, owner: str,
                 job_id: int | None, progress: Progress | None, stop: threading.Event, wait_for_lease_s: float,
                 on_wait: WaitNotice | None) -> SyncSummary:
    with hold_lease(factory, gateway.realm_id, owner, stop=stop, wait_s=wait_for_lease_s, job_id=job_id,
                    on_wait=on_wait):
        engine = SyncEngine(factory, gateway, job_id=job_id, progress=progress, stop_event=stop)
        return engine.run(record_ids)


def detect_changes(factory: sessionmaker[Session], config: Config, entity_types: Sequence[EntityType] | None = None,
                   *, gateway: QboGateway | None = None, company_id: int | None = None) -> int:
    """Mark a company's synced records edited since their sync OUT_OF_DATE (a page button, cron); returns how many."""
    engine = SyncEngine(factory, gateway or QboGateway(factory, config, company_id=company_id))
    return engine.detect_changes(list(entity_types or list(EntityType)))


def sync_now(factory: sessionmaker[Session], config: Config, *, entity_types: Sequence[EntityType] | None = None,
             record_ids: Sequence[int] | None = None, progress: Progress | None = None,
             gateway: QboGateway | None = None, on_wait: WaitNotice | None = None,
             company_id: int | None = None) -> SyncSummary:
    """Sync right here (CLI --wait, tests): detect edits, pick waiting records and their dependencies, push them.

    Every company in turn (or only `company_id`, or only the given gateway's). A company that is not connected
    or needs a reconnect is paused on its own and the others still sync; with one company, that is an error.
    """
    if gateway is not None:
        companies = [gateway.company_id]
    elif company_id is not None:
        companies = [company_id]
    else:
        with factory() as session:
            companies = [c.id for c in list_companies(session)]
    done = SyncSummary(total=0)
    for index, company in enumerate(companies):
        try:
            summary = _sync_company(factory, config, company, entity_types=entity_types, record_ids=record_ids,
                                    progress=_after(done, progress), gateway=gateway,
                                    on_wait=on_wait)
        except NotConnected:
            if len(companies) == 1:
                raise
            summary = SyncSummary(total=0, paused=True)
        done = summary if index == 0 else done.plus(summary)
    return done


def _sync_company(factory: sessionmaker[Session], config: Config, company_id: int, *,
                  entity_types: Sequence[EntityType] | None, record_ids: Sequence[int] | None,
                  progress: Progress | None, gateway: QboGateway | None, on_wait: WaitNotice | None) -> SyncSummary:
    summary = _sync_once(factory, config, company_id, entity_types=entity_types, record_ids=record_ids,
                         progress=progress, gateway=gateway, on_wait=on_wait)
    if summary.paused and config.qbo_env is QboEnvironment.LOCAL:
        # The local sandbox can always be re-authorised without a person: reconnect and carry on once.
        first = summary

        def both(second: SyncSummary) -> None:
            if progress is not None:
                progress(combine_passes(first, second))

        second = _sync_once(factory, config, company_id, entity_types=entity_types, record_ids=record_ids,
                            progress=both if progress is not None else None, gateway=None, on_wait=on_wait)
        summary = combine_passes(first, second)
    return summary


def combine_passes(first: SyncSummary, second: SyncSummary) -> SyncSummary:
    """One summary for a run that paused, reconnected and carried on: what each pass settled, counted once."""
    # Records the first pass synced (or found unchanged) are not picked again; the ones it failed or blocked are,
    # so their outcome is the second pass's.
    settled = first.synced + first.skipped
    return SyncSummary(total=settled + second.total, synced=first.synced + second.synced, failed=second.failed,
                       blocked=second.blocked, skipped=first.skipped + second.skipped, by_kind=dict(second.by_kind),
                       paused=second.paused, stopped=second.stopped, requests=first.requests + second.requests,
                       seconds=first.seconds + second.seconds)


def _sync_once(factory: sessionmaker[Session], config: Config, company_id: int, *,
               entity_types: Sequence[EntityType] | None, record_ids: Sequence[int] | None,
               progress: Progress | None, gateway: QboGateway | None,
               on_wait: WaitNotice | None = None) -> SyncSummary:
    if not prepare_connection(factory, config, company_id):
        raise NotConnected("QuickBooks is not connected; connect it in Settings")
    gateway = gateway or QboGateway(factory, config, company_id=company_id)
    types = list(entity_types or list(EntityType))
    try:
        detect_changes(factory, config, types, gateway=gateway)
    except ReconnectRequired:
        return SyncSummary(total=0, paused=True)
    if record_ids is None:
        with factory() as session, session.begin():
            ensure_sync_records(session, derived_only=True)  # settlements as routing bills them now
    with factory() as session:
        ids = select_record_ids(session, entity_types=types, record_ids=record_ids, company_id=company_id)
        ids = expand_dependencies(session, ids)
    return run_records(factory, config, ids, owner=f"sync-now:{default_worker_id()}", progress=progress,
                       gateway=gateway, on_wait=on_wait)


def run_sync_job(factory: sessionmaker[Session], config: Config, job: Job, *, worker_id: str,
                 stop_event: threading.Event | None = None, gateway: QboGateway | None = None) -> SyncSummary:
    """Run one claimed sync job to its end (DONE), a pause (PAUSED) or a stop (back to QUEUED)."""
    record_ids = list((job.params or {}).get("record_ids") or [])
    with factory() as session:
        record_ids = expand_dependencies(session, record_ids) if record_ids else []
    try:
        summary = run_records(factory, config, record_ids, owner=worker_id, job_id=job.id,
                              progress=progress_writer(factory, job.id), stop_event=stop_event, gateway=gateway)
    except CompanyBusy:
        write_outcome(factory, job.id, SyncSummary(total=len(record_ids)), JobStatus.QUEUED)
        return SyncSummary(total=len(record_ids), stopped=True)
    except (ReconnectRequired, NotConnected) as exc:
        summary = SyncSummary(total=len(record_ids), paused=True)
        write_outcome(factory, job.id, summary, JobStatus.PAUSED, error=str(exc))
        return summary
    if summary.paused:
        write_outcome(factory, job.id, summary, JobStatus.PAUSED,
                      error="QuickBooks needs to be reconnected; the job resumes afterwards")
    elif summary.stopped:
        write_outcome(factory, job.id, summary, JobStatus.QUEUED)
    else:
        write_outcome(factory, job.id, summary, JobStatus.DONE)
    return summary
