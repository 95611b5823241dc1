"""Writing a realistic, deterministic drayage book for the demo, the tests and the benchmarks into the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from qbcore.chunks import BULK_INSERT_CHUNK, SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.demo_companies import split_demo_companies
from qbcore.demo_payables import PAYABLES_MODELS, write_demo_payables
from qbcore.demo_rows import CREDIT_REASONS, BookRows, dollars
from qbcore.labels import plural
from qbcore.models import (
    ENTITY_NOUNS,
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    EntityType,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
    utcnow,
)
from qbcore.refusals import Refusal
from qbcore.sync.records import ensure_sync_records


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run wrote."""

    customers: int
    charge_codes: int
    loads: int
    invoices: int
    charge_lines: int
    payments: int
    credit_memos: int
    customers_per_company: dict[str, int] = field(default_factory=dict)  # with two companies

    def sentence(self) -> str:
        """What was written, in the entities' own nouns: "2,000 invoices (…), 40 customers, …, 150 credit memos"."""
        def count(entity_type: EntityType, number: int) -> str:
            return plural(number, *ENTITY_NOUNS[entity_type])

        return (f"{count(EntityType.INVOICE, self.invoices)} ({plural(self.charge_lines, 'charge line')}, "
                f"{plural(self.loads, 'load')}), {count(EntityType.CUSTOMER, self.customers)}, "
                f"{plural(self.charge_codes, 'charge code')}, {count(EntityType.PAYMENT, self.payments)}, "
                f"{count(EntityType.CREDIT_MEMO, self.credit_memos)}")


class BookNotEmptyError(Refusal, RuntimeError):
    """The database already holds a billing book; the demo never mixes into one."""


def has_book(session: Session) -> bool:
    """True when any customer exists."""
    return session.scalar(select(func.count()).select_from(Customer)) != 0


