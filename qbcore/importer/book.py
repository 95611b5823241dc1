"""Reading the part of the book an import touches, in a few bulk queries (never one per row)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from qbcore.importer.layout import LOAD_COLUMNS
from qbcore.importer.records import (
    BookSnapshot,
    ExistingApplication,
    ExistingCreditMemo,
    ExistingCustomer,
    ExistingInvoice,
    ExistingLoad,
    ExistingPayment,
    ImportBatch,
    LineRecord,
    as_date,
)
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
)

# SQLite allows 999 bound parameters in old builds; 500 keys per IN stays clear of it everywhere.
CHUNK = 500
CUSTOMER_FIELDS = ("name", "billing_email", "phone", "terms", "branch", "address_line1", "city", "state",
                   "postal_code", "country", "active")
K = TypeVar("K")


def chunks(keys: Iterable[K], size: int = CHUNK) -> Iterator[list[K]]:
    """Keys in lists of at most `size`."""
    batch: list[K] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _line(code: str, description: str | None, quantity: Any, rate: Any, amount: Any) -> tuple[Any, ...]:
    return LineRecord(code, description, Decimal(str(quantity)), _money(rate), _money(amount)).signature()


def read_book(session: Session, batch: ImportBatch) -> BookSnapshot:
    """Existing records matching the batch's natural keys, plus the applications on its invoices."""
    book = BookSnapshot()
    parent = aliased(Customer)
    rows = session.execute(
        select(Customer.id, Customer.code, parent.code.label("parent_code"),
               *(getattr(Customer, f) for f in CUSTOMER_FIELDS))
        .outerjoin(parent, parent.id == Customer.parent_id)
    ).all()
    for row in rows:
        book.customers[row.code] = ExistingCustomer(row.id, row.parent_code,
                                                    {f: getattr(row, f) for f in CUSTOMER_FIELDS})
    book.charge_codes = {code: id_ for code, id_ in session.execute(select(ChargeCode.code, ChargeCode.id))}
    _read_loads(session, batch, book)
    _read_invoices(session, batch, book)
    _read_payments(session, batch, book)
    _read_credit_memos(session, batch, book)
    return book


def _read_loads(session: Session, batch: ImportBatch, book: BookSnapshot) -> None:
    for keys in chunks(batch.loads):
        rows = session.execute(
            select(Load.id, Load.load_number, Customer.code, *(getattr(Load, c) for c in LOAD_COLUMNS))
            .join(Customer, Customer.id == Load.customer_id).where(Load.load_number.in_(keys))
        ).all()
        for row in rows:
            fields = {c: getattr(row, c) for c in LOAD_COLUMNS}
            fields["pickup_date"] = as_date(fields["pickup_date"])
            fields["delivery_date"] = as_date(fields["delivery_date"])
            book.loads[row.load_number] = ExistingLoad(row.id, row.code, fields)


def _referenced_invoices(batch: ImportBatch) -> set[str]:
    numbers = set(batch.invoices)
    for payment in batch.payments.values():
        numbers.update(payment.applications)
    for memo in batch.credit_memos.values():
        if memo.applied_invoice:
            numbers.add(memo.applied_invoice)
    return numbers


def _read_invoices(session: Session, batch: ImportBatch, book: BookSnapshot) -> None:
    numbers = _referenced_invoices(batch)
    for keys in chunks(sorted(numbers)):
        rows = session.execute(
            select(Invoice.id, Invoice.number, Customer.code, Invoice.total, Invoice.invoice_date,
                   Invoice.due_date, Invoice.terms, Invoice.memo)
            .join(Customer, Customer.id == Invoice.customer_id).where(Invoice.number.in_(keys))
        ).all()
        for row in rows:
            fields = {"invoice_date": as_date(row.invoice_date), "due_date": as_date(row.due_date),
                      "terms": row.terms, "memo": row.memo}
            book.invoices[row.number] = ExistingInvoice(row.id, row.code, _money(row.total), fields)
    by_id = {inv.id: number for number, inv in book.invoices.items()}
    in_file = [inv.id for number, inv in book.invoices.items() if number in batch.invoices]
    content: dict[int, dict[str, list[tuple[Any, ...]]]] = defaultdict(dict)
    for ids in chunks(in_file):
        set_rows = session.execute(
            select(ChargeSet.invoice_id, Load.load_number, ChargeCode.code, ChargeLine.description,
                   ChargeLine.quantity, ChargeLine.rate, ChargeLine.amount)
            .join(Load, Load.id == ChargeSet.load_id)
            .join(ChargeLine, ChargeLine.charge_set_id == ChargeSet.id)
            .join(ChargeCode, ChargeCode.id == ChargeLine.charge_code_id)
            .where(ChargeSet.invoice_id.in_(ids))
            .order_by(ChargeSet.invoice_id, ChargeSet.position, ChargeSet.id, ChargeLine.position, ChargeLine.id)
        ).all()
        for line in set_rows:
            sets = content[line.invoice_id]
            sets.setdefault(line.load_number, []).append(
                _line(line.code, line.description, line.quantity, line.rate, line.amount))
    for invoice_id, sets in content.items():
        book.invoices[by_id[invoice_id]].content = tuple((load, tuple(lines)) for load, lines in sets.items())
    for ids in chunks(sorted(by_id)):
        for link in session.execute(
            select(PaymentApplication.invoice_id, Payment.number, PaymentApplication.amount)
            .join(Payment, Payment.id == PaymentApplication.payment_id)
            .where(PaymentApplication.invoice_id.in_(ids))
        ):
            book.applications.append(ExistingApplication(by_id[link.invoice_id], "payment", link.number,
                                                         _money(link.amount)))
        for link in session.execute(
            select(CreditMemoApplication.invoice_id, CreditMemo.number, CreditMemoApplication.amount)
            .join(CreditMemo, CreditMemo.id == CreditMemoApplication.credit_memo_id)
            .where(CreditMemoApplication.invoice_id.in_(ids))
        ):
            book.applications.append(ExistingApplication(by_id[link.invoice_id], "credit_memo", link.number,
                                                         _money(link.amount)))


