"""The records an import carries, and the book's existing records they are compared with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

Fields = dict[str, Any]


@dataclass
class LineRecord:
    """One charge line (of an invoice's charge set or of a credit memo)."""

    charge_code: str
    description: str | None
    quantity: Decimal
    rate: Decimal
    amount: Decimal

    def signature(self) -> tuple[Any, ...]:
        """What makes two lines the same, with numbers at their stored scale."""
        return (self.charge_code, self.description, self.quantity.quantize(Decimal("0.0001")),
                self.rate.quantize(Decimal("0.01")), self.amount.quantize(Decimal("0.01")))


@dataclass
class CustomerRecord:
    """A customer row of the customers file."""

    code: str
    row: int
    fields: Fields
    parent_code: str | None


@dataclass
class LoadRecord:
    """A load, as the invoice lines describe it."""

    load_number: str
    row: int
    customer_code: str
    fields: Fields


@dataclass
class InvoiceRecord:
    """An invoice: header, then charge sets keyed by load number in file order."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    sets: dict[str, list[LineRecord]] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((line.amount for lines in self.sets.values() for line in lines), Decimal("0.00"))

    def content(self) -> tuple[Any, ...]:
        """The charge sets as comparable data."""
        return tuple((load, tuple(line.signature() for line in lines)) for load, lines in self.sets.items())


@dataclass
class PaymentRecord:
    """A payment and the invoices it is applied to."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    applications: dict[str, Decimal] = field(default_factory=dict)
    application_rows: dict[str, int] = field(default_factory=dict)


@dataclass
class CreditMemoRecord:
    """A credit memo, its lines and (at most) one application."""

    number: str
    row: int
    customer_code: str
    fields: Fields
    lines: list[LineRecord] = field(default_factory=list)
    applied_invoice: str | None = None
    applied_amount: Decimal | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass
class ImportBatch:
    """Everything the files say, by natural key, before it is compared with the book."""

    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    charge_codes: dict[str, str] = field(default_factory=dict)  # code -> name, for codes the files use
    loads: dict[str, LoadRecord] = field(default_factory=dict)
    invoices: dict[str, InvoiceRecord] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    credit_memos: dict[str, CreditMemoRecord] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    # Records with a row error stay in the batch so checks between rows and files still see them (a batch with
    # any error is never compared with the book for writing); these say whose lines are incomplete.
    rejected_invoices: set[str] = field(default_factory=set)
    rejected_credit_memos: set[str] = field(default_factory=set)


@dataclass
class ExistingCustomer:
    """A customer the book already has."""

    id: int
    parent_code: str | None
    fields: Fields


@dataclass
class ExistingLoad:
    """A load the book already has."""

    id: int
    customer_code: str
    fields: Fields


@dataclass
class ExistingInvoice:
    """An invoice the book already has (content only for invoices the files carry)."""

    id: int
    customer_code: str
    total: Decimal
    fields: Fields = field(default_factory=dict)
    content: tuple[Any, ...] = ()


@dataclass
class ExistingPayment:
    """A payment the book already has, with its invoice applications."""

    id: int
    customer_code: str
    fields: Fields
    applications: dict[str, Decimal]
    credit_memo_applied: Decimal


@dataclass
class ExistingCreditMemo:
    """A credit memo the book already has."""

    id: int
    customer_code: str
    fields: Fields
    lines: tuple[Any, ...]
    applications: dict[str, Decimal]


@dataclass(frozen=True)
class ExistingApplication:
    """Money already applied to an invoice, and where it came from."""

    invoice_number: str
    source: str  # "payment" or "credit_memo"
    source_number: str
    amount: Decimal


@dataclass
class BookSnapshot:
    """The parts of the book an import touches, read in a few bulk queries."""

    customers: dict[str, ExistingCustomer] = field(default_factory=dict)
    charge_codes: dict[str, int] = field(default_factory=dict)
    loads: dict[str, ExistingLoad] = field(default_factory=dict)
    invoices: dict[str, ExistingInvoice] = field(default_factory=dict)
    payments: dict[str, ExistingPayment] = field(default_factory=dict)
    credit_memos: dict[str, ExistingCreditMemo] = field(default_factory=dict)
    applications: list[ExistingApplication] = field(default_factory=list)


def as_date(value: Any) -> date | None:
    """A date column's value (SQLite may hand back strings)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
