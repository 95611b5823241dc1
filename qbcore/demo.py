"""Writing a realistic, deterministic drayage book for the demo, the tests and the benchmarks into the database."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter
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
    SettlementShare,
    SyncRecord,
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


def _defaults(table: Any, columns: list[str]) -> dict[str, Any] | None:
    """The Python-side defaults of the columns the rows leave out (None: one is SQL, only Core can apply it)."""
    values: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if column.name in columns or default is None or column.primary_key:
            continue
        if default.is_scalar:
            values[column.name] = default.arg
        elif default.is_callable:
            values[column.name] = default.arg(None)  # SQLAlchemy wraps the callable to take a context
        else:
            return None
    return values


def _bulk_insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL, one driver-level executemany of tuples elsewhere.

    Both skip the ORM's per-row bookkeeping, which was most of the writer's time at a million invoices.
    """
    if not rows:
        return
    connection = session.connection()
    table = model.__table__  # type: ignore[attr-defined]
    columns = list(rows[0])
    defaults = _defaults(table, columns)
    dialect = connection.dialect
    if defaults is None or (dialect.name != "postgresql" and dialect.paramstyle != "qmark"):
        session.execute(insert(model), rows)
        return
    names = [*columns, *defaults]
    fixed = tuple(defaults.values())
    pick = itemgetter(*columns)
    values: Any = ((*pick(row), *fixed) if len(columns) > 1 else (pick(row), *fixed) for row in rows)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None, "a checked-out connection has a driver connection"
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return
    processors = [(i, p) for i, name in enumerate(names)
                  if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    if processors:
        values = (_processed(row, processors) for row in values)
    marks = ", ".join("?" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", list(values))


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    """A row's values as the driver takes them (dates as text, amounts as floats on SQLite)."""
    out = list(row)
    for i, process in processors:
        if out[i] is not None:
            out[i] = process(out[i])
    return tuple(out)


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
    written = (Customer, ChargeCode, Load, Invoice, ChargeSet, ChargeLine, CreditMemo, CreditMemoLine,
               CreditMemoApplication, Payment, PaymentApplication, *PAYABLES_MODELS)
    set_aside = _set_aside_keys_and_indexes(session, (*written, SettlementShare, SyncRecord))
    # Named outright: PostgreSQL's COPY (the bulk path) applies no column defaults.
    company_id = resolve_company_id(session, None)
    _bulk_insert(session, Customer, [{**row, "company_id": company_id} for row in book.make_customers()])
    _bulk_insert(session, ChargeCode, book.make_codes())

    rng = book.rng
    # Per-invoice facts the payment and credit pass needs, as compact columns (a million invoices fit in ~20 MB):
    # id, customer, day (ordinal) and total in cents.
    inv_ids, inv_customers, inv_days, inv_totals = array("q"), array("q"), array("q"), array("q")
    counts = {"lines": 0, "loads": 0}
    for batch in book.invoice_batches():
        _bulk_insert(session, Load, batch["loads"])
        _bulk_insert(session, Invoice, batch["invoices"])
        _bulk_insert(session, ChargeSet, batch["sets"])
        _bulk_insert(session, ChargeLine, batch["lines"])
        counts["lines"] += len(batch["lines"])
        counts["loads"] += len(batch["loads"])
        for inv in batch["invoices"]:
            inv_ids.append(inv["id"])
            inv_customers.append(inv["customer_id"])
            inv_days.append(inv["invoice_date"].toordinal())
            inv_totals.append(int(inv["total"] * 100))
    open_invoices = zip(inv_ids, inv_customers, inv_days, inv_totals, strict=True)

    # Rows go out a chunk at a time, every table in this order (a credit line after its memo, an application
    # after its payment), so memory stays flat however big the book.
    out = _ChunkedRows(session, (CreditMemo, CreditMemoLine, CreditMemoApplication, Payment, PaymentApplication))
    counts.update(credit_memos=0, credit_apps=0, payments=0, applications=0)
    credited: dict[int, int] = {}
    for inv_id, customer_id, day, total in open_invoices:
        if rng.random() < 0.04 and total > 10000:
            counts["credit_memos"] += 1
            cm_id = counts["credit_memos"]
            amount = min(total // 2, rng.randint(40, 400) * 100)
            code = rng.choice([3, 4, 5, 11])  # DETENTION, PERDIEM, STORAGE, DRYRUN
            cm_date = min(book.as_of, date.fromordinal(day) + timedelta(days=rng.randint(3, 25)))
            out.add(CreditMemo, dict(id=cm_id, number=f"CM-{5000 + cm_id}", customer_id=customer_id,
                                     memo_date=cm_date, reason=rng.choice(CREDIT_REASONS), total=dollars(amount)))
            out.add(CreditMemoLine, dict(id=cm_id, credit_memo_id=cm_id, charge_code_id=code + 1, position=1,
                                         description=CREDIT_REASONS[0], quantity=Decimal(1), rate=dollars(amount),
                                         amount=dollars(amount)))
            if rng.random() < 0.75:
                counts["credit_apps"] += 1
                out.add(CreditMemoApplication, dict(id=counts["credit_apps"], credit_memo_id=cm_id, invoice_id=inv_id,
                                                    amount=dollars(amount)))
                credited[inv_id] = amount

    # The invoices a payment comes for, as positions in the columns above and the amount still due.
    pending, pending_due = array("q"), array("q")
    as_of_day = book.as_of.toordinal()
    for at, (inv_id, day, total) in enumerate(zip(inv_ids, inv_days, inv_totals, strict=True)):
        age = as_of_day - day
        if age < 20 or rng.random() > min(0.92, age / 60):
            continue
        pending.append(at)
        pending_due.append(total - credited.get(inv_id, 0))
    paid_status: dict[str, array[int]] = {"paid": array("q"), "partially_paid": array("q")}
    i = 0
    while i < len(pending):
        customer_id, inv_date = inv_customers[pending[i]], date.fromordinal(inv_days[pending[i]])
        # One check sometimes pays several invoices of the same customer.
        group = [i]
        j = i + 1
        while j < len(pending) and len(group) < 4 and inv_customers[pending[j]] == customer_id and rng.random() < 0.5:
            group.append(j)
            j += 1
        i = j
        apps = []
        for g in group:
            g_inv, g_due = inv_ids[pending[g]], pending_due[g]
            if g_due <= 0:
                continue
            partial = rng.random() < 0.08
            applied = g_due if not partial else max(100, g_due * rng.randint(30, 80) // 100)
            apps.append((g_inv, applied))
            paid_status["partially_paid" if applied < g_due else "paid"].append(g_inv)
        if not apps:
            continue
        counts["payments"] += 1
        pay_id = counts["payments"]
        applied_total = sum(a for _, a in apps)
        unapplied = rng.choice([0] * 12 + [rng.randint(1, 300) * 100])
        method = rng.choices(["check", "ach", "wire", "card"], weights=[5, 6, 2, 1])[0]
        pay_date = min(book.as_of, inv_date + timedelta(days=rng.randint(12, 50)))
        out.add(Payment, dict(
            id=pay_id, number=f"PMT-{20000 + pay_id}", customer_id=customer_id, method=method,
            reference_number=(f"CHK {rng.randint(1000, 99999)}" if method == "check"
                              else f"{method.upper()}-{rng.randint(10**7, 10**8 - 1)}"),
            payment_date=pay_date, amount=dollars(applied_total + unapplied), memo=None,
        ))
        for g_inv, applied in apps:
            counts["applications"] += 1
            out.add(PaymentApplication, dict(id=counts["applications"], payment_id=pay_id, invoice_id=g_inv,
                                             credit_memo_id=None, amount=dollars(applied)))
    out.flush()
    _mark_paid(session, paid_status)
    write_demo_payables(session, seed=seed, as_of=book.as_of, insert_rows=_bulk_insert)
    _advance_id_sequences(session, written)
    split = split_demo_companies(session) if companies == 2 else {}
    ensure_sync_records(session)
    _restore_keys_and_indexes(session, set_aside)
    if session.connection().dialect.name == "postgresql":
        # The planner's statistics of empty tables would plan the first pages over millions of rows as if over none
        # (Problem Sync at a million invoices: 2.3 s before, 1.1 s after); autovacuum gets there, but later. 4 s.
        session.execute(text("ANALYZE"))
    return DemoSummary(
        customers=len(book.customers), charge_codes=len(book.codes), loads=counts["loads"],
        invoices=len(inv_ids), charge_lines=counts["lines"], payments=counts["payments"],
        credit_memos=counts["credit_memos"], customers_per_company=split,
    )


# The indexes the write itself reads while the book is written, so they stay: the sync records' NOT EXISTS, and the
# over-application triggers' sums per payment and per invoice. Without them each row walked the table so far.
_INDEXES_THE_WRITE_NEEDS = ["ix_sync_records_type_entity", "ix_payment_applications_payment_id",
                            "ix_payment_applications_invoice_id", "ix_credit_memo_applications_invoice_id"]


def _set_aside_keys_and_indexes(session: Session, models: tuple[type, ...]) -> list[str]:
    """On PostgreSQL, drop the tables' foreign keys and plain indexes for the write; returns the SQL that restores them.

    Every row COPY wrote fired a trigger that looked its parents up one at a time (16 s of the 21 s the charge lines
    of 200,000 invoices took) and went into every index one at a time; added back once written, each key checks
    every row in one join and each index is built in one sort. Primary keys and unique constraints stay, checking
    as before. The drop is part of the writer's transaction, so a write that fails leaves the schema as it was.
    """
    if session.connection().dialect.name != "postgresql":
        return []
    tables = [model.__table__.name for model in models]  # type: ignore[attr-defined]
    names = {"tables": tables, "kept": _INDEXES_THE_WRITE_NEEDS}
    keys = session.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[])) ORDER BY 1, 2"), names).all()
    indexes = session.execute(text(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = ANY(CAST(:tables AS regclass[])) AND NOT indisunique "
        "AND NOT (SELECT relname FROM pg_class WHERE oid = indexrelid) = ANY(:kept) ORDER BY 1"), names).all()
    # Building the indexes back sorts millions of rows: in memory, not in 64 MB runs on disk (at 200,000 invoices
    # the rebuild took 17 s with the defaults, 10 s so). For this transaction only; the server's memory, not ours.
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    for table, name, _ in keys:
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f"DROP INDEX {name}"))
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in keys]


