"""The engine: plan, look up, batch, push, and record each outcome — every record reaches QuickBooks once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.models import Customer, EntityType, SyncRecord, SyncStatus
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.settings import load_settings
from qbcore.sync import changes
from qbcore.sync.context import read_name_lists
from qbcore.sync.lookup import link_existing
from qbcore.sync.plan import Phase, plan_sync
from qbcore.sync.prepare import enabled_types, prepare
from qbcore.sync.push import push
from qbcore.sync.remove import remove
from qbcore.sync.run import Run
from qbcore.sync.summary import Progress, SyncSummary, Tally

# Statuses the engine never touches: someone decided these must not sync.
HANDS_OFF = (SyncStatus.CLEARED.value, SyncStatus.PAID_OUTSIDE.value, SyncStatus.REMOVED.value)


class SyncEngine:
    """Pushes a set of sync records to one QuickBooks company."""

    def __init__(self, factory: sessionmaker[Session], gateway: QboGateway, *,
                 job_id: int | None = None, progress: Progress | None = None, concurrency: int = 4,
                 stop_event: threading.Event | None = None) -> None:
        self.factory = factory
        self.gateway = gateway
        self.job_id = job_id
        self.progress = progress
        self.concurrency = concurrency
        self.stop_event = stop_event or threading.Event()

    def run(self, record_ids: Sequence[int]) -> SyncSummary:
        """Sync these records in dependency order; pause (failing nothing) when QuickBooks needs a reconnect."""
        company_id = self.gateway.company_id
        with self.factory() as session:
            settings = load_settings(session, company_id)
            rows = _rows_chunked(session, record_ids, company_id)
            parents = dict(session.execute(select(Customer.id, Customer.parent_id)).all())
        if settings.paused:
            # The master pause in Settings: nothing moves, nothing is marked.
            return SyncSummary(total=len(rows), paused=True)
        enabled = enabled_types(settings)
        rows = [row for row in rows if EntityType(row[1]) in enabled]
        tally = Tally(len(rows), self.progress, self.gateway)
        customer_ids = {eid for _, etype, eid in rows if etype == EntityType.CUSTOMER.value}
        phases = plan_sync(((rid, EntityType(et), eid) for rid, et, eid in rows),
                           {cid: parents.get(cid) for cid in customer_ids})
        if not rows:
            return tally.summary()
        try:
            run = Run(factory=self.factory, gateway=self.gateway, settings=settings,
                      lists=read_name_lists(self.gateway), tally=tally, stop_event=self.stop_event,
                      job_id=self.job_id, concurrency=self.concurrency)
            for phase in phases:
                if self.stop_event.is_set():
                    tally.stopped = True
                    break
                _run_phase(run, phase)
        except (ReconnectRequired, NotConnected):
            # Someone must reconnect (or the company was disconnected): pause, fail nothing.
            tally.paused = True
        return tally.summary()

    def detect_changes(self, entity_types: Sequence[EntityType]) -> int:
        """Mark synced records whose billing data changed since their sync as OUT_OF_DATE; returns how many."""
        company_id = self.gateway.company_id
        with self.factory() as session:
            settings = load_settings(session, company_id)
        return changes.detect_changes(self.factory, settings, read_name_lists(self.gateway), entity_types, company_id)


def _rows_chunked(session: Session, record_ids: Sequence[int], company_id: int) -> list[Any]:
    # Records of other companies are left out here, whoever asked: they go to their own company's run.
    ids = list(record_ids)
    out: list[Any] = []
    for start in range(0, len(ids), 30000):
        out.extend(session.execute(
            select(SyncRecord.id, SyncRecord.entity_type, SyncRecord.entity_id)
            .where(SyncRecord.id.in_(ids[start:start + 30000]), SyncRecord.company_id == company_id,
                   SyncRecord.status.not_in(HANDS_OFF))).all())
    return out


def _run_phase(run: Run, phase: Phase) -> None:
    """One entity type's records: build, look up the creates, push the creates, the updates, then the deletes."""
    sends = prepare(run, phase)
    creates = [s for s in sends if not s.update and not s.delete]
    updates = [s for s in sends if s.update]
    if creates:
        creates = link_existing(run, phase.entity_type, creates)
    push(run, phase.entity_type, creates)
    push(run, phase.entity_type, updates)
    remove(run, phase.entity_type, [s for s in sends if s.delete])
