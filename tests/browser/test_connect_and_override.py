"""Real Chromium: connect QuickBooks through the sandbox's consent page, then override an id checked live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from qbcore.connection import get_connection_state
from qbcore.db import transaction
from qbcore.models import AuditEvent, ConnectionStatus, EntityType, Invoice, SyncRecord, SyncStatus
from qbcore.qbo.lookup import open_gateway
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.sync.records import ensure_sync_records
from tests.browser.conftest_ids import ConnectedConsole, connected_console
from tests.browser.console_server import require_chromium

pytestmark = pytest.mark.browser

_ = connected_console  # the fixture, imported so pytest finds it here

GRID = 'iframe[title="st_aggrid.AgGrid.agGrid"]'


def test_connect_round_trip_through_the_sandbox_consent_page(page: Page, connected_console: ConnectedConsole):
    require_chromium()
    app = connected_console
    page.goto(f"{app.url}/Settings", wait_until="domcontentloaded")
    expect(page.get_by_text("QuickBooks is not connected")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Connect to QuickBooks").click()
    link = page.get_by_role("link", name=re.compile("Continue to QuickBooks sign-in"))
    expect(link).to_be_visible(timeout=30_000)
    assert link.get_attribute("href").startswith(f"{app.sandbox_url}/connect/oauth2")
    with page.context.expect_page() as consent_info:
        link.click()
    consent = consent_info.value
    consent.wait_for_load_state("domcontentloaded")
    consent.locator("#connect").click()
    expect(consent.get_by_text(re.compile("Connected to QuickBooks:"))).to_be_visible(timeout=60_000)
    # The callback's code/state/realmId are gone from the address bar once handled.
    expect(consent).to_have_url(re.compile(r"/Settings$"), timeout=30_000)
    with app.factory() as session:
        state = get_connection_state(session)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "connect_quickbooks"))
    assert state.status is ConnectionStatus.CONNECTED and state.realm_id
    assert event is not None


def _prepare_twin(app: ConnectedConsole) -> tuple[int, str, str]:
    """An unlinked invoice whose twin exists in QuickBooks; returns (record id, number, QuickBooks id)."""
    ensure_local_connection(app.factory, app.config)
    gateway = open_gateway(app.factory, app.config)
    with transaction(app.factory) as session:
        ensure_sync_records(session)
        invoice = session.scalar(select(Invoice).order_by(Invoice.id.desc()))
        customer = gateway.write("Customer", {"DisplayName": invoice.customer.name}, request_id="br-cust")["Id"]
        amount = float(invoice.total)
        qbo_id = gateway.write("Invoice", {
            "DocNumber": invoice.number, "TxnDate": invoice.invoice_date.isoformat(),
            "CustomerRef": {"value": customer},
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": amount,
                      "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": amount}}],
        }, request_id="br-inv")["Id"]
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                         SyncRecord.entity_id == invoice.id))
        record.status = SyncStatus.FAILED
        return record.id, invoice.number, qbo_id


def test_override_an_id_with_live_validation(page: Page, connected_console: ConnectedConsole):
    require_chromium()
    app = connected_console
    record_id, number, qbo_id = _prepare_twin(app)
    page.goto(f"{app.url}/QuickBooks_IDs", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="QuickBooks IDs")).to_be_visible(timeout=60_000)
    page.get_by_text("Also show records without a QuickBooks id").click()
    search = page.get_by_placeholder("Number, name, customer, vendor or QB id")
    search.fill(number)
    search.press("Enter")
    expect(page.get_by_text("1 record", exact=False)).to_be_visible(timeout=30_000)
    grid = page.frame_locator(GRID)
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(1, timeout=60_000)
    grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
    override = page.get_by_role("button", name="Override ID…")
    expect(override).to_be_enabled(timeout=30_000)
    override.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=30_000)

    new_id = dialog.get_by_label("New QuickBooks invoice id")
    new_id.fill("abc")
    new_id.press("Enter")
    dialog.get_by_role("button", name="Check in QuickBooks").click()
    expect(dialog.get_by_text("is not a QuickBooks id")).to_be_visible(timeout=30_000)

    new_id.fill(qbo_id)
    new_id.press("Enter")
    dialog.get_by_role("button", name="Check in QuickBooks").click()
    expect(dialog.get_by_text("points this record at another QuickBooks record")).to_be_visible(timeout=30_000)
    dialog.get_by_label("Reason (required, kept in the audit log)").fill("twin made by hand in QuickBooks")
    dialog.get_by_text("I'm sure — I understand what this breaks").click()
    dialog.get_by_role("button", name=f"Link to QuickBooks id {qbo_id}").click()
    expect(page.get_by_text(f"now linked to QuickBooks id {qbo_id}")).to_be_visible(timeout=30_000)
    with app.factory() as session:
        record = session.get(SyncRecord, record_id)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "override_qbo_id"))
    assert (record.qbo_id, record.status) == (qbo_id, SyncStatus.SYNCED)
    assert (event.after["qbo_id"], event.reason) == (qbo_id, "twin made by hand in QuickBooks")


def _prepare_walk_in_twin(app: ConnectedConsole) -> tuple[int, str, str]:
    """An unlinked invoice whose number QuickBooks has on another customer's $125 invoice: (record, number, id)."""
    ensure_local_connection(app.factory, app.config)
    gateway = open_gateway(app.factory, app.config)
    with transaction(app.factory) as session:
        ensure_sync_records(session)
        invoice = session.scalars(select(Invoice).order_by(Invoice.id.desc()).offset(1).limit(1)).one()
        walk_in = gateway.write("Customer", {"DisplayName": "Walk-in Customer"}, request_id="br-walk-in")["Id"]
        qbo_id = gateway.write("Invoice", {
            "DocNumber": invoice.number, "TxnDate": invoice.invoice_date.isoformat(),
            "CustomerRef": {"value": walk_in},
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 125.0,
                      "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 125.0}}],
        }, request_id="br-walk-in-inv")["Id"]
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                         SyncRecord.entity_id == invoice.id))
        record.status = SyncStatus.FAILED
        return record.id, invoice.number, qbo_id


