"""Home: the QuickBooks connection, sync health, recent jobs and the billing book at a glance."""

import streamlit as st

# A process's first run imports pandas, Altair and SQLAlchemy, seconds on a small machine: say so before that.
st.set_page_config(page_title="QuickBooks Sync Console", page_icon="🔄", layout="wide")
starting = st.empty()
starting.info("Starting the console: loading its parts, then the database…")

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from qbcore.alerts.history import list_failing_channels
from qbcore.connection import get_connection_state
from qbcore.jobs.queue import list_recent_jobs
from qbcore.jobs.schedule import enqueue_all_open
from qbcore.labels import (
    ENVIRONMENT,
    JOB_STATUS,
    SYNC_STATUS,
    SYNC_STATUS_COLOURS,
    attempt_outcome,
    label,
    outcome_colours,
)
from qbcore.models import ConnectionStatus, JobStatus
from qbcore.problems.queries import get_last_sync_time
from qbcore.queries.book import CHART_MONTHS, count_book, list_monthly_totals
from qbcore.queries.health import (
    count_by_entity_and_status,
    count_waiting,
    list_attempts_by_day,
    list_company_health,
    list_problem_ages,
)
from qbcore.read_cache import read_once
from qbcore.refusals import Refusal
from ui.feedback import flash_messages, refusal_message
from ui.markup import Markdown, md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

runtime = get_runtime()
starting.empty()
actor = get_actor()
show_actor_badge(actor)
SETTINGS_PAGE = "pages/1_Settings.py"
PROBLEMS_PAGE = "pages/4_Problem_Sync.py"
CONFIRM_KEY = "home_confirm_sync_all"
JOB_KEY = "home_job"
JOB_SEEN_KEY = "home_job_seen_finished"
JOBS_REFRESH_S = 3
flash, show_flash = flash_messages("home_flash")


def _close_confirm() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


@st.dialog("Sync all open records?", on_dismiss=_close_confirm)
def confirm_sync_all(waiting: int) -> None:
    """The same confirmation Problem Sync asks before a bulk resync: what goes, how many, what stays."""
    st.markdown(md("This queues **{}** for QuickBooks: new, edited, failed and blocked ones. Synced, cleared and "
                   "paid-outside records are never re-sent.", _count_records(waiting)))
    st.caption("The job runs in the background; its progress and result show below under Recent jobs.")
    confirm, cancel = st.columns(2)
    if confirm.button("Queue the sync", type="primary", key="sync_all_confirm"):
        try:
            with runtime.factory() as session, session.begin():
                job = enqueue_all_open(session, actor, label="Sync all open records (Home)")
        except Refusal as refusal:
            flash(*refusal_message(refusal, done="Not queued"))
        else:
            st.session_state[JOB_KEY] = job.id
            flash("success", f"Queued job #{job.id}: {job.total:,} record{'' if job.total == 1 else 's'}. "
                             "Its progress shows under Recent jobs.")
        _close_confirm()
        st.rerun()
    if cancel.button("Cancel", key="sync_all_cancel"):
        _close_confirm()
        st.rerun()


def _job_result(job) -> str:
    """'Job #12 finished: 1,870 synced, 12 failed or blocked.'"""
    if job.status in ("queued", "running"):
        return (f"Job #{job.id} ({(job.params or {}).get('label') or 'sync'}): {job.done:,} of {job.total:,} "
                "records done. It runs in the background.")
    failed = f", {job.failed:,} failed or blocked — see Problem Sync" if job.failed else ""
    return f"Job #{job.id} {label(JOB_STATUS, job.status).lower()}: {job.succeeded:,} synced{failed}."


@st.fragment(run_every=JOBS_REFRESH_S)
def show_jobs() -> None:
    """The newest jobs, re-read every few seconds so a finished job shows as finished without a reload."""
    with runtime.factory() as session:
        jobs = list_recent_jobs(session, limit=8)
    mine = next((j for j in jobs if j.id == st.session_state.get(JOB_KEY)), None)
    if mine is not None:
        if mine.status in ("queued", "running"):
            st.progress(mine.done / mine.total if mine.total else 0.0, text=plain(_job_result(mine)))
        elif st.session_state.get(JOB_SEEN_KEY) != mine.id:
            # The job just finished: run the whole page once, so Sync health above agrees with its result.
            st.session_state[JOB_SEEN_KEY] = mine.id
            st.rerun(scope="app")
        else:
            show_alert("warning" if mine.failed else "success", _job_result(mine))
    if not jobs:
        st.caption("No jobs yet. Resyncs started from Problem Sync, Home or `qbsync sync` appear here.")
        return
    names = {c.company_id: c.name for c in companies}
    rows = []
    for j in jobs:
        row: dict[str, Any] = {"Job": j.id, "What": (j.params or {}).get("label") or j.kind.title()}
        if len(companies) > 1:  # a job without a company ran every company's records
            row["Company"] = names.get((j.params or {}).get("company_id") or 0, "All companies")
        rows.append(row | {
            "Status": label(JOB_STATUS, j.status),
            # A finished job with nothing to do (a pull that found no change) is complete, not at 0%.
            "Progress": j.done / j.total if j.total else (1.0 if j.status == JobStatus.DONE else 0.0),
            "Synced": j.succeeded, "Failed": j.failed,
            "By": j.created_by, "Created": j.created_at,
        })
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        # Narrow number columns, so "Created (UTC)" is not cut off at 1280 px.
        column_config={"Job": st.column_config.NumberColumn("Job", width=50),
                       "Synced": st.column_config.NumberColumn("Synced", width=70),
                       "Failed": st.column_config.NumberColumn("Failed", width=70),
                       "Progress": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent",
                                                                   width=110),
                       "Created": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm")},
    )


