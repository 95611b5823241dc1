"""Reconciliation: receivables per customer and invoice, payables per vendor and bill, against QuickBooks; drift."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qbcore.access import is_allowed
from qbcore.db import transaction
from qbcore.labels import DRIFT_KIND, label, label_entity, plural
from qbcore.live import compare_payables, compare_receivables
from qbcore.models import Role
from qbcore.pull import enqueue_pull
from qbcore.pull.decisions import (
    accept_proposal,
    list_open_drifts,
    list_proposals,
    reject_proposal,
    resolve_drift,
)
from qbcore.reconcile import (
    BillIssue,
    Issue,
    PayablesReconciliation,
    Reconciliation,
    list_compared_payables,
    payables_csv,
    payables_switches,
    reconciliation_csv,
)
from qbcore.refusals import Refusal
from ui.companies import CompanyView, choose_company
from ui.feedback import refusal_message
from ui.formatting import format_moment, format_money, money_columns
from ui.markup import md, plain, show_alert
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Reconciliation · QuickBooks Sync Console", page_icon="⚖️", layout="wide")

RESULT_KEY = "recon_result"
RESULT_COMPANY_KEY = "recon_result_company"
AP_RESULT_KEY = "recon_ap_result"
AP_RESULT_COMPANY_KEY = "recon_ap_result_company"
SIDES = ("Receivables", "Payables")
FLASH_KEY = "recon_flash"

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)
can_act = is_allowed(actor, Role.OPERATOR)


def flash(level: str, text: str) -> None:
    """Keep a message for the top of the next run."""
    st.session_state[FLASH_KEY] = (level, text)


def run_comparison() -> None:
    """Read QuickBooks' invoices in bulk and compare (explicit action; the result is cached in the session)."""
    try:
        st.session_state[RESULT_KEY] = compare_receivables(runtime.factory, runtime.config, company.chosen)
        # Kept with its company: each company's QuickBooks is compared on its own.
        st.session_state[RESULT_COMPANY_KEY] = company.chosen
    except Refusal as refusal:
        flash(*refusal_message(refusal))


def run_payables_comparison() -> None:
    """Read QuickBooks' bills in bulk and compare with our settlements and carrier bills (cached in the session)."""
    try:
        st.session_state[AP_RESULT_KEY] = compare_payables(runtime.factory, runtime.config, company.chosen)
        st.session_state[AP_RESULT_COMPANY_KEY] = company.chosen
    except Refusal as refusal:
        flash(*refusal_message(refusal))


def decide(kind: str, ids: list[int], reason: str) -> None:
    """Accept or reject proposals, or resolve drifts; one transaction, audited by qbcore."""
    try:
        with transaction(runtime.factory) as session:
            for item_id in ids:
                if kind == "accept":
                    accept_proposal(session, actor, item_id)
                elif kind == "reject":
                    reject_proposal(session, actor, item_id, reason=reason or None)
                else:
                    resolve_drift(session, actor, item_id, reason=reason or None)
    except Refusal as refusal:
        flash(*refusal_message(refusal))
        return
    done = {"accept": "accepted", "reject": "rejected", "resolve": "marked resolved"}[kind]
    flash("success", f"{plural(len(ids), 'drift' if kind == 'resolve' else 'payment')} {done}.")


def queue_pull() -> None:
    """Ask the worker to pull changes from QuickBooks now."""
    try:
        with transaction(runtime.factory) as session:
            job = enqueue_pull(session, actor, reason="Pull now (Reconciliation page)")
            flash("success", f"Pull queued as job {job.id}; payments and drift appear here when it finishes.")
    except Refusal as refusal:
        flash(*refusal_message(refusal))


