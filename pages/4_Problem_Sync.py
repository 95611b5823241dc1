"""Problem Sync: what did not reach QuickBooks, why, and the tools to get it there (or set it aside)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import streamlit as st

from qbcore import labels
from qbcore.access import is_allowed
from qbcore.connection import is_connected
from qbcore.db import transaction
from qbcore.jobs.queue import get_latest_resync, has_active_job
from qbcore.models import ENTITY_NOUNS, PROBLEM_STATUSES, EntityType, Role, SyncStatus
from qbcore.problems import actions, queries
from qbcore.problems.causes import RootCause
from qbcore.problems.queries import ProblemFilter, ProblemSort
from qbcore.read_cache import read_once
from qbcore.refusals import Refusal
from ui.companies import CompanyView, choose_company
from ui.feedback import flash_messages, refusal_message
from ui.formatting import (
    ENTITY_LABELS,
    STATUS_LABELS,
    format_count,
    format_moment,
    format_money,
    problems_frame,
)
from ui.grid import PAID_IN_QUICKBOOKS, GridColumn, show_id_grid
from ui.links import read_problem_link
from ui.markup import Markdown, md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Problem Sync · QuickBooks Sync Console", page_icon="🔄", layout="wide")

ROOT = Path(__file__).resolve().parents[1]
DIALOG_KEY = "ps_dialog"
FLASH_KEY = "ps_flash"
TAB_KEY = "ps_tab"
# With payables on there are eleven tabs, more than fit at 1280 px: a control above them shows one side's tabs.
SIDE_KEY = "ps_side"
SIDES = ("Receivables", "Payables")
# Counts full-page runs; a fragment rerun keeps the number, so it may reuse what the full run read.
RUN_KEY = "ps_run"
WINDOW_KEY = "ps_window"
# The open tab's headline, while this full run draws its records: their count is the headline's, not read again.
SUMMARY_KEY = "ps_summary"
CAUSES_SHOWN = 8  # root causes drawn at once; the rest are one click away, never cut
ACTION_TITLES = {
    "resync": "Resync",
    "clear": "Clear without syncing",
    "mark_paid": "Mark paid without sync",
    "restore": "Restore (undo Clear or Mark paid)",
}
NEEDS_REASON = {"clear", "mark_paid"}
RECEIVABLES_COLUMNS = [
    GridColumn("reference", "Reference #", width=130, pinned=True),
    GridColumn("customer", "Customer", width=190),
    GridColumn("amount", "Amount", "money", width=110),
    GridColumn("date", "Date", "date", width=115),
    GridColumn("status", "Status", width=115),
    GridColumn("error_kind", "Error kind", width=120),
    GridColumn("message", "Message", "long_text", width=260),
    GridColumn("fix_hint", "How to fix", "long_text", width=300),
    GridColumn("qbo_code", "QuickBooks code", width=140),
    GridColumn("attempts", "Attempts", "number", width=95),
    GridColumn("open_days", "Open (days)", "number", width=110),
    GridColumn("last_attempt", "Last attempt", width=140),
    GridColumn("qbo_id", "QuickBooks id", width=130),
]
# With several QuickBooks companies, each row says which company it goes to, beside its customer.
COMPANY_COLUMN = GridColumn("company", "Company", width=150)


def columns_for(entity: EntityType) -> list[GridColumn]:
    """The grid's columns on one tab: a payables tab names the vendor and its kind (and a settlement's week)."""
    if not queries.is_payee(entity):
        return RECEIVABLES_COLUMNS
    # Narrower than the customer column, so a settlement's week still shows beside its amount at 1280 px.
    columns = [GridColumn("vendor", "Vendor", width=165) if c.field == "customer" else c for c in RECEIVABLES_COLUMNS]
    columns.insert(2, GridColumn("vendor_kind", "Vendor kind", width=110))
    if entity is EntityType.SETTLEMENT:
        columns.insert(5, GridColumn("period", "Period", width=190))
    if queries.has_paid_in_quickbooks(entity):  # after its date (or week), as in the export
        columns.insert(next(i for i, c in enumerate(columns) if c.field == "status"), PAID_IN_QUICKBOOKS)
    return columns


runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)


flash, show_flash = flash_messages(FLASH_KEY)


def link_to_page(page: str, label: Markdown) -> None:
    """A link to a console page, or plain words while that page does not exist yet."""
    if (ROOT / page).exists():
        st.page_link(page, label=label, icon=":material/build:")
    else:
        st.caption(label)


# One grid for every tab: its browser frame stays loaded across tab switches, filters and actions (a new frame
# costs about a second). What its rows are is the grid's scope, below.
GRID_KEY = "ps_grid"


def grid_scope(entity: EntityType) -> str:
    """What the grid's rows are: the tab's records, in this generation (a new one after each action starts with no
    ticked rows, and a tick sent for another tab's rows never lands on this tab's)."""
    return f"{entity.value}.{st.session_state.get(f'ps_gen_{entity.value}', 0)}"


def reset_selection(entity: EntityType) -> None:
    """Forget the ticked rows and the select-all toggle of one tab."""
    st.session_state[f"ps_gen_{entity.value}"] = st.session_state.get(f"ps_gen_{entity.value}", 0) + 1
    st.session_state.pop(f"ps_all_{entity.value}", None)


def open_dialog(action: str, entity: EntityType, target: list[int] | ProblemFilter, what: str) -> None:
    """Remember which confirmation to show (the flag lives in session state so reruns keep it open)."""
    if isinstance(target, ProblemFilter):
        size = read_once(runtime.factory, ("problems matching", entity, target),
                         lambda session: queries.count_matching(session, entity, target))
    else:
        chosen = tuple(target)
        size = read_once(runtime.factory, ("problems chosen", entity, chosen),
                         lambda session: queries.summarize_records(session, entity, chosen))
    st.session_state[DIALOG_KEY] = {"action": action, "entity": entity.value, "target": target, "what": what,
                                    "count": size.count, "amount": str(size.amount)}


def close_dialog() -> None:
    """Forget the open confirmation."""
    for key in (DIALOG_KEY, "ps_reason", "ps_paid_on", "ps_paid_amount", "ps_paid_reference"):
        st.session_state.pop(key, None)


def _typed_payment() -> actions.OutsidePayment:
    amount = st.session_state.get("ps_paid_amount")
    return actions.OutsidePayment(paid_on=st.session_state.get("ps_paid_on"),
                                  amount=None if amount is None else Decimal(str(amount)),
                                  reference=st.session_state.get("ps_paid_reference") or None)


def run_action(pending: dict) -> bool:
    """Do the confirmed action in one transaction; False when it needs correcting (the dialog stays open)."""
    entity = EntityType(pending["entity"])
    action, target = pending["action"], pending["target"]
    reason = st.session_state.get("ps_reason", "")
    try:
        with transaction(runtime.factory) as session:
            if action == "resync":
                job = actions.resync_problems(session, actor, entity, target, audit_factory=runtime.factory)
                text = f"Resync job #{job.id} queued for {format_count(entity, job.total)}. It runs in the background."
            elif action == "clear":
                result = actions.clear_records(session, actor, entity, target, reason=reason,
                                               audit_factory=runtime.factory)
                text = (f"Cleared {format_count(entity, result.count)} ({format_money(result.amount)}); "
                        "they will never sync.")
            elif action == "mark_paid":
                result = actions.mark_paid_outside(session, actor, entity, target, reason=reason,
                                                   audit_factory=runtime.factory, payment=_typed_payment())
                text = (f"Marked {format_count(entity, result.count)} ({format_money(result.amount)}) paid "
                        "without sync.")
            else:
                result = actions.restore_records(session, actor, entity, target, reason=reason,
                                                 audit_factory=runtime.factory)
                text = (f"Restored {format_count(entity, result.count)} to the problem list, in the status "
                        "they had before.")
    except Refusal as refusal:
        if refusal.correctable:  # a missing reason or bad payment details: the dialog stays open to correct them
            show_alert(*refusal_message(refusal))
            return False
        flash(*refusal_message(refusal, done="Not done"))
    else:
        flash("success", text)
        reset_selection(entity)
    return True


@st.dialog("Please confirm", on_dismiss=close_dialog)
def confirm_dialog() -> None:
    """The confirmation: what will happen to how many records and how many dollars; a reason where required."""
    pending = st.session_state[DIALOG_KEY]
    entity = EntityType(pending["entity"])
    amount = format_money(float(pending["amount"]))
    st.markdown(md("**{action}** {what}: **{count}** totalling **{amount}**.", action=ACTION_TITLES[pending["action"]],
                   what=pending["what"], count=format_count(entity, pending["count"]), amount=amount))
    if pending["action"] == "clear":
        st.caption(md("Cleared {what} leave the problem list and never sync; they can be restored later.",
                      what=ENTITY_LABELS[entity].lower()))
    if pending["action"] == "mark_paid" and entity is EntityType.INVOICE:
        st.caption("The invoices will not sync, and the billing system will show them as paid. Use this when the "
                   "payment was applied directly in QuickBooks. Restore / undo puts them back as they were.")
    elif pending["action"] == "mark_paid":
        st.caption(md("The {what} will not sync and no bill payment will be sent for them; the billing system will "
                      "show them as paid. Use this when the bill was entered and paid directly in QuickBooks. "
                      "Restore / undo puts them back as they were.", what=ENTITY_LABELS[entity].lower()))
    if pending["action"] in NEEDS_REASON:
        st.text_area("Reason (required, kept in the audit log)", key="ps_reason")
    elif pending["action"] == "restore":
        st.text_input("Reason (optional)", key="ps_reason")
    if pending["action"] == "mark_paid":
        st.markdown("**The payment you saw in QuickBooks** (optional, kept in the audit log and on the record)")
        paid_on, paid_amount, reference = st.columns(3)
        paid_on.date_input("Payment date", value=None, key="ps_paid_on", format="YYYY-MM-DD")
        if pending["count"] == 1:
            paid_amount.number_input("Amount ($)", min_value=0.0, value=None, step=0.01, format="%.2f",
                                     key="ps_paid_amount")
        else:
            paid_amount.caption(md("An amount can be recorded when one {} is selected.",
                                   ENTITY_NOUNS[entity][0]))
        reference.text_input("Reference (check or transaction #)", key="ps_paid_reference", max_chars=40)
    confirm, cancel = st.columns(2)
    if confirm.button("Confirm", type="primary", key="ps_confirm") and run_action(pending):
        close_dialog()
        st.rerun()
    if cancel.button("Cancel", key="ps_cancel"):
        close_dialog()
        st.rerun()


def show_job_panel() -> None:
    """The newest resync job: a progress bar while it runs, then what became of its records."""
    finished = st.session_state.get("ps_job_finished")
    with runtime.factory() as session:
        # A finished job's outcome is read once; it does not change, and it costs a query per 900 records.
        progress = get_latest_resync(session, known=finished)
    if not progress or progress.is_active:
        st.session_state.pop("ps_job_finished", None)
    else:
        st.session_state["ps_job_finished"] = progress
    if progress is None or progress.job_id == st.session_state.get("ps_job_dismissed"):
        return
    if progress.is_active:
        st.session_state["ps_job_watching"] = progress.job_id
        st.progress(progress.fraction, text=md("Resync job #{job}: {done:,} of {total:,} records done. It runs in the "
                                               "background — keep working or leave the page.", job=progress.job_id,
                                               done=progress.done, total=progress.total))
        return
    if st.session_state.pop("ps_job_watching", None) == progress.job_id:
        st.rerun(scope="app")  # the job just finished: refresh the counts and the grid
    failing = ", ".join(f"{labels.attempt_outcome(kind)} {count:,}" for kind, count in progress.still_failing.items())
    when = f" at {format_moment(progress.finished_at)}" if progress.finished_at else ""
    text = (f"Resync job #{progress.job_id} {labels.label(labels.JOB_STATUS, progress.status).lower()}{when}: "
            f"{progress.synced:,} of {progress.total:,} synced"
            + (f"; still failing — {failing}." if failing else "."))
    column, button = st.columns([6, 1])
    show_alert("warning" if failing or progress.error else "success", text, where=column)
    if button.button("Dismiss", key="ps_job_dismiss"):
        st.session_state["ps_job_dismissed"] = progress.job_id
        st.rerun()


def show_summary(entity: EntityType, summary: queries.ProblemSummary) -> None:
    """Counts and dollars by status."""
    columns = st.columns(len(PROBLEM_STATUSES))
    for column, status in zip(columns, PROBLEM_STATUSES, strict=True):
        count = summary.by_status[status]
        column.metric(STATUS_LABELS[status], md("{:,}", count.count), border=True)
        column.caption(plain(format_money(count.amount)))
    st.markdown(md("**{count} {verb} attention · {amount} at stake**", count=format_count(entity, summary.count),
                   verb="needs" if summary.count == 1 else "need", amount=format_money(summary.amount)))


def show_cause(entity: EntityType, cause: RootCause, index: int) -> None:
    """One root cause: its sentence and dollars, what to do, where, and a retry only where one can pass."""
    # The link sits under the words, not in a column of its own, so its label is never cut at 1280 px.
    words, retry = st.columns([6, 1.4])
    words.markdown(md("**{sentence}** · {amount}", sentence=cause.sentence, amount=format_money(cause.amount)))
    words.caption(plain(cause.must_change or cause.fix_hint))
    if cause.fix_link is not None:
        with words:
            link_to_page(cause.fix_link.page, plain(cause.fix_link.label))
    if not cause.retry_offered:
        retry.caption("No retry until that changes")
        return
    if cause.root_entity is not None and cause.root_record_ids:
        # The records these wait for go first; these follow by themselves (cascade retry) once those sync.
        help_text = md("Resyncs the {roots} these {these} wait for; they follow once those sync.",
                       roots=format_count(cause.root_entity, len(cause.root_record_ids)),
                       these=ENTITY_LABELS[entity].lower())
        retry.button("Retry these", key=f"ps_retry_{entity.value}_{index}", help=help_text, on_click=open_dialog,
                     args=("resync", cause.root_entity, list(cause.root_record_ids),
                           f"the {ENTITY_LABELS[cause.root_entity].lower()} behind “{cause.sentence}”"))
    else:
        retry.button("Retry these", key=f"ps_retry_{entity.value}_{index}", on_click=open_dialog,
                     args=("resync", entity, ProblemFilter(cause=queries.cause_key(cause), company_id=company.chosen),
                           f"“{cause.sentence}”"))


def show_root_causes(entity: EntityType, causes: list[RootCause]) -> None:
    """What blocks the failed records: every cause with its count, the first few at once and the rest one click on."""
    st.subheader("Root causes")
    for index, cause in enumerate(causes[:CAUSES_SHOWN]):
        show_cause(entity, cause, index)
    if len(causes) > CAUSES_SHOWN:
        rest = causes[CAUSES_SHOWN:]
        with st.expander(md("Show all {total} causes ({more} more, {count})", total=len(causes), more=len(rest),
                            count=format_count(entity, sum(c.count for c in rest)))):
            for index, cause in enumerate(rest, start=CAUSES_SHOWN):
                show_cause(entity, cause, index)


def read_filter(entity: EntityType) -> ProblemFilter:
    """The tab's filter widgets' current values (read before the widgets are drawn) → a ProblemFilter."""
    state = st.session_state
    prefix = f"ps_{entity.value}"
    dates: list[date] = list(state.get(f"{prefix}_dates") or ())
    low, high = state.get(f"{prefix}_min"), state.get(f"{prefix}_max")
    return ProblemFilter(
        statuses=tuple(state.get(f"{prefix}_status") or PROBLEM_STATUSES),
        error_kinds=tuple(state.get(f"{prefix}_kind") or ()),
        customer_ids=tuple(state.get(f"{prefix}_customer") or ()),
        vendor_ids=tuple(state.get(f"{prefix}_vendor") or ()),
        date_from=dates[0] if len(dates) > 0 else None,
        date_to=dates[1] if len(dates) > 1 else (dates[0] if dates else None),
        amount_min=None if low is None else Decimal(str(low)),
        amount_max=None if high is None else Decimal(str(high)),
        search=state.get(f"{prefix}_search") or "",
        blocked_by=state.get(f"{prefix}_cause") or "",
        company_id=company.chosen,
    )


def show_filter_widgets(entity: EntityType, kinds: list[str], parties: list[tuple[int, str]]) -> None:
    """The filter widgets of one tab; their values are applied in SQL on the next run (vendors on payables tabs)."""
    prefix = f"ps_{entity.value}"
    statuses = list(PROBLEM_STATUSES) + (list(queries.SET_ASIDE_STATUSES) if queries.has_set_aside(entity) else [])
    names = dict(parties)
    party, party_key = ("Vendor", "vendor") if queries.is_payee(entity) else ("Customer", "customer")
    # A kind a link asked for stays a choice even when no record has it any more (then nothing matches).
    kinds = sorted({*kinds, *(st.session_state.get(f"{prefix}_kind") or ())})
    cause = st.session_state.get(f"{prefix}_cause")
    if cause:
        shown = st.container(horizontal=True, gap="small")
        shown.caption(md("Only the records held back by {}.", labels.blocker(cause)))
        shown.button("Show every blocker", key=f"{prefix}_cause_clear",
                     on_click=lambda: st.session_state.pop(f"{prefix}_cause", None))
    row1 = st.columns([3, 2, 3, 2.4])
    row1[0].multiselect("Status", statuses, default=list(PROBLEM_STATUSES), key=f"{prefix}_status",
                        format_func=lambda s: STATUS_LABELS[s])
    row1[1].multiselect("Error kind", kinds, key=f"{prefix}_kind", format_func=labels.attempt_outcome)
    row1[2].multiselect(plain(party), [c for c, _ in parties], key=f"{prefix}_{party_key}",
                        format_func=lambda c: names.get(c, str(c)))
    row1[3].date_input("Date range", value=(), key=f"{prefix}_dates", format="YYYY-MM-DD")  # type: ignore[arg-type]  # () = a range, none picked
    row2 = st.columns([1.6, 1.6, 3.4, 2.6])
    row2[0].number_input("Amount from ($)", min_value=0.0, value=None, step=100.0, key=f"{prefix}_min")
    row2[1].number_input("Amount to ($)", min_value=0.0, value=None, step=100.0, key=f"{prefix}_max")
    row2[2].text_input(md("Search reference, {} or message", party.lower()), key=f"{prefix}_search")
    row2[3].selectbox("Sort", list(ProblemSort), key=f"{prefix}_sort")


def show_detail(entity: EntityType, record_id: int) -> None:
    """One record: what failed, the masked last request and response, and every attempt."""
    detail = read_once(runtime.factory, ("problem detail", entity, record_id),
                       lambda session: queries.get_problem_detail(session, entity, record_id))
    if detail is None:
        return
    row = detail.row
    with st.expander(md("Details of {reference} — {customer}", reference=row.reference, customer=row.customer),
                     expanded=True):
        first, second, third, fourth = st.columns(4)
        first.metric("Status", STATUS_LABELS[row.status])
        second.metric("QuickBooks id", plain(row.qbo_id or "none yet"))
        third.metric("Attempts", plain(row.attempts))
        fourth.metric("Open (days)", plain("—" if row.open_days is None else row.open_days))
        if row.error_message:
            title = " ".join(part for part in (labels.attempt_outcome(row.error_kind),
                                               row.error_code and f"(QuickBooks code {row.error_code})") if part)
            st.markdown(md("**{title}** — {message}", title=title, message=row.error_message))
        if row.fix_hint:
            st.info(plain(row.fix_hint))
        if detail.note:
            st.caption(md("Note: {}", detail.note))
        if detail.error_detail:
            st.caption(plain(detail.error_detail))
        request, response = st.columns(2)
        request.caption(md("Last request (request id {})", detail.request_id or "—"))
        request.code(detail.last_request or "No request sent yet.", language=None, wrap_lines=True)
        response.caption("Last response")
        response.code(detail.last_response or "No response stored.", language=None, wrap_lines=True)
        if detail.attempts:
            st.dataframe(pd.DataFrame([{
                "When": format_moment(a.at), "Outcome": labels.label(labels.SYNC_STATUS, a.outcome),
                "Kind": labels.label(labels.ERROR_KIND, a.error_kind), "QuickBooks code": a.error_code or "",
                "Message": a.message or "", "Job": "" if a.job_id is None else f"#{a.job_id}",
            } for a in detail.attempts]), hide_index=True)
        else:
            st.caption("No attempts recorded yet.")


def show_actions(entity: EntityType, selected: list[int], select_all: bool, problem_filter: ProblemFilter,
                 matching: int, statuses: set[SyncStatus]) -> None:
    """The bulk-action buttons, each opening a confirmation; each is on only when it applies to the target."""
    target: list[int] | ProblemFilter = problem_filter if select_all else selected
    what = "all matching the filter" if select_all else "the selected rows"
    has_target = select_all or bool(selected)
    set_aside = {SyncStatus.CLEARED, SyncStatus.PAID_OUTSIDE}
    on_list = bool(statuses - set_aside) or not statuses
    can_restore = bool(statuses & set_aside)
    prefix = f"ps_{entity.value}"
    # A row that sizes each button to its label (and wraps), so no label is cut at 1280 px.
    buttons = st.container(horizontal=True, gap="small")
    # Each opens its confirmation in a callback, before the run that draws it: one run per click, not two.
    buttons.button("Resync selected", key=f"{prefix}_resync", disabled=not has_target, type="primary",
                   on_click=open_dialog, args=("resync", entity, target, what))
    buttons.button(md("Resync all {:,} matching", matching), key=f"{prefix}_resync_all", disabled=not matching,
                   on_click=open_dialog, args=("resync", entity, problem_filter, "all matching the filter"))
    if queries.has_set_aside(entity):
        buttons.button("Clear…", key=f"{prefix}_clear", disabled=not (has_target and on_list),
                       on_click=open_dialog, args=("clear", entity, target, what))
        # Invoices and bills can be marked paid (a bill's payment record is then set aside); a payment cannot.
        if queries.has_mark_paid(entity):
            buttons.button("Mark paid without sync…", key=f"{prefix}_mark_paid",
                           disabled=not (has_target and on_list),
                           on_click=open_dialog, args=("mark_paid", entity, target, what))
        undo = (md("Undoes Clear and Mark paid without sync: the {} goes back to the sync and billing status it "
                   "had. Show them with the Status filter (Cleared, Paid outside QuickBooks sync), tick them, then "
                   "restore.", ENTITY_NOUNS[entity][0]) if queries.has_mark_paid(entity) else
                "Undoes Clear: the record goes back to the sync status it had. Show cleared ones with the Status "
                "filter, tick them, then restore.")
        buttons.button("Restore / undo…", key=f"{prefix}_restore", disabled=not (has_target and can_restore),
                       help=undo, on_click=open_dialog, args=("restore", entity, target, what))
    factory = runtime.factory

    def export() -> bytes:
        with factory() as session:
            return queries.problems_csv_bytes(session, entity, problem_filter)

    buttons.download_button(md("Export {} (CSV)", labels.plural(matching, "row")), export,
                                file_name=f"problem_{entity.value}s.csv", mime="text/csv", on_click="ignore",
                                key=f"{prefix}_export", disabled=not matching)


def read_window(
    entity: EntityType, problem_filter: ProblemFilter, sort: ProblemSort, page_number: int,
) -> queries.ProblemPage:
    """The grid's window; a rerun of the records fragment alone (a tick in the grid) reuses this run's window."""
    wanted = (st.session_state.get(RUN_KEY), entity, problem_filter, sort, page_number)
    cached = st.session_state.get(WINDOW_KEY)
    if cached is not None and cached[0] == wanted:
        return cached[1]
    summary = st.session_state.get(SUMMARY_KEY)  # saves a count, changes nothing in the answer: not in the key
    page = read_once(runtime.factory, ("problem window", entity, problem_filter, sort, page_number),
                     lambda session: queries.list_problems(session, entity, problem_filter, page=page_number,
                                                           sort=sort, summary=summary))
    st.session_state[WINDOW_KEY] = (wanted, page)
    return page


@st.fragment
def show_records(entity: EntityType, kinds: list[str], parties: list[tuple[int, str]]) -> None:
    """Filters, grid window, selection, actions and detail; a fragment, so a tick or a filter reruns only this part.

    The headline and root causes above do not depend on the filters, so a filter change does not read them again.
    """
    st.subheader("Records")
    # Drawn above the grid, but after it: the grid is sent first (its component takes the longest to load).
    filters_box = st.container()
    show_window(entity)
    with filters_box:
        show_filter_widgets(entity, kinds, parties)


@st.fragment
def show_window(entity: EntityType) -> None:
    """The filtered window, its selection, actions and the ticked record's detail; a tick reruns this alone."""
    # Read here, not passed in: a filter change reruns the fragment alone, with the arguments of the last full run.
    problem_filter = read_filter(entity)
    sort = ProblemSort(st.session_state.get(f"ps_{entity.value}_sort", ProblemSort.OLDEST_FIRST))
    # The grid keeps one place in the page whatever else shows (a notice, an open confirmation), so its browser
    # frame is kept rather than loaded again.
    notice, info_box, grid_box = st.container(), st.container(), st.container()
    if DIALOG_KEY in st.session_state:
        # Drawn here, so a button of this fragment opens its confirmation in the fragment's own rerun.
        confirm_dialog()
    page_key = f"ps_{entity.value}_page"
    if problem_filter.amounts_reversed:
        notice.warning(md("The amount range is reversed: **Amount from** ({low}) is more than **Amount to** ({high}), "
                          "so no record can match. Swap the two amounts, or clear one of them.",
                          low=format_money(problem_filter.amount_min), high=format_money(problem_filter.amount_max)))
        return
    page = read_window(entity, problem_filter, sort, int(st.session_state.get(page_key, 1)))
    if page.total == 0:
        notice.info("No records match these filters. Widen the status, error kind, date or amount filters, clear the "
                    "search, or press “Show every blocker”." if problem_filter.blocked_by else
                    "No records match these filters. Widen the status, error kind, date or amount filters, or clear "
                    "the search.")
        return
    info, pager = info_box.columns([5, 1])
    first = (page.page - 1) * queries.PAGE_SIZE
    info.markdown(md("**{total:,}** matching · **{amount}** · rows {first:,}–{last:,} · page {page} of {pages}",
                     total=page.total, amount=format_money(page.amount), first=first + 1, last=first + len(page.rows),
                     page=page.page, pages=page.page_count))
    # The list may have shrunk since the page was chosen; the widget must not hold a page that no longer exists.
    st.session_state[page_key] = page.page
    pager.number_input("Page", min_value=1, max_value=page.page_count, step=1, key=page_key,
                       disabled=page.page_count == 1)
    frame = problems_frame(page.rows, company=company.several).rename(
        columns={"customer": "vendor"} if queries.is_payee(entity) else {})
    columns = columns_for(entity)
    if company.several:  # the company follows who the record is for, as in the export
        at = 3 if queries.is_payee(entity) else 2
        columns = [*columns[:at], COMPANY_COLUMN, *columns[at:]]
    with grid_box:
        selected = show_id_grid(frame, columns, key=GRID_KEY, scope=grid_scope(entity))
    select_all = st.toggle(md("Select all {:,} matching the filter (not only the ticked rows)", page.total),
                           key=f"ps_all_{entity.value}")
    if select_all:
        st.caption(md("Actions apply to all {total:,} matching records ({amount}).", total=page.total,
                      amount=format_money(page.amount)))
    elif selected:
        chosen = set(selected)
        total = sum((r.amount or Decimal(0) for r in page.rows if r.record_id in chosen), Decimal(0))
        st.caption(md("{count:,} selected · {amount}", count=len(selected), amount=format_money(total)))
    # What the buttons act on: the ticked rows' statuses, or (select all) the statuses the filter lets through.
    chosen_statuses = ({SyncStatus(r.status) for r in page.rows if r.record_id in set(selected)} if not select_all
                       else set(problem_filter.statuses) or {SyncStatus(r.status) for r in page.rows})
    show_actions(entity, selected, select_all, problem_filter, page.total, chosen_statuses)
    if not is_allowed(actor, Role.OPERATOR):
        st.caption(md("You are signed in as a {}: you can look and export, but resync, clear and mark paid need the "
                      "operator role.", labels.label(labels.ROLE, actor.role).lower()))
    if len(selected) == 1 and not select_all:
        show_detail(entity, selected[0])


