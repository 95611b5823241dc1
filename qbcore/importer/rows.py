"""The shape of an import file: its columns and their types, its rows as text, and an error on one row."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from qbcore.entities.registry import FileKind

__all__ = ["Column", "ColumnType", "FileKind", "ParsedFile", "RowError"]


class ColumnType(StrEnum):
    """How a cell is read."""

    TEXT = "text"
    DATE = "date"
    MONEY = "money"
    QUANTITY = "quantity"
    BOOL = "bool"
    CONTAINER = "container"


@dataclass(frozen=True)
class Column:
    """One column of an import file."""

    name: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    max_length: int | None = None
    example: str = ""
    help: str = ""
    multiline: bool = False  # may hold line breaks (inside quotes); every other cell is one line
    # What to write instead of a negative number in this column (where money going the other way belongs).
    negative: str = "a credit belongs in the credit memos file"


@dataclass(frozen=True)
class RowError:
    """One thing wrong with one row (row 1 is the header, as a spreadsheet numbers it)."""

    file: FileKind
    row: int
    column: str
    message: str


@dataclass
class ParsedFile:
    """One file's rows as text (stripped), keyed by column name, with its spreadsheet row number."""

    kind: FileKind
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
