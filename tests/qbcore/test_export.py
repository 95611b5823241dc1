"""CSV exports neutralise anything a spreadsheet would run as a formula."""

import csv
import io

import pytest

from qbcore.export import safe_csv_bytes, safe_csv_cell


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("ACME Logistics", "ACME Logistics"),
        (-12.5, -12.5),
        (None, None),
    ],
)
def test_formula_like_cells_get_a_leading_quote(raw, safe):
    assert safe_csv_cell(raw) == safe


def test_a_whole_export_keeps_rows_and_neutralises_every_cell():
    data = safe_csv_bytes(["ref", "customer"], [["INV-1", "=cmd|' /C calc'!A0"], ["INV-2", None]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["ref", "customer"], ["INV-1", "'=cmd|' /C calc'!A0"], ["INV-2", ""]]
