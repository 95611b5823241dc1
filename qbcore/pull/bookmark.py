"""Where a company's last pull stopped, per entity, and its last known closing date; kept in its settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from qbcore.settings import company_setting_row, store_company_setting

BOOKMARKS_KEY = "pull_bookmarks"
CLOSE_DATE_KEY = "qbo_book_close_date"
UPDATED_BY = "system@qbsync"


def _set(session: Session, key: str, value: Any, company_id: int | None) -> None:
    store_company_setting(session, key, value, updated_by=UPDATED_BY, company_id=company_id)


def load_bookmarks(session: Session, company_id: int | None = None) -> dict[str, str]:
    """changedSince per QuickBooks entity ('Invoice' → '2026-11-29T08:00:00-08:00') of one company."""
    row = company_setting_row(session, BOOKMARKS_KEY, company_id)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def save_bookmark(session: Session, entity: str, changed_since: str, company_id: int | None = None) -> None:
    """Move one entity's bookmark, in the caller's transaction (the same one that applied the page)."""
    bookmarks = load_bookmarks(session, company_id)
    current = bookmarks.get(entity)
    # Never move back: a slower concurrent pull finishing late must not rewind a newer bookmark.
    if current and datetime.fromisoformat(current) > datetime.fromisoformat(changed_since):
        return
    bookmarks[entity] = changed_since
    _set(session, BOOKMARKS_KEY, bookmarks, company_id)


def get_book_close_date(session: Session, company_id: int | None = None) -> date | None:
    """The closing date a company's QuickBooks reported at the last pull (None when never read or not closed)."""
    row = company_setting_row(session, CLOSE_DATE_KEY, company_id)
    if row is None or not row.value:
        return None
    return date.fromisoformat(str(row.value))


def save_book_close_date(session: Session, value: date | None, company_id: int | None = None) -> None:
    """Remember a company's QuickBooks closing date."""
    _set(session, CLOSE_DATE_KEY, value.isoformat() if value else None, company_id)
