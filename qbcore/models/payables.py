"""The billing system's payables: vendors (drivers, fleet owners, carriers), trucks, settlements, carrier bills.

Shaped like the receivables so the sync can register them as entities: every table has an integer id, a
natural key (code, number, or carrier + carrier's invoice number) and an updated_at that moves on edits.
"""

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
from qbcore.models.billing import Load
from qbcore.models.companies import company_fk


class SettlementStatus(StrEnum):
    """Where a driver's settlement stands in the billing system."""

    DRAFT = "draft"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"  # cancelled in billing: never sent, or its QuickBooks bill is deleted


class CarrierBillStatus(StrEnum):
    """Where a carrier's invoice for a brokered load stands."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    DISPUTED = "disputed"
    PAID = "paid"
    VOID = "void"  # cancelled in billing: never sent, or its QuickBooks bill is deleted


class Vendor(Base):
    """Someone the company pays: an owner-operator driver, a fleet owner, a carrier (one QuickBooks Vendor).

    One row per payee, with roles, because one person can be both (a fleet owner who also drives) and
    QuickBooks knows them under one DisplayName.
    """

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name QuickBooks knows the vendor by when the billing name cannot be used there (a clash); None = name.
    qbo_display_name: Mapped[str | None] = mapped_column(String(500))
    company_name: Mapped[str | None] = mapped_column(String(200))
    is_driver: Mapped[bool] = mapped_column(Boolean, default=False)
    is_fleet_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    is_carrier: Mapped[bool] = mapped_column(Boolean, default=False)
    # QuickBooks' Vendor1099: paid as an independent contractor. The tax id itself stays in QuickBooks.
    is_1099: Mapped[bool] = mapped_column(Boolean, default=True)
    terms: Mapped[str] = mapped_column(String(40), default="Net 7")
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(30))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(60), default="USA")
    # Carriers: their motor-carrier and DOT numbers, as on the broker-carrier agreement.
    mc_number: Mapped[str | None] = mapped_column(String(20))
    dot_number: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("is_driver OR is_fleet_owner OR is_carrier", name="has_a_role"),
    )


class Truck(Base):
    """A power unit, owned by a fleet owner or by the owner-operator who drives it."""

    __tablename__ = "trucks"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    plate_number: Mapped[str | None] = mapped_column(String(20))
    vin: Mapped[str | None] = mapped_column(String(17))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    owner: Mapped[Vendor] = relationship()


class PayCode(Base):
    """What a driver or carrier is paid for (line haul pay, FSC pay, detention pay, per diem, …)."""

    __tablename__ = "pay_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class DeductionCode(Base):
    """What is taken off a settlement (fuel advance, chassis rental, insurance, escrow, …)."""

    __tablename__ = "deduction_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class PayablesAccountMapping(Base):
    """Which QuickBooks account (or item) of a company a pay or deduction code posts to there; none = unmapped."""

    __tablename__ = "payables_account_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Each company has its own chart of accounts: a code maps once per company, as charge codes map to items.
    company_id: Mapped[int] = company_fk()
    pay_code_id: Mapped[int | None] = mapped_column(ForeignKey("pay_codes.id"))
    deduction_code_id: Mapped[int | None] = mapped_column(ForeignKey("deduction_codes.id"))
    # The account by name until the sync resolves its QuickBooks id (as for items).
    qbo_account_name: Mapped[str | None] = mapped_column(String(100))
    qbo_account_id: Mapped[str | None] = mapped_column(String(32))
    qbo_item_id: Mapped[str | None] = mapped_column(String(32))
    qbo_item_name: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("(pay_code_id IS NULL) <> (deduction_code_id IS NULL)", name="exactly_one_code"),
        UniqueConstraint("company_id", "pay_code_id"),
        UniqueConstraint("company_id", "deduction_code_id"),
    )


class Settlement(Base):
    """One driver's pay for one period: pay per load minus deductions."""

    __tablename__ = "settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    # QuickBooks' bill number (DocNumber) is at most 21 characters.
    number: Mapped[str] = mapped_column(String(21), unique=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    settlement_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[SettlementStatus] = mapped_column(String(12), default=SettlementStatus.DRAFT)
    pay_total: Mapped[Money]
    deduction_total: Mapped[Money]
    net_pay: Mapped[Money]
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paid_on: Mapped[date | None] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    driver: Mapped[Vendor] = relationship()
    loads: Mapped[list[SettlementLoad]] = relationship(
        back_populates="settlement", order_by="SettlementLoad.position", cascade="all, delete-orphan"
    )
    deductions: Mapped[list[SettlementDeduction]] = relationship(
        back_populates="settlement", order_by="SettlementDeduction.position", cascade="all, delete-orphan"
    )
    # Its QuickBooks bills as vendor routing made them (written by the console; share 1 is its own bill).
    shares: Mapped[list[SettlementShare]] = relationship(order_by="SettlementShare.position", viewonly=True)

    __table_args__ = (
        UniqueConstraint("driver_id", "period_start"),
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("settlement_date >= period_end", name="settled_after_period"),
        CheckConstraint("status IN ('draft', 'finalized', 'paid', 'void')", name="status_known"),
        CheckConstraint("pay_total >= 0 AND deduction_total >= 0", name="totals_not_negative"),
        # Within half a cent: SQLite keeps numerics as floating point.
        CheckConstraint("abs(net_pay - (pay_total - deduction_total)) < 0.005", name="net_is_pay_less_deductions"),
        CheckConstraint("status <> 'draft' OR finalized_at IS NULL", name="draft_not_finalized"),
        CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name="paid_has_date"),
    )


