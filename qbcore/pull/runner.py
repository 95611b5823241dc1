"""The pull: page through QuickBooks' Change Data Capture per entity, apply each page with its bookmark, as a job."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore import labels
from qbcore.access import SYSTEM, Actor, require_role, write_audit
from qbcore.chunks import QBO_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.config import Config
from qbcore.entities.registry import ENTITIES
from qbcore.errors import QboCallError
from qbcore.jobs.lease import CompanyBusy, hold_lease
from qbcore.jobs.queue import PULL_KIND, progress_writer, write_outcome
from qbcore.models import EntityType, Job, JobStatus, Role, SyncRecord, SyncStatus, utcnow
from qbcore.pull.apply import ApplyCounts, apply_payments, detect_drift, missing_records
from qbcore.pull.bill_payments import apply_bill_payments
from qbcore.pull.bookmark import load_bookmarks, save_book_close_date, save_bookmark
from qbcore.qbo.cdc import (
    fetch_changed_at,
    fetch_changes,
    format_moment,
    last_updated,
    next_second,
    parse_moment,
    read_book_close_date,
)
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.oauth import prepare_connection
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.settings import SyncSettings, load_settings

log = logging.getLogger(__name__)

PULL_LABEL = "Pull changes from QuickBooks"
# Payments first: they are what finance waits for; then the forms whose drift we watch (a Bill is a settlement's
# or a carrier bill's).
FORM_TYPES: dict[str, tuple[EntityType, ...]] = {}
for _spec in ENTITIES:
    if _spec.sales_form or _spec.watched is not None:
        FORM_TYPES[_spec.qbo_object] = (*FORM_TYPES.get(_spec.qbo_object, ()), _spec.entity_type)
PULL_ENTITIES = (*dict.fromkeys(spec.qbo_object for spec in ENTITIES if spec.pulled_payments), *FORM_TYPES)
LOOKBACK = timedelta(days=30)  # CDC's documented look-back; a first pull starts here
SETTLED = timedelta(seconds=60)
PULL_LEASE = timedelta(minutes=5)  # a pull's own lease per company, kept renewed while it runs

Progress = Callable[["PullSummary"], None]


@dataclass(frozen=True)
class PullSummary:
    """What a pull did: changes read, payments applied/proposed/reversed, drift found, cost in requests."""

    changes: int = 0
    pages: int = 0
    applied: int = 0
    proposed: int = 0
    reversed: int = 0
    drifts: int = 0
    ignored: int = 0
    bill_payments: int = 0
    requests: int = 0
    seconds: float = 0.0
    book_close_date: date | None = None
    bookmarks: dict[str, str] = field(default_factory=dict)
    paused: bool = False
    stopped: bool = False
    error: str | None = None

    @property
    def done(self) -> int:
        """Changes processed (a job's progress)."""
        return self.changes

    def sentence(self) -> str:
        """One line for people."""
        text = (f"{self.changes:,} changes read in {self.pages} pages: {self.applied} payments applied, "
                f"{self.proposed} proposed, {self.reversed} reversed, "
                f"{labels.plural(self.bill_payments, 'bill payment')} applied, {self.drifts} new drifts "
                f"({self.requests} QuickBooks requests, {self.seconds:.1f} s)")
        if self.book_close_date:
            text += f"; books closed through {self.book_close_date.isoformat()}"
        return text

    def job_counts(self) -> dict[str, object]:
        """The counts a pull job's row keeps."""
        return {"done": self.done, "total": self.done, "succeeded": self.done, "failed": 0,
                "summary": self.as_dict()}

    def as_dict(self) -> dict[str, object]:
        """JSON form for Job.summary."""
        return {"changes": self.changes, "pages": self.pages, "applied": self.applied, "proposed": self.proposed,
                "reversed": self.reversed, "drifts": self.drifts, "ignored": self.ignored,
                "bill_payments": self.bill_payments, "requests": self.requests, "seconds": round(self.seconds, 2),
                "paused": self.paused,
                "book_close_date": self.book_close_date.isoformat() if self.book_close_date else None,
                "text": self.sentence()}


class _Run:
    def __init__(self, gateway: QboGateway, progress: Progress | None) -> None:
        self.counts = ApplyCounts()
        self.pages = 0
        self.gateway = gateway
        self.first_call = gateway.calls
        self.started = time.perf_counter()
        self.progress = progress
        self.close_date: date | None = None
        self.bookmarks: dict[str, str] = {}

    def summary(self, **extra: object) -> PullSummary:
        c = self.counts
        return PullSummary(changes=c.changes, pages=self.pages, applied=c.applied, proposed=c.proposed,
                           reversed=c.reversed, drifts=c.drifts, ignored=c.ignored, bill_payments=c.bill_payments,
                           requests=self.gateway.calls - self.first_call, seconds=time.perf_counter() - self.started,
                           book_close_date=self.close_date, bookmarks=dict(self.bookmarks), **extra)  # type: ignore[arg-type]

    def add(self, counts: ApplyCounts) -> None:
        self.counts.add(counts)
        self.pages += 1
        if self.progress is not None:
            self.progress(self.summary())


def apply_changes(session: Session, entity: str, rows: list[dict[str, Any]], settings: SyncSettings,
                  company_id: int | None = None) -> ApplyCounts:
    """Apply one page of one company's changes of one entity (the caller commits it with the bookmark)."""
    if entity == "Payment":
        return apply_payments(session, rows, settings, company_id)
    if entity == "BillPayment":
        return apply_bill_payments(session, rows, company_id)
    counts = ApplyCounts(changes=len(rows))
    for entity_type in FORM_TYPES[entity]:
        found = detect_drift(session, entity_type, rows, settings, company_id)
        found.changes = 0
        counts.add(found)
    return counts


def _is_pulled(entity: str, settings: SyncSettings) -> bool:
    """Payments and sales forms always; bills and bill payments while settlements or carrier bills sync."""
    specs = [spec for spec in ENTITIES if spec.pulled_payments and spec.qbo_object == entity]
    bills = [spec for spec in ENTITIES if spec.watched is not None and spec.qbo_object == entity]
    if bills:
        return any(spec.is_enabled(settings) for spec in bills)
    return not specs or any(all(getattr(settings, name) for name in spec.switched_by) for spec in specs)


def _newest(rows: list[dict[str, Any]]) -> str | None:
    stamps = [s for s in (last_updated(r) for r in rows) if s]
    return max(stamps, key=parse_moment) if stamps else None


def _pull_entity(factory: sessionmaker[Session], gateway: QboGateway, entity: str, since: datetime,
                 settings: SyncSettings, run: _Run, stop: threading.Event) -> None:
    overflowed = False
    while not stop.is_set():
        page = fetch_changes(gateway, entity, since)
        rows = page.objects
        newest = _newest(rows)
        if page.is_full:
            overflowed = True
            if newest is None or parse_moment(newest) <= since:
                # More than 1,000 changes in one second: read that second by paged queries, then step past it.
                moment = newest or format_moment(since)
                rows = rows + fetch_changed_at(gateway, entity, moment)
                next_since = next_second(moment)
            else:
                # Narrow the window to start at the newest change seen; what shares its second is re-read (harmless).
                next_since = parse_moment(newest)
        elif newest and page.server_time and page.server_time - parse_moment(newest) > SETTLED:
            # That second is long past on QuickBooks' clock: nothing new can carry it, so step past it.
            next_since = max(since, next_second(newest))
        else:
            # Recent: another change may still land in the same second, so the next pull re-reads it (harmless).
            next_since = max(since, parse_moment(newest)) if newest else since
        with factory() as session, session.begin():
            counts = apply_changes(session, entity, rows, settings, gateway.company_id)
            save_bookmark(session, entity, format_moment(next_since), gateway.company_id)
        run.bookmarks[entity] = format_moment(next_since)
        run.add(counts)
        if not page.is_full:
            break
        since = next_since
    if overflowed and entity in FORM_TYPES:
        # A full answer may have cut tombstones off its end; an existence check finds deletions it hid.
        for entity_type in FORM_TYPES[entity]:
            _check_existence(factory, gateway, entity_type, entity, run)


def _check_existence(factory: sessionmaker[Session], gateway: QboGateway, entity_type: EntityType, entity: str,
                     run: _Run) -> None:
    with factory() as session:
        ids = [str(q) for q in session.scalars(select(SyncRecord.qbo_id).where(
            SyncRecord.company_id == gateway.company_id, SyncRecord.entity_type == entity_type.value,
            SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None)))]
    for chunk in chunked(ids, QBO_IN_CHUNK):
        present = {str(r.get("Id")) for r in gateway.query_in(entity, "Id", chunk)}
        with factory() as session, session.begin():
            run.counts.add(missing_records(session, entity_type, present, chunk, gateway.company_id))


