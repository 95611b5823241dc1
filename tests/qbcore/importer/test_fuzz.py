"""Fuzzing the import: arbitrary bytes and arbitrary cells give a clear error or a valid result, never an
exception, never a partial write; a valid result imported twice changes nothing the second time."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbcore.access import LOCAL_ADMIN
from qbcore.importer import FileKind, column_names, import_files, parse_csv
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
