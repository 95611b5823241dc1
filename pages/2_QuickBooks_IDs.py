"""QuickBooks IDs: every synced record with its QuickBooks id; admins remove, override or re-link an id, or move a
customer to another QuickBooks company."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from qbcore import id_changes, labels, live
from qbcore.access import is_allowed
from qbcore.customer_moves import move_customer, plan_move
from qbcore.db import transaction
from qbcore.models import EntityType, Role, SyncStatus
from qbcore.queries.customers import list_movable_customers
from qbcore.queries.ids import (
    GRID_LIMIT,
    IdFilter,
    LinkedRecord,
    count_linked_records,
    get_linked_record,
    label_entity,
    list_linked_records,
    party_heading,
)
from qbcore.read_cache import read_once
from qbcore.refusals import Refusal
from ui.companies import CompanyView, choose_company
from ui.feedback import flash_messages, refusal_message
from ui.formatting import STATUS_LABELS, format_moment, format_money
from ui.grid import PAID_IN_QUICKBOOKS, GridColumn, show_id_grid
from ui.markup import Markdown, md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="QuickBooks IDs · QuickBooks Sync Console", page_icon="🔗", layout="wide")

DIALOG_KEY = "ids_dialog"
FLASH_KEY = "ids_flash"
CHECK_KEY = "ids_override_check"
CANDIDATES_KEY = "ids_candidates"
COLUMNS = [
    GridColumn("entity", "Type", width=120, pinned=True),
    GridColumn("number_or_name", "Number / name", width=170, pinned=True),
    GridColumn("customer", "Customer", width=200),
    GridColumn("amount", "Amount", "money", width=110),
    GridColumn("date", "Date", "date", width=110),
    GridColumn("qbo_id", "QB id", width=90),
    GridColumn("status", "Status", width=120),
    GridColumn("last_synced", "Last sync", width=150),
    PAID_IN_QUICKBOOKS,
]
# With several QuickBooks companies, each record says which company's QuickBooks holds it.
COMPANY_COLUMN = GridColumn("company", "Company", width=150)
MOVE_KEYS = ("ids_move_search", "ids_move_customer", "ids_move_target", "ids_move_reason")

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)


flash, show_flash = flash_messages(FLASH_KEY)


def open_dialog(kind: str, record_ids: list[int], prefill: str = "") -> None:
    """Remember which dialog is open (in session state, so reruns keep it open)."""
    close_dialog()
    st.session_state[DIALOG_KEY] = {"kind": kind, "record_ids": record_ids}
    if prefill:
        st.session_state["ids_new_id"] = prefill


def close_dialog() -> None:
    """Forget the open dialog and what was typed in it."""
    for key in (DIALOG_KEY, CHECK_KEY, CANDIDATES_KEY, "ids_reason", "ids_sure", "ids_new_id", "ids_overwrite",
                *MOVE_KEYS):
        st.session_state.pop(key, None)


def grid_key() -> str:
    """A new grid generation after each change starts with an empty selection."""
    return f"ids_grid_{st.session_state.get('ids_gen', 0)}"


def reset_selection() -> None:
    """Forget the ticked rows."""
    st.session_state["ids_gen"] = st.session_state.get("ids_gen", 0) + 1


def confirm_controls(label: Markdown, *, typed_word: str | None = None) -> tuple[str, bool]:
    """The reason box, the I'm-sure tick (or a word to type) and the confirm button of every dangerous change."""
    reason = st.text_area("Reason (required, kept in the audit log)", key="ids_reason")
    if typed_word:
        typed = st.text_input(md("Type {} to link it anyway", typed_word), key="ids_overwrite")
        ready = typed.strip().upper() == typed_word
    else:
        ready = st.checkbox("I'm sure — I understand what this breaks", key="ids_sure")
    clicked = st.button(label, type="primary", key="ids_confirm", disabled=not ready)
    return reason, clicked


def record_title(record: LinkedRecord) -> str:
    """"Invoice INV-101224 · Cargo Bridge" (a customer is named once): a record as a finance user knows it."""
    title = f"{label_entity(record.entity_type)} {record.number_or_name}"
    if record.customer and record.customer != record.number_or_name:
        title += f" · {record.customer}"
    return title


def describe_records(record_ids: list[int], limit: int = 10) -> list[tuple[str, str]]:
    """(title, QuickBooks id) of the first records of a selection, as the dialogs name them."""
    named = []
    with runtime.factory() as session:
        for record_id in record_ids[:limit]:
            record = get_linked_record(session, record_id)
            if record is not None:
                named.append((record_title(record), record.qbo_id or "not set"))
    return named