def show_entity(entity: EntityType) -> None:
    """One tab: headline, root causes, filters, then the records."""
    # Drawn top to bottom on screen, but the grid is sent first: its component takes the longest to load in
    # the browser, so the cheaper parts fill their placeholders while it does.
    headline, causes_box = st.container(), st.container()
    # The headline, causes and choices follow the company filter, as the list and its actions do.
    kinds, parties, summary = read_once(runtime.factory, ("problem headline", entity, company.chosen), lambda session: (
        queries.list_error_kinds(session, entity, company.chosen),
        queries.list_vendor_choices(session) if queries.is_payee(entity)
        else queries.list_customer_choices(session, company.chosen),
        queries.summarize_problems(session, entity, company.chosen)))
    st.session_state[SUMMARY_KEY] = summary
    try:
        show_records(entity, kinds, parties)
    finally:
        st.session_state.pop(SUMMARY_KEY, None)  # a fragment's own rerun counts its records afresh
    causes, last_sync = read_once(runtime.factory, ("problem causes", entity, company.chosen), lambda session: (
        queries.list_root_causes(session, entity, ProblemFilter(company_id=company.chosen)),
        queries.get_last_sync_time(session) if summary.count == 0 else None))
    with headline:
        show_summary(entity, summary)
        if summary.count == 0:
            st.success(md("Nothing failing: no {what} are waiting for QuickBooks. Last sync: {when}.",
                          what=ENTITY_LABELS[entity].lower(), when=format_moment(last_sync)))
    if causes:
        with causes_box:
            show_root_causes(entity, causes)


