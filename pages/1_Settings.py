"""Settings: the QuickBooks connection, what syncs and how, charge and pay codes, custom fields, users, companies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from qbcore.access import is_allowed
from qbcore.companies import add_company, list_companies, realm_owner, rename_company, set_company_roles
from qbcore.connection import ConnectionState, get_connection_state
from qbcore.customer_names import list_customer_names
from qbcore.db import transaction
from qbcore.entities.registry import what_syncs
from qbcore.item_mappings import (
    CUSTOM_FIELD_SLOTS,
    CUSTOM_FIELD_SOURCES,
    ChargeCodeMapping,
    CustomFieldChoice,
    clear_item_mapping,
    list_billing_terms,
    list_branches,
    list_charge_code_mappings,
    list_custom_field_mappings,
    save_custom_field_mappings,
    save_item_mapping,
    save_settings_and_mark,
    suggest_item,
)
from qbcore.labels import ROLE, plural
from qbcore.live import (
    QboLists,
    complete_authorization,
    create_item,
    disconnect,
    map_code_to_account,
    read_lists,
    rename_customer_in_quickbooks,
    rename_vendor_in_quickbooks,
    start_authorization,
)
from qbcore.models import ConnectionStatus, Role
from qbcore.payables_accounts import CodeAccount, list_code_accounts
from qbcore.queries.health import list_company_health
from qbcore.queries.mapping_preview import synced_invoices_changed_by
from qbcore.refusals import Refusal
from qbcore.settings import get_setting_row, load_settings
from qbcore.users import add_user, change_user_role, list_users, set_user_active
from qbcore.vendor_names import list_vendor_names
from ui.companies import choose_company
from ui.feedback import flash_messages, refusal_message
from ui.formatting import format_moment
from ui.markup import Markdown, md, plain
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Settings · QuickBooks Sync Console", page_icon="⚙️", layout="wide")

FLASH_KEY = "set_flash"
LISTS_KEY = "set_qbo_lists"
AUTH_URL_KEY = "set_auth_url"
NUMBERING = {"billing": "Use our invoice numbers as the QuickBooks invoice numbers",
             "quickbooks": "Let QuickBooks number them"}
MATCHING = {"name": "By name (the customer's display name in QuickBooks)", "email": "By billing email",
            "existing_id": "Only customers already linked by QuickBooks id"}
TRIGGERS = {"on_approval": "As soon as an invoice is approved", "on_demand": "Only when someone runs a sync"}
BRANCH = {"none": "Don't track branches", "class": "As a QuickBooks Class", "location": "As a QuickBooks Location"}
NAME_STATUS = {"synced": "In QuickBooks", "failed": "Failed", "blocked": "Blocked",
               "out_of_date": "Changed, not yet sent", "pending": "Waiting to sync"}
OVERFLOW = {"truncate": "Cut at 4,000 characters with a visible marker", "fail": "Stop the sync and say so"}
PULLED = {"apply": "Apply them to our invoices", "propose": "Propose them for review first"}
ROUTING = {"driver": "The driver",
           "fleet_owner": "The fleet owner whose trucks ran the loads (one bill per owner when there are several)",
           "both": "The fleet owner when one owner's trucks ran every load, otherwise the driver"}
# Session keys that are not one company's: the selector itself, the open tab, messages, users and companies.
COMPANY_WIDE_KEYS = {"set_company", "set_company_shown", "set_tab", FLASH_KEY}

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)
admin = is_allowed(actor, Role.ADMIN)


flash, show_flash = flash_messages(FLASH_KEY)


def handle_callback() -> None:
    """QuickBooks sent the browser back with ?code&state&realmId (or ?error): finish connecting, then tidy the URL."""
    params = {k: st.query_params.get(k, "") for k in ("code", "state", "realmId", "error")}
    if not params["code"] and not params["error"]:
        return
    st.query_params.clear()  # a reload must never replay a used code
    if params["error"]:
        flash("warning", f"QuickBooks sign-in did not complete ({params['error']}). Nothing changed.")
        return
    try:
        state = complete_authorization(runtime.factory, runtime.config, code=params["code"], state=params["state"],
                                       realm_id=params["realmId"], actor=actor)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not connected"))
    else:
        st.session_state.pop(LISTS_KEY, None)
        st.session_state.pop(AUTH_URL_KEY, None)
        # The browser comes back in a new session: show the company just connected, not the default one.
        with runtime.factory() as session:
            owner = realm_owner(session, state.realm_id) if state.realm_id else None
        if owner is not None:
            st.session_state["set_company"] = owner.id
        flash("success", f"Connected to QuickBooks: {state.company_name or 'company'} (realm {state.realm_id}).")


def begin_connect() -> None:
    """Make the Intuit sign-in link (admin only); the page then shows it as a button."""
    try:
        with transaction(runtime.factory) as session:
            st.session_state[AUTH_URL_KEY] = start_authorization(session, runtime.config, actor=actor,
                                                                 company_id=company.chosen)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not done"))


def _until(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    days = (moment - datetime.now(UTC)).days
    return f"{format_moment(moment)} ({days:,} days left)" if days >= 1 else format_moment(moment)


def show_connection(state: ConnectionState) -> None:
    """The connection's health, and Connect / Reconnect / Disconnect for admins."""
    st.subheader("QuickBooks connection")
    if state.status is ConnectionStatus.CONNECTED:
        st.success(md("Connected to **{company}** (realm {realm}, {environment}). Authorization valid until "
                      "{until}.", company=state.company_name or "QuickBooks", realm=state.realm_id,
                      environment=state.environment, until=_until(state.refresh_expires_at)))
    elif state.status is ConnectionStatus.RECONNECT_REQUIRED:
        st.error(md("QuickBooks needs to be reconnected: {why} Syncs are paused until an admin reconnects; they "
                    "resume afterwards.", why=state.last_error or "the saved authorization was refused."))
    elif state.disconnected_by:
        st.info(md("QuickBooks was disconnected by {who} on {when}. Nothing syncs, and nothing reconnects on its "
                   "own, until an admin clicks Connect to QuickBooks below.", who=state.disconnected_by,
                   when=format_moment(state.disconnected_at)))
    else:
        st.info("QuickBooks is not connected. An admin connects it here with Connect to QuickBooks; nothing syncs "
                "until then.")
    url = st.session_state.get(AUTH_URL_KEY)
    if url:
        st.link_button("Continue to QuickBooks sign-in →", url, type="primary", key="set_auth_link")
        st.caption("QuickBooks asks you to pick the company and allow access, then sends you back here.")
    # One row from the left: three equal columns left the checkbox floating mid-page, away from its button.
    row = st.container(horizontal=True, vertical_alignment="center")
    columns = (row, row, row)
    if state.status is ConnectionStatus.RECONNECT_REQUIRED:
        columns[0].button("Reconnect QuickBooks", key="set_reconnect", type="primary", disabled=not admin,
                          on_click=begin_connect)
    elif state.status is ConnectionStatus.DISCONNECTED:
        columns[0].button("Connect to QuickBooks", key="set_connect", type="primary", disabled=not admin,
                          on_click=begin_connect)
    if state.status is not ConnectionStatus.DISCONNECTED:
        sure = columns[1].checkbox("I want to disconnect", key="set_disconnect_sure", disabled=not admin)
        if columns[2].button("Disconnect", key="set_disconnect", disabled=not (admin and sure)):
            try:
                disconnect(runtime.factory, runtime.config, actor=actor, company_id=company.chosen)
            except Refusal as refusal:
                flash(*refusal_message(refusal, done="Not done"))
            else:
                st.session_state.pop(LISTS_KEY, None)
                flash("success", "QuickBooks disconnected; its tokens were revoked and forgotten. Nothing syncs "
                                 "until an admin connects again.")
            st.rerun()


