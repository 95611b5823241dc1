"""The documented CSV layout of a book import: one file per kind, its columns and types, and its template."""

from __future__ import annotations

import csv
import io

from qbcore.entities.registry import IMPORT_FILES
from qbcore.entities.spec import ImportFile
from qbcore.importer.files import FILES
from qbcore.importer.rows import Column, ColumnType, FileKind

__all__ = ["COLUMNS", "FILE_LABELS", "FILE_ROWS", "LAYOUT_HEADER", "TEMPLATE_NAMES", "Column", "ColumnType",
           "FileKind", "column_names", "layout_rows", "template_csv"]

# Each file's words, template and what one row is, as its entity describes them.
IMPORT_FILE: dict[FileKind, ImportFile] = {FileKind(f.kind): f for f in IMPORT_FILES}
FILE_LABELS = {kind: f.label for kind, f in IMPORT_FILE.items()}
TEMPLATE_NAMES = {kind: f.template for kind, f in IMPORT_FILE.items()}
FILE_ROWS = {kind: f.rows for kind, f in IMPORT_FILE.items()}
# Each file's columns, in template order, as its importer module lays them out.
COLUMNS: dict[FileKind, tuple[Column, ...]] = {rules.kind: rules.columns for rules in FILES}


def column_names(kind: FileKind) -> list[str]:
    """The columns of one file, in template order."""
    return [c.name for c in COLUMNS[kind]]


def template_csv(kind: FileKind) -> bytes:
    """A downloadable template: the header and one example row (UTF-8, no BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(column_names(kind))
    writer.writerow([c.example for c in COLUMNS[kind]])
    return buffer.getvalue().encode("utf-8")


LAYOUT_HEADER = ("Column", "Required", "Format", "Example", "Notes")


def _format(column: Column) -> str:
    if column.type is ColumnType.TEXT:
        limit = f"text, up to {column.max_length:,} characters" if column.max_length else "text"
        return limit + (", line breaks allowed" if column.multiline else "")
    return {
        ColumnType.DATE: "date: YYYY-MM-DD or MM/DD/YYYY",
        ColumnType.MONEY: "dollars and cents, never negative",
        ColumnType.QUANTITY: "number, up to 4 decimals",
        ColumnType.BOOL: "yes or no",
        ColumnType.CONTAINER: "ISO 6346 container number",
    }[column.type]


def layout_rows(kind: FileKind) -> list[tuple[str, str, str, str, str]]:
    """The layout of one file as table rows (column, required, format, example, notes), read from COLUMNS."""
    return [(c.name, "Required" if c.required else "Optional", _format(c), c.example, c.help) for c in COLUMNS[kind]]
