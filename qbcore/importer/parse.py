"""Reading import files: bytes → header-checked rows of text, with file-level errors as data."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from qbcore.importer.layout import COLUMNS, FileKind

# A TMS export is rarely wider than this; a larger cell means the file is not what it claims to be.
MAX_CELL_CHARS = 10_000


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


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse_csv(kind: FileKind, data: bytes) -> ParsedFile:
    """Decode and split one file; never raises on bad input, it reports it."""
    parsed = ParsedFile(kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        parsed.errors.append(RowError(kind, line, "", (
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be read. "
            "Save or export the file as 'CSV UTF-8' and upload it again.")))
        return parsed
    if "\x00" in text:
        line = _line_of(data, data.index(b"\x00"))
        parsed.errors.append(RowError(kind, line, "", (
            f"the file contains a NUL character on line {line}; it is not a text CSV export.")))
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            parsed.errors.append(RowError(kind, 1, "", "the file is empty: the first row must name the columns."))
            return parsed
        names = [_normalise_header(h) for h in header]
        known = {c.name for c in COLUMNS[kind]}
        seen: set[str] = set()
        for name in names:
            if name and name in seen:
                parsed.errors.append(RowError(kind, 1, name, f"the column {name} appears twice in the header."))
            seen.add(name)
        missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in seen]
        looks_like = next((other for other in FileKind if other is not kind and missing
                           and all(c.name in seen for c in COLUMNS[other] if c.required)), None)
        hint = f" This looks like the {looks_like.value.replace('_', ' ')} file." if looks_like else ""
        for name in missing:
            parsed.errors.append(RowError(kind, 1, name,
                                          f"the required column {name} is missing from the header.{hint}"))
        parsed.ignored_columns = [n for n in names if n and n not in known]
        if parsed.errors:
            return parsed
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
                parsed.errors.append(RowError(kind, number, "", (
                    f"the row has {len(cells)} cells but the header names {len(names)} columns "
                    "(a comma inside a value needs quotes).")))
                continue
            too_long = next((n for n, c in zip(names, cells, strict=False) if len(c) > MAX_CELL_CHARS), None)
            if too_long is not None:
                parsed.errors.append(RowError(kind, number, too_long, (
                    f"the cell has more than {MAX_CELL_CHARS:,} characters.")))
                continue
            row = {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name in known}
            parsed.rows.append((number, row))
    except csv.Error as exc:
        parsed.errors.append(RowError(kind, reader.line_num, "", f"the file is not valid CSV: {exc}."))
    return parsed
