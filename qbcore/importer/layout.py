"""The documented CSV layout of a book import: one file per kind, columns, types and templates."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

from qbcore.entities.registry import IMPORT_FILES
from qbcore.entities.spec import ImportFile


class FileKind(StrEnum):
    """The four files of an import, in the order they are applied (each entity's ImportFile names its kind)."""

    CUSTOMERS = "customers"
    INVOICES = "invoices"
    PAYMENTS = "payments"
    CREDIT_MEMOS = "credit_memos"


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


if [f.kind for f in IMPORT_FILES] != [k.value for k in FileKind]:  # a programming error: fail at import
    raise RuntimeError(f"the entities' import files {[f.kind for f in IMPORT_FILES]} are not the file kinds")
# Each file's words, template and what one row is, as its entity describes them.
IMPORT_FILE: dict[FileKind, ImportFile] = {FileKind(f.kind): f for f in IMPORT_FILES}
FILE_LABELS = {kind: f.label for kind, f in IMPORT_FILE.items()}
TEMPLATE_NAMES = {kind: f.template for kind, f in IMPORT_FILE.items()}
FILE_ROWS = {kind: f.rows for kind, f in IMPORT_FILE.items()}

T, D, M, Q, B, C = (ColumnType.TEXT, ColumnType.DATE, ColumnType.MONEY, ColumnType.QUANTITY, ColumnType.BOOL,
                    ColumnType.CONTAINER)

COLUMNS: dict[FileKind, tuple[Column, ...]] = {
    FileKind.CUSTOMERS: (
        Column("customer_code", T, True, 32, "C0001", "The TMS's customer code; the key an import matches on."),
        Column("name", T, True, 200, "Atlas Import Group", "Display name (becomes the QuickBooks DisplayName)."),
        Column("parent_code", T, False, 32, "", "Code of the parent customer, for a sub-customer (job)."),
        Column("billing_email", T, False, 200, "ap@atlas.example.com"),
        Column("phone", T, False, 30, "(201) 555-0147"),
        Column("terms", T, False, 40, "Net 30", "Blank means Net 30."),
        Column("branch", T, False, 80, "Port Newark", "Branch or terminal (QuickBooks class or location)."),
        Column("address_line1", T, False, 200, "410 Commerce Blvd"),
        Column("city", T, False, 100, "Edison"),
        Column("state", T, False, 40, "NJ"),
        Column("postal_code", T, False, 20, "08817"),
        Column("country", T, False, 60, "USA", "Blank means USA."),
        Column("active", B, False, None, "yes", "yes/no, true/false, 1/0; blank means yes."),
    ),
    FileKind.INVOICES: (
        Column("invoice_number", T, True, 32, "INV-100001", "Rows with the same number make one invoice."),
        Column("customer_code", T, True, 32, "C0001", "Must exist in the book or in the customers file."),
        Column("invoice_date", D, True, None, "2026-11-02"),
        Column("due_date", D, True, None, "2026-12-02", "On or after the invoice date."),
        Column("terms", T, False, 40, "Net 30", "Blank means the customer's terms."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("load_number", T, True, 32, "L500001", "Rows with the same load make one charge set."),
        Column("container_number", C, True, None, "MSCU1234566", "ISO 6346, check digit included."),
        Column("size_type", T, True, 8, "40HC"),
        Column("bol", T, False, 40, "MEDU123456789"),
        Column("reference_number", T, False, 40, "PO-448812", "The customer's reference or PO."),
        Column("pickup_location", T, True, 120, "Maher Terminals, Elizabeth NJ"),
        Column("pickup_date", D, True, None, "2026-10-30"),
        Column("delivery_location", T, True, 200, "Atlas DC, 12 Freight Rd, Edison NJ"),
        Column("delivery_date", D, True, None, "2026-10-31", "On or after the pickup date."),
        Column("chassis_number", T, False, 20, "DCLZ401233"),
        Column("charge_code", T, True, 32, "BASE", "Unknown codes are created; map them to items in Settings."),
        Column("description", T, False, 400, "Line haul (drayage base rate)", multiline=True),
        Column("quantity", Q, True, None, "1", "More than zero; up to 4 decimals."),
        Column("rate", M, True, None, "725.00", "Zero or more; cents."),
        Column("amount", M, True, None, "725.00", "Must equal quantity × rate, rounded to the cent."),
    ),
    FileKind.PAYMENTS: (
        Column("payment_number", T, True, 32, "PMT-20001", "Rows with the same number make one payment."),
        Column("customer_code", T, True, 32, "C0001"),
        Column("payment_date", D, True, None, "2026-11-20"),
        Column("method", T, True, 10, "check", "check, ach, wire or card."),
        Column("reference_number", T, False, 40, "CHK 10442", "Check number or bank reference."),
        Column("amount", M, True, None, "1450.00", "The whole payment (more than zero)."),
        Column("memo", T, False, 2000, "", multiline=True),
        Column("invoice_number", T, False, 32, "INV-100001", "Blank: a payment not applied to any invoice."),
        Column("applied_amount", M, False, None, "725.00", "Required with invoice_number; more than zero."),
    ),
    FileKind.CREDIT_MEMOS: (
        Column("credit_memo_number", T, True, 32, "CM-5001", "Rows with the same number make one credit memo."),
        Column("customer_code", T, True, 32, "C0001"),
        Column("memo_date", D, True, None, "2026-11-10"),
        Column("reason", T, False, 200, "Disputed detention", multiline=True),
        Column("charge_code", T, True, 32, "DETENTION"),
        Column("description", T, False, 400, "Detention waived, 2 hours", multiline=True),
        Column("quantity", Q, True, None, "2"),
        Column("rate", M, True, None, "85.00"),
        Column("amount", M, True, None, "170.00", "Must equal quantity × rate, rounded to the cent."),
        Column("applied_invoice_number", T, False, 32, "INV-100001",
               "The invoice the credit is applied to; blank: not applied."),
        Column("applied_amount", M, False, None, "170.00", "Required with applied_invoice_number."),
    ),
}

# Header-level columns: rows of one record must agree on them.
HEADER_COLUMNS: dict[FileKind, tuple[str, ...]] = {
    FileKind.INVOICES: ("customer_code", "invoice_date", "due_date", "terms", "memo"),
    FileKind.PAYMENTS: ("customer_code", "payment_date", "method", "reference_number", "amount", "memo"),
    FileKind.CREDIT_MEMOS: ("customer_code", "memo_date", "reason", "applied_invoice_number", "applied_amount"),
}
LOAD_COLUMNS = ("container_number", "size_type", "bol", "reference_number", "pickup_location", "pickup_date",
                "delivery_location", "delivery_date", "chassis_number")


def column_names(kind: FileKind) -> list[str]:
    """The columns of one file, in template order."""
    return [c.name for c in COLUMNS[kind]]


def template_csv(kind: FileKind) -> bytes:
    """A downloadable template: the header and one example row (UTF-8, no BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(column_names(kind))
    writer.writerow([c.example for c in COLUMNS[kind]])
    return buffer.getvalue().encode("utf-8")


LAYOUT_HEADER = ("Column", "Required", "Format", "Example", "Notes")


def _format(column: Column) -> str:
    if column.type is ColumnType.TEXT:
        limit = f"text, up to {column.max_length:,} characters" if column.max_length else "text"
        return limit + (", line breaks allowed" if column.multiline else "")
    return {
        ColumnType.DATE: "date: YYYY-MM-DD or MM/DD/YYYY",
        ColumnType.MONEY: "dollars and cents, never negative",
        ColumnType.QUANTITY: "number, up to 4 decimals",
        ColumnType.BOOL: "yes or no",
        ColumnType.CONTAINER: "ISO 6346 container number",
    }[column.type]


def layout_rows(kind: FileKind) -> list[tuple[str, str, str, str, str]]:
    """The layout of one file as table rows (column, required, format, example, notes), read from COLUMNS."""
    return [(c.name, "Required" if c.required else "Optional", _format(c), c.example, c.help) for c in COLUMNS[kind]]
