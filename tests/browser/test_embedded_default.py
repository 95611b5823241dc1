"""Real Chromium on the real embedded default: in-process sandbox, worker and scheduler, a fresh data dir."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from qbcore.db import make_engine, make_session_factory
from qbcore.models import AuditEvent
from tests.browser.console_server import require_chromium, serve_console

pytestmark = pytest.mark.browser

EMBEDDED = {"QBSYNC_BACKGROUND": "on", "QBSYNC_DEMO_INVOICES": "40"}


def _audit_actions(data_dir: Path) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{data_dir / 'qbsync.db'}")
    try:
        with make_session_factory(engine)() as session:
            return [(e.actor, e.action) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Iterator[Path]:
    require_chromium()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    yield data_dir


def test_an_admins_disconnect_stays_made_while_the_worker_runs_and_across_a_restart(
    page: Page, fresh_data_dir: Path
) -> None:
    with serve_console(EMBEDDED, fresh_data_dir) as url:
        page.goto(url, wait_until="domcontentloaded")
        # A fresh database: the embedded default connects the local sandbox by itself.
        expect(page.get_by_text("Realm")).to_be_visible(timeout=90_000)
        page.goto(f"{url}/Settings", wait_until="domcontentloaded")
        page.get_by_text("I want to disconnect").click()
        page.get_by_role("button", name="Disconnect", exact=True).click()
        expect(page.get_by_text("QuickBooks disconnected")).to_be_visible(timeout=30_000)
        time.sleep(4)  # the worker polls the connection every second
        page.goto(url, wait_until="domcontentloaded")
        # Addresses shown from data carry a word joiner before the @, so Streamlit does not make them links.
        by_admin = re.compile("QuickBooks was disconnected by local-admin\u2060?@localhost")
        expect(page.get_by_text(by_admin)).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Nothing syncs and nothing is marked failed until an admin connects again")
               ).to_be_visible()
        expect(page.get_by_role("link", name="Connect in Settings →")).to_be_visible()
    with serve_console(EMBEDDED, fresh_data_dir) as url:
        page.goto(url, wait_until="domcontentloaded")
        expect(page.get_by_text("QuickBooks was disconnected by")).to_be_visible(timeout=90_000)
        time.sleep(3)
    actions = _audit_actions(fresh_data_dir)
    assert actions[-1] == ("local-admin@localhost", "disconnect_quickbooks")
    assert [a for a in actions if a[1] == "connect_quickbooks"] == [("system@qbsync", "connect_quickbooks")]
