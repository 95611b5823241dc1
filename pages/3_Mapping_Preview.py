"""Mapping preview: the exact QuickBooks invoice (or settlement / carrier Bill) a record becomes, before it posts."""

from __future__ import annotations

from itertools import groupby

import pandas as pd
import streamlit as st

from qbcore.access import is_allowed
from qbcore.db import transaction
from qbcore.item_mappings import (
    CUSTOM_FIELD_SLOTS,
    CUSTOM_FIELD_SOURCES,
    CustomFieldChoice,
    save_custom_field_mappings,
    save_settings_and_mark,
)
from qbcore.labels import plural
from qbcore.mapping.refs import CustomFieldSpec
from qbcore.models import Role
from qbcore.queries.bill_preview import (
    KIND_WORDS,
    BillKind,
    BillPreview,
    find_bills,
    payables_kinds,
    pick_random_bill,
    preview_bill,
)
from qbcore.queries.mapping_preview import (
    find_invoices,
    list_custom_field_specs,
    load_invoice,
    pick_random_combined_invoice,
    preview_invoice,
    synced_invoices_changed_by,
)
from qbcore.refusals import Refusal
from qbcore.settings import (
    DESCRIPTION_FIELDS,
    load_settings,
    settings_from_dict,
    settings_to_dict,
)
from ui.feedback import flash_messages, refusal_message
from ui.formatting import format_money, money_columns
from ui.markup import md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Mapping preview · QuickBooks Sync Console", page_icon="🧾", layout="wide")

FLASH_KEY = "mp_flash"
PLACEMENTS = {"first_line": "On the first line of each charge set", "every_line": "On every line"}
KINDS = {"invoice": "Invoice", "settlement": "Settlement", "carrier_bill": "Carrier bill"}
OVERFLOWS = {"truncate": "Cut at 4,000 characters with a visible marker", "fail": "Stop the sync and say so"}

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)


flash, show_flash = flash_messages(FLASH_KEY)


def choose_random_invoice() -> None:
    """Pick a random combined invoice and show it (a button callback, so the search box can change)."""
    with runtime.factory() as session:
        invoice_id = pick_random_combined_invoice(session)
        invoice = None if invoice_id is None else load_invoice(session, invoice_id)
    if invoice is None:
        flash("info", "The book has no combined invoice (one billing several loads). Search by number instead.")
        return
    st.session_state["mp_search"] = invoice.number
    st.session_state["mp_invoice"] = invoice_id


def choose_random_bill(kind: BillKind) -> None:
    """Pick a random settlement (paying several loads) or carrier bill and show it (a button callback)."""
    with runtime.factory() as session:
        picked = pick_random_bill(session, kind)
    if picked is None:
        flash("info", f"The book has no {KIND_WORDS[kind].lower()} the sync would send. Search by number instead.")
        return
    st.session_state[f"mp_bill_search_{kind}"], st.session_state[f"mp_bill_{kind}"] = picked[1], picked[0]


def pick_bill(kind: BillKind) -> int | None:
    """The settlement or carrier bill picker: a search box, a list, a random pick."""
    word = KIND_WORDS[kind].lower()
    pick, choose, random_button = st.columns([2, 3, 2], vertical_alignment="bottom")
    search = pick.text_input(md("Find a {}", word), key=f"mp_bill_search_{kind}",
                             placeholder="Number or driver" if kind == "settlement" else "Number or carrier")
    random_button.button(md("Random {}", word), key="mp_bill_random", on_click=choose_random_bill, args=(kind,),
                         width="stretch")
    with runtime.factory() as session:
        options = find_bills(session, kind, search or "")
    if not options:
        choose.info(md("No {} the sync would send matches. Clear the search, or write a demo book with "
                       "`qbsync demo` if the book is empty.", word))
        return None
    labels = {c.bill_id: c.label for c in options}
    ids = list(labels)
    key = f"mp_bill_{kind}"
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    return int(choose.selectbox(KIND_WORDS[kind], ids, key=key, format_func=labels.__getitem__))


