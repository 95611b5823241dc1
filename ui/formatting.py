"""How the console writes money, dates, statuses and problem rows on screen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from qbcore import labels
from qbcore.models import ENTITY_NOUNS, EntityType
from qbcore.problems.queries import ProblemRow
from ui.markup import plain

STATUS_LABELS = labels.SYNC_STATUS

# Tab titles: "Credit Memos", as finance teams write the screen names.
ENTITY_LABELS = {entity: many.title() for entity, (_, many) in ENTITY_NOUNS.items()}


def format_money(amount: Decimal | float | None) -> str:
    """$1,234.56, -$7,483.00 (or an em dash for none)."""
    return labels.money(amount)


def money_columns(*headers: str, width: int | None = None, help: str | None = None) -> dict[str, Any]:
    """st.dataframe column settings that show these numeric columns as $1,234.56 (right-aligned, sorting by value)."""
    return {header: st.column_config.NumberColumn(header, format="dollar", width=width,
                                                  help=plain(help) if help is not None else None)
            for header in headers}


def format_count(entity_type: EntityType, count: int) -> str:
    """"1 invoice", "23 invoices"."""
    one, many = ENTITY_NOUNS[entity_type]
    return f"{count:,} {one if count == 1 else many}"


def format_moment(moment: datetime | None) -> str:
    """2026-11-29 14:03 UTC (or "never")."""
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def problems_frame(rows: Sequence[ProblemRow], *, company: bool = False) -> pd.DataFrame:
    """The grid's rows: one per problem, id first, numbers as numbers so the grid can sort and filter them.

    With `company` (several QuickBooks companies), a company column follows the customer.
    """
    frame = pd.DataFrame(
        {
            "id": [r.record_id for r in rows],
            "reference": [r.reference for r in rows],
            "customer": [r.customer for r in rows],
            "amount": [None if r.amount is None else float(r.amount) for r in rows],
            "date": [_day(r.record_date) for r in rows],
            "status": [STATUS_LABELS[r.status] for r in rows],
            "error_kind": [labels.label(labels.ERROR_KIND, r.error_kind) for r in rows],
            "message": [r.error_message or "" for r in rows],
            "fix_hint": [r.fix_hint for r in rows],
            "qbo_code": [r.error_code or "" for r in rows],
            "attempts": [r.attempts for r in rows],
            "open_days": [r.open_days for r in rows],
            "last_attempt": ["" if r.last_attempt_at is None else r.last_attempt_at.strftime("%Y-%m-%d %H:%M")
                             for r in rows],
            "qbo_id": [r.qbo_id or "" for r in rows],
            "vendor_kind": [r.vendor_kind for r in rows],
            "period": [r.period for r in rows],
            # Empty (not None) where nothing was paid there, so the grid's column stays numeric.
            "paid_in_qbo": pd.to_numeric(pd.Series([None if r.paid_in_qbo is None else float(r.paid_in_qbo)
                                                    for r in rows], dtype=object)),
        },
        columns=["id", "reference", "customer", "amount", "date", "status", "error_kind", "message", "fix_hint",
                 "qbo_code", "attempts", "open_days", "last_attempt", "qbo_id", "vendor_kind", "period",
                 "paid_in_qbo"],
    )
    if company:
        frame.insert(frame.columns.get_loc("customer") + 1, "company", [r.company for r in rows])
    return frame
