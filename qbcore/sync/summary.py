"""A run's outcome counts: the summary a job keeps and the thread-safe tally that builds it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qbcore.qbo.gateway import QboGateway

Progress = Callable[["SyncSummary"], None]


@dataclass(frozen=True)
class SyncSummary:
    """What a run did: counts per outcome and per error kind, whether it paused, and its cost in requests."""

    total: int
    synced: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    stopped: bool = False
    requests: int = 0
    seconds: float = 0.0

    @property
    def done(self) -> int:
        """Records with an outcome so far."""
        return self.synced + self.failed + self.blocked + self.skipped

    def plus(self, other: SyncSummary) -> SyncSummary:
        """This run and another one (another company's) as one summary."""
        kinds = Counter(self.by_kind)
        kinds.update(other.by_kind)
        return SyncSummary(total=self.total + other.total, synced=self.synced + other.synced,
                           failed=self.failed + other.failed, blocked=self.blocked + other.blocked,
                           skipped=self.skipped + other.skipped, by_kind=dict(kinds),
                           paused=self.paused or other.paused, stopped=self.stopped or other.stopped,
                           requests=self.requests + other.requests, seconds=self.seconds + other.seconds)

    def job_counts(self) -> dict[str, Any]:
        """The counts a sync job's row keeps."""
        return {
            "total": max(self.total, self.done),
            "done": self.done, "succeeded": self.synced + self.skipped,
            "failed": self.failed + self.blocked,
            "summary": {"by_kind": self.by_kind, "blocked": self.blocked, "skipped": self.skipped,
                        "requests": self.requests, "seconds": round(self.seconds, 2), "paused": self.paused},
        }


class Tally:
    """Thread-safe running counts, reported through the progress callback."""

    def __init__(self, total: int, progress: Progress | None, gateway: QboGateway) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.total = total
        self.progress = progress
        self.gateway = gateway
        self.started = time.perf_counter()
        self.paused = False
        self.stopped = False

    def add(self, outcome: str, kind: str | None = None) -> None:
        """Count one record's outcome (and its error kind) and report the new totals."""
        with self.lock:
            self.counts[outcome] += 1
            if kind:
                self.kinds[kind] += 1
            summary = self.summary()
        if self.progress is not None:
            self.progress(summary)

    def summary(self) -> SyncSummary:
        """The counts so far."""
        return SyncSummary(total=self.total, synced=self.counts["synced"], failed=self.counts["failed"],
                           blocked=self.counts["blocked"], skipped=self.counts["skipped"], by_kind=dict(self.kinds),
                           paused=self.paused, stopped=self.stopped, requests=self.gateway.calls,
                           seconds=time.perf_counter() - self.started)
