"""Real Chromium at 1280×800 on QuickBooks IDs: every column header readable, and Remove names the record."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from qbcore.db import transaction
from qbcore.models import EntityType, Invoice, SyncRecord, SyncStatus
from qbcore.sync.records import ensure_sync_records
from tests.browser.conftest_ids import ConnectedConsole, connected_console
from tests.browser.console_server import require_chromium

pytestmark = pytest.mark.browser

_ = connected_console  # the fixture, imported so pytest finds it here

GRID = 'iframe[title="st_aggrid.AgGrid.agGrid"]'
QBO_ID = "9001"

# For each header label fully inside the grid's frame: is something else on top of it, or is it cut off?
_HEADER_CHECK = """(header) => [...header.querySelectorAll('.ag-header-cell')].map(cell => {
    const text = cell.querySelector('.ag-header-cell-text');
    if (!text || !text.textContent.trim()) { return null; }
    const box = text.getBoundingClientRect();
    if (box.left < 0 || box.right > window.innerWidth) { return null; }
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return {label: text.textContent.trim(), covered: !cell.contains(hit), cut: text.scrollWidth > text.clientWidth};
}).filter(Boolean)"""


def _link_one_invoice(app: ConnectedConsole) -> tuple[str, str]:
    """One invoice linked to QuickBooks (as a sync would leave it): its number and customer name."""
    with transaction(app.factory) as session:
        ensure_sync_records(session)
        invoice = session.scalars(select(Invoice).order_by(Invoice.id).offset(2).limit(1)).one()
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                         SyncRecord.entity_id == invoice.id))
        record.qbo_id, record.status = QBO_ID, SyncStatus.SYNCED
        return invoice.number, invoice.customer.name


def test_at_1280_the_headers_are_readable_and_remove_names_the_invoice_and_its_customer(
        page: Page, connected_console: ConnectedConsole):
    require_chromium()
    app = connected_console
    number, customer = _link_one_invoice(app)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{app.url}/QuickBooks_IDs", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="QuickBooks IDs")).to_be_visible(timeout=60_000)
    search = page.get_by_placeholder("Number, name, customer, vendor or QB id")
    search.fill(number)
    search.press("Enter")
    grid = page.frame_locator(GRID)
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(1, timeout=60_000)

    header = grid.locator(".ag-header")
    header.hover()  # a floating toolbar shows itself on hover
    page.wait_for_timeout(500)
    headers = header.evaluate(_HEADER_CHECK)
    labels = {h["label"] for h in headers}
    assert {"Type", "Number / name", "Customer", "Amount", "Date"} <= labels, headers
    assert [h for h in headers if h["covered"] or h["cut"]] == [], headers

    grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
    remove = page.get_by_role("button", name="Remove ID… (1)")
    expect(remove).to_be_enabled(timeout=30_000)
    remove.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Invoice {number} · {customer}")).to_be_visible(timeout=30_000)
    dialog.get_by_label("Reason (required, kept in the audit log)").fill("deleted in QuickBooks by the controller")
    dialog.get_by_text("I'm sure — I understand what this breaks").click()
    dialog.get_by_role("button", name="Remove 1 QuickBooks id").click()
    expect(page.get_by_text(f"Removed the QuickBooks id of Invoice {number} · {customer} "
                            f"(was QuickBooks id {QBO_ID}). It will re-sync.")).to_be_visible(timeout=30_000)
    with app.factory() as session:
        record = session.scalar(select(SyncRecord).join(Invoice, Invoice.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.INVOICE, Invoice.number == number))
    assert (record.qbo_id, record.status) == (None, SyncStatus.NEVER_SYNCED)
