"""Month-end page (AppTest): months with their checklist, and records the closing date will refuse."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from qbcore.db import transaction
from qbcore.models import Invoice
from qbcore.pull.bookmark import save_book_close_date
from tests.ui.conftest import open_page

PAGE = "8_Month_End.py"


def test_months_show_what_keeps_them_from_closing(home, demo_factory) -> None:
    at = open_page(home, PAGE)
    assert not at.exception
    table = at.dataframe[0].value
    # Counts and one dollar total of what waits: the table fits 1280 px (tests/browser checks it does).
    assert list(table.columns) == ["Month", "Status", "Records", "Unsynced", "Failed", "Blocked", "Amount waiting",
                                   "Drifted", "To decide", "Closed period"]
    assert (table["Status"] == "❌ Not ready").all()  # nothing synced yet in the demo book, said in words too
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["Amount waiting"]["type_config"]["format"] == "dollar"
    assert all(isinstance(config[c].get("width"), int) for c in table.columns)
    assert "closing date" in config["Closed period"]["help"] and "Reconciliation" in config["To decide"]["help"]
    assert any("Every record is in QuickBooks" in str(e.value) for e in at.error)


def test_records_inside_the_closed_period_are_flagged_before_they_are_sent(home, demo_factory) -> None:
    with transaction(demo_factory) as session:
        first = session.scalar(select(Invoice.invoice_date).order_by(Invoice.invoice_date).limit(1))
        save_book_close_date(session, first)
    at = open_page(home, PAGE)
    assert not at.exception
    assert "will be refused" in at.warning[0].value or "refuses them" in at.warning[0].value
    flagged = at.dataframe[1].value
    assert set(flagged["Date"]) <= {first.isoformat()} and len(flagged) >= 1
    assert "closing date" in at.markdown[0].value and first.isoformat() in at.markdown[0].value
    month = date.fromisoformat(first.isoformat()).strftime("%Y-%m")
    at.selectbox(key="month_end_month").select(month).run()
    assert any("closed period" in str(e.value) and "refused" in str(e.value) for e in at.error)


def test_the_closing_date_is_read_from_quickbooks_on_demand(home, demo_factory, monkeypatch) -> None:
    import os

    from qbcore.config import load_config
    from qbcore.qbo.oauth import ensure_local_connection
    from qbo_sandbox.server import SandboxOptions, start_in_thread

    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        ensure_local_connection(demo_factory, load_config(os.environ, {}))
        import requests

        realm = requests.get(f"{running.url}/_sandbox/health", timeout=5).json()["default_realm"]
        requests.post(f"{running.url}/_sandbox/realms/{realm}/plant", json={"closing_date": "2026-06-30"}, timeout=5)
        at = open_page(home, PAGE)
        at.button(key="month_end_read_close").click().run()
    assert not at.exception
    assert "closed through 2026-06-30" in at.success[0].value
    assert "2026-06-30" in at.markdown[0].value


def test_a_months_waiting_records_link_to_each_problem_sync_tab_and_the_month_stays_in_view(home, demo_factory):
    at = open_page(home, PAGE)
    assert not at.exception
    month = at.selectbox(key="month_end_month").value
    links = {link.proto.query_string: link.proto.label for link in at.get("page_link")
             if link.proto.page == "Problem_Sync" and "from=" in link.proto.query_string
             and f"from={month}-01" in link.proto.query_string}
    # Waiting counts payments and credit memos too, not only invoices: each has a link to its own tab.
    tabs = {query.split("&")[0] for query in links}
    assert tabs == {"tab=invoice", "tab=payment", "tab=credit_memo"}, links
    assert f"Open {month}'s waiting payments on Problem Sync" in links.values()
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["Month"]["pinned"] and config["Status"]["pinned"]


def test_bills_show_only_once_payables_sync_with_their_dollars_checklist_and_links(home, demo_factory) -> None:
    from qbcore.access import LOCAL_ADMIN
    from qbcore.settings import save_settings

    at = open_page(home, PAGE)
    assert len(at.dataframe) == 1, "no bills table while payables are off"
    assert not any("Every bill" in str(e.value) for e in at.error)

    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True})
    at = open_page(home, PAGE)
    assert not at.exception
    table = at.dataframe[1].value  # the bills' own table, below the months'
    assert list(table.columns) == ["Month", "Bills", "Unsynced", "Failed", "Blocked", "Amount waiting",
                                   "Closed period"]
    config = json.loads(at.dataframe[1].proto.columns)
    assert config["Amount waiting"]["type_config"]["format"] == "dollar"
    assert "Driver settlements and carrier bills" in [c.value for c in at.caption]
    with_bills = table[table["Unsynced"] > 0]
    assert len(with_bills) >= 1
    at.selectbox(key="month_end_month").select(with_bills.iloc[0]["Month"]).run()
    assert any("Every bill is in QuickBooks" in str(e.value) and "unsynced" in str(e.value) for e in at.error)
    tabs = {link.proto.query_string.split("&")[0] for link in at.get("page_link") if link.proto.page == "Problem_Sync"}
    # Driver settlements sync, carrier bills do not: a link to the settlements' tab only.
    assert "tab=settlement" in tabs and "tab=carrier_bill" not in tabs