def open_from_link(shown: list[EntityType]) -> None:
    """A link from another page (Month End, an alert) opens a tab with its filters filled in, once."""
    if not st.query_params:
        return
    link = read_problem_link({key: st.query_params[key] for key in st.query_params})
    if link is not None and link.entity in shown:
        st.session_state[TAB_KEY] = ENTITY_LABELS[link.entity]
        if link.search:
            st.session_state[f"ps_{link.entity.value}_search"] = link.search
        if link.dates:
            st.session_state[f"ps_{link.entity.value}_dates"] = link.dates
        if link.kind:
            st.session_state[f"ps_{link.entity.value}_kind"] = [link.kind]
        if link.cause:
            st.session_state[f"ps_{link.entity.value}_cause"] = link.cause
    st.query_params.clear()

# Only the types that sync have a tab (payables wait until finance switches them on), as Home counts them.
shown_tabs = read_once(runtime.factory, ("problem tabs",), queries.list_problem_tabs)
open_from_link(shown_tabs)
st.session_state[RUN_KEY] = st.session_state.get(RUN_KEY, 0) + 1
st.title("Problem Sync")
st.caption("Everything that has not reached QuickBooks: why, how to fix it, and the tools to resync, clear or mark "
           "paid. Filters run in the database, so this stays fast on a full book.")