@st.dialog("Remove QuickBooks id", width="large", on_dismiss=close_dialog)
def remove_dialog(record_ids: list[int]) -> None:
    """Confirm removing the ids of the selected records, naming them."""
    st.warning(id_changes.REMOVE_WARNING)
    named = describe_records(record_ids)
    more = len(record_ids) - len(named)
    if len(record_ids) == 1 and named:
        st.markdown(md("Our **{title}** (QuickBooks id {qbo_id}) will lose its QuickBooks id and re-sync.",
                       title=named[0][0], qbo_id=named[0][1]))
    else:
        st.markdown(md("**{}** will lose their QuickBooks id and re-sync:", labels.plural(len(record_ids), "record")))
        st.markdown(md("{names}{more}", names="; ".join(f"{t} (QuickBooks id {q})" for t, q in named),
                       more=f"; and {more:,} more" if more > 0 else ""))
    reason, clicked = confirm_controls(md("Remove {}", labels.plural(len(record_ids), "QuickBooks id")))
    if not clicked:
        return
    try:
        with transaction(runtime.factory) as session:
            changes = id_changes.remove_qbo_ids(session, actor, record_ids, reason=reason,
                                                audit_factory=runtime.factory)
    except Refusal as refusal:
        if refusal.correctable:  # the dialog stays open to correct the selection or the reason
            show_alert(*refusal_message(refusal))
            return
        flash(*refusal_message(refusal, done="Not done"))
    else:
        names = describe_removed(changes[:10])
        if len(changes) == 1:
            flash("success", f"Removed the QuickBooks id of {names[0]}. It will re-sync.")
        else:
            listed = "; ".join(names) + (f"; and {len(changes) - 10:,} more" if len(changes) > 10 else "")
            flash("success", f"Removed {labels.plural(len(changes), 'QuickBooks id')}: {listed}. They will re-sync.")
        reset_selection()
    close_dialog()
    st.rerun()


def describe_removed(changes: list[id_changes.IdChange]) -> list[str]:
    """"Invoice INV-100001 · Cargo Bridge (was QuickBooks id 145)" for each removed link: the record, then the id."""
    out = []
    with runtime.factory() as session:
        for change in changes:
            record = get_linked_record(session, change.record_id)
            name = record_title(record) if record is not None else change.label
            out.append(f"{name} (was QuickBooks id {change.before_qbo_id or 'not set'})")
    return out


def show_comparison(check: id_changes.OverrideCheck) -> None:
    """Our record next to the QuickBooks record, field by field."""
    ours, qbo = check.record, check.qbo
    st.dataframe(pd.DataFrame([
        {"": "Id", "Ours": ours.qbo_id or "not linked yet", "QuickBooks": qbo.qbo_id},
        {"": "Number / name", "Ours": ours.number_or_name, "QuickBooks": qbo.name or ""},
        {"": "Amount", "Ours": format_money(ours.amount) if ours.amount is not None else "—",
         "QuickBooks": format_money(qbo.amount) if qbo.amount is not None else "—"},
        {"": "Date", "Ours": "" if ours.date is None else ours.date.isoformat(), "QuickBooks": qbo.date or ""},
        {"": party_heading([ours.entity_type]), "Ours": ours.customer or "", "QuickBooks": qbo.customer or ""},
    ]), hide_index=True)
    if check.mismatches:
        st.error(md("**Probably not ours:** {}. {}", "; ".join(check.mismatches), check.consequence))
    elif check.differences:
        st.warning(md("Differs — {}. {}", "; ".join(check.differences), check.consequence))
    else:
        st.info(plain(check.consequence))


