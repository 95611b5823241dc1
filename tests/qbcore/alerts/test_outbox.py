"""Alerts end to end: real SMTP and HTTP receivers, a real database; dedupe, resolve, digest, quiet hours, retries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlparse

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor
from qbcore.alerts.channels import save_channel
from qbcore.alerts.history import list_deliveries, list_failing_channels
from qbcore.alerts.outbox import (
    MAX_ATTEMPTS,
    STALE_CLAIM,
    claim_delivery,
    deliver_due,
    queue_alerts,
    send_claimed,
    send_test,
)
from qbcore.alerts.rules import save_alert_rules
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import AlertChannel, AlertDelivery, EntityType, Role, SyncRecord, SyncStatus
from qbcore.problems.queries import ProblemFilter, count_matching
from qbcore.secrets_box import SecretBox
from tests.qbcore.alerts.receivers import Mailbox, Receiver
from ui.links import read_problem_link

ADMIN = Actor("dana@co.com", Role.ADMIN, "Dana")
VIEWER = Actor("val@co.com", Role.VIEWER, "Val")
# Before the month-end rule's day (the 3rd), so only what a test plants is wrong.
T0 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def add_channels(factory: sessionmaker[Session], box: SecretBox, smtp: Mailbox, hook: Receiver | None = None,
                 *, digest: bool = False) -> None:
    with transaction(factory) as session:
        # Planted invoices' dollars differ between databases (row order); the count and dollar rule has its own test.
        save_alert_rules(session, ADMIN, {"new_problems": False})
        save_channel(session, box, ADMIN, name="Finance email", kind="email", digest=digest,
                     settings={"host": smtp.host, "port": smtp.port, "security": "none", "sender": "qbsync@co.com",
                               "recipients": "ops@co.com, ar@co.com"})
        if hook is not None:
            save_channel(session, box, ADMIN, name="Ops Slack", kind="slack", settings={}, secret=hook.url,
                         digest=digest)


def tick(factory: sessionmaker[Session], box: SecretBox, now: datetime) -> int:
    with transaction(factory) as session:
        queue_alerts(session, now=now)
    return deliver_due(factory, box, now=now).sent


def block_invoices(factory: sessionmaker[Session], count: int, code: str = "CHASSIS", *, skip: int = 0) -> list[int]:
    """Plant an unmapped charge code: `count` invoices (after the first `skip`) blocked by it."""
    with transaction(factory) as session:
        ids = list(session.scalars(select(SyncRecord.id).where(SyncRecord.entity_type == EntityType.INVOICE.value)
                                   .order_by(SyncRecord.id).offset(skip).limit(count)))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids)).values(
            status=SyncStatus.FAILED.value, error_kind="mapping", blocked_by=f"item:{code}",
            error_message=f"Charge code {code} has no QuickBooks item", first_failed_at=T0 - timedelta(hours=1)))
    return ids


def clear_problems(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        session.execute(update(SyncRecord).where(SyncRecord.status == SyncStatus.FAILED.value).values(
            status=SyncStatus.SYNCED.value, error_kind=None, blocked_by=None, error_message=None))


def test_a_disconnect_sends_one_email_and_one_webhook_call_and_a_second_tick_sends_nothing(
        factory: sessionmaker[Session], connected: Config, smtp_server: Mailbox, webhook: Receiver) -> None:
    from qbcore.qbo.oauth import disconnect

    box = SecretBox(connected.secret_key)
    add_channels(factory, box, smtp_server, webhook)
    assert tick(factory, box, T0) == 0  # connected, nothing wrong
    disconnect(factory, connected, actor=ADMIN)
    assert tick(factory, box, T0 + timedelta(minutes=1)) == 2
    assert tick(factory, box, T0 + timedelta(minutes=2)) == 0
    assert len(smtp_server.messages) == 1 and len(webhook.bodies) == 1
    mail = smtp_server.messages[0]
    assert mail["Subject"].startswith("[QuickBooks sync] New: QuickBooks is disconnected by dana@co.com")
    assert smtp_server.envelopes[0] == ("qbsync@co.com", ["ops@co.com", "ar@co.com"])
    text = smtp_server.bodies()[0]
    assert "Fix: Connect QuickBooks again in Settings." in text
    assert "Open Settings: http://127.0.0.1:8501/Settings" in text
    slack = webhook.bodies[0]["text"]
    assert "<http://127.0.0.1:8501/Settings|Open Settings>" in slack
    with factory() as session:
        assert [r.status for r in list_deliveries(session)] == ["Sent", "Sent"]


def test_an_unmapped_charge_code_says_records_dollars_cause_and_links_to_exactly_those_problems(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, webhook: Receiver, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server, webhook)
    ids = block_invoices(demo_factory, 3)
    assert tick(demo_factory, box, T0) == 2
    text = smtp_server.bodies()[0]
    with demo_factory() as session:
        blocked = count_matching(session, EntityType.INVOICE, ProblemFilter(search="CHASSIS"))
    assert blocked.count == len(ids) == 3
    from qbcore.labels import money

    assert "New: 3 invoices: charge code CHASSIS not mapped to a QuickBooks item" in text
    assert f"3 records, {money(blocked.amount)}" in text
    link = next(line.split(": ", 1)[1] for line in text.splitlines() if "Open the problems" in line)
    parsed = urlparse(link)
    assert parsed.path == "/Problem_Sync"
    problem_link = read_problem_link(dict(parse_qsl(parsed.query)))
    assert problem_link is not None
    assert (problem_link.entity, problem_link.kind, problem_link.cause) == (
        EntityType.INVOICE, "mapping", "item:CHASSIS")
    with demo_factory() as session:
        linked = count_matching(session, problem_link.entity, ProblemFilter(
            error_kinds=(problem_link.kind,), blocked_by=problem_link.cause))
    assert linked == blocked
    html = smtp_server.bodies("html")[0]
    assert 'href="http://127.0.0.1:8501/Problem_Sync?tab=invoice&amp;kind=mapping&amp;cause=item%3ACHASSIS"' in html
    assert "cause=item%3ACHASSIS|Open the problems>" in webhook.bodies[0]["text"]
    assert tick(demo_factory, box, T0 + timedelta(minutes=1)) == 0


def test_a_condition_alerts_again_only_when_it_doubles_and_says_resolved_when_it_clears(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server)
    block_invoices(demo_factory, 3)
    assert tick(demo_factory, box, T0) == 1
    block_invoices(demo_factory, 3)  # the same three: no change
    assert tick(demo_factory, box, T0 + timedelta(minutes=1)) == 0
    block_invoices(demo_factory, 4)  # 3 → 4 records: the size doubled past a bucket
    assert tick(demo_factory, box, T0 + timedelta(minutes=2)) == 1
    assert "Worse: 4 invoices: charge code CHASSIS" in smtp_server.messages[1]["Subject"]
    clear_problems(demo_factory)
    assert tick(demo_factory, box, T0 + timedelta(minutes=3)) == 1
    resolved = smtp_server.bodies()[2]
    assert resolved.startswith("Resolved: 4 invoices: charge code CHASSIS not mapped")
    assert tick(demo_factory, box, T0 + timedelta(minutes=4)) == 0
    block_invoices(demo_factory, 1)  # it comes back: a new alert
    assert tick(demo_factory, box, T0 + timedelta(minutes=5)) == 1
    assert smtp_server.messages[3]["Subject"].startswith("[QuickBooks sync] New: 1 invoice: charge code CHASSIS")


def test_a_digest_channel_gets_one_message_a_day_at_the_digest_hour_with_the_days_events(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server, digest=True)
    with transaction(demo_factory) as session:
        save_alert_rules(session, ADMIN, {"digest_hour": 8, "month_end": False})
    early = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    block_invoices(demo_factory, 2)
    assert tick(demo_factory, box, early) == 0  # digest channels get nothing immediately
    block_invoices(demo_factory, 2, code="HAZMAT", skip=2)
    assert tick(demo_factory, box, early + timedelta(hours=2)) == 1
    assert tick(demo_factory, box, early + timedelta(hours=5)) == 0  # once a day
    assert smtp_server.messages[0]["Subject"] == "[QuickBooks sync] Daily digest: 2 alerts"
    text = smtp_server.bodies()[0]
    assert "New: 2 invoices: charge code CHASSIS" in text and "New: 2 invoices: charge code HAZMAT" in text
    assert tick(demo_factory, box, early + timedelta(days=1, hours=2)) == 0  # nothing new happened since


def test_quiet_hours_hold_messages_until_they_end_then_send_them_once(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server)
    with transaction(demo_factory) as session:
        save_alert_rules(session, ADMIN, {"quiet_start": "22:00", "quiet_end": "07:00",
                                          "timezone": "America/New_York"})
    night = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 22:30 in New York
    block_invoices(demo_factory, 2)
    assert tick(demo_factory, box, night) == 0
    with demo_factory() as session:
        held = session.scalars(select(AlertDelivery)).one()
    assert held.next_attempt_at.replace(tzinfo=UTC) == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 07:00 New York
    assert tick(demo_factory, box, datetime(2026, 12, 2, 11, 59, tzinfo=UTC)) == 0
    assert tick(demo_factory, box, datetime(2026, 12, 2, 12, 0, tzinfo=UTC)) == 1
    assert tick(demo_factory, box, datetime(2026, 12, 2, 13, 0, tzinfo=UTC)) == 0


def test_a_failing_webhook_is_retried_with_backoff_shows_on_home_then_delivers_once(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, webhook: Receiver, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server, webhook)
    webhook.statuses = [500, 500, 500]
    block_invoices(demo_factory, 2)
    assert tick(demo_factory, box, T0) == 1  # the email goes, the webhook fails
    with demo_factory() as session:
        delivery = session.scalars(select(AlertDelivery).where(AlertDelivery.status == "queued")).one()
        assert (delivery.attempts, delivery.next_attempt_at.replace(tzinfo=UTC)) == (1, T0 + timedelta(minutes=1))
        assert "answered HTTP 500" in (delivery.last_error or "")
        assert "secret-hook-token" not in (delivery.last_error or "")
    assert deliver_due(demo_factory, box, now=T0 + timedelta(seconds=59)).sent == 0  # not yet due
    assert deliver_due(demo_factory, box, now=T0 + timedelta(minutes=1)).retrying == 1
    assert deliver_due(demo_factory, box, now=T0 + timedelta(minutes=2)).retrying == 0  # waits 2 minutes now
    assert deliver_due(demo_factory, box, now=T0 + timedelta(minutes=3)).retrying == 1
    with demo_factory() as session:
        failing = list_failing_channels(session)
    assert [(f.name, f.failures) for f in failing] == [("Ops Slack", 3)]
    assert deliver_due(demo_factory, box, now=T0 + timedelta(minutes=7)).sent == 1
    assert len(webhook.bodies) == 1 and len(smtp_server.messages) == 1
    assert webhook.headers[0]["Idempotency-Key"].startswith("events:")
    with demo_factory() as session:
        assert list_failing_channels(session) == []


def test_a_channel_that_never_answers_is_given_up_after_the_last_attempt(
        demo_factory: sessionmaker[Session], webhook: Receiver, smtp_server: Mailbox, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server, webhook)
    webhook.statuses = [503] * MAX_ATTEMPTS
    block_invoices(demo_factory, 2)
    tick(demo_factory, box, T0)
    for minutes in (1, 3, 7, 15, 31):
        deliver_due(demo_factory, box, now=T0 + timedelta(minutes=minutes))
    with demo_factory() as session:
        rows = {r.channel: r for r in list_deliveries(session)}
    assert (rows["Ops Slack"].status, rows["Ops Slack"].attempts) == ("Failed (gave up)", MAX_ATTEMPTS)
    assert deliver_due(demo_factory, box, now=T0 + timedelta(days=1)).sent == 0
    assert webhook.bodies == []


def test_a_crash_mid_send_never_sends_twice(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server)
    block_invoices(demo_factory, 2)
    with transaction(demo_factory) as session:
        (delivery,) = queue_alerts(session, now=T0)
        delivery_id = delivery.id
    claimed = claim_delivery(demo_factory, box, delivery_id, T0)
    assert claimed is not None
    send_claimed(claimed)  # the process dies here, before it records the send
    assert claim_delivery(demo_factory, box, delivery_id, T0) is None  # a second sender cannot take it
    report = deliver_due(demo_factory, box, now=T0 + STALE_CLAIM + timedelta(seconds=1))
    assert (report.sent, report.uncertain) == (0, 1)
    assert deliver_due(demo_factory, box, now=T0 + timedelta(days=1)).sent == 0
    assert len(smtp_server.messages) == 1
    with demo_factory() as session:
        (row,) = list_deliveries(session)
    assert row.status == "May not have arrived (not resent)"


def test_two_workers_sending_at_once_send_each_message_once(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, webhook: Receiver, box: SecretBox) -> None:
    add_channels(demo_factory, box, smtp_server, webhook)
    block_invoices(demo_factory, 2)
    with transaction(demo_factory) as session:
        queue_alerts(session, now=T0)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(deliver_due(demo_factory, box, now=T0)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 2
    assert len(smtp_server.messages) == 1 and len(webhook.bodies) == 1


def test_a_viewer_cannot_change_rules_or_channels_or_send_tests_and_each_refusal_is_audited(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    from qbcore.access import PermissionDenied
    from qbcore.alerts.rules import load_alert_rules
    from qbcore.models import AuditEvent

    add_channels(demo_factory, box, smtp_server)
    with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
        save_alert_rules(session, VIEWER, {"root_cause": False})
    with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
        save_channel(session, box, VIEWER, name="Mine", kind="slack", settings={}, secret="https://hooks.example/x")
    with pytest.raises(PermissionDenied):
        send_test(demo_factory, box, VIEWER, 1)
    with demo_factory() as session:
        assert load_alert_rules(session).root_cause is True
        assert list(session.scalars(select(AlertChannel.name))) == ["Finance email"]
        refused = list(session.scalars(select(AuditEvent.action).where(AuditEvent.outcome == "refused")
                                       .order_by(AuditEvent.id)))
    assert refused == ["change_alert_rules", "change_alert_channel", "send_alert_test"]
    assert smtp_server.messages == []


def test_a_rule_change_is_audited_and_a_muted_rule_sends_nothing(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox) -> None:
    from qbcore.models import AuditEvent

    add_channels(demo_factory, box, smtp_server)
    with transaction(demo_factory) as session:
        save_alert_rules(session, ADMIN, {"root_cause": False, "new_problems": False})  # new problems: already off
    block_invoices(demo_factory, 30)
    assert tick(demo_factory, box, T0) == 0
    with demo_factory() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "change_alert_rules")
                                      .order_by(AuditEvent.id)))
    assert [(e.actor, e.before, e.after) for e in events] == [
        ("dana@co.com", {"new_problems": True}, {"new_problems": False}),
        ("dana@co.com", {"root_cause": True}, {"root_cause": False})]


def test_the_smtp_password_is_encrypted_used_to_log_in_and_never_stored_audited_or_sent(
        demo_factory: sessionmaker[Session], box: SecretBox) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from qbcore.models import AuditEvent
    from tests.qbcore.alerts.receivers import MailHandler, free_port

    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret-Pa55")

    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(MailHandler(mailbox), hostname="127.0.0.1", port=mailbox.port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        with transaction(demo_factory) as session:
            view = save_channel(session, box, ADMIN, name="Authed", kind="email", secret="s3cret-Pa55",
                                settings={"host": "127.0.0.1", "port": mailbox.port, "security": "none",
                                          "sender": "qbsync@co.com", "recipients": ["ops@co.com"],
                                          "username": "qbsync"})
        result = send_test(demo_factory, box, ADMIN, view.id)
    finally:
        controller.stop()
    assert result.ok and result.text == "The test to Authed was delivered to ops@co.com."
    assert logins == [("qbsync", "s3cret-Pa55")]
    with demo_factory() as session:
        channel = session.get(AlertChannel, view.id)
        audit = [(e.before, e.after) for e in session.scalars(select(AuditEvent))]
    assert channel is not None and channel.secret_enc and "s3cret" not in channel.secret_enc
    assert box.decrypt(channel.secret_enc) == "s3cret-Pa55"
    assert "s3cret" not in repr(audit) and "s3cret" not in repr(view)
    assert "s3cret" not in mailbox.messages[0].as_string()


def test_a_test_message_says_what_happened_when_the_server_is_not_there(
        demo_factory: sessionmaker[Session], box: SecretBox) -> None:
    from tests.qbcore.alerts.receivers import free_port

    port = free_port()  # nothing listens here
    with transaction(demo_factory) as session:
        view = save_channel(session, box, ADMIN, name="Nowhere", kind="email",
                            settings={"host": "127.0.0.1", "port": port, "security": "none",
                                      "sender": "qbsync@co.com", "recipients": ["ops@co.com"]})
    result = send_test(demo_factory, box, ADMIN, view.id)
    assert not result.ok
    assert result.text.startswith(f"The test to Nowhere was not delivered: could not reach the SMTP server "
                                  f"127.0.0.1:{port}")
    assert result.text.endswith("check the host and port.")
    with demo_factory() as session:
        (row,) = list_deliveries(session)
    assert (row.purpose, row.status) == ("Test", "Failed (gave up)")


def test_the_scheduler_tick_queues_alerts_and_the_worker_sends_them(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox) -> None:
    from cryptography.fernet import Fernet

    from qbcore.alerts.outbox import deliver_in_worker
    from qbcore.jobs.schedule import run_schedule_tick

    secret_key = Fernet.generate_key().decode()
    worker_box = SecretBox(secret_key)
    add_channels(demo_factory, worker_box, smtp_server)
    block_invoices(demo_factory, 2)
    with transaction(demo_factory) as session:
        run_schedule_tick(session)
    with demo_factory() as session:
        assert session.scalars(select(AlertDelivery.status)).all() == ["queued"]
    report = deliver_in_worker(demo_factory, secret_key)
    assert report is not None and report.sent == 1
    assert len(smtp_server.messages) == 1


def test_a_rule_that_breaks_never_undoes_the_ticks_sync_work(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from qbcore.alerts import outbox
    from qbcore.jobs.schedule import run_schedule_tick
    from qbcore.models import AlertCondition, Job

    add_channels(demo_factory, box, smtp_server)
    block_invoices(demo_factory, 2)

    def broken(*_args: object, **_kwargs: object) -> list[object]:
        raise RuntimeError("the digest step failed")  # after conditions, events and a delivery were written

    monkeypatch.setattr(outbox, "queue_digests", broken)
    with transaction(demo_factory) as session:
        jobs = run_schedule_tick(session)
    assert [job.kind for job in jobs] == ["sync"]
    with demo_factory() as session:
        assert session.scalars(select(Job.kind)).all() == ["sync"]  # the sync the tick queued was kept
        # ...and the alert step's half-done writes were not: the next tick finds the condition new again
        assert session.scalars(select(AlertCondition)).all() == []
        assert session.scalars(select(AlertDelivery)).all() == []


def test_rotating_the_key_re_encrypts_channel_secrets_and_a_secret_no_key_opens_fails_in_words(
        demo_factory: sessionmaker[Session], webhook: Receiver, smtp_server: Mailbox) -> None:
    from cryptography.fernet import Fernet

    from qbcore.secrets_box import reencrypt_tokens

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    add_channels(demo_factory, SecretBox(old), smtp_server, webhook)
    with transaction(demo_factory) as session:
        assert reencrypt_tokens(session, SecretBox(f"{new},{old}")) == 1
    result = send_test(demo_factory, SecretBox(new), ADMIN, 2)  # the old key is gone
    assert result.ok and len(webhook.bodies) == 1
    block_invoices(demo_factory, 2)
    assert tick(demo_factory, SecretBox(Fernet.generate_key().decode()), T0) == 1  # the email needs no secret
    with demo_factory() as session:
        failed = next(r for r in list_deliveries(session) if r.channel == "Ops Slack" and r.purpose == "Alert")
    assert failed.status == "Waiting to send" and failed.error == (
        "the channel's password or webhook URL cannot be decrypted with QBSYNC_SECRET_KEY; enter it again on the "
        "Alerts page")
    assert len(webhook.bodies) == 1


def _worker_commits(factory: sessionmaker[Session]) -> None:
    """What the sync worker does all through a first sync: commit one record's outcome."""
    with transaction(factory) as session:
        record = session.scalar(select(SyncRecord).where(SyncRecord.status == SyncStatus.NEVER_SYNCED.value)
                                .order_by(SyncRecord.id).limit(1))
        record.attempts = (record.attempts or 0) + 1


