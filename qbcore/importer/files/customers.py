"""The customers file: one row per customer, matched on its code; parents may come later in the file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from qbcore.importer.bulk import insert_returning, update_by_id
from qbcore.importer.cells import read_row
from qbcore.importer.records import BookSnapshot, Fields, ImportBatch, Plan, Slot
from qbcore.importer.rows import Column, ColumnType, FileKind, ParsedFile, RowError
from qbcore.importer.rules import FileRules, Ids
from qbcore.models import Customer

T, B = ColumnType.TEXT, ColumnType.BOOL
FIELDS = ("name", "billing_email", "phone", "terms", "branch", "address_line1", "city", "state", "postal_code",
          "country", "active")


@dataclass
class CustomerRecord:
    """A customer row of the customers file."""

    code: str
    row: int
    fields: Fields
    parent_code: str | None


@dataclass
class ExistingCustomer:
    """A customer the book already has."""

    id: int
    parent_code: str | None
    fields: Fields


CUSTOMERS: Slot[CustomerRecord, ExistingCustomer] = Slot("customers")


def is_known(code: str, batch: ImportBatch, book: BookSnapshot) -> bool:
    """Whether a customer code is in the book or in the customers file."""
    return code in book.of(CUSTOMERS) or code in batch.of(CUSTOMERS)


def unknown_customer(kind: FileKind, row: int, code: str, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
    """The error of a row naming a customer that is neither in the book nor in the customers file."""
    if code == "" or is_known(code, batch, book):  # "" is a customer_code cell that did not read
        return []
    return [RowError(kind, row, "customer_code", (
        f"unknown customer code {code}: it is neither in the book nor in the customers file."))]


def parent_of(code: str, batch: ImportBatch, book: BookSnapshot) -> str | None:
    """A customer's parent code, as the file has it or else the book."""
    if code in batch.of(CUSTOMERS):
        return batch.of(CUSTOMERS)[code].parent_code
    existing = book.of(CUSTOMERS).get(code)
    return existing.parent_code if existing else None


def terms_of(code: str, batch: ImportBatch, book: BookSnapshot) -> str:
    """A customer's terms, as the file has them or else the book."""
    if code in batch.of(CUSTOMERS):
        return str(batch.of(CUSTOMERS)[code].fields["terms"])
    return str(book.of(CUSTOMERS)[code].fields["terms"])


class CustomersFile(FileRules):
    """Customers: created or updated by code, their parent links written once every customer exists."""

    kind = FileKind.CUSTOMERS
    slot = CUSTOMERS
    tables = (Customer,)
    columns = (
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
    )

    def read(self, parsed: ParsedFile, batch: ImportBatch, errors: list[RowError]) -> None:
        """One record per code; a code twice or a customer its own parent is an error."""
        kind, customers = parsed.kind, batch.of(CUSTOMERS)
        for number, row in parsed.rows:
            values = read_row(kind, self.columns, number, row, errors)[0]
            code = values["customer_code"]
            if code is None:
                continue  # nothing to match the row on; its cell error says why
            if code in customers:
                errors.append(RowError(kind, number, "customer_code", (
                    f"customer code {code} appears twice in the file (first on row {customers[code].row}).")))
                continue
            parent = values["parent_code"]
            if parent == code:
                errors.append(RowError(kind, number, "parent_code", f"customer {code} cannot be its own parent."))
                continue
            fields = {
                "name": values["name"], "billing_email": values["billing_email"], "phone": values["phone"],
                "terms": values["terms"] or "Net 30", "branch": values["branch"],
                "address_line1": values["address_line1"], "city": values["city"], "state": values["state"],
                "postal_code": values["postal_code"], "country": values["country"] or "USA",
                "active": True if values["active"] is None else values["active"],
            }
            # A customer with a cell error stays in the batch: rows that refer to it are still checked.
            customers[code] = CustomerRecord(code, number, fields, parent)

    def read_book(self, session: Session, batch: ImportBatch, book: BookSnapshot, named: set[str]) -> None:
        """Every customer of the book (every file names customers, and parents reach up the tree)."""
        parent = aliased(Customer)
        rows = session.execute(
            select(Customer.id, Customer.code, parent.code.label("parent_code"),
                   *(getattr(Customer, f) for f in FIELDS))
            .outerjoin(parent, parent.id == Customer.parent_id)
        ).all()
        existing = book.of(CUSTOMERS)
        for row in rows:
            existing[row.code] = ExistingCustomer(row.id, row.parent_code, {f: getattr(row, f) for f in FIELDS})

    def check(self, batch: ImportBatch, book: BookSnapshot) -> list[RowError]:
        """Parents that are nowhere, and parents that would make a loop."""
        errors: list[RowError] = []
        for record in batch.of(CUSTOMERS).values():
            if record.parent_code and not is_known(record.parent_code, batch, book):
                errors.append(RowError(self.kind, record.row, "parent_code", (
                    f"parent customer code {record.parent_code} is neither in the book nor in this file.")))
        for record in batch.of(CUSTOMERS).values():
            seen = {record.code}
            current = record.parent_code
            while current is not None:
                if current in seen:
                    errors.append(RowError(self.kind, record.row, "parent_code", (
                        f"customer {record.code} would be its own ancestor through {current}; "
                        "parents must not form a loop.")))
                    break
                seen.add(current)
                current = parent_of(current, batch, book)
        return errors

    def plan(self, plan: Plan) -> None:
        """New codes are created; a changed field or parent is an update."""
        existing = plan.book.of(CUSTOMERS)
        for code, record in plan.batch.of(CUSTOMERS).items():
            old = existing.get(code)
            if old is None:
                plan.create[CUSTOMERS.name].append(code)
            elif old.fields != record.fields or old.parent_code != record.parent_code:
                plan.update[CUSTOMERS.name].append(code)

    def write(self, plan: Plan, session: Session, ids: Ids, now: datetime) -> None:
        """Customers first without parents (a parent may come later in the file), then the parent links."""
        batch, created, updated = plan.batch.of(CUSTOMERS), plan.create[CUSTOMERS.name], plan.update[CUSTOMERS.name]
        customer_ids = ids[CUSTOMERS.name] = {code: c.id for code, c in plan.book.of(CUSTOMERS).items()}
        new = [{"code": code, "parent_id": None, **batch[code].fields} for code in created]
        customer_ids.update(insert_returning(session, Customer, Customer.code, new))
        update_by_id(session, Customer, [
            {"id": customer_ids[code], **batch[code].fields, "updated_at": now} for code in updated])
        with_parent = [c for c in created if batch[c].parent_code]
        update_by_id(session, Customer, [
            {"id": customer_ids[code], "parent_id": customer_ids[p] if (p := batch[code].parent_code) else None}
            for code in [*with_parent, *updated]])


FILE = CustomersFile()
