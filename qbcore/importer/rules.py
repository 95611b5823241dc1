"""FileRules: what the importer does with one file, from its columns to its rows written, for one entity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from qbcore.importer.records import Application, BookSnapshot, ImportBatch, Plan, Slot
from qbcore.importer.rows import Column, FileKind, ParsedFile, RowError
from qbcore.models.base import Base

# Database ids of what is written, by slot name then key ("customers" → "C0001" → 17), as the writes fill them.
Ids = dict[str, dict[str, int]]


class FileRules:
    """One file of a book import: its layout, its rows folded into records, checked, planned and written.

    The generic importer calls every hook for every file, in file order; a file without a part keeps the default.
    Money one file's records apply to another's (what they pay or credit) goes through the application hooks, so
    the file it is applied to checks and settles it without naming where it came from.
    """

    kind: FileKind
    columns: tuple[Column, ...]
    slot: Slot[Any, Any]  # its own records
    makes: tuple[Slot[Any, Any], ...] = ()  # other records it creates, summarised before its own (charge codes)
    tables: tuple[type[Base], ...] = ()  # what it writes (PostgreSQL's id sequences are caught up for them)
    # Codes it creates that need mapping before their records sync, each with where they are mapped (the summary
    # lists the new ones).
    announces: tuple[tuple[Slot[Any, Any], str], ...] = ()

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """Fold the file's rows into records in the batch, with every error the file shows on its own."""
        raise NotImplementedError

    def names(self, batch: ImportBatch) -> dict[str, set[str]]:
        """Keys of other kinds' records its records name, by slot name (they are read from the book too)."""
        return {}

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """Put in the book what it already has of the batch's records, and of those other files name."""

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Errors that show only against the book (unknown codes, wrong customers)."""
        return []

    def applications(self, batch: ImportBatch) -> list[Application]:
        """The money its records apply to other files' records."""
        return []

    def check_applications(self, batch: ImportBatch, book: BookSnapshot,
                           wanted: Sequence[Application]) -> list[RowError]:
        """Errors of the money every file applies to its records (only in the file money is applied to)."""
        return []

    def plan(self, plan: Plan) -> None:
        """Which of its records the batch creates, updates or rewrites the lines of."""

    def clear(self, plan: Plan, session: Session) -> None:
        """Delete what the files restate, before anything is written (so database guards see only final sums)."""

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Insert and update its planned records, filling ids with theirs."""

    def applied_to(self, plan: Plan) -> dict[str, set[str]]:
        """Keys of the records whose applied money the import changes through its records, by slot name."""
        return {}

    def applied_sums(self, session: Session, to: Slot[Any, Any], ids: list[int]) -> Iterable[tuple[int, Decimal]]:
        """(id, amount) of the money its records apply to these records of one kind (by database id), per record."""
        return ()

    def settle(self, plan: Plan, session: Session, files: Sequence[FileRules]) -> None:
        """Statuses that follow from the money now applied (only in the file money is applied to)."""
