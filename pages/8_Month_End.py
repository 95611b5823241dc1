"""Month-end readiness: per accounting month, what still keeps it from closing cleanly in QuickBooks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qbcore import live
from qbcore.db import transaction
from qbcore.pull.bookmark import get_book_close_date
from qbcore.queries.month_end import list_closed_period_records, list_month_readiness
from qbcore.refusals import Refusal
from ui.feedback import refusal_message
from ui.formatting import format_money
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
        value = live.read_close_date(runtime.factory, runtime.config)
    except Refusal as refusal:
        st.session_state[FLASH_KEY] = refusal_message(refusal)
        return
    st.session_state[FLASH_KEY] = ("success", f"QuickBooks' books are closed through {value}." if value
                                   else "QuickBooks' books are not closed.")


st.title("Month end")
st.caption("A month is ready to close when every record is in QuickBooks, nothing drifted, no pulled payment "
           "waits for a decision, and nothing waiting is dated inside QuickBooks' closed period.")
message = st.session_state.pop(FLASH_KEY, None)
if message:
    show_alert("success" if message[0] == "success" else "error", message[1])

with transaction(runtime.factory) as session:
    close_date = get_book_close_date(session)
    months = list_month_readiness(session, close_date=close_date, months=24)
    closed = list_closed_period_records(session, close_date=close_date, limit=2000)

c1, c2 = st.columns([2, 1])
c1.markdown(md("**QuickBooks closing date:** {} — read at every pull.",
               close_date.isoformat() if close_date else "not closed (or not read yet)"))
c2.button("Read it from QuickBooks now", on_click=read_close_date, key="month_end_read_close")

if not months:
    st.info("No billing records yet.")
else:
    st.dataframe(pd.DataFrame([{
        "Month": m.month, "Ready": "✅" if m.is_clean else "❌", "Records": m.records,
        "Unsynced": m.unsynced.count, "Unsynced ($)": float(m.unsynced.amount),
        "Failed": m.failed.count, "Failed ($)": float(m.failed.amount),
        "Blocked": m.blocked.count, "Blocked ($)": float(m.blocked.amount),
        "Drifted": m.drifted.count, "Drifted ($)": float(m.drifted.amount),
        "Proposals": m.proposals.count, "In closed period": m.closed_conflicts.count,
    } for m in months]), hide_index=True, key="month_end_table")

    choice = st.selectbox("Checklist for", [m.month for m in months], key="month_end_month")
    month = next(m for m in months if m.month == choice)
    st.subheader(md("{month}: {state}", month=month.month,
                    state="ready to close" if month.is_clean else "not ready yet"))
    for item in month.checklist:
        show_alert("success" if item.done else "error",
                   md("{mark} {label} — {detail}", mark="✅" if item.done else "❌", label=item.label,
                      detail=item.detail))

if closed:
    st.subheader("Records QuickBooks' closing date will refuse")
    st.warning(md("{count:,} waiting records are dated on or before {day}. QuickBooks refuses them (error 6200): "
                  "change their date in billing, or have an admin reopen the period in QuickBooks.", count=len(closed),
                  day=close_date))
    st.dataframe(pd.DataFrame([{"Type": r.entity_type, "Number": r.number, "Date": r.day.isoformat(),
                                "Amount": format_money(r.amount), "Status": r.status} for r in closed]),
                 hide_index=True, key="month_end_closed")
