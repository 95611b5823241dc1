"""A client-side limiter that keeps one QuickBooks company under its quotas (rate, batch rate, concurrency)."""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import rows_changed
from qbcore.models import QuotaWindow, utcnow


@dataclass(frozen=True)
class Quota:
    """At most `count` calls per `window_s` seconds."""

    count: int
    window_s: float


@dataclass(frozen=True)
class QuotaPolicy:
    """QuickBooks' production limits per realm (qbo-api.md §5.1), each window a hair longer against clock slew.

    The windows need no padding for jitter: a request counts from the moment it is reserved until `window_s` after
    its answer came back, and QuickBooks counts it at its arrival, which lies between the two (see QuotaLimiter).
    """

    per_minute: Quota = Quota(500, 60.25)  # batch calls included: 40 batches leave 460 single requests
    per_second: Quota = Quota(10, 1.01)
    batch_per_minute: Quota = Quota(40, 60.25)  # per app and realm (the realm's own limit is 120)
    concurrent: int = 10
    shared: bool = True  # windows kept in the database, so every worker of the company draws on one quota
    # A request with no answer after this long (its worker was killed mid-call) is taken as answered then; the
    # gateway gives up on a call after 30 s, and a company's lease outlives its dead holder by as long.
    flight_s: float = 30.0


UNLIMITED = QuotaPolicy(Quota(10**9, 1.0), Quota(10**9, 1.0), Quota(10**9, 1.0), 10, shared=False)
# What a gateway uses when it is given no policy (tests against a quota-free sandbox swap in UNLIMITED).
DEFAULT_POLICY = QuotaPolicy()

# Event kinds: a request, a batch request (also a request), a pause after a 429 (counts per second only).
REQUEST, BATCH, PAUSE = "r", "b", "p"


@dataclass(frozen=True)
class Event:
    """One request: reserved at `start`, answered at `end` (None while in flight); `ident` finds it again."""

    start: float
    kind: str
    end: float | None
    ident: str = ""

    def last_counted(self, policy: QuotaPolicy, now: float) -> float:
        """The latest moment QuickBooks may have counted it: its answer, `now` while in flight (or the flight bound)."""
        if self.end is not None:
            return self.end
        return min(now, self.start + policy.flight_s)

    def in_flight(self, policy: QuotaPolicy, now: float) -> bool:
        """Sent and not answered yet (and not given up on)."""
        return self.end is None and now < self.start + policy.flight_s


Events = list[Event]


class QuotaSpent(Exception):
    """A per-minute quota has no room now and the caller asked not to wait (nothing was sent)."""


def _wait_for(times: list[float], allowed: int, window_s: float, now: float) -> float:
    """Seconds until fewer than `allowed` of these (sorted, in-window) times remain in the window."""
    if len(times) < allowed:
        return 0.0
    index = len(times) - max(allowed, 1)
    # An in-flight request's time is `now`: it frees its place a window after its answer, which is no sooner.
    return max(times[index] + window_s - now, 1e-3)


def _counted(policy: QuotaPolicy, events: Events, now: float, window_s: float, kinds: tuple[str, ...]
             ) -> list[float]:
    """When each event of these kinds still in a window of `window_s` was last counted by QuickBooks, sorted."""
    return sorted(t for t in (e.last_counted(policy, now) for e in events if e.kind in kinds) if t > now - window_s)


def waits(policy: QuotaPolicy, events: Events, now: float, *, is_batch: bool, spare: bool) -> tuple[float, float]:
    """(seconds the per-minute quotas need, seconds the per-second and concurrency limits need) before one more request.

    Each window holds a request from its reservation until `window_s` after its answer: QuickBooks counts it when it
    arrives, which is after the first and before the second, so no clock skew, scheduling delay or slow answer
    between the two can make QuickBooks see more in one of its windows than we did in ours.
    A spare request (a single write beside batches) leaves room in the minute for the batches still allowed in it.
    """
    minute = _counted(policy, events, now, policy.per_minute.window_s, (REQUEST, BATCH))
    batches = _counted(policy, events, now, policy.batch_per_minute.window_s, (BATCH,))
    second = _counted(policy, events, now, policy.per_second.window_s, (REQUEST, BATCH, PAUSE))
    allowed = policy.per_minute.count
    if spare:
        allowed -= max(policy.batch_per_minute.count - len(batches), 0)
    minute_wait = _wait_for(minute, allowed, policy.per_minute.window_s, now)
    if is_batch:
        minute_wait = max(minute_wait, _wait_for(batches, policy.batch_per_minute.count,
                                                 policy.batch_per_minute.window_s, now))
    second_wait = _wait_for(second, policy.per_second.count, policy.per_second.window_s, now)
    flying = sum(e.in_flight(policy, now) for e in events)
    if flying >= policy.concurrent:  # another worker's calls (this process's are held by the semaphore)
        second_wait = max(second_wait, 0.05)
    return minute_wait, second_wait


