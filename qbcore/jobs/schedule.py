"""The scheduler tick: cascade retries, new and edited records (with the 'on approval' trigger), a pull when due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.access import SYSTEM, Actor
from qbcore.alerts.outbox import queue_in_tick
from qbcore.connection import is_connected
from qbcore.customer_names import apply_name_clash_rule
from qbcore.entities.registry import ENTITIES
from qbcore.jobs.queue import enqueue_sync, has_active_job
from qbcore.models import EntityType, Invoice, InvoiceStatus, Job, SyncRecord, SyncStatus
from qbcore.pull.runner import enqueue_pull_if_due
from qbcore.settings import SyncSettings, load_settings
from qbcore.sync.cascade import cascade_retries

# New and edited records go automatically; failed ones wait for a person (or a cascade retry).
AUTO_STATUSES = (SyncStatus.NEVER_SYNCED.value, SyncStatus.OUT_OF_DATE.value)


def enabled_entity_types(settings: SyncSettings) -> list[EntityType]:
    """The entity types the settings say sync (items always go with the invoices that need them)."""
    return [spec.entity_type for spec in ENTITIES if spec.is_enabled(settings)]


def enqueue_waiting(session: Session, actor: Actor = SYSTEM) -> Job | None:
    """Queue new and edited records of the enabled types, unless paused, on demand, or a job is active."""
    settings = load_settings(session)
    if settings.paused or settings.trigger != "on_approval" or has_active_job(session):
        return None
    types = [e.value for e in enabled_entity_types(settings)]
    waiting = (
        select(SyncRecord.id)
        .where(SyncRecord.status.in_(AUTO_STATUSES), SyncRecord.entity_type.in_(types))
        # Only approved invoices go; drafts and voids stay in the billing system.
        .where(~select(Invoice.id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value,
            Invoice.id == SyncRecord.entity_id,
            Invoice.status.in_([InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value]),
        ).exists())
    )
    if session.scalar(waiting.limit(1)) is None:
        return None
    return enqueue_sync(session, actor, record_ids=waiting, label="Automatic sync (on approval)")


def run_schedule_tick(session: Session, *, pull_every: timedelta = timedelta(minutes=15)) -> list[Job]:
    """One tick of the scheduler: the name-clash rule, cascade retries, new and edited records, a pull when due.

    A pull is scheduled only while connected: after an admin's disconnect nothing is queued in their name's stead.
    """
    queued = []
    for step in (apply_name_clash_rule, cascade_retries, enqueue_waiting):
        job = step(session)
        if job is not None:
            queued.append(job)
            session.flush()
    if not load_settings(session).paused and is_connected(session):
        job = enqueue_pull_if_due(session, every=pull_every)
        if job is not None:
            queued.append(job)
    queue_in_tick(session)  # messages about what is wrong now; the worker sends them
    return queued
