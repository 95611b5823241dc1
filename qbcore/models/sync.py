"""The sync state: links to QuickBooks, jobs, settings, mappings, connection, users, audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qbcore.models.base import Base, UtcDateTime, utcnow
from qbcore.models.companies import company_fk


class EntityType(StrEnum):
    """The kinds of billing record that sync to QuickBooks."""

    CUSTOMER = "customer"
    ITEM = "item"  # a charge code
    INVOICE = "invoice"
    CREDIT_MEMO = "credit_memo"
    PAYMENT = "payment"
    CREDIT_APPLICATION = "credit_application"  # a credit memo applied to an invoice: a zero-amount QBO Payment
    VENDOR = "vendor"  # a driver, fleet owner or carrier
    SETTLEMENT = "settlement"  # a finalized driver settlement: a QBO Bill (its first share's, when split)
    SETTLEMENT_SHARE = "settlement_share"  # bill 2, 3… of a settlement split per fleet owner: a QBO Bill
    CARRIER_BILL = "carrier_bill"  # an accepted carrier invoice: a QBO Bill
    SETTLEMENT_PAYMENT = "settlement_payment"  # a paid settlement: a QBO BillPayment by check
    CARRIER_PAYMENT = "carrier_payment"  # a paid carrier bill: a QBO BillPayment by check
    SHARE_PAYMENT = "share_payment"  # a paid settlement's payment of bill 2, 3… of its split: a QBO BillPayment


# What the layers below the entity registry (labels, pages, the QuickBooks gateway) need to know of each entity
# type; everything else about it is in its module of qbcore/entities.
# How people name each entity type: (one, many). Every label on pages and in messages derives from this.
ENTITY_NOUNS: dict[EntityType, tuple[str, str]] = {
    EntityType.CUSTOMER: ("customer", "customers"),
    EntityType.ITEM: ("item (charge code)", "items"),
    EntityType.INVOICE: ("invoice", "invoices"),
    EntityType.CREDIT_MEMO: ("credit memo", "credit memos"),
    EntityType.PAYMENT: ("payment", "payments"),
    EntityType.CREDIT_APPLICATION: ("credit application", "credit applications"),
    EntityType.VENDOR: ("vendor", "vendors"),
    EntityType.SETTLEMENT: ("settlement", "settlements"),
    EntityType.SETTLEMENT_SHARE: ("split bill", "split bills"),
    EntityType.CARRIER_BILL: ("carrier bill", "carrier bills"),
    EntityType.SETTLEMENT_PAYMENT: ("settlement payment", "settlement payments"),
    EntityType.CARRIER_PAYMENT: ("carrier bill payment", "carrier bill payments"),
    EntityType.SHARE_PAYMENT: ("split bill payment", "split bill payments"),
}
# The QuickBooks entity each is pushed as.
QBO_OBJECTS: dict[EntityType, str] = {
    EntityType.CUSTOMER: "Customer",
    EntityType.ITEM: "Item",
    EntityType.INVOICE: "Invoice",
    EntityType.CREDIT_MEMO: "CreditMemo",
    EntityType.PAYMENT: "Payment",
    EntityType.CREDIT_APPLICATION: "Payment",  # a zero-amount payment linking an invoice and a credit memo
    EntityType.VENDOR: "Vendor",
    EntityType.SETTLEMENT: "Bill",
    EntityType.SETTLEMENT_SHARE: "Bill",
    EntityType.CARRIER_BILL: "Bill",
    EntityType.SETTLEMENT_PAYMENT: "BillPayment",
    EntityType.CARRIER_PAYMENT: "BillPayment",
    EntityType.SHARE_PAYMENT: "BillPayment",
}


class SyncStatus(StrEnum):
    """Where one billing record stands with QuickBooks."""

    NEVER_SYNCED = "never_synced"
    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    BLOCKED = "blocked"
    OUT_OF_DATE = "out_of_date"
    CLEARED = "cleared"
    PAID_OUTSIDE = "paid_outside"
    REMOVED = "removed"  # voided in billing after it synced: its QuickBooks twin was deleted (the old id is in note)


# Statuses that belong on the Problem Sync page.
PROBLEM_STATUSES = (
    SyncStatus.FAILED,
    SyncStatus.BLOCKED,
    SyncStatus.PENDING,
    SyncStatus.OUT_OF_DATE,
    SyncStatus.NEVER_SYNCED,
)


class Role(StrEnum):
    """What a console user may do."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class JobStatus(StrEnum):
    """The life of a bulk job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class ConnectionStatus(StrEnum):
    """The health of the QuickBooks connection."""

    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"
    DISCONNECTED = "disconnected"


class SyncRecord(Base):
    """Our link between one billing record and its QuickBooks twin."""

    __tablename__ = "sync_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The company whose QuickBooks holds (or will hold) the twin: a record never posts anywhere else.
    company_id: Mapped[int] = company_fk()
    entity_type: Mapped[EntityType] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    qbo_id: Mapped[str | None] = mapped_column(String(32))
    qbo_sync_token: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[SyncStatus] = mapped_column(String(20), default=SyncStatus.NEVER_SYNCED)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(50))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error_kind: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[str | None] = mapped_column(Text)
    blocked_by: Mapped[str | None] = mapped_column(String(120))
    last_request: Mapped[str | None] = mapped_column(Text)
    last_response: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        # One link per billing record and company: a charge code is an item in each company; a customer moved to
        # another company keeps its link to the old file beside the new one.
        UniqueConstraint("company_id", "entity_type", "entity_id"),
        Index("ix_sync_records_company_type_status", "company_id", "entity_type", "status"),
        # The problem list: per entity, by status, newest attempts first; with the other sort keys and the joins'
        # columns, its window is chosen from the index alone (0019).
        Index("ix_sync_records_type_status", "entity_type", "status", "last_attempt_at", "first_failed_at",
              "company_id", "entity_id"),
        Index("ix_sync_records_type_kind", "entity_type", "error_kind", "blocked_by"),
        Index("ix_sync_records_qbo_id", "entity_type", "qbo_id"),
        # A billing row's record in any company (ensure_sync_records, a payment's route via its bill): one seek.
        Index("ix_sync_records_type_entity", "entity_type", "entity_id"),
        # Home's counts of what waits (status IN the problem statuses, per type and company, the billing row alive):
        # read from this index alone, they cost the problems, not the whole book.
        Index("ix_sync_records_status_type", "status", "entity_type", "company_id", "entity_id"),
        # "Last sync" on Home and Problem Sync is MAX(last_synced_at): one index seek instead of a scan of the book.
        Index("ix_sync_records_last_synced_at", "last_synced_at"),
        # QuickBooks IDs lists each entity's newest syncs first (newest record first among a moment's): an index
        # walk per entity, not a sort of the book (0020 added the id, so PostgreSQL takes this index for it).
        Index("ix_sync_records_type_synced", "entity_type", "last_synced_at", "id"),
    )


class SyncAttempt(Base):
    """One push of one record: the history shown in a problem's detail."""

    __tablename__ = "sync_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sync_record_id: Mapped[int] = mapped_column(ForeignKey("sync_records.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(50))
    error_kind: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)