def test_relinking_to_another_customers_twin_says_what_the_sync_would_overwrite_and_needs_overwrite_typed(
        page: Page, connected_console: ConnectedConsole):
    require_chromium()
    app = connected_console
    record_id, number, qbo_id = _prepare_walk_in_twin(app)
    page.goto(f"{app.url}/QuickBooks_IDs", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="QuickBooks IDs")).to_be_visible(timeout=60_000)
    page.get_by_text("Also show records without a QuickBooks id").click()
    search = page.get_by_placeholder("Number, name, customer, vendor or QB id")
    search.fill(number)
    search.press("Enter")
    grid = page.frame_locator(GRID)
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(1, timeout=60_000)
    grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
    relink = page.get_by_role("button", name="Re-link assistant…")
    expect(relink).to_be_enabled(timeout=30_000)
    relink.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Search QuickBooks").click()
    expect(dialog.get_by_text("linking it needs OVERWRITE typed")).to_be_visible(timeout=30_000)
    dialog.get_by_role("button", name="Check and link this one…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("New QuickBooks invoice id")).to_have_value(qbo_id, timeout=30_000)
    dialog.get_by_role("button", name="Check in QuickBooks").click()
    expect(dialog.get_by_text("Probably not ours:")).to_be_visible(timeout=30_000)
    expect(dialog.get_by_text(re.compile(
        rf"The next sync will overwrite QuickBooks invoice {number} \(id {qbo_id}\) of Walk-in Customer for "
        r"\$125\.00 with our invoice"))).to_be_visible()
    # No I'm-sure tick here: the word is typed, and the button stays off until it is.
    expect(dialog.get_by_text("I'm sure — I understand what this breaks")).to_have_count(0)
    dialog.get_by_label("Reason (required, kept in the audit log)").fill("number reused by hand in QuickBooks")
    link = dialog.get_by_role("button", name=f"Link to QuickBooks id {qbo_id}")
    overwrite = dialog.get_by_label("Type OVERWRITE to link it anyway")
    overwrite.fill("yes")
    overwrite.press("Enter")
    expect(link).to_be_disabled(timeout=30_000)
    overwrite.fill("OVERWRITE")
    overwrite.press("Enter")
    expect(link).to_be_enabled(timeout=30_000)
    link.click()
    expect(page.get_by_text(f"now linked to QuickBooks id {qbo_id}")).to_be_visible(timeout=30_000)
    with app.factory() as session:
        record = session.get(SyncRecord, record_id)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "override_qbo_id")
                                .order_by(AuditEvent.id.desc())).first()
    assert (record.qbo_id, record.status) == (qbo_id, SyncStatus.OUT_OF_DATE)
    assert (event.outcome, event.after["confirmed_overwrite"]) == ("ok", True)
