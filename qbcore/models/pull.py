"""What comes back from QuickBooks: payments applied there, and drift between our records and theirs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qbcore.models.base import Base, Money, UtcDateTime, utcnow
from qbcore.models.companies import company_fk


class PulledPaymentStatus(StrEnum):
    """Where a payment entered in QuickBooks stands with the billing invoice it pays."""

    APPLIED = "applied"
    PROPOSED = "proposed"
    REJECTED = "rejected"
    REVERSED = "reversed"  # voided or deleted in QuickBooks after we applied it


class DriftKind(StrEnum):
    """How a synced record changed in QuickBooks behind our back."""

    VOID = "void"
    DELETE = "delete"
    EDIT = "edit"


class PulledPayment(Base):
    """One line of a QuickBooks payment applied to one of our synced invoices (not a payment we pushed)."""

    __tablename__ = "pulled_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = company_fk()
    qbo_payment_id: Mapped[str] = mapped_column(String(32))
    qbo_invoice_id: Mapped[str] = mapped_column(String(32))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Money]
    txn_date: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[PulledPaymentStatus] = mapped_column(String(10))
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Idempotency: one row per (QuickBooks payment, invoice), however often the change is pulled.
        # QuickBooks ids are unique only within one company.
        UniqueConstraint("company_id", "qbo_payment_id", "qbo_invoice_id"),
        Index("ix_pulled_payments_status", "status"),
    )


class PulledBillPayment(Base):
    """One line of a QuickBooks bill payment (check or card) paying one of our synced bills (not one we pushed)."""

    __tablename__ = "pulled_bill_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = company_fk()
    qbo_bill_payment_id: Mapped[str] = mapped_column(String(32))
    qbo_bill_id: Mapped[str] = mapped_column(String(32))
    # The billing row the bill is: a settlement or a carrier bill (a settlement split per fleet owner has several).
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Money]
    pay_type: Mapped[str | None] = mapped_column(String(12))  # Check or CreditCard
    txn_date: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(40))  # the check or card reference (DocNumber)
    status: Mapped[PulledPaymentStatus] = mapped_column(String(10))  # applied or reversed
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        # Idempotency: one row per (company, bill payment, bill), however often the change is pulled.
        UniqueConstraint("company_id", "qbo_bill_payment_id", "qbo_bill_id"),
        Index("ix_pulled_bill_payments_entity", "entity_type", "entity_id", "status"),
    )


class Drift(Base):
    """A synced record voided, deleted or edited in QuickBooks: what changed, and whether someone resolved it."""

    __tablename__ = "drifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = company_fk()
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    qbo_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[DriftKind] = mapped_column(String(10))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_drifts_open", "company_id", "entity_type", "qbo_id", "resolved_at"),
    )
