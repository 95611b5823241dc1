"""Bulk writes of an import: inserts that hand back ids, plain inserts and updates by id, in chunks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from qbcore.chunks import BULK_INSERT_CHUNK, BULK_WRITE_CHUNK, chunked
from qbcore.models.base import Base


def insert_returning(session: Session, model: type[Base], key: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert rows; the new ids by their key column's value."""
    ids: dict[str, int] = {}
    for part in chunked(rows, BULK_WRITE_CHUNK):
        for row in session.execute(insert(model).returning(model.id, key), part):  # type: ignore[attr-defined]
            ids[row[1]] = row[0]
    return ids


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert rows whose ids nothing reads back."""
    for part in chunked(rows, BULK_INSERT_CHUNK):
        session.execute(insert(model), part)


def update_by_id(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Update rows by their "id" key."""
    # Rows of one executemany must share their keys; group them by key set.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        for part in chunked(group, BULK_WRITE_CHUNK):
            session.execute(update(model), part)