class SettlementLoad(Base):
    """One load a settlement pays for, and the truck it ran on (whose owner the routing may bill)."""

    __tablename__ = "settlement_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id", ondelete="CASCADE"))
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"), index=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("trucks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)

    settlement: Mapped[Settlement] = relationship(back_populates="loads")
    load: Mapped[Load] = relationship()
    truck: Mapped[Truck] = relationship()
    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="settlement_load", order_by="SettlementLine.position", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("settlement_id", "load_id"),)


class SettlementLine(Base):
    """One pay line of a load on a settlement."""

    __tablename__ = "settlement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_load_id: Mapped[int] = mapped_column(
        ForeignKey("settlement_loads.id", ondelete="CASCADE"), index=True
    )
    pay_code_id: Mapped[int] = mapped_column(ForeignKey("pay_codes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(String(400))
    quantity: Mapped[Quantity]
    rate: Mapped[Money]
    amount: Mapped[Money]

    settlement_load: Mapped[SettlementLoad] = relationship(back_populates="lines")
    pay_code: Mapped[PayCode] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("rate >= 0", name="rate_not_negative"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class SettlementDeduction(Base):
    """One deduction taken off a settlement; tied to a truck when it is that truck's (chassis, insurance)."""

    __tablename__ = "settlement_deductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id", ondelete="CASCADE"), index=True)
    deduction_code_id: Mapped[int] = mapped_column(ForeignKey("deduction_codes.id"), index=True)
    truck_id: Mapped[int | None] = mapped_column(ForeignKey("trucks.id"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(String(400))
    amount: Mapped[Money]

    settlement: Mapped[Settlement] = relationship(back_populates="deductions")
    deduction_code: Mapped[DeductionCode] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class SettlementShare(Base):
    """One QuickBooks bill of a settlement: to whom (the driver, or a fleet owner whose trucks ran its loads).

    Vendor routing decides the payees: one share for most settlements, one per fleet owner when the loads ran on
    several owners' trucks and Settings bills fleet owners. Share 1 is the settlement's own bill (its number); the
    others are numbered "<number>-2", "-3"… Written by the console, never by billing, and frozen once any of the
    settlement's bills may be in QuickBooks, so a change of routing never moves a bill that is already there.
    """

    __tablename__ = "settlement_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    payee_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    doc_number: Mapped[str] = mapped_column(String(21))
    # The settlement's day, copied so the share's Problem Sync row has a date without a join.
    bill_date: Mapped[date] = mapped_column(Date)
    # What the share owes as last routed (pay of the payee's loads less the deductions it carries); the payloads
    # recompute it from the settlement's lines, these figures are for the pages.
    pay_total: Mapped[Money]
    deduction_total: Mapped[Money]
    net_pay: Mapped[Money]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    settlement: Mapped[Settlement] = relationship()
    payee: Mapped[Vendor] = relationship()

    __table_args__ = (
        UniqueConstraint("settlement_id", "position"),
        UniqueConstraint("settlement_id", "payee_id"),
        CheckConstraint("position >= 1", name="position_positive"),
    )


class CarrierBill(Base):
    """An outside carrier's invoice for a load the company brokered to it."""

    __tablename__ = "carrier_bills"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("loads.id"), index=True)
    # The carrier's own invoice number: the bill number (DocNumber, at most 21) in QuickBooks.
    carrier_invoice_number: Mapped[str] = mapped_column(String(21))
    bill_date: Mapped[date] = mapped_column(Date, index=True)
    due_date: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(String(40), default="Net 30")
    status: Mapped[CarrierBillStatus] = mapped_column(String(12), default=CarrierBillStatus.RECEIVED)
    total: Mapped[Money]
    dispute_reason: Mapped[str | None] = mapped_column(String(400))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paid_on: Mapped[date | None] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    carrier: Mapped[Vendor] = relationship()
    load: Mapped[Load] = relationship()
    lines: Mapped[list[CarrierBillLine]] = relationship(
        back_populates="carrier_bill", order_by="CarrierBillLine.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("carrier_id", "carrier_invoice_number"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("due_date >= bill_date", name="due_after_bill"),
        CheckConstraint("status IN ('received', 'accepted', 'disputed', 'paid', 'void')", name="status_known"),
        CheckConstraint("status <> 'disputed' OR dispute_reason IS NOT NULL", name="dispute_has_reason"),
        CheckConstraint("(status = 'paid') = (paid_on IS NOT NULL)", name="paid_has_date"),
    )


class CarrierBillLine(Base):
    """One charge on a carrier's invoice (line haul, FSC, detention, …), by pay code."""

    __tablename__ = "carrier_bill_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_bill_id: Mapped[int] = mapped_column(ForeignKey("carrier_bills.id", ondelete="CASCADE"), index=True)
    pay_code_id: Mapped[int] = mapped_column(ForeignKey("pay_codes.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(String(400))
    amount: Mapped[Money]

    carrier_bill: Mapped[CarrierBill] = relationship(back_populates="lines")
    pay_code: Mapped[PayCode] = relationship()

    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)


# Weekly settlement runs and A/P views read a driver's settlements by period and status.
Index("ix_settlements_status_date", Settlement.status, Settlement.settlement_date)
Index("ix_carrier_bills_status_date", CarrierBill.status, CarrierBill.bill_date)
