"""The billing system (drayage TMS): customers, charge codes, loads, invoices, payments, credit memos."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qbcore.models.base import Base, Money, Quantity, UtcDateTime, utcnow
from qbcore.models.companies import company_fk


class InvoiceStatus(StrEnum):
    """Where an invoice stands in the billing system."""

    DRAFT = "draft"
    APPROVED = "approved"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class PaymentMethod(StrEnum):
    """How the customer paid."""

    CHECK = "check"
    ACH = "ach"
    WIRE = "wire"
    CARD = "card"


class Customer(Base):
    """Who is billed: importer, forwarder or broker; may be a sub-customer of a parent."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The QuickBooks company the customer and all its invoices, payments and credit memos post to.
    company_id: Mapped[int] = company_fk(index=True)
    # The name QuickBooks knows the customer by when the billing name cannot be used there (a clash); None = name.
    qbo_display_name: Mapped[str | None] = mapped_column(String(500))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    billing_email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    terms: Mapped[str] = mapped_column(String(40), default="Net 30")
    branch: Mapped[str | None] = mapped_column(String(80))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(60), default="USA")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    parent: Mapped[Customer | None] = relationship(remote_side=[id])

    __table_args__ = (CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)


class ChargeCode(Base):
    """A billable charge (BASE, FSC, CHASSIS, …); maps to a QuickBooks item."""

    __tablename__ = "charge_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Load(Base):
    """One container move."""

    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    load_number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    container_number: Mapped[str] = mapped_column(String(11))
    size_type: Mapped[str] = mapped_column(String(8))
    bol: Mapped[str | None] = mapped_column(String(40))
    reference_number: Mapped[str | None] = mapped_column(String(40))
    pickup_location: Mapped[str] = mapped_column(String(120))
    pickup_date: Mapped[date] = mapped_column(Date)
    delivery_location: Mapped[str] = mapped_column(String(200))
    delivery_date: Mapped[date] = mapped_column(Date)
    chassis_number: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        CheckConstraint("length(container_number) = 11", name="container_number_length"),
        CheckConstraint("delivery_date >= pickup_date", name="delivery_after_pickup"),
    )


class Invoice(Base):
    """An invoice: one charge set per load; combined when it bills several loads."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    invoice_date: Mapped[date] = mapped_column(Date, index=True)
    due_date: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(String(40), default="Net 30")
    status: Mapped[InvoiceStatus] = mapped_column(String(20), default=InvoiceStatus.APPROVED)
    is_combined: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[Money]
    memo: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    charge_sets: Mapped[list[ChargeSet]] = relationship(
        back_populates="invoice", order_by="ChargeSet.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("due_date >= invoice_date", name="due_after_invoice"),
        CheckConstraint(
            "status IN ('draft', 'approved', 'partially_paid', 'paid', 'void')", name="status_known"
        ),
    )


class ChargeSet(Base):
    """The charges of one load on an invoice."""

    __tablename__ = "charge_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)

    invoice: Mapped[Invoice] = relationship(back_populates="charge_sets")
    load: Mapped[Load] = relationship()
    lines: Mapped[list[ChargeLine]] = relationship(
        back_populates="charge_set", order_by="ChargeLine.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("invoice_id", "load_id"),)


class ChargeLine(Base):
    """One charge of a charge set."""

    __tablename__ = "charge_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    charge_set_id: Mapped[int] = mapped_column(ForeignKey("charge_sets.id", ondelete="CASCADE"), index=True)
    charge_code_id: Mapped[int] = mapped_column(ForeignKey("charge_codes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(String(400))
    quantity: Mapped[Quantity]
    rate: Mapped[Money]
    amount: Mapped[Money]

    charge_set: Mapped[ChargeSet] = relationship(back_populates="lines")
    charge_code: Mapped[ChargeCode] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("rate >= 0", name="rate_not_negative"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class Payment(Base):
    """Money received from a customer, applied to invoices and credit memos."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(String(10))
    reference_number: Mapped[str | None] = mapped_column(String(40))
    payment_date: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Money]
    memo: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    applications: Mapped[list[PaymentApplication]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("method IN ('check', 'ach', 'wire', 'card')", name="method_known"),
    )


class PaymentApplication(Base):
    """Part of a payment applied to one invoice, or a credit memo used alongside it."""

    __tablename__ = "payment_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    credit_memo_id: Mapped[int | None] = mapped_column(ForeignKey("credit_memos.id"), index=True)
    amount: Mapped[Money]

    payment: Mapped[Payment] = relationship(back_populates="applications")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "(invoice_id IS NULL) <> (credit_memo_id IS NULL)", name="exactly_one_target"
        ),
    )


class CreditMemo(Base):
    """A credit to a customer (e.g. disputed detention), applied to invoices."""

    __tablename__ = "credit_memos"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    memo_date: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    total: Mapped[Money]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[CreditMemoLine]] = relationship(
        back_populates="credit_memo", order_by="CreditMemoLine.position", cascade="all, delete-orphan"
    )
    applications: Mapped[list[CreditMemoApplication]] = relationship(
        back_populates="credit_memo", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("total >= 0", name="total_not_negative"),)


class CreditMemoLine(Base):
    """One credited charge."""

    __tablename__ = "credit_memo_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_memo_id: Mapped[int] = mapped_column(ForeignKey("credit_memos.id", ondelete="CASCADE"), index=True)
    charge_code_id: Mapped[int] = mapped_column(ForeignKey("charge_codes.id"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(String(400))
    quantity: Mapped[Quantity]
    rate: Mapped[Money]
    amount: Mapped[Money]

    credit_memo: Mapped[CreditMemo] = relationship(back_populates="lines")
    charge_code: Mapped[ChargeCode] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("rate >= 0", name="rate_not_negative"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class CreditMemoApplication(Base):
    """Part of a credit memo applied to an invoice."""

    __tablename__ = "credit_memo_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_memo_id: Mapped[int] = mapped_column(ForeignKey("credit_memos.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Money]

    credit_memo: Mapped[CreditMemo] = relationship(back_populates="applications")
    invoice: Mapped[Invoice] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


# The problem list and month views filter invoices by customer and date together.
Index("ix_invoices_customer_date", Invoice.customer_id, Invoice.invoice_date)