def run_pull(factory: sessionmaker[Session], config: Config, *, gateway: QboGateway | None = None,
             progress: Progress | None = None, stop_event: threading.Event | None = None,
             entities: tuple[str, ...] = PULL_ENTITIES, company_id: int | None = None) -> PullSummary:
    """Pull a company's changes since its bookmarks; each page is applied and bookmarked in one transaction."""
    if gateway is None:
        if not prepare_connection(factory, config, company_id):
            raise NotConnected("QuickBooks is not connected; connect it in Settings")
        gateway = QboGateway(factory, config, company_id=company_id)
    stop = stop_event or threading.Event()
    with factory() as session:
        settings = load_settings(session, gateway.company_id)
        bookmarks = load_bookmarks(session, gateway.company_id)
    run = _Run(gateway, progress)
    run.bookmarks = dict(bookmarks)
    for entity in entities:
        if not _is_pulled(entity, settings):
            continue
        if stop.is_set():
            return run.summary(stopped=True)
        since = parse_moment(bookmarks[entity]) if entity in bookmarks else utcnow() - LOOKBACK
        _pull_entity(factory, gateway, entity, since, settings, run, stop)
    run.close_date = read_book_close_date(gateway)
    with factory() as session, session.begin():
        save_book_close_date(session, run.close_date, gateway.company_id)
    return run.summary(stopped=stop.is_set())


