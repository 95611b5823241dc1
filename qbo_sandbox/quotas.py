"""QBO throttling: sliding-window request limits and per-realm concurrency."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window_s` seconds for one key."""

    name: str
    count: int
    window_s: float


# The production limits from Intuit's "API call limits and throttles" page (§5.1).
PRODUCTION = {
    "realm_minute": Limit("realm_minute", 500, 60.0),
    "realm_second": Limit("realm_second", 10, 1.0),
    "batch_app_minute": Limit("batch_app_minute", 40, 60.0),
    "batch_realm_minute": Limit("batch_realm_minute", 120, 60.0),
}
MAX_CONCURRENT = 10


class Quotas:
    """Admits or refuses requests; refused requests are not counted against the windows."""

    def __init__(self, mode: str = "production"):
        self._lock = threading.Lock()
        self.mode = mode
        self.limits = dict(PRODUCTION)
        self.max_concurrent = MAX_CONCURRENT
        self._events: dict[tuple[str, str], deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def configure(
        self, mode: str | None = None, limits: dict | None = None, max_concurrent: int | None = None
    ) -> None:
        with self._lock:
            if mode is not None:
                if mode not in ("production", "off"):
                    raise ValueError("quotas must be 'production' or 'off'")
                self.mode = mode
            for name, spec in (limits or {}).items():
                if name not in self.limits:
                    raise ValueError(f"unknown limit {name}")
                self.limits[name] = Limit(name, int(spec["count"]), float(spec["window_s"]))
            if max_concurrent is not None:
                self.max_concurrent = int(max_concurrent)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()

    def describe(self) -> dict:
        return {
            "mode": self.mode,
            "max_concurrent": self.max_concurrent,
            "limits": {n: {"count": lim.count, "window_s": lim.window_s} for n, lim in self.limits.items()},
        }

    def _over(self, key: tuple[str, str], limit: Limit, now: float) -> bool:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - limit.window_s:
            events.popleft()
        return len(events) >= limit.count

    def admit(self, realm: str, client_id: str, is_batch: bool) -> str | None:
        """Record the request and return None, or return the name of the limit it breaks."""
        if not self.enabled:
            with self._lock:
                self._in_flight[realm] = self._in_flight.get(realm, 0) + 1
            return None
        now = time.monotonic()
        checks = [
            (("realm_minute", realm), self.limits["realm_minute"]),
            (("realm_second", f"{realm}|{client_id}"), self.limits["realm_second"]),
        ]
        if is_batch:
            checks += [
                (("batch_app_minute", f"{realm}|{client_id}"), self.limits["batch_app_minute"]),
                (("batch_realm_minute", realm), self.limits["batch_realm_minute"]),
            ]
        with self._lock:
            if self._in_flight.get(realm, 0) >= self.max_concurrent:
                return "concurrency"
            for key, limit in checks:
                if self._over(key, limit, now):
                    return limit.name
            for key, _limit in checks:
                self._events[key].append(now)
            self._in_flight[realm] = self._in_flight.get(realm, 0) + 1
        return None

    def release(self, realm: str) -> None:
        with self._lock:
            if self._in_flight.get(realm, 0) > 0:
                self._in_flight[realm] -= 1
