"""The limiter's windows: spare single requests leave the minute's batches room; windows in the database are shared."""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.models import QuotaWindow, utcnow
from qbcore.qbo.limiter import Quota, QuotaLimiter, QuotaPolicy, QuotaSpent, SharedWindows, limiter_for
from qbo_sandbox.quotas import Quotas

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


class Simulated:
    """A clock whose sleeps pass simulated time; `on_sleep` lets the test answer calls that come back meanwhile."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.on_sleep: Callable[[float], None] | None = None
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        until = self.now + seconds
        if self.on_sleep is not None:
            self.on_sleep(until)
        self.now = max(self.now, until)


@dataclass
class Flight:
    """One call the simulation has sent: its slot, when its answer comes, and whether QuickBooks counts it late."""

    slot: AbstractContextManager[None]
    answer_at: float
    late: bool
    batch: bool


def test_a_request_holds_its_places_until_a_window_after_its_answer() -> None:
    clock = Clock()
    limiter = QuotaLimiter(POLICY, clock=clock)
    slow = limiter.slot()
    slow.__enter__()
    clock.now += 59.0  # QuickBooks may count it on arrival, just before this answer
    slow.__exit__(None, None, None)
    assert [take(limiter) for _ in range(10)] == [True] * 9 + [False]
    clock.now += 61.0 - 59.0  # 61 s after it was sent, but 2 s after its answer: still in QuickBooks' minute
    assert take(limiter) is False
    clock.now += 59.0  # 61 s after its answer (and after the nine others were sent and answered)
    assert [take(limiter) for _ in range(11)] == [True] * 10 + [False]


@pytest.mark.parametrize("seed", [19, 20, 21])
def test_quickbooks_never_counts_more_in_a_window_than_the_limiter_let_through(seed: int) -> None:
    # The sandbox's own accounting of QuickBooks' production limits, on the simulation's clock. Each call reaches it
    # at the worst moment for us: at random the instant it was reserved, or only just before its answer (a thread
    # descheduled, a slow network). Calls take 0 to 2 s; up to ten are in flight; the engine's pattern of batches
    # while there is room and spare single writes otherwise. Any window overspent shows up as a refusal.
    sim = Simulated()
    rng = random.Random(seed)
    limiter = QuotaLimiter(QuotaPolicy(shared=False), clock=sim, sleep=sim.sleep)
    server = Quotas(clock=sim)
    flying: list[Flight] = []
    refused: list[str | None] = []
    sent = {True: 0, False: 0}

    def answer_due(until: float) -> None:
        while flying and min(f.answer_at for f in flying) <= until:
            flight = min(flying, key=lambda f: f.answer_at)
            flying.remove(flight)
            sim.now = max(sim.now, flight.answer_at)
            if flight.late:
                refused.append(server.admit("realm", "app", is_batch=flight.batch))
            server.release("realm", "app")
            flight.slot.__exit__(None, None, None)

    sim.on_sleep = answer_due
    start = sim.now
    while sim.now < start + 240:
        if len(flying) == QuotaPolicy().concurrent:
            answer_due(min(f.answer_at for f in flying))
        is_batch = limiter.batch_room()
        slot = limiter.slot(is_batch=is_batch, spare=not is_batch)
        slot.__enter__()
        sent[is_batch] += 1
        late = rng.random() < 0.5
        if not late:
            refused.append(server.admit("realm", "app", is_batch=is_batch))
        flying.append(Flight(slot, sim.now + rng.choice([0.0, 0.05, 0.15, 0.15, 0.3, 0.6, 2.0]), late, is_batch))
        answer_due(sim.now)
    assert [r for r in refused if r is not None] == []
    # And the budget is spent, not just kept: the four minutes' 160 batch calls, and most of their other requests.
    assert sent[True] >= 4 * 40 - 1
    assert sent[True] + sent[False] >= 4 * 400


def test_another_worker_waits_for_the_calls_in_flight_and_counts_them_from_their_answer(
    factory: sessionmaker[Session]
) -> None:
    sim = Simulated()
    policy = QuotaPolicy(per_minute=Quota(3, 60.0), per_second=Quota(1000, 1.0), batch_per_minute=Quota(3, 60.0),
                         concurrent=2)
    first = QuotaLimiter(policy, shared=SharedWindows(factory, "realm-flight"), clock=sim, sleep=sim.sleep)
    second = QuotaLimiter(policy, shared=SharedWindows(factory, "realm-flight"), clock=sim, sleep=sim.sleep)
    calls = [first.slot(), first.slot()]
    for call in calls:
        call.__enter__()
    # Both of the company's concurrent places are taken by the first worker: the second waits for an answer.
    answered_at: list[float] = []

    def answer_one(_until: float) -> None:
        if calls:
            sim.now += 5.0
            answered_at.append(sim.now)
            calls.pop().__exit__(None, None, None)

    sim.on_sleep = answer_one
    with second.slot():
        assert len(answered_at) == 1 and sim.now >= answered_at[0]
    # Three requests this minute; the one answered 5 s late holds its place until 60 s after its answer.
    sim.on_sleep = None
    sim.now = answered_at[0] + 59.0
    assert take(second) is False
    calls.pop().__exit__(None, None, None)


def test_a_call_of_a_worker_killed_mid_flight_stops_counting_as_in_flight_after_the_flight_bound(
    factory: sessionmaker[Session]
) -> None:
    sim = Simulated()
    policy = QuotaPolicy(per_minute=Quota(100, 60.0), per_second=Quota(1000, 1.0), batch_per_minute=Quota(3, 60.0),
                         concurrent=1, flight_s=30.0)
    killed = QuotaLimiter(policy, shared=SharedWindows(factory, "realm-killed"), clock=sim, sleep=sim.sleep)
    call = killed.slot()
    call.__enter__()  # never answered: its process died (the reference keeps the slot from being closed)
    sent_at = sim.now
    successor = QuotaLimiter(policy, shared=SharedWindows(factory, "realm-killed"), clock=sim, sleep=sim.sleep)
    with successor.slot():
        assert sim.now >= sent_at + 30.0 and sim.sleeps > 0
    assert call is not None


def test_windows_stored_by_the_previous_release_count_each_request_from_its_stamp(
    factory: sessionmaker[Session]
) -> None:
    clock = Clock()
    with factory() as session, session.begin():
        session.add(QuotaWindow(realm_key="realm-legacy", events=[[clock.now - 30.0, "b"]] * 3, updated_at=utcnow()))
    limiter = QuotaLimiter(POLICY, shared=SharedWindows(factory, "realm-legacy"), clock=clock)
    assert limiter.batch_room() is False
    clock.now += 31.5
    assert limiter.batch_room() is True
