"""Read-only views of the audit log: who did what, when, with what outcome; filtered in SQL, exported safely."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from qbcore.export import safe_csv_bytes
from qbcore.models import AuditEvent

PAGE_LIMIT = 2000
COLUMNS = ["at", "actor", "role", "action", "outcome", "target_type", "target_id", "reason", "before", "after"]


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show: by who, what, outcome, a date range (UTC days) and free text."""

    actors: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    search: str = ""


def _where(query: Select, flt: AuditFilter) -> Select:
    if flt.actors:
        query = query.where(AuditEvent.actor.in_(flt.actors))
    if flt.actions:
        query = query.where(AuditEvent.action.in_(flt.actions))
    if flt.outcomes:
        query = query.where(AuditEvent.outcome.in_(flt.outcomes))
    if flt.since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(flt.since, time.min, tzinfo=UTC))
    if flt.until is not None:
        query = query.where(AuditEvent.at < datetime.combine(flt.until + timedelta(days=1), time.min, tzinfo=UTC))
    text = flt.search.strip().lower()
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(func.lower(func.coalesce(AuditEvent.target_id, "")).like(pattern),
                                func.lower(func.coalesce(AuditEvent.reason, "")).like(pattern)))
    return query


def list_audit_actors(session: Session) -> list[str]:
    """Everyone who appears in the log."""
    return list(session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)))


def list_audit_actions(session: Session) -> list[str]:
    """Every action that appears in the log."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def count_audit_events(session: Session, flt: AuditFilter) -> int:
    """How many events match."""
    return session.scalar(_where(select(func.count()).select_from(AuditEvent), flt)) or 0


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def _rows(session: Session, flt: AuditFilter, limit: int | None) -> list[list[Any]]:
    query = _where(select(AuditEvent), flt).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [[e.at, e.actor, e.role, e.action, e.outcome, e.target_type, e.target_id, e.reason, _json(e.before),
             _json(e.after)] for e in session.scalars(query)]


def list_audit_events(session: Session, flt: AuditFilter, *, limit: int = PAGE_LIMIT) -> pd.DataFrame:
    """The newest matching events (at most `limit`), before/after as JSON text."""
    return pd.DataFrame(_rows(session, flt, limit), columns=COLUMNS)


def audit_csv_bytes(session: Session, flt: AuditFilter) -> bytes:
    """Every matching event as a spreadsheet-safe CSV."""
    rows = _rows(session, flt, None)
    for row in rows:
        row[0] = row[0].isoformat() if isinstance(row[0], datetime) else row[0]
    return safe_csv_bytes(COLUMNS, rows)