with st.container():  # a flash comes and goes without moving what follows (the grid's frame stays loaded)
    show_flash()


def forget_company_choices() -> None:
    """Another company: its own customers to filter by, and no ticked rows of the last one."""
    for entity_type in queries.PROBLEM_ENTITIES:
        st.session_state.pop(f"ps_{entity_type.value}_customer", None)
        reset_selection(entity_type)


company: CompanyView = choose_company(runtime.factory, "ps_company", md("QuickBooks company"),
                                      on_change=forget_company_choices)
with runtime.factory() as session:
    connected = is_connected(session, company.chosen)
    job_running = has_active_job(session)
with st.container():  # present or not, the warning does not move what follows
    if not connected:
        st.warning("QuickBooks is not connected, so nothing can sync yet. Connect your company in Settings; the "
                   "queue below waits until then.")
        link_to_page("pages/1_Settings.py", md("Connect QuickBooks in Settings"))
st.fragment(run_every="2s" if job_running else None)(show_job_panel)()

def side_of(entity: EntityType) -> str:
    """"Payables" for vendors, settlements, carrier bills and their payments; "Receivables" otherwise."""
    return SIDES[1] if queries.is_payee(entity) else SIDES[0]


def open_side_first_tab() -> None:
    """A new side opens on its first tab (the open tab belongs to the other side)."""
    side = st.session_state.get(SIDE_KEY) or SIDES[0]
    first = next((e for e in shown_tabs if side_of(e) == side), None)
    if first is not None:
        st.session_state[TAB_KEY] = ENTITY_LABELS[first]