@st.dialog("Override QuickBooks id", width="large", on_dismiss=close_dialog)
def override_dialog(record_id: int) -> None:
    """Type a new id, see the QuickBooks record next to ours, then confirm."""
    with runtime.factory() as session:
        record = get_linked_record(session, record_id)
    if record is None:
        st.error("This record no longer exists.")
        return
    kind = label_entity(record.entity_type).lower()
    if record.qbo_id:
        st.markdown(md("Our **{kind} {name}** is linked to QuickBooks id **{qbo_id}**.", kind=kind,
                       name=record.number_or_name, qbo_id=record.qbo_id))
    else:
        st.markdown(md("Our **{kind} {name}** is not linked to a QuickBooks record yet.", kind=kind,
                       name=record.number_or_name))
    new_id = st.text_input(md("New QuickBooks {} id", kind), key="ids_new_id", placeholder="e.g. 145")
    if st.button("Check in QuickBooks", key="ids_check"):
        st.session_state.pop(CHECK_KEY, None)
        try:
            st.session_state[CHECK_KEY] = live.check_override(runtime.factory, runtime.config, record_id, new_id)
        except Refusal as refusal:
            show_alert(*refusal_message(refusal))
    check = st.session_state.get(CHECK_KEY)
    if check is None or check.qbo.qbo_id != new_id.strip():
        st.caption("Check the id in QuickBooks first; the QuickBooks record is shown next to ours before you confirm.")
        return
    show_comparison(check)
    st.warning(id_changes.OVERRIDE_WARNING)
    typed_word = id_changes.OVERWRITE_WORD if check.needs_typed_confirmation else None
    reason, clicked = confirm_controls(md("Link to QuickBooks id {}", check.qbo.qbo_id), typed_word=typed_word)
    if not clicked:
        return
    try:
        change = live.override_qbo_id(runtime.factory, runtime.config, actor, record_id, new_id, reason=reason,
                                      confirmation=st.session_state.get("ids_overwrite"))
    except Refusal as refusal:
        if refusal.correctable:  # the dialog stays open to correct the id or the reason
            show_alert(*refusal_message(refusal))
            return
        flash(*refusal_message(refusal, done="Not done"))
    else:
        was = f"was {change.before_qbo_id}" if change.before_qbo_id else "it had none before"
        flash("success", f"Our {kind} {record.number_or_name} is now linked to QuickBooks id {change.after_qbo_id} "
                         f"({was}).")
        reset_selection()
    close_dialog()
    st.rerun()


@st.dialog("Re-link assistant", width="large", on_dismiss=close_dialog)
def relink_dialog(record_id: int) -> None:
    """Search QuickBooks for this record's twin by number, name and amount; pick one to link."""
    with runtime.factory() as session:
        record = get_linked_record(session, record_id)
    if record is None:
        st.error("This record no longer exists.")
        return
    kind = label_entity(record.entity_type).lower()
    amount = "" if record.amount is None else f" for {format_money(record.amount)}"
    st.markdown(md("Looking for our **{kind} {name}**{amount} in QuickBooks.", kind=kind, name=record.number_or_name,
                   amount=amount))
    if st.button("Search QuickBooks", key="ids_search", type="primary"):
        try:
            st.session_state[CANDIDATES_KEY] = live.find_relink_candidates(runtime.factory, runtime.config, record_id)
        except Refusal as refusal:
            show_alert(*refusal_message(refusal))
    candidates = st.session_state.get(CANDIDATES_KEY)
    if candidates is None:
        return
    next_step = ("Remove its QuickBooks id and let the next sync create it, or type an id with Override."
                 if record.qbo_id else "Leave it unlinked: the next sync creates it in QuickBooks.")
    if not candidates:
        st.info(md("QuickBooks has no {} with this number, name or amount. {}", kind, next_step))
        return
    st.dataframe(pd.DataFrame([{
        "QB id": c.qbo.qbo_id, "Number / name": c.qbo.name or "", "Amount": format_money(c.qbo.amount),
        "Date": c.qbo.date or "", "Customer": c.qbo.customer or "", "Why": ", ".join(c.reasons),
        "Mismatch": "; ".join(c.mismatches),
        "Linked to": "" if c.linked_record_id is None else f"our {c.linked_to or 'other record'}",
    } for c in candidates]), hide_index=True)
    if any(c.mismatches for c in candidates):
        st.caption("A candidate with a mismatch (another customer or amount) is probably another transaction: "
                   "linking it needs OVERWRITE typed, because the next sync would overwrite it with ours.")
    free = {c.qbo.qbo_id: c for c in candidates if c.linked_record_id is None}
    if not free:
        st.warning(md("Every candidate is already linked to another of our records, and one QuickBooks record "
                      "cannot belong to two of ours. {}", next_step))
        return
    chosen = st.selectbox("Link to", list(free), key="ids_candidate",
                          format_func=lambda q: f"QuickBooks id {q}" + (" — mismatch" if free[q].mismatches else ""))
    if st.button("Check and link this one…", key="ids_use_candidate"):
        open_dialog("override", [record_id], prefill=chosen)
        st.rerun()