def get_lists(state: ConnectionState) -> QboLists | None:
    """Items, accounts, classes, locations, terms and custom fields read from QuickBooks once per visit."""
    if state.status is not ConnectionStatus.CONNECTED:
        return None
    # Kept with the company they were read from: each company has its own items, accounts and fields.
    kept = st.session_state.get(LISTS_KEY)
    if kept is None or kept[0] != company.chosen:
        try:
            st.session_state[LISTS_KEY] = kept = (company.chosen, read_lists(runtime.factory, runtime.config,
                                                                             company.chosen))
        except Refusal as refusal:
            # The page still works without the lists: ids can be typed instead of picked.
            st.warning(md("{} Ids can still be typed.", refusal_message(refusal)[1]))
            return None
    return kept[1]


def save(changes: dict, what: str) -> None:
    """Save settings through qbcore (admin only, validated, audited; invoices whose text changes marked) and say so."""
    try:
        with transaction(runtime.factory) as session:
            change = save_settings_and_mark(session, actor, changes, audit_factory=runtime.factory,
                                            company_id=company.chosen)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not saved"))
    else:
        resent = (f" {plural(change.marked, 'synced invoice')} {'gets' if change.marked == 1 else 'get'} new line "
                  "descriptions: marked out of date, the next sync re-sends them." if change.marked else "")
        flash("success", f"{what} saved.{resent}")
    st.rerun()


def overflow_impact(current) -> int:
    """Synced invoices the other overflow choice would change (lines over 4,000 characters), once per change."""
    key = ("set_overflow_impact", company.chosen, current.description, current.description_overflow)
    cached = st.session_state.get("set_overflow_impact")
    if cached is None or cached[0] != key:
        other = "fail" if current.description_overflow == "truncate" else "truncate"
        with runtime.factory() as session:
            count = len(synced_invoices_changed_by(session, current, replace(current, description_overflow=other),
                                                   company_id=company.chosen))
        st.session_state["set_overflow_impact"] = cached = (key, count)
    return int(cached[1])


def run_change(action, done: str) -> None:
    """Run one mapping or user change in a transaction; a refusal is a sentence, never a traceback."""
    try:
        with transaction(runtime.factory) as session:
            action(session)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not done"))
    else:
        flash("success", done)
    st.rerun()


def show_what_syncs(current) -> None:
    """Which records sync, the master pause, and what starts a sync."""
    with st.form("set_what"):
        st.subheader("What syncs")
        switches = what_syncs()
        # A row that wraps at each label's own width: six equal columns cut "Driver settlements" off at 1280 px.
        row = st.container(horizontal=True)
        values: dict[str, object] = {
            switch.setting: row.checkbox(plain(switch.label), value=getattr(current, switch.setting),
                                         key=f"set_{switch.setting}")
            for switch in switches}
        values["paused"] = st.toggle("Pause all syncing (master switch)", value=current.paused, key="set_paused")
        values["trigger"] = st.radio("Start a sync", list(TRIGGERS), format_func=TRIGGERS.__getitem__,
                                     key="set_trigger", index=list(TRIGGERS).index(current.trigger), horizontal=True)
        if st.form_submit_button("Save what syncs", disabled=not admin, key="set_save_what"):
            save(values, "What syncs")


