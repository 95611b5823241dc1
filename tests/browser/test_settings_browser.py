"""Real Chromium at 1280×800: Settings → Charge codes keeps the user on its tab and never pre-selects an item."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from qbcore.item_mappings import list_charge_code_mappings
from qbcore.qbo.oauth import ensure_local_connection
from tests.browser.conftest_ids import ConnectedConsole, connected_console
from tests.browser.console_server import require_chromium

pytestmark = pytest.mark.browser

_ = connected_console  # the fixture, imported so pytest finds it here


SETTLED = "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"


def _selected_tab(page: Page) -> str:
    return page.locator('[role="tab"][aria-selected="true"]').inner_text().strip()


def _open_create_popover(page: Page) -> Locator:
    """Open "Create item in QuickBooks" and return its "Create and map" button, in the viewport.

    The popover opens on a settled page: a run still drawing moves its anchor, and on a loaded machine the popover
    was left outside the viewport (twice in CI rehearsals, once even after the wait). A user closes it and opens it
    again; so does this, up to three times.
    """
    for _ in range(3):
        page.wait_for_function(SETTLED, timeout=30_000)
        page.get_by_role("button", name="Create item in QuickBooks").click()
        expect(page.get_by_label("Item name")).to_be_visible(timeout=30_000)
        page.wait_for_function(SETTLED, timeout=30_000)
        create = page.get_by_role("button", name="Create and map")
        create.scroll_into_view_if_needed()
        try:
            expect(create).to_be_in_viewport(timeout=5_000)
        except AssertionError:
            page.keyboard.press("Escape")
            expect(page.get_by_label("Item name")).to_be_hidden(timeout=10_000)
            continue
        return create
    raise AssertionError("the Create item popover opened outside the viewport three times")


def test_create_and_map_keeps_the_charge_codes_tab_open(page: Page, connected_console: ConnectedConsole):
    require_chromium()
    app = connected_console
    ensure_local_connection(app.factory, app.config)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{app.url}/Settings", wait_until="domcontentloaded")
    expect(page.get_by_text(re.compile("Connected to"))).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Charge codes").click()
    # BASE has no item of its own in this company: the picker is empty, never another code's item.
    expect(page.get_by_label("QuickBooks item", exact=True)).to_have_value("— choose an item —", timeout=30_000)
    _open_create_popover(page).click()
    expect(page.get_by_text(re.compile(r"BASE now posts to QuickBooks item BASE \(id \d+\)"))).to_be_visible(
        timeout=60_000)
    assert _selected_tab(page) == "Charge codes"
    with app.factory() as session:
        base = next(m for m in list_charge_code_mappings(session) if m.code == "BASE")
    assert base.is_mapped and base.qbo_item_name == "BASE"
