"""The alert outbox: conditions become events once, events become deliveries, deliveries are sent at most once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.alerts.channels import ChannelError, DeliveryError, destination_of, post_webhook, send_email
from qbcore.alerts.conditions import Finding, find_conditions
from qbcore.alerts.messages import EventView, Message, render_message, subject_for
from qbcore.alerts.rules import AlertRules, load_alert_rules
from qbcore.db import is_sqlite, rows_changed, take_write_lock, transaction
from qbcore.models import (
    AlertChannel,
    AlertCondition,
    AlertDelivery,
    AlertEvent,
    ChannelKind,
    DeliveryStatus,
    Role,
    utcnow,
)
from qbcore.problems.queries import mask_secrets
from qbcore.read_cache import database_version
from qbcore.secrets_box import SecretBox, SecretBoxError

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
# A claim older than this was left by a process that stopped mid-send.
STALE_CLAIM = timedelta(minutes=10)
RULE_FLAGS = ("new_problems", "root_cause", "reconnect", "job_failed", "old_problems", "month_end")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4, 8, 16 minutes (at most an hour)."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def quiet_until(rules: AlertRules, moment: datetime) -> datetime:
    """When quiet hours around `moment` end (`moment` itself when it is not quiet)."""
    if not rules.is_quiet(moment):
        return moment
    local = moment.astimezone(rules.zone)
    end = datetime.combine(local.date(), time.fromisoformat(rules.quiet_end), tzinfo=rules.zone)
    if end <= local:
        end += timedelta(days=1)
    # Stored in UTC: SQLite keeps a datetime's wall clock, not its offset.
    return end.astimezone(UTC)


def _worse(old: str, new: str) -> bool:
    # Sizes only count when they grow (a shrinking problem is good news, not noise); other changes always do.
    if old.startswith("size:") and new.startswith("size:"):
        return int(new[5:]) > int(old[5:])
    return old != new


def record_conditions(session: Session, findings: list[Finding], rules: AlertRules, now: datetime
                      ) -> list[AlertEvent]:
    """Open, change and resolve conditions against what holds now; returns the new events (the dedupe)."""
    muted = {rule for rule in RULE_FLAGS if not getattr(rules, rule)}
    current = {f.key: f for f in findings}
    known = {c.key: c for c in session.scalars(
        select(AlertCondition).where(AlertCondition.active.is_(True) | AlertCondition.key.in_(list(current))))}
    events = []
    for key, finding in current.items():
        condition = known.get(key)
        facts = finding.facts()
        kind = None
        if condition is None:
            condition = AlertCondition(key=key, rule=finding.rule, active=True, fingerprint=finding.fingerprint,
                                       facts=facts, opened_at=now, changed_at=now)
            session.add(condition)
            kind = "opened"
        elif not condition.active:
            condition.active, condition.opened_at, condition.resolved_at = True, now, None
            kind = "opened"
        elif _worse(condition.fingerprint, finding.fingerprint):
            kind = "changed"
        condition.facts = facts
        if kind is not None:
            condition.fingerprint, condition.changed_at = finding.fingerprint, now
            session.flush()
            events.append(AlertEvent(condition_id=condition.id, kind=kind, facts=facts, at=now))
    for key, condition in known.items():
        if key in current or not condition.active:
            continue
        condition.active, condition.resolved_at = False, now
        # A muted rule's conditions close without a message: the admin chose not to hear about them.
        if condition.rule not in muted:
            events.append(AlertEvent(condition_id=condition.id, kind="resolved", facts=condition.facts, at=now))
    session.add_all(events)
    session.flush()
    return events


def _dedupe(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]


def _queue(session: Session, channel: AlertChannel, purpose: str, events: list[AlertEvent], key: str,
           now: datetime, due: datetime) -> AlertDelivery:
    views = [EventView(e.kind, e.facts) for e in events]
    delivery = AlertDelivery(channel_id=channel.id, dedupe_key=key, purpose=purpose, event_ids=[e.id for e in events],
                             subject=subject_for(purpose, views), recipients=destination_of(channel),
                             status=DeliveryStatus.QUEUED.value, attempts=0, next_attempt_at=due, created_at=now)
    session.add(delivery)
    return delivery


def queue_digests(session: Session, rules: AlertRules, now: datetime) -> list[AlertDelivery]:
    """Once a day, at the digest hour, one message per digest channel with the day's events."""
    local = now.astimezone(rules.zone)
    if local.hour < rules.digest_hour:
        return []
    queued = []
    for channel in session.scalars(select(AlertChannel).where(AlertChannel.enabled.is_(True),
                                                              AlertChannel.digest.is_(True))):
        key = f"digest:{channel.id}:{local.date().isoformat()}"
        if session.scalar(select(AlertDelivery.id).where(AlertDelivery.dedupe_key == key)) is not None:
            continue
        previous = session.scalar(select(AlertDelivery.created_at).where(
            AlertDelivery.channel_id == channel.id, AlertDelivery.purpose == "digest")
            .order_by(AlertDelivery.created_at.desc()).limit(1))
        since = previous or now - timedelta(days=1)
        events = list(session.scalars(select(AlertEvent).where(AlertEvent.at > since).order_by(AlertEvent.id)))
        if events:
            queued.append(_queue(session, channel, "digest", events, key, now, quiet_until(rules, now)))
    return queued


