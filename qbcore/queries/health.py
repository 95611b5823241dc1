"""Read-only views of sync health for Home: status by entity, problems over time, ages, waiting work."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

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
    return or_(*[and_(SyncRecord.entity_type == spec.entity_type.value,
                      exists().where(spec.model.id == SyncRecord.entity_id))  # type: ignore[attr-defined]
                 for spec in ENTITIES])


def _enabled(session: Session) -> ColumnElement[bool]:
    # A type switched off in Settings (payables are, until finance turns them on) waits for nothing: Home would
    # otherwise count records no sync will ever send, under a "Sync all" that cannot send them.
    settings = load_settings(session)
    return SyncRecord.entity_type.in_([spec.entity_type.value for spec in ENTITIES if spec.is_enabled(settings)])


def count_by_entity_and_status(session: Session) -> pd.DataFrame:
    """Records per entity and sync status, of the entity types that sync (columns: entity, status, count)."""
    rows = session.execute(
        select(SyncRecord.entity_type, SyncRecord.status, func.count())
        .where(_live(), _enabled(session))
        .group_by(SyncRecord.entity_type, SyncRecord.status)
    ).all()
    frame = pd.DataFrame(rows, columns=["entity", "status", "count"])
    frame["entity"] = frame["entity"].map(lambda e: ENTITY_NOUNS[EntityType(e)][1].capitalize())
    return frame


def count_waiting(session: Session) -> int:
    """Records of the entity types that sync that still have to reach QuickBooks (everything on the problem list)."""
    return session.scalar(select(func.count()).select_from(SyncRecord)
                          .where(SyncRecord.status.in_(_PROBLEMS), _live(), _enabled(session))) or 0


def _since(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def list_attempts_by_day(session: Session, days: int = 30) -> pd.DataFrame:
    """Attempts per day and outcome kind (columns: day, kind, count); kind is 'synced' or an error kind."""
    day = func.date(SyncAttempt.at).label("day")
    kind = case((SyncAttempt.outcome == "synced", "synced"), else_=func.coalesce(SyncAttempt.error_kind, "OTHER"))
    rows = session.execute(
        select(day, kind.label("kind"), func.count())
        .where(SyncAttempt.at >= _since(days))
        .group_by(day, kind)
        .order_by(day)
    ).all()
    return pd.DataFrame([(str(d), k, c) for d, k, c in rows], columns=["day", "kind", "count"])


def list_problem_ages(session: Session) -> pd.DataFrame:
    """Open failed/blocked records by how long they have been open (columns: age, count)."""
    now = utcnow()
    buckets = [("under 1 day", 0, 1), ("1–7 days", 1, 7), ("7–30 days", 7, 30), ("over 30 days", 30, 100_000)]
    rows = []
    for label, low, high in buckets:
        count = session.scalar(
            select(func.count()).select_from(SyncRecord).where(
                SyncRecord.status.in_([SyncStatus.FAILED.value, SyncStatus.BLOCKED.value]), _live(), _enabled(session),
                SyncRecord.first_failed_at <= now - timedelta(days=low),
                SyncRecord.first_failed_at > now - timedelta(days=high),
            )
        )
        rows.append((label, count or 0))
    return pd.DataFrame(rows, columns=["age", "count"])
