"""Alerts page (AppTest): an admin adds a channel and sends a test that says what happened; a viewer changes nothing;
a channel that keeps failing shows on the page and on Home."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from qbcore.db import transaction
from qbcore.models import AlertChannel, AuditEvent, ChannelKind
from tests.qbcore.alerts.receivers import Mailbox, Receiver, run_smtp_server, run_webhook_receiver
from tests.ui.conftest import open_page
from ui.markup import unescape_markdown

PAGE = "9_Alerts.py"


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A local SMTP server collecting what it receives."""
    with run_smtp_server() as box:
        yield box


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A local webhook receiver recording each POSTed body."""
    with run_webhook_receiver() as receiver:
        yield receiver
VIEWER = {"email": "val@co.com", "role": "viewer", "name": "Val"}


def test_an_admin_adds_a_webhook_sends_a_test_and_sees_it_in_the_history(home, factory, webhook: Receiver) -> None:
    at = open_page(home, PAGE)
    assert not at.exception
    at.selectbox(key="alerts_edit_choice").select("New channel").run()
    at.radio(key="alerts_new_kind").set_value(ChannelKind.SLACK).run()
    at.text_input(key="alerts_channel_name").input("Ops Slack")
    at.text_input(key="alerts_webhook_url").input(webhook.url)
    at.button[-1].click().run()  # Save channel
    assert not at.exception
    assert unescape_markdown(at.success[0].value) == "Channel Ops Slack saved. Send a test to check it."
    with factory() as session:
        channel = session.scalars(select(AlertChannel)).one()
    assert channel.kind == "slack" and "secret-hook-token" not in (channel.secret_enc or "")
    at.button(key=f"alerts_test_{channel.id}").click().run()
    assert not at.exception
    assert unescape_markdown(at.success[0].value) == "The test to Ops Slack was delivered to 127.0.0.1."
    assert len(webhook.bodies) == 1 and "This is a test" in webhook.bodies[0]["text"]
    history = at.dataframe[-1].value
    assert list(history[["Channel", "Kind", "Status", "To"]].iloc[0]) == ["Ops Slack", "Test", "Sent", "127.0.0.1"]
    page_text = " ".join([*(m.value for m in at.markdown), *(c.value for c in at.caption),
                          *(s.value for s in at.success), history.to_csv()])
    assert "secret-hook-token" not in page_text


def test_a_test_to_a_server_that_is_not_there_says_why(home, factory) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    at = open_page(home, PAGE)
    at.selectbox(key="alerts_edit_choice").select("New channel").run()
    at.text_input(key="alerts_channel_name").input("Finance email")
    at.text_input(key="alerts_smtp_host").input("127.0.0.1")
    at.number_input(key="alerts_smtp_port").set_value(port)
    at.selectbox(key="alerts_smtp_security").select("none")
    at.text_input(key="alerts_smtp_sender").input("qbsync@co.com")
    at.text_input(key="alerts_smtp_to").input("ops@co.com")
    at.button[-1].click().run()
    with factory() as session:
        channel_id = session.scalar(select(AlertChannel.id))
    at.button(key=f"alerts_test_{channel_id}").click().run()
    assert not at.exception
    (error,) = [unescape_markdown(e.value) for e in at.error]
    assert error.startswith(f"The test to Finance email was not delivered: could not reach the SMTP server "
                            f"127.0.0.1:{port}")


def test_a_viewer_reads_rules_and_channels_but_every_change_is_off(home, factory, smtp_server: Mailbox) -> None:
    from cryptography.fernet import Fernet

    from qbcore.access import Actor
    from qbcore.alerts.channels import save_channel
    from qbcore.models import Role
    from qbcore.secrets_box import SecretBox

    with transaction(factory) as session:
        save_channel(session, SecretBox(Fernet.generate_key().decode()), Actor("dana@co.com", Role.ADMIN),
                     name="Finance email", kind="email",
                     settings={"host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                               "sender": "qbsync@co.com", "recipients": "ops@co.com"})
    at = open_page(home, PAGE, actor=VIEWER)
    assert not at.exception
    assert any("Only an admin can change alert rules" in i.value for i in at.info)
    disabled = {b.label: b.disabled for b in at.button}
    assert disabled == {"Send a test": True, "Delete": True, "Save rules": True, "Save channel": True}
    with factory() as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["change_alert_channel"]
    assert smtp_server.messages == []


def test_a_channel_that_keeps_failing_shows_on_the_alerts_page_and_on_home(home, factory) -> None:
    from cryptography.fernet import Fernet

    from qbcore.access import Actor
    from qbcore.alerts.channels import save_channel
    from qbcore.models import Role
    from qbcore.secrets_box import SecretBox

    with transaction(factory) as session:
        view = save_channel(session, SecretBox(Fernet.generate_key().decode()), Actor("dana@co.com", Role.ADMIN),
                            name="Ops Slack", kind="slack", settings={}, secret="https://hooks.slack.com/services/T/B/x")
        session.execute(update(AlertChannel).where(AlertChannel.id == view.id).values(
            failures_in_a_row=4, last_error="hooks.slack.com answered HTTP 404: no_service"))
    home.run()
    assert not home.exception
    assert any(unescape_markdown(e.value) == "Alerts to Ops Slack keep failing (4 times in a row): hooks.slack.com "
               "answered HTTP 404: no_service." for e in home.error)
    at = home.switch_page("pages/9_Alerts.py").run()
    assert any("Ops Slack failed 4 times in a row" in unescape_markdown(e.value) for e in at.error)


def test_an_admin_saves_rules_in_dollars_and_a_bad_value_says_what_to_fix(home, factory) -> None:
    from qbcore.alerts.rules import load_alert_rules

    at = open_page(home, PAGE)
    assert at.text_input(key="alerts_new_amount").value == "$10,000.00"
    at.text_input(key="alerts_new_amount").input("$2,500")
    at.toggle(key="alerts_month_end").set_value(False)
    at.button[0].click().run()  # Save rules
    assert not at.exception
    assert unescape_markdown(at.success[0].value) == "Alert rules saved."
    with factory() as session:
        rules = load_alert_rules(session)
    assert (rules.new_problems_amount, rules.month_end) == ("2500.00", False)
    at.text_input(key="alerts_quiet_start").input("10pm")
    at.text_input(key="alerts_quiet_end").input("07:00")
    at.button[0].click().run()
    assert [unescape_markdown(e.value) for e in at.error] == [
        "Quiet hours: '10pm' is not a time; write it as HH:MM, e.g. 22:00. Nothing was saved."]
    with factory() as session:
        assert load_alert_rules(session).quiet_start == ""