def show_receivables() -> None:
    """Invoices against QuickBooks': the comparison on demand, aging, differences, per customer."""
    left, right = st.columns([1, 1])
    left.button("Compare with QuickBooks", type="primary", on_click=run_comparison, key="recon_run",
                help="Reads every QuickBooks invoice in pages of 1,000 (a few requests) and compares.")
    right.button("Pull changes from QuickBooks now", on_click=queue_pull, key="recon_pull", disabled=not can_act)

    result: Reconciliation | None = st.session_state.get(RESULT_KEY)
    if st.session_state.get(RESULT_COMPANY_KEY) != company.chosen:
        result = None  # another company's comparison
    if result is None:
        st.info("Press **Compare with QuickBooks** to run the comparison. It is kept for this session.")
    else:
        st.caption(md("Computed {when} · aging as of {as_of} · {requests} in {seconds:.1f} s",
                      when=format_moment(result.computed_at), as_of=result.as_of.isoformat(),
                      requests=plural(result.requests, "QuickBooks request"),
                      seconds=result.seconds))
        # Two metrics a row: four in a row cut "$1,390,982.07" off at 1280 px.
        a, b = st.columns(2)
        c, d = st.columns(2)
        a.metric("Receivables here", plain(format_money(result.ours_open)))
        b.metric("Receivables in QuickBooks", plain(format_money(result.qbo_open)))
        c.metric("Difference", plain(format_money(result.ours_open - result.qbo_open)))
        d.metric("Records that differ", md("{:,}", len(result.differences)))

        st.subheader("Aging")
        st.dataframe(pd.DataFrame([{"Bucket": r.bucket, "Here": float(r.ours), "In QuickBooks": float(r.qbo),
                                    "Difference": float(r.difference)} for r in result.aging]),
                     hide_index=True, key="recon_aging",
                     column_config=money_columns("Here", "In QuickBooks", "Difference"))

        st.subheader("Differences, record by record")
        counts = result.issue_counts()
        issues = [i.value for i in Issue if i is not Issue.MATCH and counts.get(i.value)]
        chosen = st.multiselect("Show", issues, default=issues, key="recon_issues",
                                format_func=lambda i: f"{label({}, i)} ({counts[i]:,})")
        rows = [r for r in result.differences if r.issue.value in chosen]
        of_company = {} if result.company is None else {"Company": result.company}
        st.dataframe(pd.DataFrame([{
            "Invoice": r.number, "Customer": r.customer, **of_company, "QuickBooks id": r.qbo_id or "",
            "Issue": label({}, r.issue),
            "Amount here": float(r.ours_amount) if r.ours_amount is not None else None,
            "Amount in QB": float(r.qbo_amount) if r.qbo_amount is not None else None,
            "Open here": float(r.ours_balance), "Open in QB": float(r.qbo_balance), "Difference": float(r.difference),
            "Explanation": r.explanation} for r in rows[:5000]]), hide_index=True, key="recon_differences",
            placeholder="—",  # an amount QuickBooks does not have (not synced yet, missing there), not "None"
            column_config=money_columns("Amount here", "Amount in QB", "Open here", "Open in QB", "Difference"))
        if not result.differences:
            st.success("Every invoice matches QuickBooks.")
        d1, d2 = st.columns(2)
        d1.download_button("Download differences (CSV)", reconciliation_csv(result, differences_only=True),
                           file_name="reconciliation_differences.csv", mime="text/csv", on_click="ignore",
                           key="recon_csv_differences")
        d2.download_button("Download every invoice (CSV)", reconciliation_csv(result), file_name="reconciliation.csv",
                           mime="text/csv", on_click="ignore", key="recon_csv_all")

        st.subheader("Per customer")
        st.dataframe(pd.DataFrame([{"Customer": c.customer, "Invoices": c.invoices, "Open here": float(c.ours_open),
                                    "Open in QB": float(c.qbo_open), "Difference": float(c.difference),
                                    "Records that differ": c.issues} for c in result.customers]),
                     hide_index=True, key="recon_customers",
                     column_config=money_columns("Open here", "Open in QB", "Difference"))


