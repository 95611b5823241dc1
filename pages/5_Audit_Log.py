"""Audit log: who did what, when, to what and why; filter and export."""

from __future__ import annotations

import streamlit as st

from qbcore.labels import OUTCOME
from qbcore.queries.audit import (
    PAGE_LIMIT,
    AuditFilter,
    action_label,
    audit_csv_bytes,
    count_audit_events,
    list_audit_actions,
    list_audit_actors,
    list_audit_events,
)
from ui.companies import choose_company
from ui.markup import md
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Audit log · QuickBooks Sync Console", page_icon="📜", layout="wide")

OUTCOMES = ["ok", "refused"]

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)

st.title("Audit log")
st.caption("Every change to settings, mappings, users, QuickBooks ids and problems — and every refused attempt — "
           "with who, when, before and after, and the reason given. The log is append-only.")

companies = choose_company(runtime.factory, "audit_company", md("QuickBooks company"))
with runtime.factory() as session:
    actors = list_audit_actors(session)
    actions = list_audit_actions(session)

# The day range gets the widest column: narrower, it cut "yyyy-mm-dd – yyyy-mm-dd" off at 1280 px.
row = st.columns([3, 3, 3, 4])
# Short placeholders that say what an empty filter means ("Choose options" was cut to "Choose optio" at 1280 px).
who = row[0].multiselect("Who", actors, key="audit_who", placeholder="Anyone")
what = row[1].multiselect("What", actions, key="audit_what", format_func=action_label, placeholder="Any action")
outcome = row[2].multiselect("Outcome", OUTCOMES, key="audit_outcome", format_func=OUTCOME.__getitem__,
                             placeholder="Any outcome")
dates = row[3].date_input("When (UTC days)", value=(), key="audit_dates", format="YYYY-MM-DD")  # type: ignore[arg-type]  # () = a range, none picked
search = st.text_input("Search by record (invoice number, customer name), who or reason", key="audit_search",
                       placeholder="INV-101224, ACME Logistics, a reason…")
flt = AuditFilter(actors=tuple(who), actions=tuple(what), outcomes=tuple(outcome),
                  since=dates[0] if len(dates) > 0 else None,
                  until=dates[1] if len(dates) > 1 else (dates[0] if dates else None), search=search or "",
                  company_id=companies.chosen)

with runtime.factory() as session:
    total = count_audit_events(session, flt)
    events = list_audit_events(session, flt)

if total == 0:
    if actors:
        st.info("No event matches these filters. Widen the date range or clear a filter.")
    else:
        st.info("Nothing has been recorded yet. Changes made in Settings, QuickBooks IDs, Mapping preview and "
                "Problem Sync appear here.")
else:
    shown = (f"Showing the newest {PAGE_LIMIT:,} of {total:,} events" if total > PAGE_LIMIT
             else f"{total:,} event" if total == 1 else f"{total:,} events")
    st.markdown(md("**{}**", shown))
    st.dataframe(events, hide_index=True, column_config={
        # Pinned: at 1280 px the table scrolls sideways to Reason, Before and After, and the time stays in view.
        "When (UTC)": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss", pinned=True),
    })
    factory = runtime.factory

    def export() -> bytes:
        with factory() as session:
            return audit_csv_bytes(session, flt)

    st.download_button(md("Export {:,} {} (CSV)", total, "event" if total == 1 else "events"), export,
                       file_name="audit_log.csv", mime="text/csv", on_click="ignore", key="audit_export")