def _bulk_insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL (several times faster), executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    table = model.__table__  # type: ignore[attr-defined]
    # COPY skips column defaults; the only one these tables have is updated_at (callers name a customer's company).
    if "updated_at" in table.c and "updated_at" not in rows[0]:
        now = utcnow()
        rows = [{**row, "updated_at": now} for row in rows]
    columns = list(rows[0])
    raw = connection.connection.driver_connection
    assert raw is not None, "a checked-out connection has a driver connection"
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def write_demo_book(session: Session, *, invoices: int, seed: int, as_of: date | None = None,
                    companies: int = 1) -> DemoSummary:
    """Write the demo book into an empty database, streaming in chunks (bounded memory).

    With companies=2 the book is split between a Carrier and a Brokerage QuickBooks company.
    """
    if companies not in (1, 2):
        raise ValueError("the demo book has one company, or two (a carrier and a brokerage)")
    if has_book(session):
        raise BookNotEmptyError("the database already holds a billing book; the demo only fills an empty one")
    book = BookRows(invoices, seed, as_of or date.today())
    # Named outright: PostgreSQL's COPY (the bulk path) applies no column defaults.
    company_id = resolve_company_id(session, None)
    _bulk_insert(session, Customer, [{**row, "company_id": company_id} for row in book.make_customers()])
    _bulk_insert(session, ChargeCode, book.make_codes())

    rng = book.rng
    # Per-invoice facts the payment and credit pass needs: (id, customer, date, total cents).
    open_invoices: list[tuple[int, int, date, int]] = []
    counts = {"lines": 0, "loads": 0}
    for batch in book.invoice_batches():
        _bulk_insert(session, Load, batch["loads"])
        _bulk_insert(session, Invoice, batch["invoices"])
        _bulk_insert(session, ChargeSet, batch["sets"])
        _bulk_insert(session, ChargeLine, batch["lines"])
        counts["lines"] += len(batch["lines"])
        counts["loads"] += len(batch["loads"])
        for inv in batch["invoices"]:
            open_invoices.append((inv["id"], inv["customer_id"], inv["invoice_date"], int(inv["total"] * 100)))

    credit_rows: list[dict[str, Any]] = []
    credit_lines: list[dict[str, Any]] = []
    credit_apps: list[dict[str, Any]] = []
    credited: dict[int, int] = {}
    for inv_id, customer_id, inv_date, total in open_invoices:
        if rng.random() < 0.04 and total > 10000:
            cm_id = len(credit_rows) + 1
            amount = min(total // 2, rng.randint(40, 400) * 100)
            code = rng.choice([3, 4, 5, 11])  # DETENTION, PERDIEM, STORAGE, DRYRUN
            cm_date = min(book.as_of, inv_date + timedelta(days=rng.randint(3, 25)))
            credit_rows.append(dict(id=cm_id, number=f"CM-{5000 + cm_id}", customer_id=customer_id,
                                    memo_date=cm_date, reason=rng.choice(CREDIT_REASONS), total=dollars(amount)))
            credit_lines.append(dict(id=cm_id, credit_memo_id=cm_id, charge_code_id=code + 1, position=1,
                                     description=CREDIT_REASONS[0], quantity=Decimal(1), rate=dollars(amount),
                                     amount=dollars(amount)))
            if rng.random() < 0.75:
                credit_apps.append(dict(id=len(credit_apps) + 1, credit_memo_id=cm_id, invoice_id=inv_id,
                                        amount=dollars(amount)))
                credited[inv_id] = amount

    payments: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    paid_status: dict[int, str] = {}
    pending: list[tuple[int, int, date, int]] = []
    for inv_id, customer_id, inv_date, total in open_invoices:
        age = (book.as_of - inv_date).days
        if age < 20 or rng.random() > min(0.92, age / 60):
            continue
        pending.append((inv_id, customer_id, inv_date, total - credited.get(inv_id, 0)))
    i = 0
    while i < len(pending):
        inv_id, customer_id, inv_date, _due = pending[i]
        # One check sometimes pays several invoices of the same customer.
        group = [pending[i]]
        j = i + 1
        while j < len(pending) and len(group) < 4 and pending[j][1] == customer_id and rng.random() < 0.5:
            group.append(pending[j])
            j += 1
        i = j
        pay_id = len(payments) + 1
        apps = []
        for g_inv, _, _, g_due in group:
            if g_due <= 0:
                continue
            partial = rng.random() < 0.08
            applied = g_due if not partial else max(100, g_due * rng.randint(30, 80) // 100)
            apps.append((g_inv, applied))
            paid_status[g_inv] = "partially_paid" if applied < g_due else "paid"
        if not apps:
            continue
        applied_total = sum(a for _, a in apps)
        unapplied = rng.choice([0] * 12 + [rng.randint(1, 300) * 100])
        method = rng.choices(["check", "ach", "wire", "card"], weights=[5, 6, 2, 1])[0]
        pay_date = min(book.as_of, inv_date + timedelta(days=rng.randint(12, 50)))
        payments.append(dict(
            id=pay_id, number=f"PMT-{20000 + pay_id}", customer_id=customer_id, method=method,
            reference_number=(f"CHK {rng.randint(1000, 99999)}" if method == "check"
                              else f"{method.upper()}-{rng.randint(10**7, 10**8 - 1)}"),
            payment_date=pay_date, amount=dollars(applied_total + unapplied), memo=None,
        ))
        for g_inv, applied in apps:
            applications.append(dict(id=len(applications) + 1, payment_id=pay_id, invoice_id=g_inv,
                                     credit_memo_id=None, amount=dollars(applied)))

    for rows, model in ((credit_rows, CreditMemo), (credit_lines, CreditMemoLine),
                        (credit_apps, CreditMemoApplication), (payments, Payment),
                        (applications, PaymentApplication)):
        for chunk in chunked(rows, BULK_INSERT_CHUNK):
            _bulk_insert(session, model, chunk)
    _mark_paid(session, paid_status)
    write_demo_payables(session, seed=seed, as_of=book.as_of, insert_rows=_bulk_insert)
    _advance_id_sequences(session, (Customer, ChargeCode, Load, Invoice, ChargeSet, ChargeLine, CreditMemo,
                                    CreditMemoLine, CreditMemoApplication, Payment, PaymentApplication,
                                    *PAYABLES_MODELS))
    split = split_demo_companies(session) if companies == 2 else {}
    ensure_sync_records(session)
    return DemoSummary(
        customers=len(book.customers), charge_codes=len(book.codes), loads=counts["loads"],
        invoices=len(open_invoices), charge_lines=counts["lines"], payments=len(payments),
        credit_memos=len(credit_rows), customers_per_company=split,
    )


def _advance_id_sequences(session: Session, models: tuple[type, ...]) -> None:
    """Move PostgreSQL's id sequences past the ids the demo wrote itself, so later inserts don't collide."""
    if session.connection().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__.name  # type: ignore[attr-defined]
        next_id = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id}, false)"))


def _mark_paid(session: Session, paid_status: dict[int, str]) -> None:
    by_status: dict[str, list[int]] = {}
    for inv_id, status in paid_status.items():
        by_status.setdefault(status, []).append(inv_id)
    for status, ids in by_status.items():
        for chunk in chunked(ids, SQL_IN_CHUNK):
            session.query(Invoice).filter(Invoice.id.in_(chunk)).update(
                {Invoice.status: status}, synchronize_session=False
            )