def queue_alerts(session: Session, *, now: datetime | None = None) -> list[AlertDelivery]:
    """The scheduler's step: record what changed and queue messages for it (DB only, in the caller's transaction)."""
    now = now or utcnow()
    rules = load_alert_rules(session)
    return queue_findings(session, find_conditions(session, rules, now), rules, now)


def queue_findings(session: Session, findings: list[Finding], rules: AlertRules, now: datetime
                   ) -> list[AlertDelivery]:
    """Record what changed against what the rules found, and queue messages for it (in the caller's transaction)."""
    events = record_conditions(session, findings, rules, now)
    queued = []
    if events:
        due = quiet_until(rules, now)
        for channel in session.scalars(select(AlertChannel).where(AlertChannel.enabled.is_(True),
                                                                  AlertChannel.digest.is_(False))):
            key = f"events:{channel.id}:{_dedupe(*(e.id for e in events))}"
            queued.append(_queue(session, channel, "alert", events, key, now, due))
    queued += queue_digests(session, rules, now)
    session.flush()
    return queued


@dataclass(frozen=True)
class Claimed:
    """A delivery this process claimed and may send, with its rendered message and how to reach the channel."""

    delivery_id: int
    attempts: int
    kind: ChannelKind
    settings: dict[str, object]
    secret: str | None
    message: Message
    dedupe_key: str
    secret_unreadable: bool = False


def claim_delivery(factory: sessionmaker[Session], box: SecretBox, delivery_id: int, now: datetime
                   ) -> Claimed | None:
    """Mark one due delivery as sending and commit, before anything goes out; None when another took it."""
    with transaction(factory) as session:
        taken = rows_changed(session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id, AlertDelivery.status == DeliveryStatus.QUEUED.value,
                   AlertDelivery.next_attempt_at <= now)
            .values(status=DeliveryStatus.SENDING.value, claimed_at=now, attempts=AlertDelivery.attempts + 1)))
        if not taken:
            return None
        delivery = session.get(AlertDelivery, delivery_id)
        assert delivery is not None
        channel = session.get(AlertChannel, delivery.channel_id)
        assert channel is not None
        events = [EventView(e.kind, e.facts) for e in session.scalars(
            select(AlertEvent).where(AlertEvent.id.in_(delivery.event_ids or [])).order_by(AlertEvent.id))]
        message = render_message(delivery.purpose, events, load_alert_rules(session).base_url)
        try:
            secret, unreadable = (box.decrypt(channel.secret_enc) if channel.secret_enc else None), False
        except SecretBoxError:
            # A key changed without `qbsync rotate-key`: the send fails in words, with backoff, and shows on Home.
            secret, unreadable = None, True
        return Claimed(delivery_id=delivery.id, attempts=delivery.attempts, kind=ChannelKind(channel.kind),
                       settings=dict(channel.settings), secret=secret, message=message,
                       dedupe_key=delivery.dedupe_key, secret_unreadable=unreadable)