def _page_link(page: str, label: Markdown) -> None:
    # A page arrives with its own issue; until then the link is plain text.
    if (Path(__file__).parent / page).exists():
        st.page_link(page, label=label)
    else:
        st.caption(label)


def _countdown(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    seconds = int((moment - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired (renews on next use)"
    hours, rest = divmod(seconds, 3600)
    if hours == 0:
        return f"{max(rest // 60, 1)} min"
    return f"{hours} h {rest // 60} min" if hours < 48 else f"{hours // 24} days"


def _moment(moment: datetime | None) -> str:
    if moment is None:
        return "an unknown date"
    return moment.strftime("%b %d, %Y at %H:%M UTC")


def _count_records(count: int) -> str:
    return f"{count:,} record" if count == 1 else f"{count:,} records"


def _ago(moment: datetime | None) -> str:
    """'just now', '12 min ago', '3 h ago', 'Nov 28' — short enough for a metric tile."""
    if moment is None:
        return "never"
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return moment.strftime("%b %d")


def _records(count: int) -> str:
    return f"{_count_records(count)} {'is' if count == 1 else 'are'}"


st.title("QuickBooks Sync Console")
st.caption("Keeps the billing book — customers, invoices, payments, credit memos and, once driver pay or carrier pay "
           "is switched on, vendors, settlements and carrier bills — in step with QuickBooks Online.")

with runtime.factory() as session:
    # Read each run: a token's state moves with the clock, not only with the database.
    connection = get_connection_state(session)
    companies = list_company_health(session)
# The rest is kept until the database changes: opening Home again with nothing new reads it once.
waiting, last_synced, statuses, attempts, ages, counts, monthly, failing_channels = read_once(
    runtime.factory, ("home health",), lambda session: (
        count_waiting(session), get_last_sync_time(session), count_by_entity_and_status(session),
        list_attempts_by_day(session), list_problem_ages(session), count_book(session),
        list_monthly_totals(session), list_failing_channels(session)))

# Words, not emoji: a browser without an emoji font drew the marks as empty boxes.
STATUS_WORDS = {ConnectionStatus.CONNECTED: "Connected", ConnectionStatus.RECONNECT_REQUIRED: "Reconnect needed",
                ConnectionStatus.DISCONNECTED: "Not connected"}


def show_companies() -> None:
    """Each company's connection and problems side by side (only with several companies)."""
    st.caption("Each QuickBooks company syncs on its own: one that needs reconnecting pauses only its own records.")
    for start in range(0, len(companies), 3):  # three a row, so a long company name still fits at 1280 px
        for column, company in zip(st.columns(3), companies[start:start + 3], strict=False):
            state = company.connection
            box = column.container(border=True)
            box.markdown(md("**{name}**{default}  \n{status}", name=company.name, status=STATUS_WORDS[state.status],
                            default=" (default)" if company.is_default else ""))
            if state.status is not ConnectionStatus.DISCONNECTED:
                box.caption(md("{qbo} · realm {realm}", qbo=state.company_name or "QuickBooks",
                               realm=state.realm_id or "—"))
            if state.status is ConnectionStatus.CONNECTED:
                box.caption(md("Access token renews in {access} · reconnect needed in {refresh}",
                               access=_countdown(state.access_expires_at),
                               refresh=_countdown(state.refresh_expires_at)))
            elif state.status is ConnectionStatus.RECONNECT_REQUIRED:
                box.caption(md("{why} Its syncs are paused until an admin reconnects it in Settings.",
                               why=state.last_error or "The saved authorization was refused."))
            elif state.disconnected_by:
                box.caption(md("Disconnected by {who} on {when}; connect it again in Settings.",
                               who=state.disconnected_by, when=_moment(state.disconnected_at)))
            else:
                box.caption("An admin connects it in Settings (choose the company at the top).")
            box.markdown(md("**{failing}** failed or blocked · {waiting} waiting in all",
                            failing=f"{company.failing:,}", waiting=f"{company.waiting:,}"))

# --- Connection -------------------------------------------------------------------------------
several = len(companies) > 1
st.subheader("QuickBooks companies" if several else "QuickBooks connection")
if several:
    show_companies()
    if any(c.connection.status is not ConnectionStatus.CONNECTED for c in companies):
        _page_link(SETTINGS_PAGE, md("Connect or reconnect in Settings →"))
else:
    left, right, far = st.columns([2, 1, 1])
if several:
    pass
elif connection.status is ConnectionStatus.CONNECTED:
    # A company name is often longer than a metric tile shows; markdown wraps it.
    environment = label(ENVIRONMENT, connection.environment or runtime.config.qbo_env.value)
    left.markdown(md("Connected to  \n**{company}**  \nRealm {realm} · {environment}",
                     company=connection.company_name or "—", realm=connection.realm_id, environment=environment))
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

for channel in failing_channels:  # an alert channel nobody hears from is itself worth knowing about
    st.error(md("Alerts to {name} keep failing ({count} times in a row): {error}.", name=channel.name,
                count=channel.failures, error=channel.last_error))
    _page_link("pages/9_Alerts.py", md("Fix the channel on Alerts →"))

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
    d.metric("Last record synced", plain(_ago(last_synced)),
             help=None if last_synced is None else plain(_moment(last_synced)))
    # The chart carries the words only, never the stored status names.
    chart_rows = statuses.assign(Status=statuses["status"].map(lambda v: label(SYNC_STATUS, v))).drop(
        columns="status")
    health = (
        alt.Chart(chart_rows)
        .mark_bar()
        .encode(
            # Every type named in full: "Carrier bill payments" was cut, and every other row lost its label.
            y=alt.Y("entity:N", title="", axis=alt.Axis(labelLimit=240, labelOverlap=False)),
            x=alt.X("count:Q", title="Records", stack="normalize"),
            color=alt.Color("Status:N", title="Status", legend=alt.Legend(labelLimit=260), scale=alt.Scale(
                domain=[SYNC_STATUS[s] for s in SYNC_STATUS_COLOURS], range=list(SYNC_STATUS_COLOURS.values()))),
            tooltip=[alt.Tooltip("entity:N", title="Records"), "Status", alt.Tooltip("count:Q", title="Count",
                                                                                      format=",")],
        )
        # A bar of 24 px per type (11 with payables on), never shorter than the chart was with five.
        .properties(height=max(200, 24 * chart_rows["entity"].nunique()))
    )
    st.altair_chart(health, width="stretch")
    # Each company syncs through its own connection: one connected company is enough to send its records.
    can_sync = waiting and any(c.connection.status is ConnectionStatus.CONNECTED for c in companies)
    show_flash()
    if can_sync and st.button(md("Sync all open records ({:,})…", waiting), key="sync_all", type="primary",
                             help="New, edited, failed and blocked records; synced ones are never re-sent. "
                                  "You confirm before anything is queued."):
        st.session_state[CONFIRM_KEY] = waiting
    if st.session_state.get(CONFIRM_KEY):
        confirm_sync_all(int(st.session_state[CONFIRM_KEY]))
    _page_link(PROBLEMS_PAGE, md("Open Problem Sync →"))

    chart_left, chart_right = st.columns(2)
    with chart_left:
        st.markdown("**Records synced and problems per day** (last 30 days)")
        if attempts.empty:
            st.caption("No sync attempts yet.")
        else:
            outcomes = attempts.assign(Outcome=attempts["kind"].map(attempt_outcome)).drop(columns="kind")
            domain, colours = outcome_colours(outcomes["Outcome"].tolist())
            st.altair_chart(
                alt.Chart(outcomes).mark_bar().encode(
                    x=alt.X("day:T", title=""), y=alt.Y("count:Q", title="Attempts"),
                    color=alt.Color("Outcome:N", title="Outcome", scale=alt.Scale(domain=domain, range=colours),
                                    legend=alt.Legend(labelLimit=260)),
                    tooltip=[alt.Tooltip("day:T", title="Day"), "Outcome", alt.Tooltip("count:Q", title="Attempts")],
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
show_jobs()

# --- The book ------------------------------------------------------------------------------------
st.subheader("The billing book")
if all(c.count == 0 for c in counts):
    st.info("The book is empty. Load your customers and invoices on the Import page, or write a demo book with "
            "`qbsync demo --invoices 2000`.")
else:
    # Four tiles a row, so "Credit memos" and its figure fit at 1280 px.
    for start in range(0, len(counts), 4):
        row = counts[start:start + 4]
        for column, count in zip(st.columns(4), row, strict=False):
            column.metric(plain(count.entity), md("{:,}", count.count),
                          help=None if count.total is None else plain(f"${count.total:,.2f} in total"))
    if not monthly.empty:
        st.markdown(md("**Dollars invoiced, paid and credited per month** (the last {} months of the book)",
                       CHART_MONTHS))
        chart = (
            alt.Chart(monthly)
            .mark_bar()
            .encode(
                x=alt.X("month:N", title="Month"),
                y=alt.Y("total:Q", title="Dollars", axis=alt.Axis(format="$,.0f")),
                # Blues, not the status colours: red here would read as "failed".
                color=alt.Color("entity:N", title="", scale=alt.Scale(scheme="blues")),
                xOffset="entity:N",
                tooltip=[alt.Tooltip("month:N", title="Month"), alt.Tooltip("entity:N", title="What"),
                         alt.Tooltip("count:Q", title="Records", format=","),
                         alt.Tooltip("total:Q", title="Total", format="$,.2f")],
            )
            .properties(height=280)
        )
        st.altair_chart(chart, width="stretch")
