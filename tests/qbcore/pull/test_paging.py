"""CDC paging without a server: full answers narrow the window; a second holding > 1,000 changes is read by query."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.pull import runner
from qbcore.pull.bookmark import load_bookmarks, save_bookmark

T0 = datetime.fromisoformat("2026-11-29T08:00:00-08:00")


def stamp(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


class FakeCdcGateway:
    """QuickBooks' CDC and query over a list of changed invoices, with the 1,000-object cap."""

    def __init__(self, rows: list[dict], now: datetime) -> None:
        self.rows = sorted(rows, key=lambda r: datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]))
        self.now = now
        self.calls = 0
        self.company_id = 1  # the first company's QuickBooks

    def call(self, method: str, path: str, *, params: dict | None = None, **_: object) -> dict:
        self.calls += 1
        if path == "preferences":
            return {"Preferences": {}}
        since = datetime.fromisoformat(params["changedSince"])
        page = [r for r in self.rows if datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]) >= since][:1000]
        return {"CDCResponse": [{"QueryResponse": [{"Invoice": page}]}], "time": self.now.isoformat()}

    def query(self, select: str) -> list[dict]:
        self.calls += 1
        moment = re.search(r"= '([^']+)'", select).group(1)
        start = int(re.search(r"STARTPOSITION (\d+)", select).group(1))
        same = [r for r in self.rows if r["MetaData"]["LastUpdatedTime"] == moment]
        return same[start - 1:start - 1 + 1000]

    def query_in(self, entity: str, field: str, values: list[str]) -> list[dict]:
        self.calls += 1
        return [r for r in self.rows if r["Id"] in set(values)]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids: list[str] = []

    def record(session, entity, rows, settings, company_id=None):
        ids.extend(r["Id"] for r in rows)
        return runner.ApplyCounts(changes=len(rows))

    monkeypatch.setattr(runner, "apply_changes", record)
    return ids


def test_full_answers_narrow_the_window_until_every_change_is_read_even_1200_in_one_second(
    factory: sessionmaker[Session], seen: list[str]
) -> None:
    rows = [{"Id": str(i), "MetaData": {"LastUpdatedTime": stamp(1 if i < 1200 else 2 if i < 2000 else 3)}}
            for i in range(2500)]
    gateway = FakeCdcGateway(rows, now=T0 + timedelta(minutes=10))
    with factory() as session, session.begin():
        save_bookmark(session, "Invoice", T0.isoformat())

    summary = runner.run_pull(factory, None, gateway=gateway, entities=("Invoice",))  # type: ignore[arg-type]

    assert set(seen) == {r["Id"] for r in rows}
    assert summary.pages >= 3
    with factory() as session:
        # The last second is long settled on QuickBooks' clock: the bookmark steps past it.
        assert load_bookmarks(session)["Invoice"] == stamp(4)
    seen.clear()
    runner.run_pull(factory, None, gateway=gateway, entities=("Invoice",))  # type: ignore[arg-type]
    assert seen == []


def test_a_recent_second_is_read_again_next_time_so_a_late_change_in_it_is_not_lost(
    factory: sessionmaker[Session], seen: list[str]
) -> None:
    gateway = FakeCdcGateway([{"Id": "1", "MetaData": {"LastUpdatedTime": stamp(5)}}], now=T0 + timedelta(seconds=6))
    with factory() as session, session.begin():
        save_bookmark(session, "Invoice", T0.isoformat())
    runner.run_pull(factory, None, gateway=gateway, entities=("Invoice",))  # type: ignore[arg-type]
    gateway.rows.append({"Id": "2", "MetaData": {"LastUpdatedTime": stamp(5)}})
    runner.run_pull(factory, None, gateway=gateway, entities=("Invoice",))  # type: ignore[arg-type]
    assert "2" in seen


def test_the_scheduler_queues_a_pull_only_when_one_is_due(factory: sessionmaker[Session]) -> None:
    from qbcore.db import transaction
    from qbcore.models import Job, JobStatus
    from qbcore.pull import enqueue_pull_if_due

    with transaction(factory) as session:
        first = enqueue_pull_if_due(session, every=timedelta(minutes=15))
        assert first is not None and enqueue_pull_if_due(session) is None  # one is waiting
        first.status = JobStatus.DONE
        session.flush()
        assert enqueue_pull_if_due(session, every=timedelta(minutes=15)) is None  # the last one is recent
        assert enqueue_pull_if_due(session, every=timedelta(0)) is not None
        assert [j.kind for j in session.query(Job)] == ["pull", "pull"]
