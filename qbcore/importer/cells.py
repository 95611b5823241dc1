"""Import cells: each cell read as its column's type, one row at a time, with an error per bad cell."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from qbcore.containers import check_digit
from qbcore.importer.records import LineRecord
from qbcore.importer.rows import Column, ColumnType, FileKind, RowError

CENT = Decimal("0.01")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY_MAX = Decimal("999999999999.99")
_QUANTITY_MAX = Decimal("99999999.9999")
_TRUE = {"yes", "y", "true", "t", "1", "active"}
_FALSE = {"no", "n", "false", "f", "0", "inactive"}


class _CellError(ValueError):
    """A cell that cannot be read; the message is for the operator."""


def money_text(value: Decimal) -> str:
    """$1,234.56 as the import's messages write an amount."""
    return f"${value:,.2f}"


def _read_date(text: str) -> date:
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
        match = _US_DATE.match(text)
        if match:
            month, day, year = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError:
        raise _CellError(f"{text!r} is not a real calendar date.") from None
    raise _CellError(f"{text!r} is not a date: write YYYY-MM-DD (2026-11-02) or MM/DD/YYYY (11/02/2026).")


def _read_number(text: str, places: int, maximum: Decimal, what: str, negative: str) -> Decimal:
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "")
    if cleaned.startswith("-") or (cleaned.startswith("(") and cleaned.endswith(")")):
        raise _CellError(f"{what} {text!r} is negative; negative amounts are not allowed ({negative}).")
    if not _NUMBER.match(cleaned):
        raise _CellError(f"{text!r} is not a number (write it like 1250.00, without formulas or letters).")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise _CellError(f"{text!r} is not a number.") from None
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise _CellError(f"{text!r} has more than {places} decimal places.")
    if value > maximum:
        raise _CellError(f"{text!r} is larger than the book can hold ({maximum:,}).")
    return value.quantize(Decimal(1).scaleb(-places))


def _read_container(text: str) -> str:
    number = text.upper().replace(" ", "")
    if len(number) != 11 or not number[:4].isalpha() or not number[:4].isascii() or not number[4:].isdigit() \
            or not number[4:].isascii():
        raise _CellError(f"{text!r} is not a container number: 4 letters then 7 digits, like MSCU1234566.")
    if number[3] not in "UJZ":
        raise _CellError(f"{text!r} is not a container number: the 4th letter is U, J or Z (equipment category).")
    right = check_digit(number[:10])
    if int(number[10]) != right:
        raise _CellError(f"container number {number} has a wrong check digit: {number[10]}; "
                         f"by ISO 6346 it should be {right} ({number[:10]}{right}).")
    return number


def _read_cell(column: Column, text: str) -> Any:
    if text == "":
        if column.required:
            raise _CellError(f"{column.name} is required and is empty.")
        return None
    if column.type is ColumnType.TEXT:
        if column.max_length is not None and len(text) > column.max_length:
            raise _CellError(f"{column.name} has {len(text)} characters; at most {column.max_length} fit.")
        return text
    if column.type is ColumnType.DATE:
        return _read_date(text)
    if column.type is ColumnType.MONEY:
        return _read_number(text, 2, _MONEY_MAX, column.name, column.negative)
    if column.type is ColumnType.QUANTITY:
        return _read_number(text, 4, _QUANTITY_MAX, column.name, column.negative)
    if column.type is ColumnType.BOOL:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _CellError(f"{text!r} is not yes or no.")
    return _read_container(text)


def read_row(kind: FileKind, columns: Sequence[Column], number: int, row: Mapping[str, str],
             errors: list[RowError]) -> tuple[dict[str, Any], set[str]]:
    """Every cell that reads, and the names of those that do not (None in the values, their errors reported)."""
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for column in columns:
        try:
            values[column.name] = _read_cell(column, row.get(column.name, ""))
        except _CellError as exc:
            errors.append(RowError(kind, number, column.name, str(exc)))
            values[column.name] = None
            failed.add(column.name)
    return values, failed


def cells_read(failed: set[str], *columns: str) -> bool:
    """True when every one of these cells was read, so a check between them can run."""
    return failed.isdisjoint(columns)


def check_line(kind: FileKind, number: int, values: dict[str, Any], errors: list[RowError]) -> bool:
    """Whether a charge line's amount is its quantity × rate (an error on the row when not)."""
    quantity, rate, amount = values["quantity"], values["rate"], values["amount"]
    if quantity == 0:
        errors.append(RowError(kind, number, "quantity", "quantity must be more than zero."))
        return False
    expected = (quantity * rate).quantize(CENT)
    if amount != expected:
        errors.append(RowError(kind, number, "amount", (
            f"amount {money_text(amount)} is not quantity × rate ({quantity.normalize():f} × "
            f"{money_text(rate)} = {money_text(expected)}).")))
        return False
    return True


def check_consistent(kind: FileKind, number: int, what: str, key: str, columns: tuple[str, ...],
                      first: tuple[int, dict[str, Any], set[str]], values: dict[str, Any], failed: set[str],
                      errors: list[RowError]) -> bool:
    """Whether a row agrees with its record's first row on the header columns (an error when not)."""
    first_row, first_values, first_failed = first
    unread = failed | first_failed  # a cell that did not read carries its own error; compare the rest
    for column in columns:
        if column not in unread and first_values.get(column) != values.get(column):
            errors.append(RowError(kind, number, column, (
                f"{what} {key} has {column} {show_value(values.get(column))} here but "
                f"{show_value(first_values.get(column))} "
                f"on row {first_row}; every row of one {what} must agree (or is {key} used twice by mistake?).")))
            return False
    return True


def show_value(value: Any) -> str:
    """A cell's value as a message quotes it: '(blank)', an amount, 'text'."""
    if value is None:
        return "(blank)"
    if isinstance(value, Decimal):
        return money_text(value)
    return f"'{value}'" if isinstance(value, str) else str(value)


def line_record(values: dict[str, Any]) -> LineRecord:
    """A charge line from a row's read values."""
    return LineRecord(values["charge_code"].upper(), values["description"], values["quantity"], values["rate"],
                      values["amount"])