def _pick_name(label: Markdown, names: list[str], current: str, key: str) -> str:
    """A selectbox of QuickBooks names when the lists were read, else a text box."""
    if not names:
        return st.text_input(label, value=current, key=key)
    options = names if current in names or not current else [current, *names]
    return st.selectbox(label, options, index=options.index(current) if current in options else 0, key=key)


def show_options(current, lists: QboLists | None, terms: list[str], branches: list[str]) -> None:
    """Numbering, customer matching, income account, terms, branches and the description-length policy."""
    with st.form("set_options"):
        st.subheader("How records sync")
        values: dict = {}
        values["invoice_numbering"] = st.radio("Invoice numbers", list(NUMBERING), format_func=NUMBERING.__getitem__,
                                               index=list(NUMBERING).index(current.invoice_numbering),
                                               key="set_numbering")
        values["customer_matching"] = st.radio("Match customers already in QuickBooks", list(MATCHING),
                                               format_func=MATCHING.__getitem__, key="set_matching",
                                               index=list(MATCHING).index(current.customer_matching))
        values["create_missing_items"] = st.checkbox("Create a QuickBooks item for an unmapped charge code",
                                                     value=current.create_missing_items, key="set_create_items")
        values["default_income_account"] = _pick_name(
            md("Default income account for new items"), [a.name for a in lists.accounts] if lists else [],
            current.default_income_account, "set_income_account")
        st.markdown("**Payment terms** — each billing term goes to the QuickBooks term of the same name unless "
                    "mapped here.")
        qbo_terms = [t.name for t in lists.terms] if lists else []
        mapping = {}
        for index, term in enumerate(terms):
            chosen = _pick_name(md("Billing term “{}” →", term), qbo_terms, current.terms_mapping.get(term, term),
                                f"set_term_{index}")
            if chosen and chosen != term:
                mapping[term] = chosen
        values["terms_mapping"] = mapping
        values["branch_tracking"] = st.radio("Branch / terminal", list(BRANCH), format_func=BRANCH.__getitem__,
                                             index=list(BRANCH).index(current.branch_tracking), key="set_branch",
                                             horizontal=True)
        if lists:
            targets = [c.name for c in (lists.classes if current.branch_tracking == "class" else lists.departments)]
        else:
            targets = []
        branch_map = {}
        for index, branch in enumerate(branches):
            chosen = _pick_name(md("Branch “{}” →", branch), targets, current.branch_map.get(branch, branch),
                                f"set_branch_{index}")
            if chosen and chosen != branch:
                branch_map[branch] = chosen
        values["branch_map"] = branch_map
        values["description_overflow"] = st.radio(
            "A line Description longer than QuickBooks' 4,000 characters", list(OVERFLOW),
            format_func=OVERFLOW.__getitem__, index=list(OVERFLOW).index(current.description_overflow),
            key="set_overflow")
        affected = overflow_impact(current)
        if affected:
            st.caption(md("Changing this changes the description of {count} already in QuickBooks (a line over "
                          "4,000 characters); saving marks them out of date and the next sync re-sends them.",
                          count=plural(affected, "synced invoice")))
        st.caption("Which load fields go into the Description is set on the Mapping preview page.")
        values["pulled_payments"] = st.radio("Payments applied directly in QuickBooks", list(PULLED),
                                             format_func=PULLED.__getitem__, key="set_pulled",
                                             index=list(PULLED).index(current.pulled_payments))
        if st.form_submit_button("Save options", disabled=not admin, key="set_save_options"):
            save(values, "Sync options")


def _code_status(mapping: ChargeCodeMapping) -> str:
    """A grid cell (plain text, never markdown): mapped by a person, by the sync, or not at all."""
    if mapping.is_mapped:
        return f"Mapped to {mapping.qbo_item_name or 'item ' + str(mapping.qbo_item_id)}"
    if mapping.is_auto_mapped:
        return f"Mapped automatically to {mapping.auto_item_name}"
    return "⚠ Unmapped"