def trimmed(policy: QuotaPolicy, events: Events, now: float) -> Events:
    """The events still inside some window (a pause's events lie in the future)."""
    horizon = now - max(policy.per_minute.window_s, policy.batch_per_minute.window_s, policy.per_second.window_s)
    return [e for e in events if e.last_counted(policy, now) > horizon]


def _stored(events: Events) -> list[list[Any]]:
    """Events as JSON rows; answers rounded up, so the stored window is never shorter than the measured one."""
    return [[round(e.start, 4), e.kind, None if e.end is None else math.ceil(e.end * 10_000) / 10_000, e.ident]
            for e in events]


def _loaded(rows: list[Any] | None) -> Events:
    """Events from JSON rows ([start, kind] rows of the earlier layout were counted from their start)."""
    events = []
    for row in rows or []:
        start, kind = float(row[0]), str(row[1])
        end = row[2] if len(row) > 2 else start
        events.append(Event(start, kind, None if end is None else float(end), str(row[3]) if len(row) > 3 else ""))
    return events


class SharedWindows:
    """The company's windows in the database: read, decided on and written under the row's lock."""

    def __init__(self, factory: sessionmaker[Session], key: str) -> None:
        self.factory = factory
        self.key = key

    def change(self, decide: Callable[[Events], tuple[Events, Any]]) -> Any:
        """Run `decide` on the stored events under the company's row lock; store what it returns first."""
        for _ in range(3):
            try:
                with self.factory() as session, session.begin():
                    # The UPDATE takes the row's lock (PostgreSQL) or the write lock (SQLite) before the read.
                    if not rows_changed(session.execute(update(QuotaWindow).where(QuotaWindow.realm_key == self.key)
                                                        .values(updated_at=utcnow()))):
                        session.add(QuotaWindow(realm_key=self.key, events=[], updated_at=utcnow()))
                        session.flush()
                    stored = session.scalar(select(QuotaWindow.events).where(QuotaWindow.realm_key == self.key))
                    events, result = decide(_loaded(stored))
                    session.execute(update(QuotaWindow).where(QuotaWindow.realm_key == self.key)
                                    .values(events=_stored(events)))
                    return result
            except IntegrityError:
                continue  # another worker inserted the company's row first: take its lock instead
        raise RuntimeError(f"could not store the quota windows of {self.key}")

    def read(self) -> Events:
        """The stored events, read without the lock."""
        with self.factory() as session:
            stored = session.scalar(select(QuotaWindow.events).where(QuotaWindow.realm_key == self.key))
        return _loaded(stored)


class _LocalWindows:
    """The windows in this process only (quota-free tests, or a policy that is not shared)."""

    def __init__(self) -> None:
        self.events: Events = []

    def change(self, decide: Callable[[Events], tuple[Events, Any]]) -> Any:
        self.events, result = decide(self.events)
        return result

    def read(self) -> Events:
        """The events so far."""
        return list(self.events)


