"""Fuzzing the import: arbitrary bytes and arbitrary cells give a clear error or a valid result, never an
exception, never a partial write; a valid result imported twice changes nothing the second time."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbcore.access import LOCAL_ADMIN
from qbcore.importer import COLUMNS, FileKind, column_names, import_files, parse_csv
from tests.qbcore.importer.conftest import book_state, read_rows, sample_files, to_csv

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KINDS = st.sampled_from(list(FileKind))
CSVISH = st.lists(st.sampled_from([",", "\"", "\n", "\r", "\r\n", "=", "-", "$", "(", ")", "1", "0.5", "é", "\x00",
                                   "\ufeff", "2026-11-02", "MSCU1234566", "INV-900001", "C9001", " "]),
                  max_size=40).map("".join)


def _attempt(factory, files):
    """Import inside a transaction that is always rolled back; returns the result and whether the book moved."""
    session = factory()
    try:
        with session.begin():
            before = book_state(session)
            result = import_files(files, session=session, actor=LOCAL_ADMIN)
            moved = book_state(session) != before
            again = import_files(files, session=session, actor=LOCAL_ADMIN) if result.written else None
            session.rollback()
    finally:
        session.close()
    return result, moved, again


def _check(result, moved, again):
    if result.is_valid:
        assert result.errors == []
        if not any(result.rows.values()):  # header rows only: nothing imported, nothing audited
            assert not result.written and not moved
            return
        assert again is not None
        assert all(s.created == s.updated == 0 for s in again.summary.values()), again.counts()
    else:
        assert not result.written and not moved
        assert result.errors and all(e.message for e in result.errors)


@FUZZ
@given(kind=KINDS, data=st.binary(max_size=400))
def test_arbitrary_bytes_are_an_error_or_a_valid_import_never_an_exception(factory, kind, data):
    _check(*_attempt(factory, {kind: data}))


@FUZZ
@given(kind=KINDS, body=CSVISH)
def test_a_real_header_with_csv_like_garbage_below_never_raises(factory, kind, body):
    data = (",".join(column_names(kind)) + "\n" + body).encode("utf-8")
    _check(*_attempt(factory, {kind: data}))


@FUZZ
@given(kind=KINDS, row=st.integers(0, 10), column=st.integers(0, 30),
       value=st.one_of(st.text(max_size=30), st.text(alphabet=string.digits + ".,-$()e ", max_size=14), CSVISH))
def test_any_cell_value_gives_an_error_or_a_valid_import_never_a_partial_write(factory, kind, row, column, value):
    files = sample_files()
    rows = read_rows(kind)
    names = list(rows[0])
    rows[row % len(rows)][names[column % len(names)]] = value
    files[kind] = to_csv(rows)
    _check(*_attempt(factory, files))


@settings(max_examples=400, deadline=None)
@given(kind=KINDS, data=st.binary(max_size=2000))
def test_the_parser_never_raises_on_any_bytes(kind, data):
    parsed = parse_csv(kind, data)
    assert parsed.errors or all(isinstance(row, dict) for _, row in parsed.rows)


def _raw_lines(kind: FileKind) -> list[list[str]]:
    """The sample file as raw cell texts per line (quotes kept), so a test can break its structure exactly."""
    out = []
    for row in [column_names(kind), *([r[c] for c in column_names(kind)] for r in read_rows(kind))]:
        out.append([f'"{c}"' if "," in c else c for c in row])
    return out


def _one_line_columns(kind: FileKind) -> list[int]:
    multiline = {c.name for c in COLUMNS[kind] if c.multiline}
    return [i for i, name in enumerate(column_names(kind)) if name not in multiline]


BREAKS = st.sampled_from(["open quote", "stray quote", "text after quote", "line break in a one-line value",
                          "bare CR in a value", "NUL", "mixed line ending"])


@FUZZ
@given(kind=KINDS, breakage=BREAKS, line=st.integers(1, 50), column=st.integers(0, 50), at=st.integers(0, 40))
def test_a_malformed_structure_is_refused_and_the_row_counts_do_not_move(factory, kind, breakage, line, column,
                                                                         at):
    lines = _raw_lines(kind)
    line = 1 + line % (len(lines) - 1)
    cells = lines[line]
    if breakage in ("open quote", "stray quote", "line break in a one-line value", "bare CR in a value"):
        column = _one_line_columns(kind)[column % len(_one_line_columns(kind))]
    column %= len(cells)
    value = cells[column].strip('"')
    cut = at % (len(value) + 1)
    if breakage == "open quote":
        cells[column] = '"' + value
    elif breakage == "stray quote":
        cells[column] = "x" + value[:cut] + '"' + value[cut:]
    elif breakage == "text after quote":
        cells[column] = f'"{value}"x'
    elif breakage == "line break in a one-line value":
        cells[column] = f'"{value[:cut]}\n{value[cut:]}"'
    elif breakage == "bare CR in a value":
        cells[column] = value[:cut] + "\r" + value[cut:]
    elif breakage == "NUL":
        cells[column] = value[:cut] + "\x00" + value[cut:]
    endings = ["\n"] * len(lines)
    if breakage == "mixed line ending":
        endings[line] = "\r\n"
    files = sample_files()
    files[kind] = "".join(",".join(c) + e for c, e in zip(lines, endings, strict=True)).encode("utf-8")
    result, moved, _ = _attempt(factory, files)
    assert not result.is_valid and not result.written and not moved, (breakage, files[kind])
    assert any(e.file is kind and e.row == line + 1 for e in result.errors), result.errors


@pytest.mark.parametrize("kind", list(FileKind))
def test_the_unbroken_raw_sample_imports_so_each_breakage_alone_is_what_is_refused(factory, kind):
    files = sample_files()
    files[kind] = "".join(",".join(c) + "\n" for c in _raw_lines(kind)).encode("utf-8")
    result, moved, _ = _attempt(factory, files)
    assert result.is_valid and moved, result.errors
