"""AppTest fixtures: every page runs against the test database, without background services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[str]:
    """Point the console at the test database; no sandbox or worker threads in page tests."""
    from ui.runtime import close_databases

    monkeypatch.setenv("QBSYNC_DATABASE_URL", db_url)
    monkeypatch.setenv("QBSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QBSYNC_BACKGROUND", "off")
    monkeypatch.setenv("QBSYNC_DEMO_INVOICES", "0")
    yield db_url
    # Each test's database gets its own cached engine; close it so PostgreSQL's connection slots last.
    close_databases()


@pytest.fixture
def home(app_env: str) -> AppTest:
    """Home.py, ready to run."""
    return AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)


def open_page(at: AppTest, page: str, actor: dict[str, str] | None = None) -> AppTest:
    """Run Home once, then switch to a page (optionally as another user)."""
    if actor is not None:
        at.session_state["qbsync_actor"] = actor
    at.run()
    at.switch_page(str(ROOT / "pages" / page)).run()
    return at
