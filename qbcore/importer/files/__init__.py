"""The importer's files, one module each, in the order they are read and applied (as the entities' ImportFiles)."""

from __future__ import annotations

from typing import Any

from qbcore.entities.registry import IMPORT_FILES
from qbcore.importer.files import carrier_bills, credit_memos, customers, invoices, payments, settlements, vendors
from qbcore.importer.records import Slot
from qbcore.importer.rules import FileRules

FILES: tuple[FileRules, ...] = (customers.FILE, invoices.FILE, payments.FILE, credit_memos.FILE, vendors.FILE,
                                settlements.FILE, carrier_bills.FILE)

# What an import creates and updates, in summary order: each file's other records, then its own.
SLOTS: tuple[Slot[Any, Any], ...] = tuple(dict.fromkeys(
    slot for rules in FILES for slot in (*rules.makes, rules.slot)))
KINDS: tuple[str, ...] = tuple(slot.name for slot in SLOTS)

if [rules.kind.value for rules in FILES] != [f.kind for f in IMPORT_FILES]:  # a programming error: fail at import
    raise RuntimeError(f"the importer's files {[r.kind.value for r in FILES]} are not the entities' import files")
