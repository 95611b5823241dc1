"""Month-end readiness: per accounting month, what still keeps it from closing cleanly in QuickBooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from qbcore import live
from qbcore.entities.registry import PROBLEM_TABS
from qbcore.labels import SYNC_STATUS, label, label_entity, plural
from qbcore.models import ENTITY_NOUNS, EntityType
from qbcore.queries.month_end import read_month_end
from qbcore.read_cache import read_once
from qbcore.refusals import Refusal
from ui.companies import CompanyView, choose_company
from ui.feedback import refusal_message
from ui.formatting import money_columns
from ui.markup import md, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Month end · QuickBooks Sync Console", page_icon="📅", layout="wide")

FLASH_KEY = "month_end_flash"

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)


def read_close_date() -> None:
    """Ask QuickBooks for its closing date now."""
    try:
        value = live.read_close_date(runtime.factory, runtime.config, company.chosen)
    except Refusal as refusal:
        st.session_state[FLASH_KEY] = refusal_message(refusal)
        return
    st.session_state[FLASH_KEY] = ("success", f"QuickBooks' books are closed through {value}." if value
                                   else "QuickBooks' books are not closed.")


st.title("Month end")
st.caption("A month is ready to close when every record is in QuickBooks, nothing drifted, no pulled payment "
           "waits for a decision, and nothing waiting is dated inside QuickBooks' closed period. Once driver "
           "settlements or carrier bills sync (Settings → What syncs), their bills count too.")
message = st.session_state.pop(FLASH_KEY, None)
if message:
    show_alert("success" if message[0] == "success" else "error", message[1])

company: CompanyView = choose_company(runtime.factory, "month_end_company", md("QuickBooks company"))
every_company = company.several and company.chosen is None


# Kept until the database changes: opening the page again, or a rerun, with nothing new reads the months once.
view = read_once(runtime.factory, ("month end", company.chosen, every_company),
                 lambda session: read_month_end(session, company.chosen, every_company=every_company))
months, closed, close_date, close_dates = view.months, view.closed, view.close_date, view.close_dates
if company.several and not every_company:
    closed = [replace(r, company=company.name_of(company.chosen)) for r in closed]

if every_company:
    st.markdown(md("**QuickBooks closing dates:** {} — read at every pull. Choose a company to read its date now.",
                   "; ".join(f"{name}: {day.isoformat() if day else 'not closed'}"
                             for name, day in close_dates.items())))
else:
    c1, c2 = st.columns([2, 1])
    c1.markdown(md("**QuickBooks closing date:** {} — read at every pull.",
                   close_date.isoformat() if close_date else "not closed (or not read yet)"))
    c2.button("Read it from QuickBooks now", on_click=read_close_date, key="month_end_read_close")

if not months:
    st.info("No billing records yet. Import a book on the Import page (or start the demo book), then come back.")
else:
    # Counts, one dollar total of what waits, and short headers (their help says the rest): the table fits a
    # 1280 px window without scrolling sideways. Bills, once payables sync, get a table of their own below.
    count = st.column_config.NumberColumn
    st.dataframe(pd.DataFrame([{
        "Month": m.month, **({"Company": m.company} if every_company else {}),
        "Status": "✅ Ready to close" if m.is_clean else "❌ Not ready", "Records": m.records,
        "Unsynced": m.unsynced.count, "Failed": m.failed.count, "Blocked": m.blocked.count,
        "Amount waiting": float(m.unsynced.amount + m.failed.amount + m.blocked.amount),
        "Drifted": m.drifted.count, "To decide": m.proposals.count, "Closed period": m.closed_conflicts.count,
    } for m in months]), hide_index=True, key="month_end_table", column_config={
        # With every company listed the table may still scroll; the month and its status stay in view.
        "Month": st.column_config.Column("Month", pinned=True, width=75),
        "Company": st.column_config.Column("Company", width=130),
        "Status": st.column_config.Column("Status", pinned=True, width=110),
        "Records": count("Records", width=65),
        "Unsynced": count("Unsynced", width=75, help="Records not in QuickBooks yet (never synced, or changed "
                                                     "since)"),
        "Failed": count("Failed", width=60),
        "Blocked": count("Blocked", width=70, help="Records waiting for a customer, item or vendor to sync first"),
        **money_columns("Amount waiting", width=115, help="The dollars of the unsynced, failed and blocked records"),
        "Drifted": count("Drifted", width=65, help="Records voided, deleted or edited in QuickBooks"),
        "To decide": count("To decide", width=72, help="Payments pulled from QuickBooks waiting for a decision on "
                                                       "Reconciliation"),
        "Closed period": count("Closed period", width=95, help="Waiting records dated on or before QuickBooks' "
                                                                "closing date: QuickBooks will refuse them"),
    })
    # Bills only once a company syncs payables (Settings → What syncs): otherwise they would be all zeros.
    if any(m.payables for m in months):
        st.caption("Driver settlements and carrier bills")
        st.dataframe(pd.DataFrame([{
            "Month": m.month, **({"Company": m.company} if every_company else {}), "Bills": m.bills,
            "Unsynced": m.bills_unsynced.count, "Failed": m.bills_failed.count, "Blocked": m.bills_blocked.count,
            "Amount waiting": float(m.bills_unsynced.amount + m.bills_failed.amount + m.bills_blocked.amount),
            "Closed period": m.bills_closed.count,
        } for m in months if m.payables]), hide_index=True, key="month_end_bills", column_config={
            "Month": st.column_config.Column("Month", pinned=True, width=75),
            "Company": st.column_config.Column("Company", width=130),
            "Bills": count("Bills", width=70, help="Finalized settlements and accepted carrier bills"),
            "Unsynced": count("Unsynced", width=75), "Failed": count("Failed", width=60),
            "Blocked": count("Blocked", width=70, help="Bills waiting for their vendor or an account to sync first"),
            **money_columns("Amount waiting", width=125, help="The dollars of the unsynced, failed and blocked bills"),
            "Closed period": count("Closed period", width=105, help="Waiting bills dated on or before QuickBooks' "
                                                                    "closing date: QuickBooks will refuse them"),
        })

    # With every company listed, a month of each company is its own line to close.
    by_label = {(f"{m.month} · {m.company}" if every_company else m.month): m for m in months}
    choice = st.selectbox("Checklist for", list(by_label), key="month_end_month")
    month = by_label.get(choice) or months[0]
    st.subheader(md("{month}: {state}", month=choice or month.month,
                    state="✅ ready to close" if month.is_clean else "❌ not ready yet"))
    for item in month.checklist:
        show_alert("success" if item.done else "error",
                   md("{mark} {label} — {detail}", mark="✅ Done:" if item.done else "❌ To do:", label=item.label,
                      detail=item.detail))
    waiting = month.unsynced.count + month.failed.count + month.blocked.count
    first_day = date.fromisoformat(f"{month.month}-01")
    last_day = date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1) - timedelta(days=1)
    links = st.container(horizontal=True)
    if waiting:
        # The waiting count covers every dated money record (invoices, payments, credit memos): one link per tab.
        for kind in (spec.entity_type for spec in PROBLEM_TABS if spec.ledger is not None):
            links.page_link("pages/4_Problem_Sync.py", icon=":material/build:",
                            label=md("Open {month}'s waiting {noun} on Problem Sync", month=month.month,
                                     noun=ENTITY_NOUNS[kind][1]),
                            query_params={"tab": kind.value, "from": first_day.isoformat(),
                                          "to": last_day.isoformat()})
    # One link per kind of bill that has some waiting this month (a kind not synced has no tab to open).
    for kind in (EntityType(value) for value in month.waiting_bill_types):
        links.page_link("pages/4_Problem_Sync.py", icon=":material/build:",
                        label=md("Open {month}'s waiting {noun} on Problem Sync", month=month.month,
                                 noun=ENTITY_NOUNS[kind][1]),
                        query_params={"tab": kind.value, "from": first_day.isoformat(), "to": last_day.isoformat()})
    if month.proposals.count or month.drifted.count:
        links.page_link("pages/7_Reconciliation.py", icon=":material/balance:",
                        label="Decide payments and drift on Reconciliation")

if closed:
    st.subheader("Records QuickBooks' closing date will refuse")
    if every_company:
        st.warning(md("{count} waiting {verb} dated on or before their company's closing date. QuickBooks refuses "
                      "them (error 6200): change their date in billing, or have an admin reopen the period in that "
                      "company's QuickBooks.", count=plural(len(closed), "record"),
                      verb="is" if len(closed) == 1 else "are"))
    else:
        st.warning(md("{count} waiting {verb} dated on or before {day}. QuickBooks refuses them (error 6200): "
                      "change their date in billing, or have an admin reopen the period in QuickBooks.",
                      count=plural(len(closed), "record"), verb="is" if len(closed) == 1 else "are", day=close_date))
    st.dataframe(pd.DataFrame([{
        **({"Company": r.company} if company.several else {}), "Type": label_entity(r.entity_type),
        "Number": r.number, "Date": r.day.isoformat(), "Amount": float(r.amount),
        "Status": label(SYNC_STATUS, r.status),
    } for r in closed]), hide_index=True, key="month_end_closed", column_config=money_columns("Amount"))
    closed_links = st.container(horizontal=True)
    for entity_type in sorted({r.entity_type for r in closed}):
        dated = [r.day for r in closed if r.entity_type == entity_type]
        closed_links.page_link(
            "pages/4_Problem_Sync.py", icon=":material/build:",
            label=md("Open these {} on Problem Sync", ENTITY_NOUNS[EntityType(entity_type)][1]),
            query_params={"tab": entity_type, "from": min(dated).isoformat(), "to": max(dated).isoformat()})