def _restore_keys_and_indexes(session: Session, statements: list[str]) -> None:
    """Build the indexes and add the foreign keys back that _set_aside_keys_and_indexes took off."""
    for statement in statements:
        session.execute(text(statement))


def _advance_id_sequences(session: Session, models: tuple[type, ...]) -> None:
    """Move PostgreSQL's id sequences past the ids the demo wrote itself, so later inserts don't collide."""
    if session.connection().dialect.name != "postgresql":
        return
    for model in models:
        table = model.__table__.name  # type: ignore[attr-defined]
        next_id = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id}, false)"))


def _mark_paid(session: Session, paid_status: dict[str, array[int]]) -> None:
    for status, ids in paid_status.items():
        for chunk in chunked(ids, SQL_IN_CHUNK):
            session.query(Invoice).filter(Invoice.id.in_(chunk)).update(
                {Invoice.status: status}, synchronize_session=False
            )


class _ChunkedRows:
    """Rows of several tables buffered and inserted a chunk at a time, the tables always in the given order."""

    def __init__(self, session: Session, models: tuple[type, ...]) -> None:
        self.session = session
        self.rows: dict[type, list[dict[str, Any]]] = {model: [] for model in models}
        self.buffered = 0

    def add(self, model: type, row: dict[str, Any]) -> None:
        """Buffer one row; flush everything once a chunk's worth is waiting."""
        self.rows[model].append(row)
        self.buffered += 1
        if self.buffered >= BULK_INSERT_CHUNK:
            self.flush()

    def flush(self) -> None:
        """Insert every buffered row, table by table in order."""
        for model, rows in self.rows.items():
            _bulk_insert(self.session, model, rows)
            rows.clear()
        self.buffered = 0