def show_charge_codes(lists: QboLists | None, current) -> None:
    """Charge code → QuickBooks item: unmapped codes flagged; map, clear, or create the item in QuickBooks."""
    st.subheader("Charge codes → QuickBooks products and services")
    with runtime.factory() as session:
        mappings = list_charge_code_mappings(session, company.chosen)
    if not mappings:
        st.info("No charge codes yet. They come with the billing book (`qbsync demo` writes a demo book).")
        return
    unmapped = [m.code for m in mappings if not m.posts_to]
    if unmapped:
        # The setting lives on another tab, so it is named in words, not pointed at.
        then = ("the next sync creates a QuickBooks item named after each code" if current.create_missing_items
                else "their invoices wait until each code is mapped here")
        st.warning(md("{count} not mapped to a QuickBooks item yet: {codes}. Because “Create a QuickBooks item for "
                      "an unmapped charge code” is {state} (Options tab), {then}.",
                      count=plural(len(unmapped), "charge code"), codes=", ".join(unmapped),
                      state="on" if current.create_missing_items else "off", then=then))
    accounts_known = {a.qbo_id: a.name for a in lists.accounts} if lists else {}
    frame = pd.DataFrame([{
        "Code": m.code, "Name": m.name, "Status": _code_status(m), "Item id": m.posts_to or "",
        "Income account": accounts_known.get(m.income_account_id or "", m.income_account_id or "—"),
    } for m in mappings])
    if not any(m.income_account_id for m in mappings):
        frame = frame.drop(columns="Income account")  # an empty column only pushed Status off the screen
    # Pixel widths that add up to the 1280 px page, so no code, status or account name is cut off.
    st.dataframe(frame, hide_index=True, width="stretch", column_config={
        "Code": st.column_config.TextColumn(width=110), "Name": st.column_config.TextColumn(width=220),
        "Status": st.column_config.TextColumn(width=270), "Item id": st.column_config.TextColumn(width=60),
        "Income account": st.column_config.TextColumn(width=150)})
    by_id = {m.charge_code_id: m for m in mappings}
    code_id = st.selectbox("Charge code", list(by_id), key="set_map_code",
                           format_func=lambda i: f"{by_id[i].code} — {by_id[i].name}")
    chosen = by_id[code_id]
    if chosen.is_auto_mapped:
        st.caption(md("{code} is mapped automatically to {item} (the sync created or found that item). Save a "
                      "mapping to post it to another item.", code=chosen.code, item=chosen.auto_item_name))
    items = {i.qbo_id: i.name for i in lists.items} if lists else {}
    accounts = {a.qbo_id: a.name for a in lists.accounts} if lists else {}
    left, right = st.columns(2)
    if items:
        # Keyed per code and empty unless the code has an item (or one of its name): never another code's item.
        options = ["", *items]
        suggested = suggest_item(chosen, items) or ""
        item_id = left.selectbox("QuickBooks item", options, key=f"set_map_item_{code_id}",
                                 index=options.index(suggested),
                                 format_func=lambda i: items[i] if i else "— choose an item —")
        account_options = ["", *accounts]
        account_id = right.selectbox("Income account (optional)", account_options, key=f"set_map_account_{code_id}",
                                     index=account_options.index(chosen.income_account_id)
                                     if chosen.income_account_id in accounts else 0,
                                     format_func=lambda a: accounts[a] if a else "— item's own —")
    else:
        item_id = left.text_input("QuickBooks item id", value=chosen.qbo_item_id or "",
                                  key=f"set_map_item_id_{code_id}")
        account_id = right.text_input("Income account id (optional)", value=chosen.income_account_id or "",
                                      key=f"set_map_account_id_{code_id}")
        st.caption("Connect QuickBooks to pick items and accounts from lists instead of typing ids.")
    buttons = st.container(horizontal=True)
    if buttons.button("Save mapping", key="set_map_save", disabled=not admin or not item_id, type="primary"):
        run_change(lambda s: save_item_mapping(s, actor, code_id, qbo_item_id=item_id, qbo_item_name=items.get(
            item_id), income_account_id=account_id, audit_factory=runtime.factory, company_id=company.chosen),
            f"{chosen.code} now posts to QuickBooks item {items.get(item_id, item_id)}.")
    if buttons.button("Clear mapping", key="set_map_clear", disabled=not admin or not chosen.is_mapped):
        run_change(lambda s: clear_item_mapping(s, actor, code_id, audit_factory=runtime.factory,
                                                company_id=company.chosen),
                   f"{chosen.code} is no longer mapped.")
    with buttons.popover("Create item in QuickBooks", disabled=not admin or lists is None):
        name = st.text_input("Item name", value=chosen.code, key=f"set_new_item_name_{code_id}")
        income = st.selectbox("Income account", list(accounts), format_func=accounts.__getitem__,
                              key="set_new_item_account")
        if st.button("Create and map", key="set_map_create"):
            try:
                mapping = create_item(runtime.factory, runtime.config, actor, code_id, name=name,
                                      income_account_id=income, company_id=company.chosen)
            except Refusal as refusal:
                flash(*refusal_message(refusal, done="Not done"))
            else:
                st.session_state.pop(LISTS_KEY, None)
                flash("success", f"{mapping.code} now posts to QuickBooks item {mapping.qbo_item_name} "
                                 f"(id {mapping.qbo_item_id}).")
            st.rerun()


def _account_status(mapping: CodeAccount) -> str:
    """A grid cell (plain text, never markdown): the account the code posts to, or a warning."""
    return f"Posts to {mapping.account_name}" if mapping.is_mapped else "⚠ Unmapped: its bills wait"


def map_pay_code(kind: str, code_id: int, account_id: str, code: str, account: str) -> None:
    """Map one code through qbcore (admin only, the account checked in QuickBooks, audited) and say what changed."""
    try:
        change = map_code_to_account(runtime.factory, runtime.config, actor, kind, code_id, account_id,
                                     company_id=company.chosen)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not saved"))
    else:
        resent = (f" {plural(change.marked, 'synced bill')} {'posts' if change.marked == 1 else 'post'} to the old "
                  "account in QuickBooks: marked out of date, the next sync re-sends them." if change.marked else "")
        flash("success", f"{code} now posts to {account}. Bills waiting for it retry by themselves.{resent}")
    st.rerun()


