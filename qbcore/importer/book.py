"""Reading the part of the book an import touches, in a few bulk queries (never one per row)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.importer.files import FILES
from qbcore.importer.records import CHARGE_CODES, BookSnapshot, ImportBatch
from qbcore.models import ChargeCode


def read_book(session: Session, batch: ImportBatch) -> BookSnapshot:
    """Existing records matching the batch's natural keys and those its records name, file by file."""
    book = BookSnapshot()
    book.of(CHARGE_CODES).update({code: id_ for code, id_ in session.execute(select(ChargeCode.code, ChargeCode.id))})
    named: dict[str, set[str]] = defaultdict(set)
    for rules in FILES:
        for name, keys in rules.names(batch).items():
            named[name] |= keys
    for rules in FILES:
        rules.read_book(session, batch, book, named[rules.slot.name])
    return book
