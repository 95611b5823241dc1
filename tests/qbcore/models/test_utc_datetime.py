"""The UTC column type: every stored moment comes back aware UTC, the same instant, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select, text

from qbcore.db import transaction
from qbcore.models import Job, JobStatus

# A zone far from UTC: SQLite would keep its wall-clock time and drop the offset if the type did not convert.
EASTERN = timezone(timedelta(hours=-5))


def test_moments_come_back_as_aware_utc_for_the_same_instant(factory):
    written = datetime(2026, 11, 30, 23, 30, tzinfo=EASTERN)  # 04:30 UTC on Dec 1
    with transaction(factory) as session:
        session.add(Job(kind="sync", status=JobStatus.FAILED.value, total=0, created_by="t@example.com",
                        created_at=written, finished_at=datetime(2026, 12, 1, 5, 0)))  # naive: taken as UTC
    with factory() as session:
        if session.connection().dialect.name == "postgresql":
            session.execute(text("SET TIME ZONE 'America/New_York'"))  # a session zone must not leak through
        job = session.scalar(select(Job))
        latest = session.scalar(select(func.max(Job.created_at)))
        before = session.scalar(select(func.count()).select_from(Job).where(
            Job.created_at < datetime(2026, 12, 1, 0, 0, tzinfo=EASTERN)))
    assert job.created_at == written and job.created_at.tzinfo is UTC
    assert job.created_at.hour == 4
    assert job.finished_at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC) and job.finished_at.tzinfo is UTC
    assert latest == written and latest.tzinfo is UTC  # aggregates over the column are read through the type
    assert before == 1  # a bound moment in another zone is compared as the same instant