def _conditions(factory: sessionmaker[Session]) -> set[str]:
    from qbcore.models import AlertCondition

    with factory() as session:
        return {c.rule for c in session.scalars(select(AlertCondition).where(AlertCondition.active.is_(True)))}


def test_the_tick_records_alerts_although_the_worker_committed_while_the_rules_were_read(
        demo_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from qbcore.alerts import outbox
    from qbcore.alerts.conditions import Finding, find_conditions
    from qbcore.alerts.outbox import queue_in_tick
    from qbcore.alerts.rules import AlertRules

    block_invoices(demo_factory, 3)

    def read_while_the_worker_commits(session: Session, rules: AlertRules, now: datetime) -> list[Finding]:
        findings = find_conditions(session, rules, now)
        _worker_commits(demo_factory)  # after the rules' reads, before their conditions are written
        return findings

    monkeypatch.setattr(outbox, "find_conditions", read_while_the_worker_commits)
    with caplog.at_level("ERROR", logger="qbcore.alerts.outbox"), transaction(demo_factory) as session:
        session.scalar(select(SyncRecord.id).limit(1))  # the tick read before it (and wrote nothing: a job runs)
        queue_in_tick(session)
    assert "evaluating alerts failed" not in caplog.text, caplog.text
    assert "root_cause" in _conditions(demo_factory)


def test_the_tick_waits_for_the_worker_to_commit_instead_of_failing(
        demo_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture) -> None:
    from qbcore.alerts.outbox import queue_in_tick

    block_invoices(demo_factory, 3)
    writing, release = threading.Event(), threading.Event()

    def worker() -> None:  # holds the write lock (a record's step, mid-transaction) until released
        with transaction(demo_factory) as session:
            session.execute(update(SyncRecord).where(SyncRecord.id == session.scalar(
                select(SyncRecord.id).order_by(SyncRecord.id).limit(1))).values(attempts=SyncRecord.attempts + 1))
            session.flush()
            writing.set()
            release.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    assert writing.wait(10)
    threading.Timer(0.5, release.set).start()  # the worker's step commits half a second later
    with caplog.at_level("ERROR", logger="qbcore.alerts.outbox"), transaction(demo_factory) as session:
        queue_in_tick(session)
    thread.join(10)
    assert "evaluating alerts failed" not in caplog.text, caplog.text
    assert "root_cause" in _conditions(demo_factory)


def test_a_scheduler_loop_reads_the_rules_again_only_once_something_was_committed(
        demo_factory: sessionmaker[Session], smtp_server: Mailbox, box: SecretBox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from qbcore.alerts import outbox
    from qbcore.alerts.conditions import Finding, find_conditions
    from qbcore.alerts.outbox import AlertPace
    from qbcore.alerts.rules import AlertRules
    from qbcore.jobs.schedule import run_schedule_tick

    add_channels(demo_factory, box, smtp_server)
    readings: list[datetime] = []

    def counted(session: Session, rules: AlertRules, now: datetime) -> list[Finding]:
        readings.append(now)
        return find_conditions(session, rules, now)

    monkeypatch.setattr(outbox, "find_conditions", counted)
    pace = AlertPace()

    def tick() -> None:
        with transaction(demo_factory) as session:
            run_schedule_tick(session, alert_pace=pace)

    tick()
    tick()  # reads again only if the first tick's own alerts were a commit
    settled = len(readings)
    tick()
    tick()
    assert settled <= 2 and len(readings) == settled  # nothing new: the rules' last answer stands
    block_invoices(demo_factory, 2)
    tick()
    assert len(readings) == settled + 1
    with demo_factory() as session:
        assert "root_cause" in _conditions(demo_factory)
        assert session.scalars(select(AlertDelivery.status)).all() == ["queued"]
