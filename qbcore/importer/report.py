"""Saying what an import found or did, in the words the page and the command line both use."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor
from qbcore.db import transaction
from qbcore.entities.registry import IMPORT_ENTITY, IMPORT_FILES
from qbcore.export import safe_csv_bytes
from qbcore.importer.files import FILES
from qbcore.importer.layout import FILE_LABELS, FileKind
from qbcore.importer.load import ImportResult, import_files
from qbcore.importer.plan import KINDS
from qbcore.importer.rows import RowError
from qbcore.labels import plural
from qbcore.models import ENTITY_NOUNS

# What each kind of record is called: a file's records by their entity's nouns, and the codes, loads and trucks
# the lines make.
KIND_LABELS = {"charge_codes": "charge codes", "loads": "loads", "pay_codes": "pay codes",
              "deduction_codes": "deduction codes", "trucks": "trucks",
               **{kind: ENTITY_NOUNS[entity_type][1] for kind, entity_type in IMPORT_ENTITY.items()}}


def describe_error(error: RowError) -> str:
    """One line: file, row, column and what is wrong."""
    where = f"{FILE_LABELS[error.file]} row {error.row}"
    if error.column:
        where += f", column {error.column}"
    return f"{where}: {error.message}"


ERROR_HEADER = ("File", "Row", "Column", "What is wrong")
SUMMARY_HEADER = ("Records", "Created", "Updated", "Unchanged", "Marked out of date")


def error_rows(result: ImportResult) -> list[tuple[str, int, str, str]]:
    """The listed errors as table rows (file label, row, column, message)."""
    return [(FILE_LABELS[e.file], e.row, e.column, e.message) for e in result.errors]


def errors_csv(result: ImportResult) -> bytes:
    """The listed errors as a spreadsheet-safe CSV (a cell's formula-looking text stays inert)."""
    return safe_csv_bytes(ERROR_HEADER, error_rows(result))


def summary_rows(result: ImportResult) -> list[tuple[str, int, int, int, int]]:
    """Created / updated / unchanged / marked out of date, one row per kind the files hold."""
    return [(KIND_LABELS[k].capitalize(), s.created, s.updated, s.unchanged, s.out_of_date)
            for k in KINDS if (s := result.summary[k]).created + s.updated + s.unchanged]


def new_codes(result: ImportResult) -> list[tuple[str, str, str]]:
    """The codes other than charge codes the import creates: (kind, where to map them, the codes) per kind."""
    return [(slot.name, where, ", ".join(codes)) for rules in FILES for slot, where in rules.announces
            if (codes := result.created_codes.get(slot.name))]


def describe_result(result: ImportResult, *, dry_run: bool = False) -> list[str]:
    """The summary lines: created / updated / unchanged per kind, and what QuickBooks will be told."""
    lines = []
    for kind in KINDS:
        s = result.summary[kind]
        if s.created == s.updated == s.unchanged == 0:
            continue
        line = f"{KIND_LABELS[kind]}: {s.created} created, {s.updated} updated, {s.unchanged} unchanged"
        if s.out_of_date:
            line += f" ({s.out_of_date} already in QuickBooks, marked out of date so the next sync updates them)"
        lines.append(line)
    if result.created_charge_codes:
        lines.append("new charge codes (map them to QuickBooks items in Settings): "
                     + ", ".join(result.created_charge_codes))
    lines.extend(f"new {KIND_LABELS[kind]} ({where}): {codes}" for kind, where, codes in new_codes(result))
    for kind, columns in result.ignored_columns.items():
        lines.append(f"{kind}: ignored columns not in the layout: {', '.join(columns)}")
    if dry_run:
        lines.append("dry run: nothing was written")
    return lines or ["nothing was imported: the files hold only their header rows"]


def run_cli_import(factory: sessionmaker[Session], paths: Mapping[FileKind, Path], actor: Actor, *,
                   dry_run: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
                   company_id: int | None = None) -> int:
    """Read the files, import them (or only validate), print the outcome; returns the exit code."""
    files: dict[FileKind, bytes] = {}
    for kind, path in paths.items():
        try:
            files[kind] = path.read_bytes()
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror or exc}", file=err)
            return 2
    if not files:
        options = [f.option for f in IMPORT_FILES]
        print(f"error: give at least one file: {', '.join(options[:-1])} or {options[-1]}", file=err)
        return 2
    with transaction(factory) as session:
        result = import_files(files, session=session, actor=actor, dry_run=dry_run, company_id=company_id)
    if not result.is_valid:
        for error in result.errors:
            print(describe_error(error), file=err)
        more = result.error_count - len(result.errors)
        tail = f" (the first {len(result.errors)} are listed; {more} more)" if more else ""
        print(f"{plural(result.error_count, 'error')}{tail}; nothing was written", file=err)
        return 2
    for line in describe_result(result, dry_run=dry_run):
        print(line, file=out)
    return 0
