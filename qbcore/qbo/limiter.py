"""A client-side limiter that keeps one QuickBooks company under its quotas (rate, batch rate, concurrency)."""

from __future__ import annotations

import threading
import time
from collections import deque
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
    """QuickBooks' production limits per realm; windows padded so server-side clocks never see a burst."""

    per_minute: Quota = Quota(500, 61.0)
    per_second: Quota = Quota(10, 1.2)  # 8.3 a second still spends 500 a minute; 0.2 s of slack for jitter
    batch_per_minute: Quota = Quota(40, 61.0)  # per app and realm (the realm's own limit is 120)
    concurrent: int = 10
    shared: bool = True  # windows kept in the database, so every worker of the company draws on one quota


UNLIMITED = QuotaPolicy(Quota(10**9, 1.0), Quota(10**9, 1.0), Quota(10**9, 1.0), 10, shared=False)
# What a gateway uses when it is given no policy (tests against a quota-free sandbox swap in UNLIMITED).
DEFAULT_POLICY = QuotaPolicy()

# Event kinds: a request, a batch request (also a request), a pause after a 429 (counts per second only).
REQUEST, BATCH, PAUSE = "r", "b", "p"
Events = list[tuple[float, str]]


class QuotaSpent(Exception):
    """A per-minute quota has no room now and the caller asked not to wait (nothing was sent)."""


def _wait_for(times: list[float], allowed: int, window_s: float, now: float) -> float:
    """Seconds until fewer than `allowed` of these (sorted, in-window) times remain in the window."""
    if len(times) < allowed:
        return 0.0
    index = len(times) - max(allowed, 1)
    return times[index] + window_s - now


def waits(policy: QuotaPolicy, events: Events, now: float, *, is_batch: bool, spare: bool) -> tuple[float, float]:
    """(seconds the per-minute quotas need, seconds the per-second quota needs) before one more request.

    A spare request (a single write beside batches) leaves room in the minute for the batches still allowed in it.
    """
    minute = sorted(t for t, kind in events if kind != PAUSE and t > now - policy.per_minute.window_s)
    batches = sorted(t for t, kind in events if kind == BATCH and t > now - policy.batch_per_minute.window_s)
    second = sorted(t for t, _ in events if t > now - policy.per_second.window_s)
    allowed = policy.per_minute.count
    if spare:
        allowed -= max(policy.batch_per_minute.count - len(batches), 0)
    minute_wait = _wait_for(minute, allowed, policy.per_minute.window_s, now)
    if is_batch:
        minute_wait = max(minute_wait, _wait_for(batches, policy.batch_per_minute.count,
                                                 policy.batch_per_minute.window_s, now))
    return minute_wait, _wait_for(second, policy.per_second.count, policy.per_second.window_s, now)


def trimmed(policy: QuotaPolicy, events: Events, now: float) -> Events:
    """The events still inside some window (a pause's events lie in the future)."""
    horizon = now - max(policy.per_minute.window_s, policy.batch_per_minute.window_s, policy.per_second.window_s)
    return [(t, kind) for t, kind in events if t > horizon]


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
                    events, result = decide([(float(t), str(kind)) for t, kind in stored or []])
                    session.execute(update(QuotaWindow).where(QuotaWindow.realm_key == self.key)
                                    .values(events=[[round(t, 4), kind] for t, kind in events]))
                    return result
            except IntegrityError:
                continue  # another worker inserted the company's row first: take its lock instead
        raise RuntimeError(f"could not store the quota windows of {self.key}")

    def read(self) -> Events:
        """The stored events, read without the lock."""
        with self.factory() as session:
            stored = session.scalar(select(QuotaWindow.events).where(QuotaWindow.realm_key == self.key))
        return [(float(t), str(kind)) for t, kind in stored or []]


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

    With a shared policy the windows live in the database (SharedWindows), so a worker that takes over the company's
    lease sees the requests its predecessor made this minute; the concurrency slots stay per process.
    """

    def __init__(self, policy: QuotaPolicy | None = None, *, shared: SharedWindows | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.policy = policy or DEFAULT_POLICY
        self._lock = threading.Lock()
        self._windows: SharedWindows | _LocalWindows = shared or _LocalWindows()
        self._clock = clock
        self._slots = threading.BoundedSemaphore(self.policy.concurrent)
        self._sent: deque[float] = deque()  # this process's sends, stamped just before each goes out
        self.waited_s = 0.0

    def _reserve(self, is_batch: bool, *, wait: bool, spare: bool) -> None:
        kind = BATCH if is_batch else REQUEST

        def decide(events: Events) -> tuple[Events, float]:
            now = self._clock()
            events = trimmed(self.policy, events, now)
            minute_wait, second_wait = waits(self.policy, events, now, is_batch=is_batch, spare=spare)
            if minute_wait > 0 and not wait:
                raise QuotaSpent(f"no room for a {'batch' if is_batch else 'request'} this minute")
            needed = max(minute_wait, second_wait)
            return ([*events, (now, kind)], 0.0) if needed <= 0 else (events, needed)

        while True:
            with self._lock:
                needed = self._windows.change(decide)
                if needed <= 0:
                    break
                nap = min(needed, 1.0)
                self.waited_s += nap  # thread-seconds spent waiting, summed over threads
            time.sleep(nap)
        if isinstance(self._windows, SharedWindows):
            self._pace()

    def _pace(self) -> None:
        """Hold this process to the per-second quota by the moment each request leaves.

        A shared reservation is stamped before its transaction commits; a commit held up by other writers would let
        requests leave bunched closer than their stamps say, which the server's one-second window refuses.
        """
        window = self.policy.per_second
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - window.window_s:
                    self._sent.popleft()
                if len(self._sent) < window.count:
                    self._sent.append(now)
                    return
                nap = self._sent[0] + window.window_s - now
                self.waited_s += nap
            time.sleep(nap)

    def batch_room(self) -> bool:
        """Whether a batch call could start now without waiting for a per-minute window (a hint: no lock held)."""
        minute_wait, _ = waits(self.policy, self._windows.read(), self._clock(), is_batch=True, spare=False)
        return minute_wait <= 0

    @contextmanager
    def slot(self, *, is_batch: bool = False, wait: bool = True, spare: bool = False) -> Iterator[None]:
        """Hold one request's place under every quota for the duration of the call.

        wait=False raises QuotaSpent instead of waiting for a per-minute window; spare=True leaves this minute's
        room for the batch calls still allowed in it.
        """
        self._slots.acquire()
        try:
            self._reserve(is_batch, wait=wait, spare=spare)
            yield
        finally:
            self._slots.release()

    def pause(self, seconds: float) -> None:
        """After a 429: fill the per-second window so every thread (and worker) backs off together."""
        def decide(events: Events) -> tuple[Events, None]:
            until = self._clock() + seconds - self.policy.per_second.window_s
            return events + [(until, PAUSE)] * self.policy.per_second.count, None

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