def _read_payments(session: Session, batch: ImportBatch, book: BookSnapshot) -> None:
    for keys in chunks(sorted(batch.payments)):
        rows = session.execute(
            select(Payment.id, Payment.number, Customer.code, Payment.payment_date, Payment.method,
                   Payment.reference_number, Payment.amount, Payment.memo)
            .join(Customer, Customer.id == Payment.customer_id).where(Payment.number.in_(keys))
        ).all()
        by_id: dict[int, ExistingPayment] = {}
        for row in rows:
            fields = {"payment_date": as_date(row.payment_date), "method": row.method,
                      "reference_number": row.reference_number, "amount": _money(row.amount), "memo": row.memo}
            by_id[row.id] = book.payments[row.number] = ExistingPayment(row.id, row.code, fields, {},
                                                                        Decimal("0.00"))
        if not by_id:
            continue
        for link in session.execute(
            select(PaymentApplication.payment_id, Invoice.number, PaymentApplication.amount)
            .join(Invoice, Invoice.id == PaymentApplication.invoice_id)
            .where(PaymentApplication.payment_id.in_(list(by_id)))
        ):
            apps = by_id[link.payment_id].applications
            apps[link.number] = apps.get(link.number, Decimal("0.00")) + _money(link.amount)
        for payment_id, used in session.execute(
            select(PaymentApplication.payment_id, func.sum(PaymentApplication.amount))
            .where(PaymentApplication.payment_id.in_(list(by_id)), PaymentApplication.credit_memo_id.is_not(None))
            .group_by(PaymentApplication.payment_id)
        ):
            by_id[payment_id].credit_memo_applied = _money(used)


def _read_credit_memos(session: Session, batch: ImportBatch, book: BookSnapshot) -> None:
    for keys in chunks(sorted(batch.credit_memos)):
        rows = session.execute(
            select(CreditMemo.id, CreditMemo.number, Customer.code, CreditMemo.memo_date, CreditMemo.reason,
                   CreditMemo.total)
            .join(Customer, Customer.id == CreditMemo.customer_id).where(CreditMemo.number.in_(keys))
        ).all()
        by_id: dict[int, ExistingCreditMemo] = {}
        for row in rows:
            fields = {"memo_date": as_date(row.memo_date), "reason": row.reason, "total": _money(row.total)}
            by_id[row.id] = book.credit_memos[row.number] = ExistingCreditMemo(row.id, row.code, fields, (), {})
        if not by_id:
            continue
        lines: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for line in session.execute(
            select(CreditMemoLine.credit_memo_id, ChargeCode.code, CreditMemoLine.description,
                   CreditMemoLine.quantity, CreditMemoLine.rate, CreditMemoLine.amount)
            .join(ChargeCode, ChargeCode.id == CreditMemoLine.charge_code_id)
            .where(CreditMemoLine.credit_memo_id.in_(list(by_id)))
            .order_by(CreditMemoLine.credit_memo_id, CreditMemoLine.position, CreditMemoLine.id)
        ):
            lines[line.credit_memo_id].append(_line(line.code, line.description, line.quantity, line.rate, line.amount))
        for memo_id, memo_lines in lines.items():
            by_id[memo_id].lines = tuple(memo_lines)
        for link in session.execute(
            select(CreditMemoApplication.credit_memo_id, Invoice.number, CreditMemoApplication.amount)
            .join(Invoice, Invoice.id == CreditMemoApplication.invoice_id)
            .where(CreditMemoApplication.credit_memo_id.in_(list(by_id)))
        ):
            apps = by_id[link.credit_memo_id].applications
            apps[link.number] = apps.get(link.number, Decimal("0.00")) + _money(link.amount)