Sender = Callable[[Claimed], str]


def send_claimed(claimed: Claimed) -> str:
    """Send a claimed delivery over its channel; returns who or where received it."""
    if claimed.secret_unreadable:
        raise DeliveryError("the channel's password or webhook URL cannot be decrypted with QBSYNC_SECRET_KEY; "
                            "enter it again on the Alerts page")
    if claimed.kind is ChannelKind.EMAIL:
        host = str(claimed.settings.get("host", "localhost"))
        return send_email(claimed.settings, claimed.secret, claimed.message,
                          message_id=f"<qbsync-{claimed.dedupe_key}@{host}>")
    if not claimed.secret:
        raise DeliveryError("the channel has no webhook URL; paste it in the channel's settings")
    payload = claimed.message.slack if claimed.kind is ChannelKind.SLACK else claimed.message.teams
    return post_webhook(claimed.secret, payload, idempotency_key=claimed.dedupe_key)


def record_outcome(factory: sessionmaker[Session], claimed: Claimed, now: datetime, *, error: str | None,
                   recipients: str = "", max_attempts: int = MAX_ATTEMPTS) -> DeliveryStatus:
    """Write what the send did: sent, retried later with backoff, or failed for good; the channel's health too."""
    with transaction(factory) as session:
        delivery = session.get(AlertDelivery, claimed.delivery_id)
        assert delivery is not None
        channel = session.get(AlertChannel, delivery.channel_id)
        assert channel is not None
        if error is None:
            delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, None
            if recipients:
                delivery.recipients = recipients
            channel.failures_in_a_row, channel.last_sent_at, channel.last_error = 0, now, None
        else:
            error = mask_secrets(error) or ""
            retry = claimed.attempts < max_attempts
            delivery.status = DeliveryStatus.QUEUED if retry else DeliveryStatus.FAILED
            delivery.next_attempt_at = now + backoff(claimed.attempts)
            delivery.last_error = error
            channel.failures_in_a_row += 1
            channel.last_error, channel.last_failed_at = error, now
        return DeliveryStatus(delivery.status)


