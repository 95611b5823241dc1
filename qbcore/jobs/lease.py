"""Company leases: one holder at a time per QuickBooks company (quotas hold, no record is pushed twice)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import rows_changed
from qbcore.jobs.queue import JOB_LEASE, renew_job_lease
from qbcore.models import CompanyLease, Job, JobStatus, utcnow

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=30)
WAIT_STEP_S = 0.5


class CompanyBusy(RuntimeError):
    """Another worker holds this QuickBooks company's lease."""


def default_worker_id() -> str:
    """host:pid:thread — unique per running worker (a lease's owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds a lease, as stored: its owner (prefix:host:pid:thread), until when, and the job it runs."""

    owner: str
    expires_at: datetime | None
    job_id: int | None = None
    job_label: str | None = None

    def describe(self) -> str:
        """'sync-now on host ops-1, process 4242 (job #12 Nightly sync), lease until 08:01:02 UTC'."""
        # default_worker_id() is host:pid:thread, optionally after a "what:" prefix; the host holds no colon.
        parts = self.owner.split(":")
        if len(parts) >= 3 and parts[-2].isdigit():
            what = ":".join(parts[:-3]) or "a worker"
            text = f"{what} on host {parts[-3]}, process {parts[-2]}"
        else:
            text = self.owner
        if self.job_id is not None:
            text += f" (job #{self.job_id}{' ' + self.job_label if self.job_label else ''})"
        if self.expires_at is not None:
            text += f", lease until {self.expires_at.strftime('%H:%M:%S')} UTC"
        return text


# Told once, when a run first finds the company taken: who holds it, and how many seconds we will wait.
WaitNotice = Callable[[LeaseHolder | None, float], None]


def read_lease_holder(factory: sessionmaker[Session], key: str) -> LeaseHolder | None:
    """The lease's current holder, with the running job it holds (None when the lease is free)."""
    with factory() as session:
        lease = session.get(CompanyLease, key)
        if lease is None or lease.owner is None:
            return None
        job = session.scalars(select(Job).where(Job.lease_owner == lease.owner, Job.status == JobStatus.RUNNING)
                              .order_by(Job.id.desc())).first()
        label = (job.params or {}).get("label") if job is not None else None
        return LeaseHolder(lease.owner, lease.expires_at, job.id if job is not None else None,
                           str(label) if label else None)


def acquire_lease(factory: sessionmaker[Session], realm_id: str, owner: str, ttl: timedelta = LEASE_TTL) -> bool:
    """Take (or extend) the company's lease unless another live owner holds it; atomic on SQLite and PostgreSQL."""
    now = utcnow()
    with factory() as session, session.begin():
        # A guarded UPDATE: the database re-checks the WHERE under its row lock, so only one taker wins.
        taken = rows_changed(session.execute(
            update(CompanyLease)
            .where(CompanyLease.realm_id == realm_id,
                   or_(CompanyLease.owner.is_(None), CompanyLease.owner == owner,
                       and_(CompanyLease.expires_at.is_not(None), CompanyLease.expires_at < now)))
            .values(owner=owner, expires_at=now + ttl)
        ))
        if taken:
            return True
        if session.get(CompanyLease, realm_id) is not None:
            return False
    try:
        with factory() as session, session.begin():
            session.add(CompanyLease(realm_id=realm_id, owner=owner, expires_at=now + ttl))
    except IntegrityError:
        return False  # someone else inserted it first
    return True


def renew_lease(factory: sessionmaker[Session], realm_id: str, owner: str, ttl: timedelta = LEASE_TTL) -> bool:
    """Extend our lease; False when we lost it (then stop pushing)."""
    with factory() as session, session.begin():
        return bool(rows_changed(session.execute(
            update(CompanyLease).where(CompanyLease.realm_id == realm_id, CompanyLease.owner == owner)
            .values(expires_at=utcnow() + ttl)
        )))


def release_lease(factory: sessionmaker[Session], realm_id: str, owner: str) -> None:
    """Give the company back (only if we still hold it)."""
    with factory() as session, session.begin():
        session.execute(update(CompanyLease).where(CompanyLease.realm_id == realm_id, CompanyLease.owner == owner)
                        .values(owner=None, expires_at=None))


def wait_for_lease(factory: sessionmaker[Session], key: str, owner: str, *, ttl: timedelta = LEASE_TTL,
                   wait_s: float = 60.0, job_id: int | None = None, on_wait: WaitNotice | None = None) -> None:
    """Take the lease, waiting up to wait_s (on_wait is told who holds it); CompanyBusy when they keep it."""
    deadline = time.monotonic() + wait_s
    told = False
    while not acquire_lease(factory, key, owner, ttl):
        if on_wait is not None and not told:
            on_wait(read_lease_holder(factory, key), wait_s)
            told = True
        if time.monotonic() > deadline:
            holder = read_lease_holder(factory, key)
            raise CompanyBusy(f"another run is syncing QuickBooks company {key}"
                              f"{': ' + holder.describe() if holder else ''}; waited {wait_s:.0f} s, try again later")
        if job_id is not None:
            # Still ours while we wait for the company: no other worker may claim this job meanwhile.
            renew_job_lease(factory, job_id, owner)
        time.sleep(WAIT_STEP_S)


class _Keeper:
    """Renews the lease (and the job's) in the background; sets `stop` when someone took the lease."""

    def __init__(self, factory: sessionmaker[Session], key: str, owner: str, ttl: timedelta, job_id: int | None,
                 stop: threading.Event) -> None:
        self.factory, self.key, self.owner, self.ttl, self.job_id = factory, key, owner, ttl, job_id
        self.stop = stop
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="qbsync-lease", daemon=True)

    def _run(self) -> None:
        # Often enough for the shorter of the two leases.
        interval = min(self.ttl, JOB_LEASE).total_seconds() / 3
        while not self.done.wait(interval):
            if not renew_lease(self.factory, self.key, self.owner, self.ttl):
                log.warning("lost the lease %s; stopping", self.key)
                self.stop.set()
                return
            if self.job_id is not None:
                renew_job_lease(self.factory, self.job_id, self.owner)


@contextmanager
def hold_lease(factory: sessionmaker[Session], key: str, owner: str, *, stop: threading.Event,
               ttl: timedelta = LEASE_TTL, wait_s: float = 60.0, job_id: int | None = None,
               on_wait: WaitNotice | None = None) -> Iterator[None]:
    """Hold a lease for the block: wait for it, keep it (and the job's) renewed, give it back; `stop` if lost."""
    wait_for_lease(factory, key, owner, ttl=ttl, wait_s=wait_s, job_id=job_id, on_wait=on_wait)
    keeper = _Keeper(factory, key, owner, ttl, job_id, stop)
    keeper.thread.start()
    try:
        yield
    finally:
        keeper.done.set()
        keeper.thread.join(timeout=5)
        release_lease(factory, key, owner)
