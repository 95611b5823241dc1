"""Planning an import: which records the batch creates and which it updates, compared with the book."""

from __future__ import annotations

from qbcore.importer.files import FILES, KINDS
from qbcore.importer.records import CHARGE_CODES, BookSnapshot, ImportBatch, Plan

__all__ = ["KINDS", "Plan", "make_plan"]


def make_plan(batch: ImportBatch, book: BookSnapshot) -> Plan:
    """Which keys of each kind the batch creates and which it updates, compared with the book."""
    plan = Plan(batch, book)
    known_codes = book.of(CHARGE_CODES)
    plan.create[CHARGE_CODES.name] = sorted(c for c in batch.of(CHARGE_CODES) if c not in known_codes)
    for rules in FILES:
        rules.plan(plan)
    return plan