@st.dialog("Move a customer to another company", width="large", on_dismiss=close_dialog)
def move_dialog(customer_id: int | None) -> None:
    """Pick a customer and the company it goes to, read what happens (what stays, what goes), give a reason, move."""
    search = st.text_input("Find the customer (name or code)", key="ids_move_search")
    with runtime.factory() as session:
        customers = {c.customer_id: c for c in list_movable_customers(session, search=search)}
        if customer_id is not None and customer_id not in customers and not search:
            customers.update({c.customer_id: c for c in list_movable_customers(session, search="")
                              if c.customer_id == customer_id})
    if not customers:
        st.info("No customer matches. Sub-customers move with their parent: search for the parent.")
        return
    ids = list(customers)
    # Nothing is picked for the admin unless a ticked row named the customer: a move is never of a guessed customer.
    chosen = st.selectbox("Customer", ids, key="ids_move_customer",
                          index=ids.index(customer_id) if customer_id in customers else None,
                          placeholder="Choose the customer to move",
                          format_func=lambda i: f"{customers[i].name} ({customers[i].code}) · now in "
                                                f"{customers[i].company}")
    if chosen is None:
        return
    picked = customers[chosen]
    targets = [i for i in company.names if i != picked.company_id]
    target = st.selectbox("Move it to", targets, key="ids_move_target", format_func=company.names.__getitem__)
    try:
        with runtime.factory() as session:
            plan = plan_move(session, chosen, target)
    except Refusal as refusal:
        show_alert(*refusal_message(refusal))
        return
    st.markdown(md("Moving **{customer}** from **{source}** to **{target}**:", customer=plan.customer_name,
                   source=plan.from_company, target=plan.to_company))
    for sentence in plan.sentences():
        st.markdown(md("- {}", sentence))
    if plan.staying:
        st.dataframe(pd.DataFrame([{"Type": label_entity(r.entity_type), "Number / name": r.name,
                                    "QuickBooks id": r.qbo_id} for r in plan.staying]), hide_index=True,
                     key="ids_move_staying")
    reason = st.text_area("Reason (required, kept in the audit log)", key="ids_move_reason")
    if not st.button(md("Move {customer} to {target}", customer=plan.customer_name, target=plan.to_company),
                     type="primary", key="ids_move_confirm"):
        return
    try:
        with transaction(runtime.factory) as session:
            done = move_customer(session, actor, chosen, target, reason=reason)
    except Refusal as refusal:
        if refusal.correctable:  # a missing reason: the dialog stays open to give one
            show_alert(*refusal_message(refusal))
            return
        flash(*refusal_message(refusal, done="Not moved"))
    else:
        moving = sum(done.moving.values())
        flash("success", f"{done.customer_name} now belongs to {done.to_company}: "
                         f"{labels.plural(len(done.staying), 'record')} stay in {done.from_company}'s QuickBooks, "
                         f"{labels.plural(moving, 'open record')} go to {done.to_company} at the next sync.")
        reset_selection()
    close_dialog()
    st.rerun()


def read_filter() -> IdFilter:
    """The filter widgets → an IdFilter (applied in SQL)."""
    # The date range gets the widest column: at 1280 px a narrower one cut its "yyyy-mm-dd – yyyy-mm-dd" off.
    row = st.columns([2, 3, 2, 3])
    entity = row[0].selectbox("Type", ["", *EntityType], key="ids_entity",
                              format_func=lambda e: label_entity(e) if e else "All types")
    search = row[1].text_input("Search", key="ids_search_text", placeholder="Number, name, customer, vendor or QB id")
    statuses = row[2].multiselect("Status", list(SyncStatus), key="ids_status", format_func=STATUS_LABELS.__getitem__,
                                  placeholder="Any status")
    dates = row[3].date_input("Last sync between", value=(), key="ids_dates", format="YYYY-MM-DD")  # type: ignore[arg-type]  # () = a range, none picked
    unlinked = st.checkbox("Also show records without a QuickBooks id (to re-link them)", key="ids_unlinked")
    return IdFilter(entity_type=EntityType(entity) if entity else None, search=search or "",
                    statuses=tuple(statuses), linked_only=not unlinked, company_id=company.chosen,
                    synced_from=dates[0] if len(dates) > 0 else None,
                    synced_to=dates[1] if len(dates) > 1 else (dates[0] if dates else None))


