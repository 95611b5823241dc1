"""The limiter's windows: spare single requests leave the minute's batches room; windows in the database are shared."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.qbo.limiter import Quota, QuotaLimiter, QuotaPolicy, QuotaSpent, SharedWindows, limiter_for

# Ten requests a minute of which three may be batch calls; no per-second limit in the way.
POLICY = QuotaPolicy(per_minute=Quota(10, 61.0), per_second=Quota(1000, 1.0), batch_per_minute=Quota(3, 61.0),
                     concurrent=4)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def take(limiter: QuotaLimiter, *, is_batch: bool = False, spare: bool = False) -> bool:
    """One request without waiting: True when it was admitted."""
    try:
        with limiter.slot(is_batch=is_batch, wait=False, spare=spare):
            return True
    except QuotaSpent:
        return False


def test_spare_requests_leave_the_minute_room_for_the_batch_calls_still_allowed() -> None:
    limiter = QuotaLimiter(POLICY, clock=Clock())
    assert [take(limiter, spare=True) for _ in range(8)] == [True] * 7 + [False]
    # The three batch calls still fit, and then the minute is full for everyone.
    assert [take(limiter, is_batch=True) for _ in range(4)] == [True, True, True, False]
    assert take(limiter) is False


def test_once_the_batch_calls_are_spent_spare_requests_may_use_the_rest_of_the_minute() -> None:
    limiter = QuotaLimiter(POLICY, clock=Clock())
    assert [take(limiter, is_batch=True) for _ in range(3)] == [True] * 3
    assert limiter.batch_room() is False
    assert [take(limiter, spare=True) for _ in range(8)] == [True] * 7 + [False]


def test_a_limiter_that_may_not_wait_sends_nothing_and_records_nothing() -> None:
    limiter = QuotaLimiter(POLICY, clock=Clock())
    for _ in range(3):
        take(limiter, is_batch=True)
    assert take(limiter, is_batch=True) is False
    # The refused batch took no room: the seven other requests of the minute are all still there.
    assert [take(limiter) for _ in range(8)] == [True] * 7 + [False]


def test_a_second_worker_sees_the_requests_the_first_made_this_minute(factory: sessionmaker[Session]) -> None:
    clock = Clock()
    first = QuotaLimiter(POLICY, shared=SharedWindows(factory, "realm-1"), clock=clock)
    second = QuotaLimiter(POLICY, shared=SharedWindows(factory, "realm-1"), clock=clock)
    other_company = QuotaLimiter(POLICY, shared=SharedWindows(factory, "realm-2"), clock=clock)
    assert [take(first, is_batch=True) for _ in range(3)] == [True] * 3
    assert second.batch_room() is False
    assert take(second, is_batch=True) is False
    assert [take(second) for _ in range(8)] == [True] * 7 + [False]
    assert take(other_company, is_batch=True) is True
    clock.now += 61.5
    assert second.batch_room() is True
    assert take(second, is_batch=True) is True


@pytest.mark.parametrize("spare", [False, True])
def test_a_batch_call_never_counts_as_spare_room(spare: bool) -> None:
    limiter = QuotaLimiter(POLICY, clock=Clock())
    for _ in range(7):
        assert take(limiter, spare=spare)
    # Seven requests made, whichever kind: of the three left in the minute, the batch calls' are kept for them.
    assert take(limiter, is_batch=True) is True
    assert take(limiter, spare=True) is False


def test_windows_are_shared_in_postgresql_and_kept_in_process_on_sqlite(factory: sessionmaker[Session]) -> None:
    # SQLite is one process (the embedded default): its single write lock would make every QuickBooks call wait
    # for a page's transaction. PostgreSQL serves a team of workers, which must draw on one quota.
    limiter = limiter_for("realm-dialect", POLICY, factory)
    on_postgresql = factory.kw["bind"].dialect.name == "postgresql"
    assert isinstance(limiter._windows, SharedWindows) is on_postgresql
