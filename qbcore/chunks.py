"""Chunking: one helper that cuts long lists into pieces, and the piece sizes the database and QuickBooks allow."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Ids in one SQL IN list: below SQLite's 999 bound-parameter limit, with room for the query's other parameters.
SQL_IN_CHUNK = 900
# Values in one QuickBooks query IN list: QuickBooks answers at most 1,000 rows a query.
QBO_IN_CHUNK = 1000
# Operations in one QuickBooks batch request: Intuit's limit.
QBO_BATCH = 30
# Rows in one bulk INSERT of the demo book: big enough to be fast, small enough to keep memory flat.
BULK_INSERT_CHUNK = 5000
# Rows in one bulk INSERT … RETURNING or UPDATE of an import: the ids (or statements) come back per piece.
BULK_WRITE_CHUNK = 2000


def chunked(values: Iterable[T], size: int) -> Iterator[list[T]]:
    """The values in order, in lists of `size` (the last one shorter); ValueError for a size below 1."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    piece: list[T] = []
    for value in values:
        piece.append(value)
        if len(piece) == size:
            yield piece
            piece = []
    if piece:
        yield piece