def show_bill_options(current, lists: QboLists | None) -> None:
    """How bills go to QuickBooks: whom a settlement is billed to, the default expense account, the paying bank."""
    with st.form("set_routing"):
        st.subheader("Bills")
        values: dict[str, object] = {}
        values["settlement_vendor"] = st.radio(
            "Bill each driver settlement to", list(ROUTING), format_func=ROUTING.__getitem__,
            index=list(ROUTING).index(current.settlement_vendor), key="set_routing_choice")
        st.caption("A settlement whose loads ran on several fleet owners' trucks is split into one bill per owner "
                   "(numbered like S-1042, S-1042-2), each paid on its own; deductions tied to a truck go with its "
                   "owner, the driver's own with the largest bill. Settlements already in QuickBooks keep the "
                   "vendor they were billed to. This applies in the company that holds driver pay.")
        expense = [a.name for a in lists.expense_accounts] if lists else []
        label = md("Default expense account for a pay code not mapped below")
        if expense:
            options = ["", *dict.fromkeys([*([current.default_expense_account] if current.default_expense_account
                                             else []), *expense])]
            values["default_expense_account"] = st.selectbox(
                label, options, index=options.index(current.default_expense_account), key="set_default_expense",
                format_func=lambda name: name or "None: a pay code without an account waits, named")
        else:
            values["default_expense_account"] = st.text_input(label, value=current.default_expense_account,
                                                              key="set_default_expense",
                                                              help="Leave empty: a pay code without an account waits.")
        banks = [a.name for a in lists.bank_accounts] if lists else []
        values["bill_payment_account"] = _pick_name(md("Bank account paid bills are paid from"), banks,
                                                    current.bill_payment_account, "set_bill_bank")
        st.caption("Bill numbers: a settlement's bill carries the settlement number, a carrier's bill the carrier's "
                   "invoice number. QuickBooks does not number bills itself, and the number (with the vendor) is "
                   "how the sync finds a bill it sent before, so it never makes a second one.")
        if st.form_submit_button("Save bill options", disabled=not admin, key="set_save_routing"):
            save(values, "Bill options")


def show_pay_codes(lists: QboLists | None, current) -> None:
    """Pay and deduction code → QuickBooks expense account: unmapped codes flagged, mapped from QuickBooks' list."""
    st.subheader("Pay codes and deductions → QuickBooks expense accounts")
    if not (current.sync_settlements or current.sync_carrier_bills):
        st.caption("Driver settlements and carrier bills are switched off under What syncs; these mappings apply "
                   "once one of them is on.")
    if company.several:
        st.caption(md("Each QuickBooks company has its own chart of accounts, so each maps its codes itself: these "
                      "are {name}'s. A code not mapped here holds up its bills in {name}.",
                      name=company.name_of(company.chosen)))
    with runtime.factory() as session:
        mappings = list_code_accounts(session, company.chosen)
    if not mappings:
        st.info("No pay codes yet. They come with the billing book (`qbsync demo` writes a demo book).")
        return
    unmapped = [m.code for m in mappings if not m.is_mapped]
    if unmapped:
        st.warning(md("{count} not mapped to a QuickBooks account yet: {codes}. Their settlements and carrier bills "
                      "wait until each is mapped here.", count=plural(len(unmapped), "code"),
                      codes=", ".join(unmapped)))
    st.dataframe(pd.DataFrame([{
        "Kind": m.noun.capitalize(), "Code": m.code, "Name": m.name, "Account": _account_status(m),
    } for m in mappings]), hide_index=True, width="stretch", column_config={
        "Kind": st.column_config.TextColumn(width=130), "Code": st.column_config.TextColumn(width=110),
        "Name": st.column_config.TextColumn(width=260), "Account": st.column_config.TextColumn(width=300)})
    by_key = {f"{m.kind}:{m.code_id}": m for m in mappings}
    key = st.selectbox("Code", list(by_key), key="set_pay_code",
                       format_func=lambda k: f"{by_key[k].code} — {by_key[k].name} ({by_key[k].noun})")
    chosen = by_key[key]
    accounts = {a.qbo_id: a.name for a in lists.expense_accounts} if lists else {}
    if not accounts:
        st.caption("Connect QuickBooks to map codes to its accounts: the list of expense accounts is read from it.")
        return
    options = ["", *accounts]
    current_id = next((i for i, name in accounts.items() if name == chosen.account_name), "")
    account_id = st.selectbox("QuickBooks expense account", options, index=options.index(current_id),
                              key=f"set_pay_account_{key}",
                              format_func=lambda a: accounts[a] if a else "— choose an account —")
    if st.button("Save account", key="set_pay_save", type="primary",
                 disabled=not admin or not account_id or account_id == current_id):
        map_pay_code(chosen.kind, chosen.code_id, account_id, chosen.code, accounts.get(account_id, account_id))


def show_custom_fields(lists: QboLists | None) -> None:
    """Up to three QuickBooks custom fields, each filled from a billing field."""
    st.subheader("Custom fields")
    with runtime.factory() as session:
        saved = {c.slot: c for c in list_custom_field_mappings(session, company.chosen)}
    if lists is not None:
        definitions = {int(d.definition_id): d.name for d in lists.custom_fields}
    else:
        definitions = {slot: c.qbo_name for slot, c in saved.items()}
        st.caption("Connect QuickBooks to read its custom field names (Preferences → Sales form custom fields).")
    if not definitions:
        st.info("QuickBooks has no sales-form custom fields switched on. Turn them on in QuickBooks (Account and "
                "settings → Sales → Custom fields), then come back.")
        return
    choices = []
    for column, slot in zip(st.columns(len(CUSTOM_FIELD_SLOTS)), CUSTOM_FIELD_SLOTS, strict=True):
        if slot not in definitions:
            column.caption(md("QuickBooks field {}: not switched on", slot))
            continue
        options = ["", *CUSTOM_FIELD_SOURCES]
        current = saved[slot].source_field if slot in saved else ""
        label = md("{name} (QuickBooks field {slot})", name=definitions[slot], slot=slot)
        source = column.selectbox(label, options, key=f"set_cf_{slot}",
                                  index=options.index(current) if current in options else 0,
                                  format_func=lambda s: CUSTOM_FIELD_SOURCES[s] if s else "— not used —")
        if source:
            choices.append(CustomFieldChoice(slot, str(slot), definitions[slot], source))
    if st.button("Save custom fields", key="set_cf_save", disabled=not admin):
        run_change(lambda s: save_custom_field_mappings(s, actor, choices, audit_factory=runtime.factory,
                                                        company_id=company.chosen),
                   "Custom fields saved; the next sync fills them.")