def read_template(saved: dict) -> dict:
    """The description widgets → the `description` settings dict (validated when the preview is built)."""
    desc = saved["description"]
    st.subheader("Description template")
    # Full width at 1280 px: in a narrow column the chosen fields and the labels were cut off.
    wide, narrow, last = st.columns([4, 1, 1], vertical_alignment="bottom")
    fields = wide.multiselect("Load fields in the line Description, in the order chosen", list(DESCRIPTION_FIELDS),
                              default=desc["fields"], key="mp_fields", format_func=lambda f: DESCRIPTION_FIELDS[f])
    separator = narrow.text_input("Separator", value=desc["separator"], key="mp_separator", max_chars=10)
    show_labels = last.checkbox("Show labels", value=desc["show_labels"], key="mp_labels",
                                help="Container #: MSCU1234565 instead of MSCU1234565 alone.")
    first, second = st.columns(2)
    placement = first.radio("Where the load text goes", list(PLACEMENTS), key="mp_placement",
                            index=list(PLACEMENTS).index(desc["placement"]), format_func=PLACEMENTS.__getitem__)
    overflow = second.radio("When a description is longer than 4,000 characters", list(OVERFLOWS),
                            key="mp_overflow", index=list(OVERFLOWS).index(saved["description_overflow"]),
                            format_func=OVERFLOWS.__getitem__)
    return {"description": {"fields": list(fields), "separator": separator, "show_labels": show_labels,
                            "placement": placement}, "description_overflow": overflow}


def read_custom_fields(saved: tuple[CustomFieldSpec, ...]) -> list[CustomFieldChoice]:
    """One picker per QuickBooks custom field slot: which billing field fills it."""
    st.subheader("Custom fields")
    by_slot = {int(s.definition_id): s for s in saved if s.definition_id.isdigit()}
    if not saved:
        st.caption("No custom fields saved yet. Names shown here are placeholders; the real names are read from "
                   "QuickBooks on the Settings page.")
    choices = []
    for column, slot in zip(st.columns(len(CUSTOM_FIELD_SLOTS)), CUSTOM_FIELD_SLOTS, strict=True):
        spec = by_slot.get(slot)
        name = spec.name if spec else f"Custom field {slot}"
        options = ["", *CUSTOM_FIELD_SOURCES]
        label = md("{name} (QuickBooks field {slot})", name=name, slot=slot)
        source = column.selectbox(label, options, key=f"mp_cf_{slot}",
                                  index=options.index(spec.source_field) if spec else 0,
                                  format_func=lambda s: CUSTOM_FIELD_SOURCES[s] if s else "— not used —")
        if source:
            choices.append(CustomFieldChoice(slot, str(slot) if spec is None else spec.definition_id, name, source))
    return choices


def show_template_impact(saved: dict, changes: dict) -> None:
    """Before saving: how many invoices already in QuickBooks the template on screen would change."""
    with runtime.factory() as session:
        try:
            before = settings_from_dict(saved)
            after = settings_from_dict({**saved, **changes})
        except Refusal:
            return  # the preview says why the template is not valid
        if (before.description, before.description_overflow) == (after.description, after.description_overflow):
            return
        affected = len(synced_invoices_changed_by(session, before, after))
    if affected:
        st.warning(md("This changes the description of {count} already in QuickBooks; saving marks {them} out of "
                      "date and the next sync re-sends {them}.", count=plural(affected, "synced invoice"),
                      them="it" if affected == 1 else "them"))
    else:
        st.caption("No invoice already in QuickBooks changes with this template; new invoices use it.")


