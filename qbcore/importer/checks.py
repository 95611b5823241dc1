"""Checking import records against the book (pure): unknown codes, wrong customers, cycles, over-application."""

from __future__ import annotations

from qbcore.importer.files import FILES
from qbcore.importer.records import BookSnapshot, ImportBatch
from qbcore.importer.rows import RowError


def check_batch(batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    """Every error that shows only against the book: each file's own, then those of the money it applies."""
    errors: list[RowError] = []
    for rules in FILES:
        errors.extend(rules.check(batch, book))
    wanted = [application for rules in FILES for application in rules.applications(batch)]
    for rules in FILES:
        errors.extend(rules.check_applications(batch, book, wanted))
    return errors
