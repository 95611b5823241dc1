"""Aging buckets, shared by receivables and payables: days past due, and one bucket's totals side by side."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")
AGING_BUCKETS = ("Current", "1–30", "31–60", "61–90", "90+")


@dataclass(frozen=True)
class AgingRow:
    """One aging bucket of open balances, side by side."""

    bucket: str
    ours: Decimal
    qbo: Decimal

    @property
    def difference(self) -> Decimal:
        """Ours minus QuickBooks'."""
        return self.ours - self.qbo


def aging_bucket(due: date | None, as_of: date) -> str:
    """Current, 1–30, 31–60, 61–90 or 90+ days past due."""
    if due is None:
        return AGING_BUCKETS[0]
    late = (as_of - due).days
    if late <= 0:
        return AGING_BUCKETS[0]
    if late <= 30:
        return AGING_BUCKETS[1]
    if late <= 60:
        return AGING_BUCKETS[2]
    if late <= 90:
        return AGING_BUCKETS[3]
    return AGING_BUCKETS[4]


def aging_rows(entries: Iterable[tuple[date | None, Decimal, date | None, Decimal]], as_of: date) -> list[AgingRow]:
    """Every bucket from (our due date, our open, QuickBooks' due date, its open) per record."""
    ours: dict[str, Decimal] = defaultdict(lambda: ZERO)
    theirs: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for our_due, our_open, their_due, their_open in entries:
        ours[aging_bucket(our_due, as_of)] += our_open
        theirs[aging_bucket(their_due or our_due, as_of)] += their_open
    return [AgingRow(bucket, ours[bucket], theirs[bucket]) for bucket in AGING_BUCKETS]


def qbo_date(value: Any) -> date | None:
    """A QuickBooks date ("2026-11-30") as a date; None when absent or malformed."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
