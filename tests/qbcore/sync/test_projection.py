"""The first full sync's projection: unsent records per type, the quota ceiling, a measured rate, the sentences."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from qbcore.cli import app
from qbcore.db import transaction
from qbcore.models import EntityType, Job, SyncRecord, utcnow
from qbcore.qbo.limiter import QuotaPolicy
from qbcore.sync.projection import (
    MeasuredRate,
    SyncProjection,
    count_unsent,
    describe_projection,
    format_duration,
    get_measured_rate,
    project_first_sync,
    quota_ceiling_per_minute,
)


def _finished_job(session, *, done: int, seconds: float, ago_s: float = 0) -> Job:
    end = utcnow() - timedelta(seconds=ago_s)
    job = Job(kind="sync", status="done", total=done, done=done, succeeded=done, created_by="test",
              started_at=end - timedelta(seconds=seconds), finished_at=end)
    session.add(job)
    session.flush()
    return job


def test_the_unsent_records_are_counted_per_enabled_type_in_plan_order(demo_factory) -> None:
    with demo_factory() as session:
        counts = count_unsent(session)
        in_book = dict(session.execute(select(SyncRecord.entity_type, func.count())
                                       .group_by(SyncRecord.entity_type)).all())
    assert list(counts)[:3] == [EntityType.CUSTOMER, EntityType.ITEM, EntityType.INVOICE]
    assert counts[EntityType.INVOICE] == 120 and counts[EntityType.CUSTOMER] == 40
    assert EntityType.VENDOR not in counts  # payables are off by default
    assert {e.value: c for e, c in counts.items() if c} == {k: v for k, v in in_book.items() if k in
                                                           {e.value for e in counts}}


def test_synced_and_cleared_records_are_not_sent_again(demo_factory) -> None:
    with transaction(demo_factory) as session:
        invoices = list(session.scalars(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value).order_by(SyncRecord.id).limit(30)))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(invoices[:20])).values(status="synced"))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(invoices[20:])).values(status="cleared"))
    with demo_factory() as session:
        assert count_unsent(session)[EntityType.INVOICE] == 90


@pytest.mark.parametrize(("policy", "ceiling"), [
    (QuotaPolicy(), 40 * 30 + 460),
    (QuotaPolicy(per_minute=QuotaPolicy().per_minute.__class__(100, 61.0)), 40 * 30 + 60),
])
def test_the_ceiling_is_every_batch_call_full_and_the_rest_of_the_minute_single_writes(policy, ceiling) -> None:
    assert quota_ceiling_per_minute(policy) == ceiling


def test_the_newest_job_of_a_minute_or_more_is_the_measured_rate(factory) -> None:
    with transaction(factory) as session:
        _finished_job(session, done=3000, seconds=120, ago_s=600)
        newest_long = _finished_job(session, done=1400, seconds=70, ago_s=300)
        _finished_job(session, done=900, seconds=20)  # one fresh minute's quota: no steady rate
    with factory() as session:
        rate = get_measured_rate(session)
    assert rate == MeasuredRate(job_id=newest_long.id, records=1400, seconds=70.0)
    assert rate.per_minute == pytest.approx(1200.0)


def test_without_a_measured_sync_the_projection_is_the_quota_bound_minimum(demo_factory) -> None:
    with demo_factory() as session:
        projection = project_first_sync(session)
    assert projection.measured is None and projection.ceiling_per_minute == 1660
    assert projection.projected_seconds == projection.minimum_seconds == pytest.approx(projection.total * 60 / 1660)
    lines = describe_projection(projection)
    assert lines[0].startswith(f"A full sync sends {projection.total:,} records: 40 customers, 15 items, 120 invoices")
    assert "as no sync of a minute or more has been measured here yet" in lines[2]


def test_a_measured_rate_faster_than_the_quotas_allow_is_capped_at_the_ceiling() -> None:
    fast = SyncProjection(counts={EntityType.INVOICE: 16_600}, ceiling_per_minute=1660,
                          measured=MeasuredRate(job_id=7, records=3000, seconds=60))
    slow = SyncProjection(counts={EntityType.INVOICE: 16_600}, ceiling_per_minute=1660,
                          measured=MeasuredRate(job_id=8, records=1000, seconds=60))
    assert fast.projected_seconds == fast.minimum_seconds == 600
    assert slow.projected_seconds == pytest.approx(996.0)
    assert describe_projection(fast)[2] == ("Projected: 10 min 00 s at the 1,660 records a minute job #7 reached "
                                            "(capped at the quota ceiling).")
    assert describe_projection(slow)[2] == "Projected: 16 min 36 s at the 1,000 records a minute job #8 reached."


def test_one_record_reads_in_the_singular_and_nothing_to_send_says_so() -> None:
    one = SyncProjection(counts={EntityType.CUSTOMER: 0, EntityType.INVOICE: 1}, ceiling_per_minute=1660)
    assert describe_projection(one)[0] == "A full sync sends 1 record: 1 invoice."
    none = SyncProjection(counts={EntityType.INVOICE: 0}, ceiling_per_minute=1660)
    assert describe_projection(none) == ["Nothing to send: every record of the enabled types is in QuickBooks "
                                         "already."]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0 s"), (45, "45 s"), (60, "1 min 00 s"), (200, "3 min 20 s"), (3720, "1 h 02 min"), (6600, "1 h 50 min"),
])
def test_durations_read_as_a_person_says_them(seconds, text) -> None:
    assert format_duration(seconds) == text


def test_qbsync_estimate_prints_the_projection_of_the_book(demo_factory, db_url, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .streamlit/secrets.toml
    result = CliRunner().invoke(app, ["estimate"], env={"QBSYNC_DATABASE_URL": db_url,
                                                        "QBSYNC_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("A full sync sends ") and "120 invoices" in lines[0]
    assert lines[1].startswith("Quota-bound minimum: ") and "1,660 records a minute" in lines[1]
    assert len(lines) == 3


def test_with_two_companies_each_is_projected_on_its_own_quota_and_the_book_takes_as_long_as_the_larger(
        demo_factory, db_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qbcore.models import Company
    from qbcore.sync.projection import project_each_company
    from tests.qbcore.test_company_views import split_book

    with demo_factory() as session:
        whole = count_unsent(session)
    first, broker, _moved = split_book(demo_factory)
    with demo_factory() as session:
        projections = project_each_company(session)
        names = {c.id: c.name for c in session.scalars(select(Company))}
    assert [p.name for p in projections] == [names[first], names[broker]]
    for entity, count in whole.items():  # counted once, in the company it goes to; a charge code's item in each
        copies = 2 if entity is EntityType.ITEM else 1
        assert sum(p.projection.counts.get(entity, 0) for p in projections) == count * copies, entity
    assert all(p.projection.total > 0 for p in projections)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["estimate"], env={"QBSYNC_DATABASE_URL": db_url,
                                                        "QBSYNC_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{names[first]}:" and lines[4] == f"{names[broker]}:"
    assert lines[1].startswith("  A full sync sends ") and lines[5].startswith("  A full sync sends ")
    longest = max(projections, key=lambda p: p.projection.projected_seconds)
    assert lines[-1] == ("The companies sync at once, each within its own QuickBooks quotas: the whole book takes "
                         f"about {format_duration(longest.projection.projected_seconds)}, as long as {longest.name}.")
