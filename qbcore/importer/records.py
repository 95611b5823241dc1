"""What an import carries and what it is compared with: a batch and a book, each holding records by kind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from qbcore.entities.registry import FileKind

Fields = dict[str, Any]
R = TypeVar("R")
E = TypeVar("E")


@dataclass(frozen=True)
class Slot(Generic[R, E]):
    """One kind of record: where a batch keeps the file's (R) and a book the existing ones (E), by natural key.

    Its name is the kind's name in a plan and in the summary ("loads"); typed, so the file module that fills a
    slot reads back what it put there.
    """

    name: str


# Charge codes the lines of any file name (code → description) and those the book has (code → id).
CHARGE_CODES: Slot[str, int] = Slot("charge_codes")


class _Shelves:
    """Records by slot name."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}

    def _shelf(self, name: str) -> dict[str, Any]:
        return self._records.setdefault(name, {})


@dataclass
class LineRecord:
    """One charge line of a record (the lines of a charge set, of a credit)."""

    charge_code: str
    description: str | None
    quantity: Decimal
    rate: Decimal
    amount: Decimal

    def signature(self) -> tuple[Any, ...]:
        """What makes two lines the same, with numbers at their stored scale."""
        return (self.charge_code, self.description, self.quantity.quantize(Decimal("0.0001")),
                self.rate.quantize(Decimal("0.01")), self.amount.quantize(Decimal("0.01")))


class ImportBatch(_Shelves):
    """Everything the files say, by natural key per kind, before it is compared with the book."""

    def __init__(self) -> None:
        super().__init__()
        self.row_counts: dict[str, int] = {}
        # Records with a row error stay in the batch so checks between rows and files still see them (a batch
        # with any error is never compared with the book for writing); these say whose lines are incomplete.
        self.rejected: dict[str, set[str]] = defaultdict(set)

    def of(self, slot: Slot[R, Any]) -> dict[str, R]:
        """The file's records of one kind, by key."""
        return cast("dict[str, R]", self._shelf(slot.name))


@dataclass(frozen=True)
class ExistingApplication:
    """Money the book already applies to a record (its kind and key), and the record it comes from (kind, key)."""

    to: Slot[Any, Any]
    target: str
    source: Slot[Any, Any]
    source_number: str
    amount: Decimal


class BookSnapshot(_Shelves):
    """The parts of the book an import touches, read in a few bulk queries, by natural key per kind."""

    def __init__(self) -> None:
        super().__init__()
        self.applications: list[ExistingApplication] = []

    def of(self, slot: Slot[Any, E]) -> dict[str, E]:
        """The book's records of one kind, by key."""
        return cast("dict[str, E]", self._shelf(slot.name))


@dataclass(frozen=True)
class Application:
    """Money a file's record applies to another file's record (by its key): where it is written, and how much."""

    file: FileKind
    row: int
    column: str
    source_number: str
    customer_code: str
    to: Slot[Any, Any]
    target: str
    amount: Decimal


@dataclass
class Plan:
    """Keys to create and to update, per kind, after comparing the batch with the book."""

    batch: ImportBatch
    book: BookSnapshot
    create: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    update: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    replace: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # whose lines change
    touched: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # unchanged, but parts did


def as_date(value: Any) -> date | None:
    """A date column's value (SQLite may hand back strings)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def money(value: Any) -> Decimal:
    """A stored amount at cents."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def line_signature(code: str, description: str | None, quantity: Any, rate: Any, amount: Any) -> tuple[Any, ...]:
    """A stored line as the import compares lines."""
    return LineRecord(code, description, Decimal(str(quantity)), money(rate), money(amount)).signature()