def _name_status(status: str | None, clashed: bool) -> str:
    if clashed:
        return "Refused by QuickBooks: the name is taken"
    return NAME_STATUS.get(status or "", "Not yet in QuickBooks")


def rename_customer(customer_id: int, name: str, reason: str) -> None:
    """Give one customer its QuickBooks name through qbcore (admin only, checked in QuickBooks, audited)."""
    try:
        change = rename_customer_in_quickbooks(runtime.factory, runtime.config, actor, customer_id, name,
                                               reason=reason)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not changed"))
    else:
        queued = (f" Job #{change.job_id} resyncs it with {change.records - 1:,} "
                  f"record{'' if change.records == 2 else 's'} it was holding up." if change.job_id else "")
        link = (f" QuickBooks already has a customer of that name (id {change.links_to}); the next sync links to it."
                if change.links_to else "")
        flash("success", f"{change.name} now goes to QuickBooks as “{change.after}”.{link}{queued}")
    st.rerun()


def show_customer_names(current) -> None:
    """The name each customer has in QuickBooks, and the rule for names QuickBooks refuses."""
    st.subheader("Customer names in QuickBooks")
    st.caption("QuickBooks keeps one list of names for customers, vendors and employees. When a vendor already has "
               "a customer's name, QuickBooks refuses the customer (code 6240) and its invoices and payments wait. "
               "Give such a customer its own QuickBooks name here; the billing name stays as it is.")
    with st.form("set_clash_rule"):
        suffix = st.text_input("When QuickBooks refuses a name, add this to it", value=current.name_clash_suffix,
                               key="set_clash_suffix", max_chars=20, placeholder=" (C)",
                               help="For example ' (C)': ACME Logistics goes to QuickBooks as 'ACME Logistics (C)'. "
                                    "Leave empty to choose each name here by hand.")
        if st.form_submit_button("Save the name-clash rule", disabled=not admin, key="set_save_clash"):
            save({"name_clash_suffix": suffix}, "Name-clash rule")
    search = st.text_input("Find a customer (name or code)", key="set_names_search")
    with runtime.factory() as session:
        names = list_customer_names(session, search=search, limit=200)
    if not names:
        st.info("No customer matches. Clear the search to see every customer." if search else
                "No customers yet. They come with the billing book (Import, or `qbsync demo`).")
        return
    clashes = sum(n.clashed for n in names)
    if clashes:
        st.warning(md("{count:,} customer{verb} refused by QuickBooks because the name is taken. Pick one below and "
                      "give it a QuickBooks name.", count=clashes, verb=" is" if clashes == 1 else "s are"))
    st.dataframe(pd.DataFrame([{
        "Customer": n.name, "Code": n.code, "Name in QuickBooks": n.effective_name,
        "Own QuickBooks name": "Yes" if n.qbo_display_name else "No", "Status": _name_status(n.status, n.clashed),
    } for n in names]), hide_index=True, width="stretch", column_config={
        "Code": st.column_config.TextColumn(width="small"),
        "Own QuickBooks name": st.column_config.TextColumn("Own name", width="small"),
        "Status": st.column_config.TextColumn(width="large")})
    by_id = {n.customer_id: n for n in names}
    chosen = st.selectbox("Customer", list(by_id), key="set_names_customer",
                          format_func=lambda i: f"{by_id[i].name} ({by_id[i].code})")
    picked = by_id[chosen]
    with st.form("set_customer_name"):
        suggestion = picked.qbo_display_name or (f"{picked.name}{current.name_clash_suffix or ' (C)'}"
                                                  if picked.clashed else picked.name)
        new_name = st.text_input("Name in QuickBooks (empty = the billing name)", value=suggestion,
                                 key=f"set_names_value_{chosen}", max_chars=500)
        reason = st.text_input("Reason (required, kept in the audit log)", key=f"set_names_reason_{chosen}")
        if st.form_submit_button("Save QuickBooks name and resync", disabled=not admin, key="set_names_save"):
            rename_customer(chosen, new_name, reason)


def rename_vendor(vendor_id: int, name: str, reason: str) -> None:
    """Give one vendor its QuickBooks name through qbcore (admin only, checked in QuickBooks, audited)."""
    try:
        change = rename_vendor_in_quickbooks(runtime.factory, runtime.config, actor, vendor_id, name, reason=reason)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not changed"))
    else:
        waiting = change.describe_waiting()
        queued = (f" Job #{change.job_id} resyncs it, and {waiting} waiting on it will resync too." if change.job_id
                  and waiting else f" Job #{change.job_id} resyncs it." if change.job_id else "")
        link = (f" QuickBooks already has a vendor of that name (id {change.links_to}); the next sync links to it."
                if change.links_to else "")
        flash("success", f"{change.name} now goes to QuickBooks as “{change.after}”.{link}{queued}")
    st.rerun()