def show_preview(invoice_id: int, changes: dict, custom: list[CustomFieldChoice]) -> None:
    """Per charge set the rendered Description, then the invoice table and the JSON QuickBooks would receive."""
    with runtime.factory() as session:
        try:
            settings = settings_from_dict({**settings_to_dict(load_settings(session)), **changes})
        except Refusal as refusal:
            show_alert(*refusal_message(refusal, done="This template is not valid"))
            return
        specs = tuple(CustomFieldSpec(c.qbo_definition_id, c.qbo_name, c.source_field) for c in custom)
        preview = preview_invoice(session, invoice_id, settings, specs)
    if preview is None:
        st.warning("That invoice no longer exists; pick another.")
        return
    st.header(md("Invoice {number} · {customer}", number=preview.invoice_number, customer=preview.customer))
    for warning in preview.warnings:
        st.warning(plain(warning))
    if preview.error:
        st.error(md("The sync would stop on this invoice: {}", preview.error))
    for charge_set in preview.charge_sets:
        with st.expander(md("Charge set {position} · load {load}", position=charge_set.position,
                            load=charge_set.load_number), expanded=True):
            st.caption("Load text added to the Description")
            st.code(charge_set.load_text or "(no load fields chosen)", language=None, wrap_lines=True)
            st.caption("Each line's full Description")
            for line in charge_set.lines:
                st.text(line.description)
    st.subheader("As QuickBooks shows it")
    st.dataframe(pd.DataFrame([{
        "#": index, "Product/Service": line.product, "Description": line.description, "Qty": float(line.quantity),
        "Rate": float(line.rate), "Amount": float(line.amount),
    } for index, line in enumerate((ln for cs in preview.charge_sets for ln in cs.lines), start=1)]),
        # Widths that add up to the page at 1280 px: the Description takes what the others leave (its full text
        # is in the charge sets above), so the table does not scroll sideways.
        hide_index=True, width="stretch", column_config={
            "#": st.column_config.NumberColumn(width=40), "Product/Service": st.column_config.TextColumn(width=170),
            "Description": st.column_config.TextColumn(width=330), "Qty": st.column_config.NumberColumn(width=50),
            **money_columns("Rate", width=100), **money_columns("Amount", width=105)})
    st.metric("Total", plain(format_money(preview.total)))
    if preview.payload is not None:
        # For whoever checks the integration; the table above is what a finance user reads.
        with st.expander("The invoice as the sync sends it to QuickBooks (technical)"):
            st.caption("Ids in brackets are placeholders: the sync resolves them (or creates the record) when it "
                       "runs.")
            st.json(preview.payload, expanded=True)


def show_bill_preview(kind: BillKind, bill_id: int, changes: dict) -> None:
    """The Bill's lines (load, what it pays, the account it posts to), warnings, and the JSON QuickBooks would get."""
    with runtime.factory() as session:
        try:
            preview = preview_bill(session, kind, bill_id, changes)
        except Refusal as refusal:
            show_alert(*refusal_message(refusal, done="This template is not valid"))
            return
    if preview is None:
        st.warning(md("That {} no longer exists; pick another.", KIND_WORDS[kind].lower()))
        return
    bills = (preview, *preview.other_bills)
    if len(bills) > 1:
        st.info(md("Vendor routing bills this settlement's loads to each fleet owner whose trucks ran them: "
                   "{count} in QuickBooks, {numbers}.", count=plural(len(bills), "bill"),
                   numbers=", ".join(f"{b.number} to {b.vendor} ({format_money(b.total)})" for b in bills)))
    for bill in bills:
        show_one_bill(bill)


def show_one_bill(preview: BillPreview) -> None:
    """One bill: its lines per load, the table as QuickBooks shows it, the total and the JSON."""
    st.header(md("{kind} {number} · {vendor}", kind=preview.kind, number=preview.number, vendor=preview.vendor))
    st.caption("The description template above applies here too: each load's first line (or every line) carries "
               "the load text.")
    for warning in preview.warnings:
        st.warning(plain(warning))
    if preview.error:
        st.error(md("The sync would stop on this {}: {}", preview.kind.lower(), preview.error))
    for load_number, group in groupby(preview.lines, key=lambda ln: ln.load_number):
        lines = list(group)
        container = lines[0].container_number
        title = (md("Deductions ({})", len(lines)) if not load_number else
                 md("Load {load} · container {container}", load=load_number, container=container) if container else
                 md("Load {}", load_number))
        with st.expander(title, expanded=False):
            st.caption("Each line's full Description")
            for line in lines:
                st.text(line.description)
    st.subheader("As QuickBooks shows it")
    columns = ["#", "Load #", "Container #", "Pay or deduction", "Account", "Amount", "Description"]
    st.dataframe(pd.DataFrame([{
        "#": index, "Load #": line.load_number, "Container #": line.container_number, "Pay or deduction": line.what,
        "Account": line.account, "Amount": float(line.amount), "Description": line.description,
    } for index, line in enumerate(preview.lines, start=1)], columns=columns),
        hide_index=True, width="stretch", column_config={  # fits at 1280 px, as the invoice's table
            "#": st.column_config.NumberColumn(width=40), "Load #": st.column_config.TextColumn(width=85),
            "Container #": st.column_config.TextColumn(width=110),
            "Pay or deduction": st.column_config.TextColumn(width=130),
            "Account": st.column_config.TextColumn(width=140),
            **money_columns("Amount", width=100), "Description": st.column_config.TextColumn(width=180)})
    st.metric("Total", plain(format_money(preview.total)))
    if preview.payload is not None:
        # For whoever checks the integration; the table above is what a finance user reads.
        with st.expander("The bill as the sync sends it to QuickBooks (technical)"):
            st.caption("Ids in brackets are placeholders: the sync resolves them (or creates the record) when it "
                       "runs.")
            st.json(preview.payload, expanded=True)