def to_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """The grid's rows: id first, labels for type and status (and the company, when there are several)."""
    grid = pd.DataFrame({
        "id": frame["record_id"],
        "entity": [label_entity(e) for e in frame["entity_type"]],
        "number_or_name": frame["number_or_name"],
        "customer": frame["customer"].fillna(""),
        "amount": frame["amount"],
        "date": ["" if d is None else str(d)[:10] for d in frame["date"]],
        "qbo_id": frame["qbo_id"].fillna(""),
        "status": [STATUS_LABELS[SyncStatus(s)] for s in frame["status"]],
        "last_synced": [format_moment(m) if m is not None and not pd.isna(m) else "never"
                        for m in frame["last_synced_at"]],
        "paid_in_qbo": pd.to_numeric(frame["paid_in_qbo"]),  # empty (not None) where nothing was paid there
    })
    if company.several:
        grid.insert(grid.columns.get_loc("customer") + 1, "company", [company.name_of(int(c))
                                                                      for c in frame["company_id"]])
    return grid


st.title("QuickBooks IDs")
st.caption("Every record linked to QuickBooks, with its QuickBooks id. Removing an id makes the record re-sync; "
           "overriding it points the record at another QuickBooks record. Both are checked, confirmed and audited.")
if not is_allowed(actor, Role.ADMIN):
    st.info(md("You are signed in as {}: you can search and look up ids. Removing, overriding or re-linking an id "
               "needs the admin role — ask an admin.", labels.label(labels.ROLE, actor.role).lower()))
show_flash()

company: CompanyView = choose_company(runtime.factory, "ids_company", md("QuickBooks company"),
                                      on_change=reset_selection)
flt = read_filter()
# Kept until the database changes, so a rerun with nothing new (a tick, a dialog) counts nothing again. The frame is
# shared with other sessions: the page reads it and builds the grid's own rows from it, never changing it.
total, frame = read_once(runtime.factory, ("linked records", flt),
                         lambda session: (count_linked_records(session, flt), list_linked_records(session, flt)))

if total == 0:
    st.info("No record matches. Records appear here once they have synced to QuickBooks — run a sync from "
            "Problem Sync, or clear the search and filters.")
    selected: list[int] = []
else:
    shown = (f"Showing the first {GRID_LIMIT:,} of {total:,}" if total > GRID_LIMIT
             else labels.plural(total, "record"))
    st.markdown(md("**{}** · tick rows to act on them", shown))
    # The party column is headed by what the rows shown name: customers, vendors (bills), or both.
    parties = frame.loc[frame["customer"].notna() & (frame["customer"] != ""), "entity_type"]
    heading = party_heading(parties if not parties.empty else [flt.entity_type] if flt.entity_type else [])
    columns = [replace(c, header=heading) if c.field == "customer" else c for c in COLUMNS]
    # Last: beside the customer it pushed Amount and Date off the grid at 1280 px.
    columns = columns if not company.several else [*columns, COMPANY_COLUMN]
    selected = show_id_grid(to_grid(frame), columns, key=grid_key())

buttons = st.columns(4)
# Each opens its dialog in a callback, before the run that draws it: one run per click, not two.
buttons[0].button(md("Remove ID{s}… ({n})", s="s" if len(selected) > 1 else "", n=len(selected)),
                  key="ids_remove", disabled=not selected, on_click=open_dialog, args=("remove", selected))
buttons[1].button("Override ID…", key="ids_override", disabled=len(selected) != 1, help="Tick exactly one row.",
                  on_click=open_dialog, args=("override", selected))
buttons[2].button("Re-link assistant…", key="ids_relink", disabled=len(selected) != 1,
                  help="Tick exactly one row; searches QuickBooks for its twin.", on_click=open_dialog,
                  args=("relink", selected))
# Moving a customer is an admin's, and only where there is another company to move it to.
if company.several and is_allowed(actor, Role.ADMIN) and buttons[3].button(
        "Move customer…", key="ids_move",
        help="Move a customer (and its sub-customers) to another QuickBooks company. Tick one of its records to "
             "start with that customer."):
    ticked = frame.loc[frame["record_id"].isin(selected)]
    # A customer's own row names it by its id; a document's row by its customer.
    customers = {int(row.entity_id if row.entity_type == EntityType.CUSTOMER.value else row.customer_id)
                 for row in ticked.itertuples() if not pd.isna(row.customer_id) or
                 row.entity_type == EntityType.CUSTOMER.value}
    open_dialog("move", list(customers)[:1] if len(customers) == 1 else [])
    st.rerun()

pending = st.session_state.get(DIALOG_KEY)
if pending and pending["kind"] == "move":
    move_dialog(pending["record_ids"][0] if pending["record_ids"] else None)
elif pending:
    {"remove": remove_dialog, "override": override_dialog, "relink": relink_dialog}[pending["kind"]](  # type: ignore[operator]
        *([pending["record_ids"]] if pending["kind"] == "remove" else [pending["record_ids"][0]]))
