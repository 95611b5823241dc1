"""Company leases: one worker at a time per QuickBooks company (quotas hold, no record is pushed twice)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.models import CompanyLease, utcnow

LEASE_TTL = timedelta(seconds=30)


def acquire_lease(factory: sessionmaker[Session], realm_id: str, owner: str, ttl: timedelta = LEASE_TTL) -> bool:
    """Take (or extend) the company's lease unless another live owner holds it; atomic on SQLite and PostgreSQL."""
    now = utcnow()
    with factory() as session, session.begin():
        # A guarded UPDATE: the database re-checks the WHERE under its row lock, so only one taker wins.
        taken = session.execute(
            update(CompanyLease)
            .where(CompanyLease.realm_id == realm_id,
                   or_(CompanyLease.owner.is_(None), CompanyLease.owner == owner,
                       and_(CompanyLease.expires_at.is_not(None), CompanyLease.expires_at < now)))
            .values(owner=owner, expires_at=now + ttl)
        ).rowcount
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
        return bool(session.execute(
            update(CompanyLease).where(CompanyLease.realm_id == realm_id, CompanyLease.owner == owner)
            .values(expires_at=utcnow() + ttl)
        ).rowcount)


def release_lease(factory: sessionmaker[Session], realm_id: str, owner: str) -> None:
    """Give the company back (only if we still hold it)."""
    with factory() as session, session.begin():
        session.execute(update(CompanyLease).where(CompanyLease.realm_id == realm_id, CompanyLease.owner == owner)
                        .values(owner=None, expires_at=None))
