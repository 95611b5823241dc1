"""Month End and Mapping Preview tables fit a 1280 px window in real Chromium: nothing scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.settings import save_settings
from qbcore.sync.records import ensure_sync_records
from tests.browser.conftest import ConsoleApp

pytestmark = pytest.mark.browser

TABLE = "[data-testid='stDataFrame']"
# Each st.dataframe's scroller: how wide its columns are, and how wide the table is on the page.
WIDTHS = f"""() => [...document.querySelectorAll("{TABLE}")].map(t => {{
    const s = t.querySelector('.dvn-scroller'); return [s.scrollWidth, s.clientWidth]; }})"""


@pytest.fixture
def payables_on(console_app: ConsoleApp) -> Iterator[ConsoleApp]:
    """Settlements and carrier bills switched on (their columns and tables show); switched off again after."""
    with transaction(console_app.factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
        ensure_sync_records(session)
    yield console_app
    with transaction(console_app.factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": False, "sync_carrier_bills": False})


def _widths(page: Page, count: int) -> list[list[int]]:
    expect(page.locator(TABLE)).to_have_count(count, timeout=60_000)
    expect(page.locator(f"{TABLE} .dvn-scroller")).to_have_count(count, timeout=60_000)
    page.wait_for_timeout(1500)  # column widths settle after the first paint
    return page.evaluate(WIDTHS)


@pytest.mark.parametrize(("path", "kind", "tables"), [
    ("Month_End", None, 2),  # the months, and the bills below them
    ("Mapping_Preview", None, 1),
    ("Mapping_Preview", "Settlement", 1),
    ("Mapping_Preview", "Carrier bill", 1),
])
def test_the_tables_fit_a_1280_px_window_without_scrolling_sideways(page: Page, payables_on: ConsoleApp, path: str,
                                                                    kind: str | None, tables: int) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{payables_on.url}/{path}", wait_until="domcontentloaded")
    if kind is not None:
        _widths(page, 1)
        page.get_by_text(kind, exact=True).first.click()
        expect(page.get_by_role("heading", name=re.compile(f"^{kind} "))).to_be_visible(timeout=60_000)
    widths = _widths(page, tables)
    assert all(scroll <= client for scroll, client in widths), widths