def show_vendor_names(current) -> None:
    """The name each vendor (driver, fleet owner, carrier) has in QuickBooks; one QuickBooks refused gets its own."""
    st.subheader("Vendor names in QuickBooks")
    st.caption("QuickBooks keeps one list of names for customers, vendors and employees. When a customer or employee "
               "there already has a vendor's name, QuickBooks refuses the vendor (code 6240) and its settlements and "
               "bills wait. Give such a vendor its own QuickBooks name here; the billing name stays as it is.")
    if not (current.sync_settlements or current.sync_carrier_bills):
        st.caption("Driver settlements and carrier bills are switched off under What syncs; vendors sync once one "
                   "of them is on.")
    search = st.text_input("Find a vendor (name or code)", key="set_vnames_search")
    with runtime.factory() as session:
        names = list_vendor_names(session, search=search, limit=200)
    if not names:
        st.info("No vendor matches. Clear the search to see every vendor." if search else
                "No vendors yet. They come with the billing book (`qbsync demo` writes a demo book).")
        return
    clashes = sum(n.clashed for n in names)
    if clashes:
        st.warning(md("{count:,} vendor{verb} refused by QuickBooks because the name is taken. Pick one below and "
                      "give it a QuickBooks name.", count=clashes, verb=" is" if clashes == 1 else "s are"))
    st.dataframe(pd.DataFrame([{
        "Vendor": n.name, "Code": n.code, "Kind": n.kind, "Name in QuickBooks": n.effective_name,
        "Own QuickBooks name": "Yes" if n.qbo_display_name else "No", "Status": _name_status(n.status, n.clashed),
    } for n in names]), hide_index=True, width="stretch", column_config={
        "Code": st.column_config.TextColumn(width="small"), "Kind": st.column_config.TextColumn(width="small"),
        "Own QuickBooks name": st.column_config.TextColumn("Own name", width="small"),
        "Status": st.column_config.TextColumn(width="large")})
    by_id = {n.vendor_id: n for n in names}
    chosen = st.selectbox("Vendor", list(by_id), key="set_vnames_vendor",
                          format_func=lambda i: f"{by_id[i].name} ({by_id[i].code}, {by_id[i].kind.lower()})")
    picked = by_id[chosen]
    with st.form("set_vendor_name"):
        suggestion = picked.qbo_display_name or (f"{picked.name} (V)" if picked.clashed else picked.name)
        new_name = st.text_input("Name in QuickBooks (the billing name to go back to it)", value=suggestion,
                                 key=f"set_vnames_value_{chosen}", max_chars=500)
        reason = st.text_input("Reason (required, kept in the audit log)", key=f"set_vnames_reason_{chosen}")
        if st.form_submit_button("Save QuickBooks name and resync", disabled=not admin, key="set_vnames_save"):
            rename_vendor(chosen, new_name, reason)


def show_users() -> None:
    """Users and roles: add, change role, deactivate."""
    st.subheader("Users and roles")
    st.caption("Viewers look; operators resync and clear problems; admins change settings, ids and users.")
    with runtime.factory() as session:
        users = list_users(session)
    if users:
        st.dataframe(pd.DataFrame([{"Email": u.email, "Name": u.name or "", "Role": ROLE[u.role],
                                    "Active": "Yes" if u.active else "No"} for u in users]), hide_index=True)
    else:
        st.info("No users yet. Add the people who use the console and give each a role.")
    with st.form("set_add_user", clear_on_submit=True):
        columns = st.columns([3, 3, 2])
        email = columns[0].text_input("Email", key="set_user_email")
        name = columns[1].text_input("Name", key="set_user_name")
        role = columns[2].selectbox("Role", [r.value for r in Role], key="set_user_role", format_func=ROLE.__getitem__)
        if st.form_submit_button("Add user", disabled=not admin, key="set_user_add"):
            run_change(lambda s: add_user(s, actor, email=email, name=name, role=role, audit_factory=runtime.factory),
                       f"Added {email.strip().lower()} as {ROLE[role].lower()}.")
    if not users:
        return
    by_id = {u.user_id: u for u in users}
    columns = st.columns([3, 2, 2, 2])
    user_id = columns[0].selectbox("User", list(by_id), key="set_user_pick",
                                   format_func=lambda i: f"{by_id[i].email} ({ROLE[by_id[i].role]}"
                                                         f"{'' if by_id[i].active else ', inactive'})")
    new_role = columns[1].selectbox("New role", [r.value for r in Role], key="set_user_new_role",
                                    format_func=ROLE.__getitem__)
    if columns[2].button("Change role", key="set_user_change", disabled=not admin):
        run_change(lambda s: change_user_role(s, actor, user_id, new_role, audit_factory=runtime.factory),
                   f"{by_id[user_id].email} is now {ROLE[new_role].lower()}.")
    active = by_id[user_id].active
    if columns[3].button("Deactivate" if active else "Reactivate", key="set_user_toggle", disabled=not admin):
        run_change(lambda s: set_user_active(s, actor, user_id, not active, audit_factory=runtime.factory),
                   f"{by_id[user_id].email} {'deactivated' if active else 'reactivated'}.")