def refresh_book_close_date(factory: sessionmaker[Session], gateway: QboGateway) -> date | None:
    """Read a company's QuickBooks closing date now and remember it (Month-end page button)."""
    close_date = read_book_close_date(gateway)
    with factory() as session, session.begin():
        save_book_close_date(session, close_date, gateway.company_id)
    return close_date


# -- as a job ---------------------------------------------------------------------------------------------------
def _pulls_of(company_id: int) -> Any:
    """Pull jobs of one company (jobs queued before companies existed carry none: the first company's)."""
    owner = Job.params["company_id"].as_integer()
    return and_(Job.kind == PULL_KIND, owner == company_id) if company_id != 1 else and_(
        Job.kind == PULL_KIND, or_(owner == company_id, owner.is_(None)))


def enqueue_pull(session: Session, actor: Actor, *, reason: str | None = None, company_id: int | None = None) -> Job:
    """Queue a company's pull (operator); one already waiting is reused, so bursts of webhooks queue one."""
    require_role(actor, Role.OPERATOR, "pull", session=session)
    company = resolve_company_id(session, company_id)
    waiting = session.scalar(select(Job).where(_pulls_of(company), Job.status == JobStatus.QUEUED.value)
                             .order_by(Job.id).limit(1))
    if waiting is not None:
        return waiting
    job = Job(kind=PULL_KIND, params={"label": PULL_LABEL, "reason": reason, "company_id": company}, total=0,
              created_by=actor.email)
    session.add(job)
    session.flush()
    write_audit(session, actor, "enqueue_pull", target_type="job", target_id=job.id, reason=reason,
                company_id=company)
    return job


def enqueue_pull_if_due(session: Session, *, every: timedelta = timedelta(minutes=15),
                        company_id: int | None = None) -> Job | None:
    """Scheduler tick: queue a company's pull (as SYSTEM) unless one is waiting or running, or began < `every` ago."""
    company = resolve_company_id(session, company_id)
    active = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
    if session.scalar(select(Job.id).where(_pulls_of(company), Job.status.in_(active)).limit(1)) is not None:
        return None
    last = session.scalar(select(Job.created_at).where(_pulls_of(company)).order_by(Job.id.desc()).limit(1))
    if last is not None and utcnow() - last < every:
        return None
    return enqueue_pull(session, SYSTEM, reason="scheduled pull", company_id=company)


def run_pull_job(factory: sessionmaker[Session], config: Config, job: Job, *, worker_id: str,
                 stop_event: threading.Event | None = None, gateway: QboGateway | None = None,
                 wait_for_lease_s: float = 60.0) -> PullSummary:
    """Run one claimed pull job: DONE, PAUSED (reconnect needed), FAILED (QuickBooks error) or QUEUED (stopped)."""
    stop = stop_event or threading.Event()
    try:
        if gateway is None:
            company_id = (job.params or {}).get("company_id")
            if not prepare_connection(factory, config, company_id):
                raise NotConnected("QuickBooks is not connected; connect it in Settings")
            gateway = QboGateway(factory, config, company_id=company_id)
        # One pull per company at a time (several workers): two would apply the same pages side by side.
        with hold_lease(factory, f"pull:{gateway.realm_id}", worker_id, stop=stop, ttl=PULL_LEASE,
                        wait_s=wait_for_lease_s, job_id=job.id):
            summary = run_pull(factory, config, gateway=gateway, progress=progress_writer(factory, job.id),
                               stop_event=stop)
    except CompanyBusy:
        write_outcome(factory, job.id, PullSummary(), JobStatus.QUEUED)
        return PullSummary(stopped=True)
    except (ReconnectRequired, NotConnected) as exc:
        summary = PullSummary(paused=True, error=str(exc))
        write_outcome(factory, job.id, summary, JobStatus.PAUSED, error=str(exc))
        return summary
    except QboCallError as exc:
        # Pages already applied keep their bookmarks; the next pull resumes after them.
        summary = PullSummary(error=exc.error.message)
        write_outcome(factory, job.id, summary, JobStatus.FAILED, error=exc.error.message)
        return summary
    log.info("pull job %s by %s: %s", job.id, worker_id, summary.sentence())
    write_outcome(factory, job.id, summary, JobStatus.QUEUED if summary.stopped else JobStatus.DONE)
    return summary