class Job(Base):
    """Bulk work (a resync, a pull) run by a worker, with progress and a lease."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(String(12), default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)


class CompanyLease(Base):
    """One worker at a time per QuickBooks company, so quotas hold and no record is pushed twice."""

    __tablename__ = "company_leases"

    realm_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(120))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class QuotaWindow(Base):
    """The recent QuickBooks requests of one company, shared by every worker so a lease handoff keeps the quotas."""

    __tablename__ = "quota_windows"

    realm_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # [[sent at, kind, answered at or null, id], ...] in epoch seconds for the last minute; kind is "r" (request),
    # "b" (batch) or "p" (a 429's pause). Rows of an earlier release, [[epoch seconds, kind], ...], still read.
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Setting(Base):
    """One console setting, JSON-valued."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class ItemMapping(Base):
    """Which QuickBooks item a charge code posts to."""

    __tablename__ = "item_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = company_fk()
    charge_code_id: Mapped[int] = mapped_column(ForeignKey("charge_codes.id"))
    qbo_item_id: Mapped[str | None] = mapped_column(String(32))
    qbo_item_name: Mapped[str | None] = mapped_column(String(100))
    income_account_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("company_id", "charge_code_id"),)


class CustomFieldMapping(Base):
    """One of QuickBooks' three string custom fields, filled from a load or invoice field."""

    __tablename__ = "custom_field_mappings"

    company_id: Mapped[int] = company_fk(primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    qbo_definition_id: Mapped[str] = mapped_column(String(16))
    qbo_name: Mapped[str] = mapped_column(String(40))
    source_field: Mapped[str] = mapped_column(String(40))


class QboConnection(Base):
    """One company's QuickBooks connection, with its tokens encrypted at rest."""

    __tablename__ = "qbo_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = company_fk(unique=True)
    realm_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    environment: Mapped[str] = mapped_column(String(12))
    company_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ConnectionStatus] = mapped_column(String(20), default=ConnectionStatus.DISCONNECTED)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    oauth_state: Mapped[str | None] = mapped_column(String(64))
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    connected_by: Mapped[str | None] = mapped_column(String(200))
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    # An admin's disconnect stands until someone connects again: nothing reconnects on its own meanwhile.
    disconnected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disconnected_by: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    """A console user and their role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(String(10), default=Role.VIEWER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEvent(Base):
    """Who did what, when, to what, and why; append-only (enforced by triggers)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(60), index=True)
    outcome: Mapped[str] = mapped_column(String(10), default="ok")
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # The company the action concerned, when it concerned one.
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
