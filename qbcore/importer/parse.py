"""Reading import files: bytes → header-checked rows of text, with file-level errors as data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from qbcore.importer.layout import COLUMNS
from qbcore.importer.rows import FileKind, ParsedFile, RowError

# A TMS export is rarely wider than this; a larger cell means the file is not what it claims to be.
MAX_CELL_CHARS = 10_000


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')
# One value and what follows it: a comma, a line break or the end of the text.
_FIELD = re.compile(r'(?:"([^"]*(?:""[^"]*)*)"|([^,"\r\n]*))(,|\r\n|\n|\r|\Z)')
_BREAK = re.compile(r"\r\n|\n|\r")
_ENDING_NAMES = {"\r\n": "CR LF (Windows)", "\n": "LF (Unix)", "\r": "CR (old Mac)"}
_FIX_QUOTES = "Close the quote, or double a quote inside a quoted value (\"5\"\" pipe\"), and upload the file again."


@dataclass(frozen=True)
class _Record:
    """One CSV record as read: its cells, the file lines it covers, how it ended, and what was wrong."""

    cells: list[str]
    first_line: int
    last_line: int
    ending: str  # the line break that ended it ("" at the end of the file)
    problem: str | None = None


def _breaks(text: str) -> int:
    return len(_BREAK.findall(text))


def _records(text: str) -> Iterator[_Record]:
    """Split text into records by RFC 4180, strictly: a quote only opens a value and must close it."""
    pos, line, end = 0, 1, len(text)
    first = 1
    cells: list[str] = []
    while pos < end:
        field = _FIELD.match(text, pos)
        if field is None:
            yield _Record(cells, first, line, "", _structure_problem(text, pos, line))
            # Skip the rest of the physical line: the row is reported, the next one read afresh.
            stop = _BREAK.search(text, pos)
            if stop is None:
                return
            line += 1
            pos, first, cells = stop.end(), line, []
            continue
        quoted, plain, delimiter = field.groups()
        if quoted is not None:
            cells.append(quoted.replace('""', '"'))
            line += _breaks(quoted)
        else:
            cells.append(plain)
        pos = field.end()
        if delimiter == ",":
            if pos == end:
                cells.append("")
            else:
                continue
        yield _Record(cells, first, line, "" if delimiter == "," else delimiter)
        line += 1
        first, cells = line, []


def _structure_problem(text: str, pos: int, line: int) -> str:
    """Why no value can be read at pos: a quote never closed, text after a closing quote, or a stray quote."""
    if text[pos] == '"':
        if _QUOTED.match(text, pos) is None:
            return (f"a quote opened on line {line} is never closed, so every line after it would be read "
                    f"as one value. {_FIX_QUOTES}")
        return f"line {line} has text right after a closing quote. {_FIX_QUOTES}"
    return (f"line {line} has a quote inside a value that does not start with one; a value holding a quote "
            f"must be wrapped in quotes. {_FIX_QUOTES}")


def _span_error(kind: FileKind, number: int, names: list[str], record: _Record) -> RowError | None:
    """A value with line breaks where the layout allows none, or one that swallowed whole rows."""
    multiline = {c.name for c in COLUMNS[kind] if c.multiline}
    for name, cell in zip(names, record.cells, strict=False):
        if not _BREAK.search(cell):
            continue
        lines = f"lines {record.first_line}–{record.last_line}"
        if name not in multiline:
            return RowError(kind, number, name, (
                f"the {name} value runs over {lines} of the file, but a {name} is one line: a quote left open "
                f"would swallow the rows below it. {_FIX_QUOTES}"))
        swallowed = sum(1 for part in _BREAK.split(cell)[1:] if part.count(",") >= max(len(names) - 1, 2))
        if swallowed:
            rows = "a whole row" if swallowed == 1 else f"{swallowed} whole rows"
            return RowError(kind, number, name, (
                f"the {name} value runs over {lines} of the file and holds what looks like {rows}: a quote "
                f"is likely left open. {_FIX_QUOTES}"))
    return None


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
    records = _records(text)
    header_record = next(records, None)
    if header_record is None or not any(h.strip() for h in header_record.cells):
        parsed.errors.append(RowError(kind, 1, "", "the file is empty: the first row must name the columns."))
        return parsed
    if header_record.problem is not None:
        parsed.errors.append(RowError(kind, 1, "", f"the header row cannot be read: {header_record.problem}"))
        return parsed
    header = header_record.cells
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
    file_ending = header_record.ending
    for number, record in enumerate(records, start=2):
        if record.problem is not None:
            parsed.errors.append(RowError(kind, number, "", record.problem))
            continue
        cells = record.cells
        # Line endings first: a bare CR at the start of a line reads as a blank row, which would hide it.
        if record.ending and record.ending != file_ending:
            parsed.errors.append(RowError(kind, number, "", (
                f"line {record.last_line} ends with {_ENDING_NAMES[record.ending]} but the header's line ends "
                f"with {_ENDING_NAMES[file_ending]}: the file mixes line endings, so a line break inside a value "
                "may have split a row. Put quotes around values with line breaks, or export the file again "
                "as 'CSV UTF-8'.")))
            continue
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
        span = _span_error(kind, number, names, record)
        if span is not None:
            parsed.errors.append(span)
            continue
        row = {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name in known}
        parsed.rows.append((number, row))
    return parsed
