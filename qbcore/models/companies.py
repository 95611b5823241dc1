"""QuickBooks companies: each file the console keeps in sync, and the settings that belong to one company."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, ScalarSelect, String, select
from sqlalchemy.orm import Mapped, mapped_column

from qbcore.models.base import Base, UtcDateTime, utcnow


class Company(Base):
    """One QuickBooks company file (a carrier file, a broker file, a subsidiary), with its own connection."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # New customers go to the default company; exactly one company is the default.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Pay functions: driver settlements (and their drivers and fleet owners) post to one company, carrier
    # bills (and their carriers) to one — possibly the same; exactly one company holds each.
    driver_pay: Mapped[bool] = mapped_column(Boolean, default=False)
    carrier_pay: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))


class CompanySetting(Base):
    """One setting of one company (what syncs and how, the pull's bookmarks), JSON-valued."""

    __tablename__ = "company_settings"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


def default_company_id() -> ScalarSelect[int]:
    """The default company's id as SQL, so a row written without a company lands in the default one."""
    return select(Company.id).where(Company.is_default.is_(True)).order_by(Company.id).limit(1).scalar_subquery()


def company_fk(**kwargs: Any) -> Any:
    """A NOT NULL company column defaulting to the default company (customers, sync records, mappings, …)."""
    return mapped_column(ForeignKey("companies.id"), default=default_company_id(), **kwargs)
