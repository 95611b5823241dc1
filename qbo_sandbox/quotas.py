"""QBO throttling: sliding-window request limits and concurrency, kept per realm and per realm + app."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window_s` seconds for one key."""

    name: str
    count: int
    window_s: float
    per_app: bool  # keyed by realm + app (client id) rather than by realm alone
    batch_only: bool  # counts batch calls only


# The production limits from Intuit's "API call limits and throttles" page (qbo-api.md §5.1): 500 requests
# a minute per realm *including* batch calls, 10 a second per realm and app, 40 batch calls a minute per
# realm and app and 120 per realm. So 40 batches (30 operations each) leave 460 single requests a minute.
PRODUCTION = {
    "realm_minute": Limit("realm_minute", 500, 60.0, per_app=False, batch_only=False),
    "realm_second": Limit("realm_second", 10, 1.0, per_app=True, batch_only=False),
    "batch_app_minute": Limit("batch_app_minute", 40, 60.0, per_app=True, batch_only=True),
    "batch_realm_minute": Limit("batch_realm_minute", 120, 60.0, per_app=False, batch_only=True),
}
MAX_CONCURRENT = 10  # "no more than 10 concurrent requests to the same realmId" per app (B-2016)


class Quotas:
    """Admits or refuses requests; refused requests are not counted against the windows."""

    def __init__(self, mode: str = "production", clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.mode = mode
        self.limits = dict(PRODUCTION)
        self.max_concurrent = MAX_CONCURRENT
        self._events: dict[tuple[str, str], deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def configure(
        self, mode: str | None = None, limits: dict[str, Any] | None = None, max_concurrent: int | None = None
    ) -> None:
        with self._lock:
            if mode is not None:
                if mode not in ("production", "off"):
                    raise ValueError("quotas must be 'production' or 'off'")
                self.mode = mode
            for name, spec in (limits or {}).items():
                if name not in self.limits:
                    raise ValueError(f"unknown limit {name}")
                old = self.limits[name]
                count, window = int(spec["count"]), float(spec["window_s"])
                self.limits[name] = Limit(name, count, window, old.per_app, old.batch_only)
            if max_concurrent is not None:
                self.max_concurrent = int(max_concurrent)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "max_concurrent": self.max_concurrent,
            "limits": {n: {"count": lim.count, "window_s": lim.window_s} for n, lim in self.limits.items()},
        }

    @staticmethod
    def _key(limit: Limit, realm: str, client_id: str) -> tuple[str, str]:
        return limit.name, f"{realm}|{client_id}" if limit.per_app else realm

    def _trimmed(self, key: tuple[str, str], limit: Limit, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - limit.window_s:
            events.popleft()
        return events

    def admit(self, realm: str, client_id: str, is_batch: bool) -> str | None:
        """Record the request and return None, or return the name of the limit it breaks."""
        flight = f"{realm}|{client_id}"
        if not self.enabled:
            with self._lock:
                self._in_flight[flight] = self._in_flight.get(flight, 0) + 1
            return None
        checks = [limit for limit in self.limits.values() if is_batch or not limit.batch_only]
        with self._lock:
            # Read under the lock: a time read before it could be appended after a later one, and the window (which
            # drops its oldest events from the left) would then hold the out-of-order one past its minute.
            now = self._clock()
            if self._in_flight.get(flight, 0) >= self.max_concurrent:
                return "concurrency"
            windows = [self._trimmed(self._key(limit, realm, client_id), limit, now) for limit in checks]
            for limit, events in zip(checks, windows, strict=True):
                if len(events) >= limit.count:
                    return limit.name
            for events in windows:
                events.append(now)
            self._in_flight[flight] = self._in_flight.get(flight, 0) + 1
        return None

    def release(self, realm: str, client_id: str) -> None:
        flight = f"{realm}|{client_id}"
        with self._lock:
            if self._in_flight.get(flight, 0) > 0:
                self._in_flight[flight] -= 1

    def usage(self, realm: str) -> dict[str, int]:
        """Requests counted in each realm-wide window right now (per-app windows summed over apps)."""
        now = self._clock()
        out: dict[str, int] = {}
        with self._lock:
            for limit in self.limits.values():
                total = 0
                for (name, key), _events in list(self._events.items()):
                    if name == limit.name and (key == realm or key.startswith(f"{realm}|")):
                        total += len(self._trimmed((name, key), limit, now))
                out[limit.name] = total
        return out