def show_payables() -> None:
    """Bills against QuickBooks': settlements and carrier bills on demand, A/P aging, differences, per vendor."""
    with transaction(runtime.factory) as session:
        compared = list_compared_payables(session, company.chosen)
    if not compared:
        st.info(md("Payables are not compared: this company syncs neither driver settlements nor carrier bills. "
                   "Switch on {switches} on Settings → What syncs, sync, then compare.",
                   switches=" or ".join(payables_switches())))
        st.page_link("pages/1_Settings.py", label="Open Settings", icon=":material/settings:")
        return
    st.button("Compare bills with QuickBooks", type="primary", on_click=run_payables_comparison, key="recon_ap_run",
              help="Reads every QuickBooks bill in pages of 1,000 (a few requests) and compares.")
    result: PayablesReconciliation | None = st.session_state.get(AP_RESULT_KEY)
    if st.session_state.get(AP_RESULT_COMPANY_KEY) != company.chosen:
        result = None  # another company's comparison
    if result is None:
        st.info(md("Press **Compare bills with QuickBooks** to compare {what} with QuickBooks' bills. It is kept for "
                   "this session.", what=" and ".join(c.lower() for c in compared)))
        return
    st.caption(md("Computed {when} · {what} · aging as of {as_of} · {requests} in {seconds:.1f} s",
                  when=format_moment(result.computed_at), what=", ".join(result.compared) or "nothing compared",
                  as_of=result.as_of.isoformat(), requests=plural(result.requests, "QuickBooks request"),
                  seconds=result.seconds))
    a, b = st.columns(2)
    c, d = st.columns(2)
    a.metric("Payables here", plain(format_money(result.ours_open)))
    b.metric("Payables in QuickBooks", plain(format_money(result.qbo_open)))
    c.metric("Difference", plain(format_money(result.ours_open - result.qbo_open)))
    d.metric("Bills that differ", md("{:,}", len(result.differences)))
    if result.other_bills:
        st.caption(md("QuickBooks also has {bills} to vendors the billing system does not have (rent, fuel cards, …): "
                      "{open} open, not part of this comparison.", bills=plural(result.other_bills, "bill"),
                      open=format_money(result.other_open)))
    if not result.bills:
        st.info("Nothing to compare yet: no finalized settlement or accepted carrier bill here, and no QuickBooks bill "
                "for these vendors. Finalize settlements or accept carrier bills in billing, then sync and compare.")
        return

    st.subheader("A/P aging")
    st.dataframe(pd.DataFrame([{"Bucket": r.bucket, "Here": float(r.ours), "In QuickBooks": float(r.qbo),
                                "Difference": float(r.difference)} for r in result.aging]),
                 hide_index=True, key="recon_ap_aging",
                 column_config=money_columns("Here", "In QuickBooks", "Difference"))

    st.subheader("Differences, bill by bill")
    counts = result.issue_counts()
    issues = [i.value for i in BillIssue if i is not BillIssue.MATCH and counts.get(i.value)]
    chosen = st.multiselect("Show", issues, default=issues, key="recon_ap_issues",
                            format_func=lambda i: f"{label({}, i)} ({counts[i]:,})")
    rows = [r for r in result.differences if r.issue.value in chosen]
    of_company = {} if result.company is None else {"Company": result.company}
    money = ("Amount here", "Amount in QB", "Open here", "Open in QB", "Difference")
    frame = pd.DataFrame([{
        "Bill": r.number, "Type": r.kind or "QuickBooks only", "Vendor": r.vendor, **of_company,
        "QuickBooks id": r.qbo_id or "", "Issue": label({}, r.issue), "Explanation": r.explanation,
        "Amount here": float(r.ours_amount) if r.ours_amount is not None else None,
        "Amount in QB": float(r.qbo_amount) if r.qbo_amount is not None else None,
        "Open here": float(r.ours_open), "Open in QB": float(r.qbo_open), "Difference": float(r.difference)}
        for r in rows[:5000]],
        # The explanation beside the issue: at 1280 px the amounts scroll, the reason stays in view.
        columns=["Bill", "Type", "Vendor", *of_company, "QuickBooks id", "Issue", "Explanation", *money])
    # Numbers even when QuickBooks has none of the bills shown: an absent amount is a dash, not "None".
    frame[list(money)] = frame[list(money)].astype(float)
    st.dataframe(frame, hide_index=True, key="recon_ap_differences", placeholder="—",
                 column_config=money_columns(*money))
    if not result.differences:
        st.success("Every bill matches QuickBooks.")
    d1, d2 = st.columns(2)
    d1.download_button("Download bill differences (CSV)", payables_csv(result, differences_only=True),
                       file_name="payables_differences.csv", mime="text/csv", on_click="ignore",
                       key="recon_ap_csv_differences")
    d2.download_button("Download every bill (CSV)", payables_csv(result), file_name="payables_reconciliation.csv",
                       mime="text/csv", on_click="ignore", key="recon_ap_csv_all")

    st.subheader("Per vendor")
    st.dataframe(pd.DataFrame([{"Vendor": v.vendor, "Bills": v.bills, "Open here": float(v.ours_open),
                                "Open in QB": float(v.qbo_open), "Difference": float(v.difference),
                                "Bills that differ": v.issues} for v in result.vendors]),
                 hide_index=True, key="recon_ap_vendors",
                 column_config=money_columns("Open here", "Open in QB", "Difference"))


