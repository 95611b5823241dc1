"""The QuickBooks connection row: which one is current, and its health as pages show it (never a token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.models import Company, ConnectionStatus, QboConnection


@dataclass(frozen=True)
class ConnectionState:
    """What Home and Settings show about the connection; never any token."""

    status: ConnectionStatus
    realm_id: str | None
    company_name: str | None
    environment: str | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    last_error: str | None
    disconnected_at: datetime | None = None
    disconnected_by: str | None = None


def current_connection(session: Session, company_id: int | None = None) -> QboConnection | None:
    """A company's QuickBooks connection (the default company's when None), if it has one."""
    if company_id is None:
        default = select(Company.id).where(Company.is_default.is_(True)).order_by(Company.id).limit(1)
        return session.scalar(select(QboConnection).where(QboConnection.company_id.in_(default)).limit(1))
    return session.scalar(select(QboConnection).where(QboConnection.company_id == company_id).limit(1))


def get_connection_state(session: Session, company_id: int | None = None) -> ConnectionState:
    """A company's connection health for display (DISCONNECTED when it has none)."""
    row = current_connection(session, company_id)
    if row is None:
        return ConnectionState(ConnectionStatus.DISCONNECTED, None, None, None, None, None, None)
    return ConnectionState(
        status=ConnectionStatus(row.status), realm_id=row.realm_id, company_name=row.company_name,
        environment=row.environment, access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at, last_error=row.last_error,
        disconnected_at=row.disconnected_at if row.status == ConnectionStatus.DISCONNECTED else None,
        disconnected_by=row.disconnected_by if row.status == ConnectionStatus.DISCONNECTED else None,
    )


def is_connected(session: Session, company_id: int | None = None) -> bool:
    """True when a company's connection is usable (not disconnected, not waiting for a reconnect)."""
    return get_connection_state(session, company_id).status is ConnectionStatus.CONNECTED
