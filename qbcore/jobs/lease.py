"""Company leases: one holder at a time per QuickBooks company (quotas hold, no record is pushed twice)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import rows_changed
from qbcore.jobs.queue import JOB_LEASE, renew_job_lease
from qbcore.models import CompanyLease, utcnow

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=30)
WAIT_STEP_S = 0.5


class CompanyBusy(RuntimeError):
    """Another worker holds this QuickBooks company's lease."""


def default_worker_id() -> str:
    """host:pid:thread — unique per running worker (a lease's owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


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
                   wait_s: float = 60.0, job_id: int | None = None) -> None:
    """Take the lease, waiting up to wait_s; CompanyBusy when someone else keeps it that long."""
    deadline = time.monotonic() + wait_s
    while not acquire_lease(factory, key, owner, ttl):
        if time.monotonic() > deadline:
            raise CompanyBusy(f"another worker is syncing QuickBooks company {key}")
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
               ttl: timedelta = LEASE_TTL, wait_s: float = 60.0, job_id: int | None = None) -> Iterator[None]:
    """Hold a lease for the block: wait for it, keep it (and the job's) renewed, give it back; `stop` if lost."""
    wait_for_lease(factory, key, owner, ttl=ttl, wait_s=wait_s, job_id=job_id)
    keeper = _Keeper(factory, key, owner, ttl, job_id, stop)
    keeper.thread.start()
    try:
        yield
    finally:
        keeper.done.set()
        keeper.thread.join(timeout=5)
        release_lease(factory, key, owner)
