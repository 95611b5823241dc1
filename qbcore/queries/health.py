"""Read-only views of sync health for Home: status by entity, problems over time, ages, waiting work, per company."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session

from qbcore.companies import list_companies
from qbcore.connection import ConnectionState, get_connection_state
from qbcore.entities.registry import ENTITIES
from qbcore.models import (
    ENTITY_NOUNS,
    PROBLEM_STATUSES,
    EntityType,
    SyncAttempt,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.settings import load_settings

_PROBLEMS = [s.value for s in PROBLEM_STATUSES]


def _live() -> ColumnElement[bool]:
    # A sync record whose billing row is gone (an import restated a credit memo's applications, say) can be neither
    # shown nor synced on Problem Sync, so Home does not count it either: the two pages' totals agree.
    # Only an entity whose rows the console deletes needs the look-up; every other one's rows are never gone.
    return or_(SyncRecord.entity_type.in_([spec.entity_type.value for spec in ENTITIES if not spec.rows_deleted]),
               *[and_(SyncRecord.entity_type == spec.entity_type.value,
                      exists().where(spec.model.id == SyncRecord.entity_id))  # type: ignore[attr-defined]
                 for spec in ENTITIES if spec.rows_deleted])


def _enabled(session: Session, company_id: int | None) -> ColumnElement[bool]:
    # A type switched off in Settings (payables are, until finance turns them on) waits for nothing: Home would
    # otherwise count records no sync will ever send, under a "Sync all" that cannot send them. Each company has
    # its own switches.
    ids = [company_id] if company_id is not None else [c.id for c in list_companies(session)]
    return or_(false(), *[
        and_(SyncRecord.company_id == cid, SyncRecord.entity_type.in_(
            [spec.entity_type.value for spec in ENTITIES if spec.is_enabled(load_settings(session, cid))]))
        for cid in ids])


def _of_company(company_id: int | None) -> list[ColumnElement[bool]]:
    return [] if company_id is None else [SyncRecord.company_id == company_id]


def count_by_entity_and_status(session: Session, company_id: int | None = None) -> pd.DataFrame:
    """Records per entity and sync status, of the entity types that sync (columns: entity, status, count).

    Of one company, or of every company when company_id is None.
    """
    rows = session.execute(
        select(SyncRecord.entity_type, SyncRecord.status, func.count())
        .where(_live(), _enabled(session, company_id))
        .group_by(SyncRecord.entity_type, SyncRecord.status)
    ).all()
    frame = pd.DataFrame(rows, columns=["entity", "status", "count"])
    frame["entity"] = frame["entity"].map(lambda e: ENTITY_NOUNS[EntityType(e)][1].capitalize())
    return frame


def count_waiting(session: Session, company_id: int | None = None) -> int:
    """Records of the entity types that sync that still have to reach QuickBooks (everything on the problem list)."""
    return session.scalar(select(func.count()).select_from(SyncRecord)
                          .where(SyncRecord.status.in_(_PROBLEMS), _live(), _enabled(session, company_id))) or 0


def count_failing(session: Session, company_id: int | None = None) -> int:
    """Failed or blocked records of the entity types that sync (the problems Problem Sync lists with errors)."""
    return session.scalar(select(func.count()).select_from(SyncRecord).where(
        SyncRecord.status.in_([SyncStatus.FAILED.value, SyncStatus.BLOCKED.value]), _live(),
        _enabled(session, company_id))) or 0


@dataclass(frozen=True)
class CompanyHealth:
    """One QuickBooks company as Home shows it beside the others: its connection and its problems."""

    company_id: int
    name: str
    is_default: bool
    connection: ConnectionState
    failing: int  # failed or blocked
    waiting: int  # everything still to reach QuickBooks, failing included


def list_company_health(session: Session) -> list[CompanyHealth]:
    """Each company's connection health and problem counts, the default company first."""
    return [CompanyHealth(company_id=c.id, name=c.name, is_default=c.is_default,
                          connection=get_connection_state(session, c.id), failing=count_failing(session, c.id),
                          waiting=count_waiting(session, c.id))
            for c in list_companies(session)]


def _since(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def list_attempts_by_day(session: Session, days: int = 30, company_id: int | None = None) -> pd.DataFrame:
    """Attempts per day and outcome kind (columns: day, kind, count); kind is 'synced' or an error kind."""
    day = func.date(SyncAttempt.at).label("day")
    kind = case((SyncAttempt.outcome == "synced", "synced"), else_=func.coalesce(SyncAttempt.error_kind, "OTHER"))
    of_company = [] if company_id is None else [SyncAttempt.sync_record_id.in_(
        select(SyncRecord.id).where(SyncRecord.company_id == company_id))]
    rows = session.execute(
        select(day, kind.label("kind"), func.count())
        .where(SyncAttempt.at >= _since(days), *of_company)
        .group_by(day, kind)
        .order_by(day)
    ).all()
    return pd.DataFrame([(str(d), k, c) for d, k, c in rows], columns=["day", "kind", "count"])


def list_problem_ages(session: Session, company_id: int | None = None) -> pd.DataFrame:
    """Open failed/blocked records by how long they have been open (columns: age, count)."""
    now = utcnow()
    buckets = [("under 1 day", 0, 1), ("1–7 days", 1, 7), ("7–30 days", 7, 30), ("over 30 days", 30, 100_000)]
    # One pass over the open problems, each put in its bucket (four counts were four passes).
    bucket = case(*[(SyncRecord.first_failed_at > now - timedelta(days=high), at)
                    for at, (_, _, high) in enumerate(buckets)])
    counted: dict[int, int] = dict(session.execute(
        select(bucket, func.count()).where(
            SyncRecord.status.in_([SyncStatus.FAILED.value, SyncStatus.BLOCKED.value]), _live(),
            _enabled(session, company_id), SyncRecord.first_failed_at <= now,
            SyncRecord.first_failed_at > now - timedelta(days=buckets[-1][2]),
        ).group_by(bucket)
    ).all())
    return pd.DataFrame([(label, counted.get(at, 0)) for at, (label, _, _) in enumerate(buckets)],
                        columns=["age", "count"])
