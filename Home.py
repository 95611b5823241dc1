"""Home: the QuickBooks connection, sync health, recent jobs and the billing book at a glance."""

from datetime import UTC, datetime
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from qbcore.connection import get_connection_state
from qbcore.jobs.queue import enqueue_sync, list_recent_jobs
from qbcore.models import ConnectionStatus
from qbcore.queries.book import count_book, list_monthly_totals
from qbcore.queries.health import (
    count_by_entity_and_status,
    count_waiting,
    get_last_synced_at,
    list_attempts_by_day,
    list_problem_ages,
)
from qbcore.refusals import Refusal
from ui.feedback import refusal_message
from ui.markup import Markdown, md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="QuickBooks Sync Console", page_icon="🔄", layout="wide")

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)
SETTINGS_PAGE = "pages/1_Settings.py"
PROBLEMS_PAGE = "pages/4_Problem_Sync.py"


def _page_link(page: str, label: Markdown) -> None:
    # A page arrives with its own issue; until then the link is plain text.
    if (Path(__file__).parent / page).exists():
        st.page_link(page, label=label)
    else:
        st.caption(label)


def _countdown(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int((moment - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired (renews on next use)"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours < 48 else f"{hours // 24} days"


def _moment(moment: datetime | None) -> str:
    if moment is None:
        return "an unknown date"
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).strftime("%b %d, %Y at %H:%M UTC")


def _records(count: int) -> str:
    return f"{count:,} record is" if count == 1 else f"{count:,} records are"


st.title("QuickBooks Sync Console")
st.caption("Keeps the billing book — customers, invoices, payments, credit memos — in step with QuickBooks Online.")

with runtime.factory() as session:
    connection = get_connection_state(session)
    waiting = count_waiting(session)
    last_synced = get_last_synced_at(session)
    statuses = count_by_entity_and_status(session)
    attempts = list_attempts_by_day(session)
    ages = list_problem_ages(session)
    jobs = list_recent_jobs(session, limit=8)
    counts = count_book(session)
    monthly = list_monthly_totals(session)

# --- Connection -------------------------------------------------------------------------------
st.subheader("QuickBooks connection")
left, middle, right, far = st.columns([2, 1, 1, 1])
if connection.status is ConnectionStatus.CONNECTED:
    # A company name is often longer than a metric tile shows; markdown wraps it.
    left.markdown(md("Company  \n**{company}**  \nRealm {realm}", company=connection.company_name or "—",
                     realm=connection.realm_id))
    middle.metric("Environment", plain(connection.environment or runtime.config.qbo_env.value))
    right.metric("Access token renews in", plain(_countdown(connection.access_expires_at)))
    far.metric("Reconnect needed in", plain(_countdown(connection.refresh_expires_at)),
               help="QuickBooks refresh tokens last about 100 days and roll forward with use.")
elif connection.status is ConnectionStatus.RECONNECT_REQUIRED:
    st.error(md("QuickBooks needs to be reconnected: {why}. Sync is paused; {waiting} waiting and will go as soon as "
                "you reconnect.", why=connection.last_error or "the authorization expired", waiting=_records(waiting)))
    _page_link(SETTINGS_PAGE, md("Reconnect in Settings →"))
elif connection.disconnected_by:
    st.warning(md("QuickBooks was disconnected by {who} on {when}. Nothing syncs and nothing is marked failed until "
                  "an admin connects again in Settings → QuickBooks connection; {waiting} waiting meanwhile.",
                  who=connection.disconnected_by, when=_moment(connection.disconnected_at),
                  waiting=_records(waiting)))
    _page_link(SETTINGS_PAGE, md("Connect in Settings →"))
else:
    st.warning(md("QuickBooks is not connected. {} waiting to sync. An admin connects a company in Settings → "
                  "QuickBooks connection to start.", _records(waiting)))
    _page_link(SETTINGS_PAGE, md("Connect in Settings →"))

# --- Sync health --------------------------------------------------------------------------------
st.subheader("Sync health")
if statuses.empty:
    st.info("Nothing to sync yet: the billing book is empty.")
else:
    synced = int(statuses.loc[statuses["status"] == "synced", "count"].sum())
    problems = int(statuses.loc[statuses["status"].isin(["failed", "blocked"]), "count"].sum())
    a, b, c, d = st.columns(4)
    a.metric("Synced", md("{:,}", synced))
    b.metric("Failed or blocked", md("{:,}", problems))
    c.metric("Waiting to sync", md("{:,}", waiting - problems))
    d.metric("Last record synced", md("{:%b %d, %H:%M}", last_synced) if last_synced else "never")
    health = (
        alt.Chart(statuses)
        .mark_bar()
        .encode(
            y=alt.Y("entity:N", title=""),
            x=alt.X("count:Q", title="Records", stack="normalize"),
            color=alt.Color("status:N", title="Status", scale=alt.Scale(
                domain=["synced", "pending", "never_synced", "out_of_date", "blocked", "failed", "cleared",
                        "paid_outside"],
                range=["#2CA01C", "#8FD19E", "#C8C8C8", "#F2C14E", "#F28E2B", "#D62728", "#9E9E9E", "#5B8DEF"])),
            tooltip=["entity", "status", "count"],
        )
        .properties(height=200)
    )
    st.altair_chart(health, width="stretch")
    can_sync = waiting and connection.status is ConnectionStatus.CONNECTED
    if can_sync and st.button(md("Sync all open records ({:,})", waiting), key="sync_all", type="primary",
                             help="New, edited, failed and blocked records; synced ones are never re-sent."):
        try:
            with runtime.factory() as session, session.begin():
                job = enqueue_sync(session, actor, label="Sync all open records (Home)")
            st.success(md("Queued job #{id}: {total:,} records. Follow it on Problem Sync.", id=job.id,
                          total=job.total))
        except Refusal as refusal:
            show_alert(*refusal_message(refusal))
    _page_link(PROBLEMS_PAGE, md("Open Problem Sync →"))

    chart_left, chart_right = st.columns(2)
    with chart_left:
        st.markdown("**Records synced and problems per day** (last 30 days)")
        if attempts.empty:
            st.caption("No sync attempts yet.")
        else:
            st.altair_chart(
                alt.Chart(attempts).mark_bar().encode(
                    x=alt.X("day:T", title=""), y=alt.Y("count:Q", title="Attempts"),
                    color=alt.Color("kind:N", title="Outcome"), tooltip=["day", "kind", "count"],
                ).properties(height=220),
                width="stretch",
            )
    with chart_right:
        st.markdown("**How long open problems have waited**")
        if int(ages["count"].sum()) == 0:
            st.caption("No open problems.")
        else:
            st.altair_chart(
                alt.Chart(ages).mark_bar(color="#F28E2B").encode(
                    x=alt.X("age:N", sort=None, title=""), y=alt.Y("count:Q", title="Records"),
                    tooltip=["age", "count"],
                ).properties(height=220),
                width="stretch",
            )

# --- Recent jobs ------------------------------------------------------------------------------
st.subheader("Recent jobs")
if not jobs:
    st.caption("No jobs yet. Resyncs started from Problem Sync, Home or `qbsync sync` appear here.")
else:
    st.dataframe(
        pd.DataFrame([{
            "Job": j.id, "What": (j.params or {}).get("label") or j.kind, "Status": j.status,
            "Progress": j.done / j.total if j.total else 0.0, "Synced": j.succeeded, "Failed": j.failed,
            "By": j.created_by, "Created": j.created_at,
        } for j in jobs]),
        hide_index=True,
        column_config={"Progress": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")},
    )

# --- The book ------------------------------------------------------------------------------------
st.subheader("The billing book")
if all(c.count == 0 for c in counts):
    st.info("The book is empty. Load your customers and invoices (qbsync import) or write a demo book "
            "with `qbsync demo --invoices 2000`.")
else:
    columns = st.columns(len(counts))
    for column, count in zip(columns, counts, strict=True):
        column.metric(plain(count.entity), md("{:,}", count.count),
                      help=None if count.total is None else plain(f"${count.total:,.2f}"))
    if not monthly.empty:
        chart = (
            alt.Chart(monthly)
            .mark_bar()
            .encode(
                x=alt.X("month:N", title="Month"),
                y=alt.Y("total:Q", title="Dollars"),
                color=alt.Color("entity:N", title=""),
                xOffset="entity:N",
                tooltip=["month", "entity", "count", alt.Tooltip("total:Q", format="$,.2f")],
            )
            .properties(height=280)
        )
        st.altair_chart(chart, width="stretch")