@dataclass
class DeliveryReport:
    """What one pass of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    lines: list[str] = field(default_factory=list)


def mark_stale_claims(session: Session, now: datetime) -> int:
    """Deliveries a stopped process left mid-send: marked uncertain, never sent again (they may have arrived)."""
    return rows_changed(session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.status == DeliveryStatus.SENDING.value, AlertDelivery.claimed_at < now - STALE_CLAIM)
        .values(status=DeliveryStatus.UNCERTAIN.value,
                last_error="the console stopped while sending this message; it may have arrived, so it is not "
                           "sent again")))


def deliver_due(factory: sessionmaker[Session], box: SecretBox, *, now: datetime | None = None,
                sender: Sender = send_claimed, limit: int = 50) -> DeliveryReport:
    """Send every due delivery once (claim, send, record); failures wait with backoff; returns what happened."""
    now = now or utcnow()
    report = DeliveryReport()
    with transaction(factory) as session:
        report.uncertain = mark_stale_claims(session, now)
        due = list(session.scalars(
            select(AlertDelivery.id).where(AlertDelivery.status == DeliveryStatus.QUEUED.value,
                                           AlertDelivery.next_attempt_at <= now)
            .order_by(AlertDelivery.id).limit(limit)))
    for delivery_id in due:
        claimed = claim_delivery(factory, box, delivery_id, now)
        if claimed is None:
            continue
        try:
            recipients = sender(claimed)
        except DeliveryError as exc:
            status = record_outcome(factory, claimed, now, error=str(exc))
            if status is DeliveryStatus.FAILED:
                report.failed += 1
            else:
                report.retrying += 1
            report.lines.append(f"not sent: {claimed.message.subject} — {exc}")
            continue
        record_outcome(factory, claimed, now, error=None, recipients=recipients)
        report.sent += 1
        report.lines.append(f"sent to {recipients}: {claimed.message.subject}")
    return report


@dataclass(frozen=True)
class TestResult:
    """What a test message did, in words."""

    ok: bool
    text: str


def send_test(factory: sessionmaker[Session], box: SecretBox, actor: Actor, channel_id: int,
              *, sender: Sender = send_claimed) -> TestResult:
    """Send a test message to one channel now (admin only, audited); says what happened."""
    now = utcnow()
    with transaction(factory) as session:
        require_role(actor, Role.ADMIN, "send_alert_test", session=session, target_type="alert_channel",
                     target_id=str(channel_id))
        channel = session.get(AlertChannel, channel_id)
        if channel is None:
            raise ChannelError(f"There is no channel #{channel_id}; nothing was sent.")
        name = channel.name
        delivery = _queue(session, channel, "test", [], f"test:{channel_id}:{_dedupe(now.isoformat())}", now, now)
        session.flush()
        delivery_id = delivery.id
    claimed = claim_delivery(factory, box, delivery_id, now)
    assert claimed is not None
    try:
        recipients = sender(claimed)
    except DeliveryError as exc:
        record_outcome(factory, claimed, now, error=str(exc), max_attempts=1)
        outcome = TestResult(False, f"The test to {name} was not delivered: {exc}.")
    else:
        record_outcome(factory, claimed, now, error=None, recipients=recipients)
        outcome = TestResult(True, f"The test to {name} was delivered to {recipients}.")
    with transaction(factory) as session:
        write_audit(session, actor, "send_alert_test", target_type="alert_channel", target_id=channel_id,
                    after={"delivered": outcome.ok}, outcome="ok")
    return outcome


def deliver_in_worker(factory: sessionmaker[Session], secret_key: str) -> DeliveryReport | None:
    """The worker's hook: send what is due; a broken channel or database never stops the worker."""
    if not secret_key:
        return None  # a bare Config (tests, tools) has no key to open channel secrets with
    try:
        return deliver_due(factory, SecretBox(secret_key))
    # The worker loop must outlive any alert failure; the next pass tries again and Home shows the channel.
    except Exception:
        log.exception("sending alerts failed")
        return None


@dataclass
class AlertPace:
    """A scheduler loop's memory: the rules are read again once something was committed, or every few minutes.

    At a million invoices one reading of every rule takes seconds of a core; a tick every 20 s with nothing new
    would spend a third of one on answers it already has. The rules that count time (old problems, a token near
    its end, month end) still move within the interval.
    """

    every: timedelta = timedelta(minutes=5)
    version: Hashable | None = None
    read_at: datetime | None = None

    def is_due(self, session: Session, now: datetime) -> bool:
        """True when the rules must be read now; remembers the database's version when they are."""
        version = database_version(session.get_bind().engine)
        if (version is not None and version == self.version and self.read_at is not None
                and now - self.read_at < self.every):
            return False
        self.version, self.read_at = version, now
        return True


def queue_in_tick(session: Session, pace: AlertPace | None = None) -> list[AlertDelivery]:
    """The scheduler's hook: queue alerts in a savepoint, so a failing rule never undoes the tick's sync work.

    On SQLite the rules are read first, outside the savepoint (a failed read there aborts nothing), and the writes
    wait for the write lock: the worker commits a record at a time during a sync, and a savepoint opened before
    those commits could not write after them ("database is locked" at once, in the first embedded sync).
    """
    if pace is not None and not pace.is_due(session, utcnow()):
        return []
    try:
        if is_sqlite(session):
            now = utcnow()
            rules = load_alert_rules(session)
            findings = find_conditions(session, rules, now)
            take_write_lock(session)  # held only while the conditions and messages are written
            with session.begin_nested():
                return queue_findings(session, findings, rules, now)
        with session.begin_nested():  # PostgreSQL: a failing read would abort the tick's transaction otherwise
            return queue_alerts(session)
    except Exception:
        log.exception("evaluating alerts failed")
        return []
