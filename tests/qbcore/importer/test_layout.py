"""The documented layout: every column in docs/import-layout.md, templates that parse, samples that follow it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from qbcore.containers import is_valid_container_number
from qbcore.importer import COLUMNS, TEMPLATE_NAMES, FileKind, column_names, parse_csv, template_csv
from qbcore.importer.layout import ColumnType

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "import-layout.md").read_text(encoding="utf-8")


def test_every_column_of_every_file_is_documented():
    missing = [f"{kind.value}.{name}" for kind in FileKind for name in column_names(kind) if f"`{name}`" not in DOC]
    assert missing == []
    assert all(f"`{TEMPLATE_NAMES[kind]}`" in DOC for kind in FileKind)


@pytest.mark.parametrize("kind", list(FileKind))
def test_each_template_has_the_layout_header_and_an_example_row_that_parses(kind):
    data = template_csv(kind)
    header, example = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert header == column_names(kind)
    parsed = parse_csv(kind, data)
    assert parsed.errors == [] and len(parsed.rows) == 1
    containers = [c for c in COLUMNS[kind] if c.type is ColumnType.CONTAINER]
    assert all(is_valid_container_number(dict(zip(header, example, strict=True))[c.name]) for c in containers)


@pytest.mark.parametrize("kind", list(FileKind))
def test_each_sample_file_uses_exactly_the_layout_columns(kind):
    data = (ROOT / "tests" / "fixtures" / "import" / TEMPLATE_NAMES[kind]).read_bytes()
    parsed = parse_csv(kind, data)
    assert parsed.errors == [] and parsed.ignored_columns == []
    assert next(csv.reader(io.StringIO(data.decode()))) == column_names(kind)
