"""Read-only views of the billing book: counts and totals by entity and by month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.models import ChargeCode, ChargeLine, CreditMemo, Customer, Invoice, Load, Payment


@dataclass(frozen=True)
class BookCount:
    """How many of one kind of record, and their dollar total where it has one."""

    entity: str
    count: int
    total: Decimal | None


def count_book(session: Session) -> list[BookCount]:
    """Counts and totals of every billing entity."""
    rows = [
        BookCount("Customers", session.scalar(select(func.count()).select_from(Customer)) or 0, None),
        BookCount("Charge codes", session.scalar(select(func.count()).select_from(ChargeCode)) or 0, None),
        BookCount("Loads", session.scalar(select(func.count()).select_from(Load)) or 0, None),
    ]
    for label, model, amount in (
        ("Invoices", Invoice, Invoice.total),
        ("Payments", Payment, Payment.amount),
        ("Credit memos", CreditMemo, CreditMemo.total),
    ):
        count, total = session.execute(select(func.count(), func.coalesce(func.sum(amount), 0))
                                       .select_from(model)).one()
        rows.append(BookCount(label, count, Decimal(str(total)).quantize(Decimal("0.01"))))
    rows.append(BookCount("Charge lines", session.scalar(select(func.count()).select_from(ChargeLine)) or 0, None))
    return rows


def _month(column: Any) -> Any:
    # SQLite has strftime, PostgreSQL to_char; both give 'YYYY-MM'.
    return func.substr(func.cast(column, type_=Invoice.number.type), 1, 7)


# Home's chart of dollars per month shows this many months: a ten-year book's 120 would not read, nor be quick.
CHART_MONTHS = 12

_MONTHLY = (
    ("Invoices", Invoice, Invoice.invoice_date, Invoice.total),
    ("Payments", Payment, Payment.payment_date, Payment.amount),
    ("Credit memos", CreditMemo, CreditMemo.memo_date, CreditMemo.total),
)


def first_chart_day(session: Session, months: int = CHART_MONTHS) -> date | None:
    """The first day of the oldest month the chart shows: `months` months up to the book's newest record."""
    newest = [day for _, _, column, _ in _MONTHLY if (day := session.scalar(select(func.max(column)))) is not None]
    if not newest:
        return None
    month = max(newest).year * 12 + max(newest).month - 1 - (months - 1)
    return date(month // 12, month % 12 + 1, 1)


def list_monthly_totals(session: Session, months: int = CHART_MONTHS) -> pd.DataFrame:
    """Invoiced, paid and credited dollars per month, the last `months` (columns: month, entity, count, total)."""
    since = first_chart_day(session, months)
    frames = []
    for label, model, date_col, amount in _MONTHLY:
        month = _month(date_col).label("month")
        rows = session.execute(
            select(month, func.count(), func.sum(amount)).select_from(model)
            .where(date_col >= since).group_by(month).order_by(month)
        ).all() if since is not None else []
        frames.append(pd.DataFrame(
            [(m, label, c, float(t or 0)) for m, c, t in rows], columns=["month", "entity", "count", "total"]
        ))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
