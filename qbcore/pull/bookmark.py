"""Where the last pull stopped, per entity, and the last known closing date; kept in the settings table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from qbcore.models import Setting
from qbcore.settings import store_setting

BOOKMARKS_KEY = "pull_bookmarks"
CLOSE_DATE_KEY = "qbo_book_close_date"
UPDATED_BY = "system@qbsync"


def _set(session: Session, key: str, value: Any) -> None:
    store_setting(session, key, value, updated_by=UPDATED_BY)


def load_bookmarks(session: Session) -> dict[str, str]:
    """changedSince per QuickBooks entity ('Invoice' → '2026-11-29T08:00:00-08:00')."""
    row = session.get(Setting, BOOKMARKS_KEY)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def save_bookmark(session: Session, entity: str, changed_since: str) -> None:
    """Move one entity's bookmark, in the caller's transaction (the same one that applied the page)."""
    bookmarks = load_bookmarks(session)
    current = bookmarks.get(entity)
    # Never move back: a slower concurrent pull finishing late must not rewind a newer bookmark.
    if current and datetime.fromisoformat(current) > datetime.fromisoformat(changed_since):
        return
    bookmarks[entity] = changed_since
    _set(session, BOOKMARKS_KEY, bookmarks)


def get_book_close_date(session: Session) -> date | None:
    """The closing date QuickBooks reported at the last pull (None when never read or not closed)."""
    row = session.get(Setting, CLOSE_DATE_KEY)
    if row is None or not row.value:
        return None
    return date.fromisoformat(str(row.value))


def save_book_close_date(session: Session, value: date | None) -> None:
    """Remember QuickBooks' closing date."""
    _set(session, CLOSE_DATE_KEY, value.isoformat() if value else None)
