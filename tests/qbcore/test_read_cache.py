"""Reads kept until the database changes, on the real database: reused while nothing commits, read again after."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.alerts.outbox import AlertPace
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.models import Customer, utcnow
from qbcore.read_cache import database_version, forget_all, read_once


class CountingRead:
    """A read of the customers' names that counts how often it really ran."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, session: Session) -> list[str]:
        self.runs += 1
        return list(session.scalars(select(Customer.name).order_by(Customer.id)))


def rename_first_customer(factory: sessionmaker[Session], name: str) -> None:
    with transaction(factory) as session:
        first = session.scalar(select(func.min(Customer.id)))
        session.execute(update(Customer).where(Customer.id == first).values(name=name))


def test_an_answer_is_reused_until_a_commit_lands_then_read_afresh(demo_factory: sessionmaker[Session]) -> None:
    read = CountingRead()
    first = read_once(demo_factory, ("names",), read)
    again = read_once(demo_factory, ("names",), read)
    assert again == first and read.runs == 1

    rename_first_customer(demo_factory, "Renamed Drayage Co")
    after = read_once(demo_factory, ("names",), read)
    assert read.runs == 2
    assert after[0] == "Renamed Drayage Co" and after[1:] == first[1:]
    forget_all()  # as a bench does between timed runs
    read_once(demo_factory, ("names",), read)
    assert read.runs == 3


def test_a_commit_from_another_engine_counts_too(demo_factory: sessionmaker[Session], engine: Engine) -> None:
    read = CountingRead()
    read_once(demo_factory, ("names",), read)
    other = make_engine(engine.url.render_as_string(hide_password=False))  # another console or worker process
    try:
        rename_first_customer(make_session_factory(other), "Written Elsewhere LLC")
    finally:
        other.dispose()
    assert read_once(demo_factory, ("names",), read)[0] == "Written Elsewhere LLC"
    assert read.runs == 2


def test_keys_keep_answers_apart_and_a_rolled_back_write_is_never_read(demo_factory: sessionmaker[Session]) -> None:
    read = CountingRead()
    read_once(demo_factory, ("names", 1), read)
    read_once(demo_factory, ("names", 2), read)
    assert read.runs == 2
    with demo_factory() as session:  # a write that never commits changes nothing anyone can read
        session.execute(update(Customer).values(name="Never Committed"))
        assert "Never Committed" in read(session)  # its own transaction sees it...
        session.rollback()
    # ...no one else does. (PostgreSQL reads again: the rolled-back transaction moved its snapshot.)
    assert "Never Committed" not in read_once(demo_factory, ("names", 1), read)


def test_an_in_memory_database_is_read_every_time() -> None:
    engine = make_engine("sqlite://")
    try:
        migrate(engine)
        factory = make_session_factory(engine)
        read = CountingRead()
        read_once(factory, ("names",), read)
        read_once(factory, ("names",), read)
        assert read.runs == 2
        assert database_version(engine) is None
    finally:
        engine.dispose()


def test_the_alert_pace_reads_the_rules_again_after_a_commit_or_once_its_interval_passed(
        demo_factory: sessionmaker[Session]) -> None:
    pace = AlertPace(every=timedelta(minutes=5))
    now = utcnow()
    with demo_factory() as session:
        assert pace.is_due(session, now)
        assert not pace.is_due(session, now + timedelta(minutes=1))  # nothing committed: the last answer stands
        assert pace.is_due(session, now + timedelta(minutes=6))  # the rules that count time move on
    rename_first_customer(demo_factory, "Moved On Freight")
    with demo_factory() as session:
        assert pace.is_due(session, now + timedelta(minutes=7))
        assert not pace.is_due(session, now + timedelta(minutes=8))
