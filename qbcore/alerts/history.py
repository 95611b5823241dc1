"""Read-only views of alerts for pages and the CLI: what was sent, when, to whom; failing channels; open conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.models import AlertChannel, AlertCondition, AlertDelivery, DeliveryStatus

# How a delivery's status reads on a page.
DELIVERY_STATUS = {
    DeliveryStatus.QUEUED: "Waiting to send",
    DeliveryStatus.SENDING: "Sending",
    DeliveryStatus.SENT: "Sent",
    DeliveryStatus.FAILED: "Failed (gave up)",
    DeliveryStatus.UNCERTAIN: "May not have arrived (not resent)",
}
PURPOSE = {"alert": "Alert", "digest": "Daily digest", "test": "Test"}
# A channel failing this many times in a row shows on Home.
FAILING_AFTER = 3


@dataclass(frozen=True)
class DeliveryRow:
    """One line of the history."""

    queued_at: datetime
    channel: str
    purpose: str
    subject: str
    recipients: str
    status: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    error: str


@dataclass(frozen=True)
class FailingChannel:
    """A channel whose last sends failed."""

    name: str
    failures: int
    last_error: str
    last_failed_at: datetime | None


@dataclass(frozen=True)
class OpenCondition:
    """Something alerts reported and that still holds."""

    title: str
    opened_at: datetime
    changed_at: datetime


def list_deliveries(session: Session, *, limit: int = 200) -> list[DeliveryRow]:
    """The newest deliveries first, with their channel's name."""
    rows = session.execute(
        select(AlertDelivery, AlertChannel.name).join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
        .order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()).limit(limit)).all()
    return [DeliveryRow(
        queued_at=d.created_at, channel=name, purpose=PURPOSE.get(d.purpose, d.purpose.capitalize()),
        subject=d.subject, recipients=d.recipients, status=DELIVERY_STATUS[DeliveryStatus(d.status)],
        attempts=d.attempts, sent_at=d.sent_at,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.QUEUED.value else None,
        error=d.last_error or "") for d, name in rows]


def list_failing_channels(session: Session, *, failures: int = FAILING_AFTER) -> list[FailingChannel]:
    """Enabled channels that failed at least `failures` times in a row."""
    return [FailingChannel(c.name, c.failures_in_a_row, c.last_error or "", c.last_failed_at)
            for c in session.scalars(select(AlertChannel).where(
                AlertChannel.enabled.is_(True), AlertChannel.failures_in_a_row >= failures)
                .order_by(AlertChannel.name))]


def list_open_conditions(session: Session) -> list[OpenCondition]:
    """What alerts reported that still holds, newest change first."""
    return [OpenCondition(str(c.facts.get("title", c.key)), c.opened_at, c.changed_at)
            for c in session.scalars(select(AlertCondition).where(AlertCondition.active.is_(True))
                                     .order_by(AlertCondition.changed_at.desc()))]
