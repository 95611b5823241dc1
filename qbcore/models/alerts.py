"""Alerts: where they go (channels), what is wrong now (conditions), what happened (events), what was sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qbcore.models.base import Base, UtcDateTime, utcnow


class ChannelKind(StrEnum):
    """How a channel delivers: email over SMTP, or a chat incoming webhook."""

    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"


class DeliveryStatus(StrEnum):
    """The life of one message to one channel."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The process stopped between claiming and confirming: it may have arrived, so it is never sent again.
    UNCERTAIN = "uncertain"


class AlertChannel(Base):
    """One place alerts go: an SMTP mailbox list or a chat webhook; its secret is encrypted at rest."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[ChannelKind] = mapped_column(String(10))
    # Email: host, port, security, username, sender, recipients. Webhooks keep their URL in secret_enc.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # SMTP password, or the webhook URL (a Slack or Teams URL is itself the credential).
    secret_enc: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    failures_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class AlertCondition(Base):
    """One thing that is wrong now (or was): the dedupe key, so it alerts once until it changes or clears."""

    __tablename__ = "alert_conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the last alert said (a size bucket, a status, a job id): a new value is a change worth a message.
    fingerprint: Mapped[str] = mapped_column(String(200))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AlertEvent(Base):
    """A condition opened, changed or cleared: what a message reports."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    condition_id: Mapped[int] = mapped_column(ForeignKey("alert_conditions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class AlertDelivery(Base):
    """One message to one channel (the outbox): claimed before it is sent, so a crash never sends it twice."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"))
    # What makes it one message: the channel and its events (or the digest's day): queued once, ever.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    event_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300))
    recipients: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[DeliveryStatus] = mapped_column(String(10), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        # The sender's one query: what is due now.
        Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_channel_created", "channel_id", "created_at"),
    )