class QuotaLimiter:
    """Thread-safe sliding windows; a call blocks until every window has room, then holds a concurrency slot.

    A request is stamped when reserved (before it leaves) and again when its answer is back; every window counts it
    from the first stamp until a window's length after the second. QuickBooks admits it in between, so whatever the
    delays on either side, its windows never hold more than ours did. With a shared policy the windows live in the
    database (SharedWindows), so a worker that takes over the company's lease sees the requests its predecessor made
    this minute, and the ones still in flight; the concurrency slots of this process stay a semaphore.
    """

    def __init__(self, policy: QuotaPolicy | None = None, *, shared: SharedWindows | None = None,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy or DEFAULT_POLICY
        self._lock = threading.Lock()
        self._windows: SharedWindows | _LocalWindows = shared or _LocalWindows()
        # Workers compare stamps across processes (wall clock); one process is safer from clock steps (monotonic).
        self._clock = clock or (time.time if shared else time.monotonic)
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(self.policy.concurrent)
        self._prefix = uuid.uuid4().hex[:8]
        self._serial = itertools.count(1)
        self.waited_s = 0.0

    def _reserve(self, is_batch: bool, *, wait: bool, spare: bool) -> str:
        kind = BATCH if is_batch else REQUEST
        ident = f"{self._prefix}{next(self._serial)}"

        def decide(events: Events) -> tuple[Events, float]:
            now = self._clock()
            events = trimmed(self.policy, events, now)
            minute_wait, second_wait = waits(self.policy, events, now, is_batch=is_batch, spare=spare)
            if minute_wait > 0 and not wait:
                raise QuotaSpent(f"no room for a {'batch' if is_batch else 'request'} this minute")
            needed = max(minute_wait, second_wait)
            return ([*events, Event(now, kind, None, ident)], 0.0) if needed <= 0 else (events, needed)

        while True:
            with self._lock:
                needed = self._windows.change(decide)
                if needed <= 0:
                    return ident
                nap = min(needed, 1.0)
                self.waited_s += nap  # thread-seconds spent waiting, summed over threads
            self._sleep(nap)

    def _answered(self, ident: str) -> None:
        """Stamp the request's answer: from now on its places free one window length later."""
        def decide(events: Events) -> tuple[Events, None]:
            now = self._clock()
            return [Event(e.start, e.kind, now, e.ident) if e.ident == ident and e.end is None else e
                    for e in events], None

        with self._lock:
            self._windows.change(decide)

    def batch_room(self) -> bool:
        """Whether a batch call could start now without waiting for a per-minute window (a hint: no lock held)."""
        minute_wait, _ = waits(self.policy, self._windows.read(), self._clock(), is_batch=True, spare=False)
        return minute_wait <= 0

    @contextmanager
    def slot(self, *, is_batch: bool = False, wait: bool = True, spare: bool = False) -> Iterator[None]:
        """Hold one request's place under every quota for the duration of the call (send to answer, read whole).

        wait=False raises QuotaSpent instead of waiting for a per-minute window; spare=True leaves this minute's
        room for the batch calls still allowed in it.
        """
        self._slots.acquire()
        try:
            ident = self._reserve(is_batch, wait=wait, spare=spare)
            try:
                yield
            finally:
                self._answered(ident)
        finally:
            self._slots.release()

    def pause(self, seconds: float) -> None:
        """After a 429: fill the per-second window so every thread (and worker) backs off together."""
        def decide(events: Events) -> tuple[Events, None]:
            until = self._clock() + seconds - self.policy.per_second.window_s
            return events + [Event(until, PAUSE, until)] * self.policy.per_second.count, None

        with self._lock:
            self._windows.change(decide)


_LIMITERS: dict[tuple[str, object], QuotaLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(realm_key: str, policy: QuotaPolicy | None = None,
                factory: sessionmaker[Session] | None = None) -> QuotaLimiter:
    """The process-wide limiter of one company (every gateway of the process shares it; the database, every worker)."""
    policy = policy or DEFAULT_POLICY
    shared = policy.shared and factory is not None and _has_concurrent_writers(factory)
    key: tuple[str, object] = (realm_key, factory if shared else None)
    with _LIMITERS_LOCK:
        if key not in _LIMITERS or _LIMITERS[key].policy != policy:
            _LIMITERS[key] = QuotaLimiter(policy, shared=SharedWindows(factory, realm_key)
                                          if shared and factory is not None else None)
        return _LIMITERS[key]


def _has_concurrent_writers(factory: sessionmaker[Session]) -> bool:
    """Whether several processes can write the database at once (PostgreSQL), so sharing the windows is safe and needed.

    SQLite is the embedded default: one process, whose limiter already covers every gateway in it. Keeping its
    windows in the database there would make each QuickBooks call wait for the file's single write lock, which a
    page's own transaction may hold while it validates against QuickBooks (a deadlock until the lock times out).
    """
    bind = factory.kw.get("bind")
    return bind is None or bind.dialect.name != "sqlite"