def choose_side(shown: list[EntityType]) -> list[EntityType]:
    """The tabs of the side chosen above them (every tab while payables are off: there is one side)."""
    if len({side_of(e) for e in shown}) < 2:
        return shown
    by_label = {ENTITY_LABELS[e]: e for e in shown}
    open_tab = by_label.get(st.session_state.get(TAB_KEY, ""))
    if open_tab is not None:
        st.session_state[SIDE_KEY] = side_of(open_tab)  # a link or a saved tab decides the side
    elif st.session_state.get(SIDE_KEY) not in SIDES:
        st.session_state[SIDE_KEY] = SIDES[0]
    side = st.segmented_control("Show", SIDES, key=SIDE_KEY, required=True, on_change=open_side_first_tab,
                                label_visibility="collapsed") or SIDES[0]
    return [e for e in shown if side_of(e) == side]


side_tabs = choose_side(shown_tabs)
side_labels = [ENTITY_LABELS[e] for e in side_tabs]
# The side's tabs are a new widget when the side changes; the tab a link, a saved state or the side's first-tab
# rule asked for opens, not the first one.
wanted_tab = st.session_state.get(TAB_KEY)
tabs = st.tabs(side_labels, key=TAB_KEY, on_change="rerun",
               default=wanted_tab if wanted_tab in side_labels else None)
# The open tab is drawn below the tab bar, not inside its panel: every tab's records then sit in one place in the
# page, so the one grid keeps its browser frame when the tab changes, instead of loading a new one (about a second).
open_tab = next((e for tab, e in zip(tabs, side_tabs, strict=True) if tab.open), side_tabs[0] if side_tabs else None)
if open_tab is not None:
    show_entity(open_tab)

