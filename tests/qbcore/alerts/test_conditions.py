"""Each rule finds what is wrong in a real database: month end, old problems, failed jobs, an expiring sign-in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.alerts.conditions import find_conditions, size_bucket
from qbcore.alerts.rules import AlertRules
from qbcore.db import transaction
from qbcore.jobs.queue import enqueue_sync
from qbcore.models import ConnectionStatus, EntityType, Job, JobStatus, QboConnection, SyncRecord, SyncStatus

# The demo book ends on 2026-11-29, so November is the month the month-end rule looks at in early December.
DEC_3 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
ONLY = {name: False for name in ("new_problems", "root_cause", "reconnect", "job_failed", "old_problems", "month_end")}


def only(rule: str, **values: object) -> AlertRules:
    return AlertRules(**{**ONLY, rule: True, **values})  # type: ignore[arg-type]


def test_last_month_not_ready_alerts_from_day_n_with_a_link_to_that_months_problems(
        demo_factory: sessionmaker[Session]) -> None:
    rules = only("month_end", month_end_day=3)
    with demo_factory() as session:
        assert find_conditions(session, rules, DEC_3 - timedelta(days=1)) == []  # the 2nd: too early
        (finding,) = find_conditions(session, rules, DEC_3)
    assert finding.key == "month_end:2026-11"
    assert finding.title.startswith("2026-11 is not ready to close: ")
    assert finding.params == {"from": "2026-11-01", "to": "2026-11-30"}
    assert finding.records and finding.records > 0 and finding.amount and finding.amount > 0


def test_a_month_that_only_waits_for_the_sync_running_now_is_not_news_but_a_failure_in_it_is(
        demo_factory: sessionmaker[Session]) -> None:
    rules = only("month_end")
    with transaction(demo_factory) as session:
        enqueue_sync(session, SYSTEM, label="Automatic sync (on approval)")
        assert find_conditions(session, rules, DEC_3) == []
        session.execute(update(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value).values(
            status=SyncStatus.FAILED.value, error_kind="validation"))
        assert [f.key for f in find_conditions(session, rules, DEC_3)] == ["month_end:2026-11"]


def test_problems_open_longer_than_n_days_are_counted_per_record_type(demo_factory: sessionmaker[Session]) -> None:
    with transaction(demo_factory) as session:
        session.execute(update(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value,
                                                 SyncRecord.id % 10 == 0).values(
            status=SyncStatus.FAILED.value, error_kind="validation", first_failed_at=DEC_3 - timedelta(days=9)))
        session.execute(update(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value,
                                                 SyncRecord.id % 10 == 1).values(
            status=SyncStatus.FAILED.value, error_kind="validation", first_failed_at=DEC_3 - timedelta(days=2)))
        old = session.query(SyncRecord).filter(SyncRecord.first_failed_at < DEC_3 - timedelta(days=7)).count()
        (finding,) = find_conditions(session, only("old_problems", old_problems_days=7), DEC_3)
    assert finding.records == old > 0
    assert finding.title == f"{old:,} records failing for more than 7 days"
    assert finding.causes == (f"{old:,} invoices",) and finding.fingerprint == size_bucket(old)


def test_the_newest_failed_or_paused_job_alerts_until_a_newer_one_succeeds(demo_factory: sessionmaker[Session]) -> None:
    rules = only("job_failed")
    with transaction(demo_factory) as session:
        session.add(Job(kind="sync", status=JobStatus.FAILED.value, total=12, created_by="system@qbsync",
                        params={"label": "Sync all open records (Home)"}, error="access_token=abc123 was refused",
                        created_at=DEC_3 - timedelta(hours=2)))
        session.flush()
        (finding,) = find_conditions(session, rules, DEC_3)
        assert finding.title.startswith("Sync all open records (Home) (job #") and finding.title.endswith(": failed")
        assert finding.causes == ('access_token="[hidden]" was refused',)  # no token in a message
        session.add(Job(kind="sync", status=JobStatus.DONE.value, created_by="system@qbsync",
                        created_at=DEC_3 - timedelta(hours=1)))
        session.flush()
        assert find_conditions(session, rules, DEC_3) == []


def test_a_sign_in_about_to_expire_alerts_n_days_ahead_and_a_never_connected_console_says_nothing(
        factory: sessionmaker[Session]) -> None:
    rules = only("reconnect", reconnect_days=7)
    with transaction(factory) as session:
        assert find_conditions(session, rules, DEC_3) == []
        session.add(QboConnection(realm_id="9130", environment="local", status=ConnectionStatus.CONNECTED,
                                  connected_at=DEC_3 - timedelta(days=95),
                                  refresh_expires_at=DEC_3 + timedelta(days=8)))
        session.flush()
        assert find_conditions(session, rules, DEC_3) == []
        (finding,) = find_conditions(session, rules, DEC_3 + timedelta(days=3))
    assert finding.title == "QuickBooks' sign-in expires in 5 days (2026-12-11): reconnect before then"
    assert (finding.key, finding.page) == ("connection", "Settings")


def test_new_problems_alert_from_a_count_or_dollars_unless_named_causes_explain_them_all(
        demo_factory: sessionmaker[Session]) -> None:
    from decimal import Decimal

    from sqlalchemy import select

    rules = replace(only("new_problems"), root_cause=True, new_problems_count=3, new_problems_amount="100000000.00")
    with transaction(demo_factory) as session:
        ids = list(session.scalars(select(SyncRecord.id).where(SyncRecord.entity_type == EntityType.INVOICE.value)
                                   .order_by(SyncRecord.id).limit(4)))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids[:3])).values(
            status=SyncStatus.FAILED.value, error_kind="mapping", blocked_by="item:CHASSIS"))
        assert [f.key for f in find_conditions(session, rules, DEC_3 - timedelta(days=2))] == [
            "cause:invoice:mapping::item:CHASSIS"]  # the cause says it all: one alert
        session.execute(update(SyncRecord).where(SyncRecord.id == ids[3]).values(
            status=SyncStatus.FAILED.value, error_kind="mapping", blocked_by=None))
        found = {f.key: f for f in find_conditions(session, rules, DEC_3 - timedelta(days=2))}
    assert sorted(found) == ["cause:invoice:mapping::item:CHASSIS", "problems:invoice:mapping"]
    problems = found["problems:invoice:mapping"]
    assert problems.title == "4 invoices not reaching QuickBooks: mapping missing"
    assert problems.records == 4 and problems.amount and problems.amount > Decimal("0")
    assert problems.causes[0] == "3 invoices: charge code CHASSIS not mapped to a QuickBooks item"
    with demo_factory() as session:
        below = replace(only("new_problems"), new_problems_count=5, new_problems_amount=f"{problems.amount:.2f}")
        assert [f.key for f in find_conditions(session, below, DEC_3)] == ["problems:invoice:mapping"]  # the dollars
        above = replace(only("new_problems"), new_problems_count=5, new_problems_amount=f"{problems.amount + 1:.2f}")
        assert find_conditions(session, above, DEC_3) == []
