"""Alerts: what the console tells the team, where (email, Slack, Teams), and the history of what it sent."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from qbcore.access import is_allowed
from qbcore.alerts.channels import SECURITY, ChannelView, delete_channel, list_channels, save_channel
from qbcore.alerts.history import list_deliveries, list_failing_channels, list_open_conditions
from qbcore.alerts.outbox import send_test
from qbcore.alerts.rules import load_alert_rules, save_alert_rules
from qbcore.db import transaction
from qbcore.labels import money
from qbcore.models import ChannelKind, Role
from qbcore.refusals import Refusal
from qbcore.secrets_box import SecretBox
from ui.feedback import flash_messages, refusal_message
from ui.markup import md, plain
from ui.runtime import get_actor, get_runtime, show_actor_badge

st.set_page_config(page_title="Alerts · QuickBooks Sync Console", page_icon="🔔", layout="wide")

KINDS = {ChannelKind.EMAIL: "Email (SMTP)", ChannelKind.SLACK: "Slack webhook", ChannelKind.TEAMS: "Teams webhook"}
SECURITY_LABELS = {"starttls": "STARTTLS (port 587)", "ssl": "SSL (port 465)", "none": "None (this machine only)"}
NEW = "New channel"

runtime = get_runtime()
actor = get_actor()
show_actor_badge(actor)
flash, show_flash = flash_messages("alerts_flash")
is_admin = is_allowed(actor, Role.ADMIN)


def _box() -> SecretBox:
    return SecretBox(runtime.config.secret_key)


def _moment(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def test_channel(channel_id: int) -> None:
    """Send a test message now and say what happened."""
    try:
        result = send_test(runtime.factory, _box(), actor, channel_id)
    except Refusal as refusal:
        flash(*refusal_message(refusal))
        return
    flash("success" if result.ok else "error", result.text)


def remove_channel(channel_id: int) -> None:
    """Delete a channel and its history."""
    try:
        with transaction(runtime.factory) as session:
            delete_channel(session, actor, channel_id)
    except Refusal as refusal:
        flash(*refusal_message(refusal))
        return
    flash("success", "The channel was deleted.")


def save_rules(changes: dict[str, object]) -> None:
    """Save the rules (admin only, audited)."""
    try:
        with transaction(runtime.factory) as session:
            save_alert_rules(session, actor, changes)
    except Refusal as refusal:
        flash(*refusal_message(refusal))
        return
    flash("success", "Alert rules saved.")


def save(channel: ChannelView | None, kind: ChannelKind, values: dict[str, object], secret: str) -> None:
    """Create or change a channel (admin only, audited); an empty secret keeps the stored one."""
    try:
        with transaction(runtime.factory) as session:
            view = save_channel(session, _box(), actor, name=str(values.pop("name")), kind=kind.value,
                                settings=values, secret=secret or None, digest=bool(values.pop("digest")),
                                enabled=bool(values.pop("enabled")), channel_id=channel.id if channel else None)
    except Refusal as refusal:
        flash(*refusal_message(refusal))
        return
    flash("success", md("Channel {name} saved. Send a test to check it.", name=view.name))


st.title("Alerts")
st.caption("The team hears about a broken sync before a customer or the month-end close does: by email or in chat, "
           "once per problem until it grows or clears, never with a token or password in it.")
show_flash()
if not is_admin:
    st.info("Only an admin can change alert rules and channels or send a test; you can read them and the history.")

with runtime.factory() as session:
    rules = load_alert_rules(session)
    channels = list_channels(session)
    deliveries = list_deliveries(session)
    open_now = list_open_conditions(session)
    failing = list_failing_channels(session)

for broken in failing:
    st.error(md("Channel {name} failed {count} times in a row: {error}", name=broken.name, count=broken.failures,
                error=broken.last_error))

st.subheader("What alerts say is wrong now")
if open_now:
    st.dataframe(pd.DataFrame([{"What": c.title, "Since": _moment(c.opened_at), "Last change": _moment(c.changed_at)}
                               for c in open_now]), hide_index=True, key="alerts_open")
else:
    st.success("Nothing: every rule that is on finds the sync healthy.")

st.subheader("Rules")
with st.form("alerts_rules"):
    c1, c2, c3 = st.columns(3)
    new_problems = c1.toggle("New problems", value=rules.new_problems, key="alerts_new_problems",
                             help="Failed records of one type and error kind, from a count or a dollar amount")
    new_count = c1.number_input("…from this many records", min_value=1, value=rules.new_problems_count,
                                key="alerts_new_count")
    new_amount = c1.text_input("…or this many dollars", value=money(rules.min_amount), key="alerts_new_amount")
    root_cause = c2.toggle("A root cause blocks records", value=rules.root_cause, key="alerts_root_cause",
                           help="An unmapped charge code, a customer that fails, a missing term")
    root_count = c2.number_input("…at least this many", min_value=1, value=rules.root_cause_count,
                                 key="alerts_root_count")
    reconnect = c2.toggle("QuickBooks needs a reconnect", value=rules.reconnect, key="alerts_reconnect")
    reconnect_days = c2.number_input("…or its sign-in expires within (days)", min_value=0, max_value=100,
                                     value=rules.reconnect_days, key="alerts_reconnect_days")
    job_failed = c3.toggle("A sync or pull job failed or paused", value=rules.job_failed, key="alerts_job_failed")
    old_problems = c3.toggle("Problems older than", value=rules.old_problems, key="alerts_old_problems")
    old_days = c3.number_input("…this many days", min_value=1, max_value=365, value=rules.old_problems_days,
                               key="alerts_old_days")
    month_end = c3.toggle("Last month not ready to close", value=rules.month_end, key="alerts_month_end")
    month_day = c3.number_input("…on this day of the month", min_value=1, max_value=28, value=rules.month_end_day,
                                key="alerts_month_day")
    q1, q2, q3, q4 = st.columns(4)
    quiet_start = q1.text_input("Quiet hours from (HH:MM)", value=rules.quiet_start, key="alerts_quiet_start")
    quiet_end = q2.text_input("Quiet hours until (HH:MM)", value=rules.quiet_end, key="alerts_quiet_end")
    zone = q3.text_input("Time zone", value=rules.timezone, key="alerts_timezone")
    digest_hour = q4.number_input("Daily digest at (hour)", min_value=0, max_value=23, value=rules.digest_hour,
                                  key="alerts_digest_hour")
    base_url = st.text_input("The console's address (links in messages start here)", value=rules.base_url,
                             key="alerts_base_url")
    if st.form_submit_button("Save rules", disabled=not is_admin):
        save_rules({"new_problems": new_problems, "new_problems_count": int(new_count),
                    "new_problems_amount": new_amount, "root_cause": root_cause, "root_cause_count": int(root_count),
                    "reconnect": reconnect, "reconnect_days": int(reconnect_days), "job_failed": job_failed,
                    "old_problems": old_problems, "old_problems_days": int(old_days), "month_end": month_end,
                    "month_end_day": int(month_day), "quiet_start": quiet_start, "quiet_end": quiet_end,
                    "timezone": zone, "digest_hour": int(digest_hour), "base_url": base_url})
        st.rerun()

st.subheader("Channels")
if not channels:
    st.info("No channel yet: add an email or chat webhook below, then send a test.")
for channel in channels:
    state = "on" if channel.enabled else "off"
    with st.container(border=True):
        left, right = st.columns([4, 1])
        left.markdown(md("**{name}** · {kind} · to {where} · {state}{digest}", name=channel.name,
                         kind=KINDS[channel.kind], where=channel.destination or "nobody yet", state=state,
                         digest=" · daily digest" if channel.digest else ""))
        if channel.last_error:
            left.caption(md("Last failure: {error}", error=channel.last_error))
        right.button("Send a test", key=f"alerts_test_{channel.id}", on_click=test_channel, args=(channel.id,),
                     disabled=not is_admin)
        right.button("Delete", key=f"alerts_delete_{channel.id}", on_click=remove_channel, args=(channel.id,),
                     disabled=not is_admin)

names = [c.name for c in channels]
choice = st.selectbox("Add or change a channel", [NEW, *names], key="alerts_edit_choice")
editing = next((c for c in channels if c.name == choice), None)
kind = editing.kind if editing else st.radio("Kind", list(KINDS), format_func=KINDS.__getitem__, horizontal=True,
                                             key="alerts_new_kind")
with st.form("alerts_channel"):
    name = st.text_input("Name", value=editing.name if editing else "", key="alerts_channel_name")
    values: dict[str, object] = {"name": name}
    settings = editing.settings if editing else {}
    if kind is ChannelKind.EMAIL:
        e1, e2, e3 = st.columns(3)
        values["host"] = e1.text_input("SMTP server", value=str(settings.get("host", "")), key="alerts_smtp_host")
        values["port"] = e2.number_input("Port", min_value=1, max_value=65535, value=int(settings.get("port", 587)),
                                         key="alerts_smtp_port")
        current = str(settings.get("security", "starttls"))
        values["security"] = e3.selectbox("Security", list(SECURITY), index=SECURITY.index(current),
                                          format_func=SECURITY_LABELS.__getitem__, key="alerts_smtp_security")
        values["username"] = e1.text_input("Username", value=str(settings.get("username", "")),
                                           key="alerts_smtp_user")
        secret = e2.text_input("Password (leave empty to keep the saved one)", type="password",
                               key="alerts_smtp_password")
        values["sender"] = e3.text_input("From", value=str(settings.get("sender", "")), key="alerts_smtp_sender")
        values["recipients"] = st.text_input("To (addresses separated by commas)",
                                             value=", ".join(settings.get("recipients", [])), key="alerts_smtp_to")
    else:
        secret = st.text_input("Incoming webhook URL (kept encrypted; leave empty to keep the saved one)",
                               type="password", key="alerts_webhook_url")
    values["digest"] = st.checkbox("One daily digest instead of a message per alert",
                                   value=editing.digest if editing else False, key="alerts_channel_digest")
    values["enabled"] = st.checkbox("On", value=editing.enabled if editing else True, key="alerts_channel_on")
    if st.form_submit_button("Save channel", disabled=not is_admin):
        save(editing, ChannelKind(kind), values, secret)
        st.rerun()

st.subheader("History")
if deliveries:
    st.dataframe(pd.DataFrame([{
        "Queued": _moment(d.queued_at), "Channel": d.channel, "Kind": d.purpose, "Subject": d.subject,
        "To": d.recipients, "Status": d.status, "Attempts": d.attempts, "Sent": _moment(d.sent_at),
        "Next try": _moment(d.next_attempt_at), "Failure": d.error,
    } for d in deliveries]), hide_index=True, key="alerts_history")
else:
    st.caption(plain("Nothing sent yet."))
