"""A client-side limiter that keeps one QuickBooks company under its quotas (rate, batch rate, concurrency)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    """At most `count` calls per `window_s` seconds."""

    count: int
    window_s: float


@dataclass(frozen=True)
class QuotaPolicy:
    """QuickBooks' production limits per realm; windows padded so server-side clocks never see a burst."""

    per_minute: Quota = Quota(500, 61.0)
    per_second: Quota = Quota(10, 1.1)
    batch_per_minute: Quota = Quota(40, 61.0)  # per app and realm (the realm's own limit is 120)
    concurrent: int = 10


UNLIMITED = QuotaPolicy(Quota(10**9, 1.0), Quota(10**9, 1.0), Quota(10**9, 1.0), 10)
# What a gateway uses when it is given no policy (tests against a quota-free sandbox swap in UNLIMITED).
DEFAULT_POLICY = QuotaPolicy()


class _Window:
    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.events: deque[float] = deque()

    def wait_s(self, now: float) -> float:
        while self.events and self.events[0] <= now - self.quota.window_s:
            self.events.popleft()
        if len(self.events) < self.quota.count:
            return 0.0
        return self.events[0] + self.quota.window_s - now


class QuotaLimiter:
    """Thread-safe sliding windows; a call blocks until every window has room, then holds a concurrency slot.

    Across processes the quota is owned by the holder of the company's lease (CompanyLease): only one worker
    process pushes to a company at a time, so an in-process limiter is enough and costs no database round trip.
    """

    def __init__(self, policy: QuotaPolicy | None = None) -> None:
        self.policy = policy or DEFAULT_POLICY
        self._lock = threading.Lock()
        self._minute = _Window(self.policy.per_minute)
        self._second = _Window(self.policy.per_second)
        self._batch = _Window(self.policy.batch_per_minute)
        self._slots = threading.BoundedSemaphore(self.policy.concurrent)
        self.waited_s = 0.0

    def _reserve(self, is_batch: bool) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                windows = [self._minute, self._second, *([self._batch] if is_batch else [])]
                wait = max(w.wait_s(now) for w in windows)
                if wait <= 0:
                    for window in windows:
                        window.events.append(now)
                    return
                nap = min(wait, 1.0)
                self.waited_s += nap  # thread-seconds spent waiting, summed over threads
            time.sleep(nap)

    @contextmanager
    def slot(self, *, is_batch: bool = False) -> Iterator[None]:
        """Hold one request's place under every quota for the duration of the call."""
        self._slots.acquire()
        try:
            self._reserve(is_batch)
            yield
        finally:
            self._slots.release()

    def pause(self, seconds: float) -> None:
        """After a 429: fill the per-second window so every thread backs off together."""
        with self._lock:
            until = time.monotonic() + seconds - self.policy.per_second.window_s
            self._second.events.extend([until] * self.policy.per_second.count)


_LIMITERS: dict[str, QuotaLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(realm_id: str, policy: QuotaPolicy | None = None) -> QuotaLimiter:
    """The process-wide limiter of one company (every gateway of the process shares it)."""
    policy = policy or DEFAULT_POLICY
    with _LIMITERS_LOCK:
        if realm_id not in _LIMITERS or _LIMITERS[realm_id].policy != policy:
            _LIMITERS[realm_id] = QuotaLimiter(policy)
        return _LIMITERS[realm_id]