def show_companies() -> None:
    """The QuickBooks companies (admins only): add one, rename one, choose the default and the pay companies."""
    st.subheader("QuickBooks companies")
    st.caption("Each company is its own QuickBooks company file, with its own connection, settings, charge code "
               "and pay code mappings and custom fields. New customers go to the default company; driver settlements "
               "go to the driver pay company and carrier bills to the carrier pay company. Every change is audited.")
    with runtime.factory() as session:
        health = list_company_health(session)
        companies = list_companies(session)
        holders = {"driver_pay": next((c.id for c in companies if c.driver_pay), None),
                   "carrier_pay": next((c.id for c in companies if c.carrier_pay), None)}
    status_words = {ConnectionStatus.CONNECTED: "Connected", ConnectionStatus.RECONNECT_REQUIRED: "Reconnect needed",
                    ConnectionStatus.DISCONNECTED: "Not connected"}
    st.dataframe(pd.DataFrame([{
        # Short headers, so every column fits at 1280 px ("Carrier pay" was cut off).
        "Company": h.name, "In QuickBooks": h.connection.company_name or "—", "Realm": h.connection.realm_id or "—",
        "Connection": status_words.get(h.connection.status, "Not connected"),
        "New customers": "Yes (default)" if h.is_default else "No",
        "Driver pay": "Yes" if holders["driver_pay"] == h.company_id else "No",
        "Carrier pay": "Yes" if holders["carrier_pay"] == h.company_id else "No",
    } for h in health]), hide_index=True, width="stretch")
    names = {c.id: c.name for c in companies}
    with st.form("set_company_add", clear_on_submit=True):
        new_name = st.text_input("New company's name (for example Brokerage)", key="set_company_new_name",
                                 max_chars=100)
        if st.form_submit_button("Add company", key="set_company_add_button"):
            run_change(lambda s: add_company(s, actor, new_name),
                       f"Added the company “{' '.join(new_name.split())}”. Choose it at the top of this page and "
                       "connect it to QuickBooks.")
    with st.form("set_company_rename"):
        left, right = st.columns(2)
        renamed = left.selectbox("Company", list(names), format_func=names.__getitem__, key="set_company_rename_pick")
        to_name = right.text_input("New name", key="set_company_rename_name", max_chars=100)
        if st.form_submit_button("Rename", key="set_company_rename_button"):
            run_change(lambda s: rename_company(s, actor, renamed, to_name),
                       f"{names[renamed]} is now called “{' '.join(to_name.split())}” here (QuickBooks keeps its "
                       "own name).")
    with st.form("set_company_roles"):
        ids = list(names)
        default_id = next((c.id for c in companies if c.is_default), ids[0])
        columns = st.columns(3)
        chosen_default = columns[0].selectbox("Default company for new customers", ids, format_func=names.__getitem__,
                                              index=ids.index(default_id), key="set_company_default")
        chosen_driver = columns[1].selectbox("Driver pay goes to", ids, format_func=names.__getitem__,
                                             index=ids.index(holders["driver_pay"] or default_id),
                                             key="set_company_driver")
        chosen_carrier = columns[2].selectbox("Carrier pay goes to", ids, format_func=names.__getitem__,
                                              index=ids.index(holders["carrier_pay"] or default_id),
                                              key="set_company_carrier")
        if st.form_submit_button("Save company roles", key="set_company_roles_button"):
            run_change(lambda s: set_company_roles(s, actor, default_id=chosen_default, driver_pay_id=chosen_driver,
                                                   carrier_pay_id=chosen_carrier),
                       f"New customers go to {names[chosen_default]}; driver pay to {names[chosen_driver]}; "
                       f"carrier pay to {names[chosen_carrier]}.")


st.title("Settings")
handle_callback()
show_flash()
if not admin:
    st.info(md("You are signed in as {}: these settings are read-only for you. Changes need the admin role — ask "
               "an admin.", ROLE[actor.role].lower()))
# With several companies, the connection, what syncs, options, charge and pay codes and custom fields are the chosen
# one's.
company = choose_company(runtime.factory, "set_company", md("QuickBooks company these settings are for"),
                         every=False)
if company.chosen is not None and company.chosen != st.session_state.get("set_company_shown"):
    if st.session_state.get("set_company_shown") is not None:
        # Another company: its own values, not the widgets' state left from the last one (nor its sign-in link).
        for kept in [k for k in st.session_state if str(k).startswith("set_") and k not in COMPANY_WIDE_KEYS]:
            del st.session_state[kept]
    st.session_state["set_company_shown"] = company.chosen

with runtime.factory() as session:
    connection = get_connection_state(session, company.chosen)
    current = load_settings(session, company.chosen)
    row = get_setting_row(session, company.chosen)
    billing_terms = list_billing_terms(session)
    branches = list_branches(session)
if row is not None and row.updated_by:
    st.caption(md("Last changed by {who} at {when}.", who=row.updated_by, when=format_moment(row.updated_at)))

show_connection(connection)
lists = get_lists(connection)
# Keyed, so a save (which reruns the page) stays on the tab the user was on.
# Companies are an admin's alone: the tab is not shown to others (qbcore refuses them anyway).
(what_tab, options_tab, codes_tab, pay_codes_tab, names_tab, vendor_names_tab, fields_tab, users_tab,
 *companies_tab) = st.tabs(
    ["What syncs", "Options", "Charge codes", "Pay codes", "Customer names", "Vendor names", "Custom fields",
     "Users and roles",
     *(["Companies"] if admin else [])], key="set_tab", on_change="rerun")
with what_tab:
    show_what_syncs(current)
with options_tab:
    show_options(current, lists, billing_terms, branches)
with codes_tab:
    show_charge_codes(lists, current)
with pay_codes_tab:
    show_bill_options(current, lists)
    show_pay_codes(lists, current)
with names_tab:
    show_customer_names(current)
with vendor_names_tab:
    show_vendor_names(current)
with fields_tab:
    show_custom_fields(lists)
with users_tab:
    show_users()
for tab in companies_tab:
    with tab:
        show_companies()