def show_proposals() -> None:
    """Payments entered in QuickBooks that wait for an operator's decision."""
    st.subheader("Payments applied in QuickBooks, waiting for a decision")
    with transaction(runtime.factory) as session:
        proposals = list_proposals(session)
    if not proposals:
        st.caption("No payment is waiting. Payments entered in QuickBooks wait here when Settings → Options → "
                   "\"Payments applied directly in QuickBooks\" is \"Propose them for review first\"; with "
                   "\"Apply them to our invoices\" they mark our invoices paid without asking.")
    else:
        labels = {p.id: f"{p.invoice_number} · {p.customer} · {format_money(p.amount)} of "
                        f"{format_money(p.invoice_total)} · QB payment {p.qbo_payment_id}"
                        f"{' · ' + p.reference if p.reference else ''}" for p in proposals}
        picked = st.multiselect("Payments", list(labels), format_func=labels.__getitem__, key="recon_proposals")
        reason = st.text_input("Reason (for a rejection)", key="recon_reason")
        c1, c2 = st.columns(2)
        c1.button("Accept: mark the invoices paid", key="recon_accept", disabled=not (can_act and picked),
                  on_click=decide, args=("accept", picked, reason))
        c2.button("Reject", key="recon_reject", disabled=not (can_act and picked), on_click=decide,
                  args=("reject", picked, reason))
        if not can_act:
            st.caption("Accepting and rejecting needs the operator role.")


st.title("Reconciliation")
st.caption("Billing system vs QuickBooks: amounts, open balances, status and existence of every invoice and bill; "
           "receivables, payables and their aging side by side, with each difference explained.")
message = st.session_state.pop(FLASH_KEY, None)
if message:
    show_alert(*message)

company: CompanyView = choose_company(runtime.factory, "recon_company", md("QuickBooks company to compare"),
                                      every=False)
side = st.radio("Compare", SIDES, horizontal=True, key="recon_side", label_visibility="collapsed")
if side == "Payables":
    show_payables()
else:
    show_receivables()
    st.divider()
    show_proposals()
st.divider()
st.subheader("Drift: changed in QuickBooks after we synced")
with transaction(runtime.factory) as session:
    drifts = list_open_drifts(session)
if not drifts:
    st.caption("No open drift.")
else:
    st.dataframe(pd.DataFrame([{"Id": d.id, "Type": label_entity(d.entity_type), "QuickBooks id": d.qbo_id,
                                "Kind": label(DRIFT_KIND, d.kind),
                                "What changed": d.summary, "Detected": format_moment(d.detected_at)} for d in drifts]),
                 hide_index=True, key="recon_drifts")
    drift_labels = {d.id: f"#{d.id} {label(DRIFT_KIND, d.kind)}: {d.summary}" for d in drifts}
    to_resolve = st.multiselect("Drift handled", list(drift_labels), format_func=drift_labels.__getitem__,
                                key="recon_drift_pick")
    st.button("Mark resolved", key="recon_resolve", disabled=not (can_act and to_resolve), on_click=decide,
              args=("resolve", to_resolve, ""))
