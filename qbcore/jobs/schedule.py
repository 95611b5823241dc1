"""The scheduler tick: cascade retries, new and edited records (with the 'on approval' trigger), a pull when due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from qbcore.access import SYSTEM, Actor, require_role
from qbcore.alerts.outbox import AlertPace, queue_in_tick
from qbcore.company_directory import list_companies
from qbcore.connection import is_connected
from qbcore.customer_names import apply_name_clash_rule
from qbcore.entities.registry import ENTITIES
from qbcore.jobs.queue import enqueue_sync, has_active_job
from qbcore.models import EntityType, Invoice, InvoiceStatus, Job, Role, SyncRecord, SyncStatus
from qbcore.pull.runner import enqueue_pull_if_due
from qbcore.settings import SyncSettings, load_settings
from qbcore.sync.cascade import cascade_retries
from qbcore.sync.records import ensure_sync_records

# New and edited records go automatically; failed ones wait for a person (or a cascade retry).
AUTO_STATUSES = (SyncStatus.NEVER_SYNCED.value, SyncStatus.OUT_OF_DATE.value)


def enabled_entity_types(settings: SyncSettings) -> list[EntityType]:
    """The entity types the settings say sync (items always go with the invoices that need them)."""
    return [spec.entity_type for spec in ENTITIES if spec.is_enabled(settings)]


def enqueue_all_open(session: Session, actor: Actor, label: str) -> Job:
    """Queue every open record (Home's Sync all), settlements first routed as Settings bills them now."""
    require_role(actor, Role.OPERATOR, "resync", session=session)  # refused before anything is written
    ensure_sync_records(session, derived_only=True)
    return enqueue_sync(session, actor, label=label)


def enqueue_waiting(session: Session, actor: Actor = SYSTEM, company_id: int | None = None) -> Job | None:
    """Queue new and edited records of the enabled types (of one company, or of all), unless paused or on demand.

    Nothing is queued while a job of the same company is active. Each company is judged by its own settings: pausing
    the broker file leaves the carrier file's records going.
    """
    if has_active_job(session, company_id):
        return None
    per_company = []
    for company in list_companies(session):
        if company_id is not None and company.id != company_id:
            continue
        settings = load_settings(session, company.id)
        if settings.paused or settings.trigger != "on_approval":
            continue
        types = [e.value for e in enabled_entity_types(settings)]
        per_company.append(and_(SyncRecord.company_id == company.id, SyncRecord.entity_type.in_(types)))
    if not per_company:
        return None
    ensure_sync_records(session, derived_only=True)  # settlements billed as routing says now, split ones included
    waiting = (
        select(SyncRecord.id)
        .where(SyncRecord.status.in_(AUTO_STATUSES), or_(*per_company))
        # Only approved invoices go; drafts and voids stay in the billing system.
        .where(~select(Invoice.id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value,
            Invoice.id == SyncRecord.entity_id,
            Invoice.status.in_([InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value]),
        ).exists())
    )
    if session.scalar(waiting.limit(1)) is None:
        return None
    return enqueue_sync(session, actor, record_ids=waiting, label="Automatic sync (on approval)",
                        company_id=company_id)


def _enqueue_waiting_per_company(session: Session) -> list[Job]:
    """With several companies, one automatic job each, so workers serve them side by side."""
    companies = list_companies(session)
    if len(companies) == 1:
        job = enqueue_waiting(session)
        return [job] if job is not None else []
    jobs = []
    for company in companies:
        job = enqueue_waiting(session, company_id=company.id)
        if job is not None:
            jobs.append(job)
            session.flush()
    return jobs


def run_schedule_tick(session: Session, *, pull_every: timedelta = timedelta(minutes=15),
                      alert_pace: AlertPace | None = None) -> list[Job]:
    """One tick of the scheduler: the name-clash rule, cascade retries, new and edited records, pulls when due.

    A company's pull is scheduled only while it is connected and not paused: after an admin's disconnect nothing is
    queued in their name's stead. A loop that ticks forever passes its alert pace (alerts read only when due).
    """
    queued = []
    for step in (apply_name_clash_rule, cascade_retries):
        job = step(session)
        if job is not None:
            queued.append(job)
            session.flush()
    queued.extend(_enqueue_waiting_per_company(session))
    for company in list_companies(session):
        if not load_settings(session, company.id).paused and is_connected(session, company.id):
            job = enqueue_pull_if_due(session, every=pull_every, company_id=company.id)
            if job is not None:
                queued.append(job)
                session.flush()
    queue_in_tick(session, alert_pace)  # messages about what is wrong now; the worker sends them
    return queued