st.title("Mapping preview")
st.caption("Choose which load details go into each line's Description and see exactly what QuickBooks will "
           "receive. Nothing is sent to QuickBooks from this page.")
show_flash()
admin = is_allowed(actor, Role.ADMIN)
if not admin:
    st.info(md("You are signed in as {}: try any template here; saving it needs the admin role.", actor.role.value))

with runtime.factory() as session:
    saved_settings = settings_to_dict(load_settings(session))
    saved_custom = list_custom_field_specs(session)
    kinds = payables_kinds(session)

# Bills only when driver settlements or carrier bills sync; otherwise the page previews invoices as before.
kind: str = "invoice"
if kinds:
    offered = ["invoice", *kinds]
    if st.session_state.get("mp_kind") not in offered:
        st.session_state["mp_kind"] = "invoice"
    kind = st.radio("Preview", offered, key="mp_kind", horizontal=True, format_func=KINDS.__getitem__)
invoice_id = bill_id = None
if kind == "invoice":
    pick, choose, random_button = st.columns([2, 3, 2], vertical_alignment="bottom")
    search = pick.text_input("Find an invoice", key="mp_search", placeholder="Number or customer")
    random_button.button("Random combined invoice", key="mp_random", on_click=choose_random_invoice,
                         width="stretch")
    with runtime.factory() as session:
        options = find_invoices(session, search or "")
    if not options:
        choose.info("No invoice matches. Clear the search, or write a demo book with `qbsync demo` if the book is "
                    "empty.")
    else:
        labels = {c.invoice_id: c.label for c in options}
        ids = list(labels)
        if st.session_state.get("mp_invoice") not in ids:
            st.session_state["mp_invoice"] = ids[0]
        invoice_id = choose.selectbox("Invoice", ids, key="mp_invoice", format_func=labels.__getitem__)
else:
    bill_kind: BillKind = "settlement" if kind == "settlement" else "carrier_bill"
    bill_id = pick_bill(bill_kind)
changes = read_template(saved_settings)
custom = read_custom_fields(saved_custom) if kind == "invoice" else []
show_template_impact(saved_settings, changes)
buttons = st.container(horizontal=True)
if buttons.button("Save description template", key="mp_save", type="primary"):
    try:
        with transaction(runtime.factory) as session:
            change = save_settings_and_mark(session, actor, changes, reason="mapping preview",
                                            audit_factory=runtime.factory)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not saved"))
    else:
        flash("success", (f"Description template saved. {plural(change.marked, 'synced invoice')} "
                          f"{'is' if change.marked == 1 else 'are'} marked out of date; the next sync re-sends "
                          f"{'it' if change.marked == 1 else 'them'} with the new text." if change.marked else
                          "Description template saved; no invoice already in QuickBooks changes, new ones use "
                          "it from the next sync."))
    st.rerun()
if kind == "invoice" and buttons.button("Save custom fields", key="mp_save_custom"):
    try:
        with transaction(runtime.factory) as session:
            save_custom_field_mappings(session, actor, custom, audit_factory=runtime.factory)
    except Refusal as refusal:
        flash(*refusal_message(refusal, done="Not saved"))
    else:
        flash("success", "Custom fields saved; the next sync fills them.")
    st.rerun()
st.divider()
if invoice_id is not None:
    show_preview(invoice_id, changes, custom)
if bill_id is not None:
    # Only what is edited on screen: otherwise the bill's own company's saved template applies.
    show_bill_preview(bill_kind, bill_id, {k: v for k, v in changes.items() if saved_settings.get(k) != v})
