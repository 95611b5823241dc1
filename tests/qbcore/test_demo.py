"""The demo book: deterministic, valid and realistic."""

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from qbcore.containers import is_valid_container_number
from qbcore.db import transaction
from qbcore.demo import BookNotEmptyError, write_demo_book
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoLine,
    Customer,
    EntityType,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
    SyncRecord,
    SyncStatus,
)
from tests.conftest import DEMO_AS_OF


def _snapshot(factory):
    with factory() as session:
        return {
            "invoices": session.execute(select(Invoice.number, Invoice.customer_id, Invoice.invoice_date,
                                               Invoice.total, Invoice.status).order_by(Invoice.id)).all(),
            "lines": session.execute(select(ChargeLine.charge_code_id, ChargeLine.amount)
                                     .order_by(ChargeLine.id)).all(),
            "loads": session.scalars(select(Load.container_number).order_by(Load.id)).all(),
            "payments": session.execute(select(Payment.number, Payment.amount).order_by(Payment.id)).all(),
        }


def test_the_same_seed_writes_the_same_book(engine, factory, tmp_path):
    from qbcore.db import make_engine, make_session_factory, migrate

    with transaction(factory) as session:
        write_demo_book(session, invoices=150, seed=3, as_of=DEMO_AS_OF)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    other_factory = make_session_factory(other)
    with transaction(other_factory) as session:
        write_demo_book(session, invoices=150, seed=3, as_of=DEMO_AS_OF)
    assert _snapshot(factory) == _snapshot(other_factory)


def test_the_demo_refuses_to_mix_into_an_existing_book(demo_factory):
    with pytest.raises(BookNotEmptyError), transaction(demo_factory) as session:
        write_demo_book(session, invoices=5, seed=1, as_of=DEMO_AS_OF)


def test_every_container_number_carries_a_valid_check_digit(demo_factory):
    with demo_factory() as session:
        numbers = session.scalars(select(Load.container_number)).all()
    assert numbers
    assert [n for n in numbers if not is_valid_container_number(n)] == []


def test_every_invoice_total_is_the_sum_of_its_lines_and_every_line_is_qty_times_rate(demo_factory):
    with demo_factory() as session:
        sums = dict(session.execute(
            select(ChargeSet.invoice_id, func.sum(ChargeLine.amount)).join(ChargeLine).group_by(ChargeSet.invoice_id)
        ).all())
        totals = dict(session.execute(select(Invoice.id, Invoice.total)).all())
        lines = session.execute(select(ChargeLine.quantity, ChargeLine.rate, ChargeLine.amount)).all()
        credit_lines = session.execute(select(CreditMemoLine.credit_memo_id, CreditMemoLine.amount)).all()
        credit_totals = dict(session.execute(select(CreditMemo.id, CreditMemo.total)).all())
    assert {k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in sums.items()} == totals
    assert all((q * r).quantize(Decimal("0.01")) == a for q, r, a in lines)
    assert {cm: amount for cm, amount in credit_lines} == credit_totals


def test_the_book_looks_like_a_drayage_company(demo_factory):
    with demo_factory() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
        subs = session.scalar(select(func.count()).select_from(Customer).where(Customer.parent_id.is_not(None)))
        codes = set(session.scalars(select(ChargeCode.code)))
        combined = session.scalars(select(Invoice.id).where(Invoice.is_combined)).all()
        sets_per_invoice = Counter(session.scalars(select(ChargeSet.invoice_id)))
        lines_per_set = Counter(session.scalars(select(ChargeLine.charge_set_id)))
        multi_invoice_payments = session.scalar(
            select(func.count()).select_from(
                select(PaymentApplication.payment_id).group_by(PaymentApplication.payment_id)
                .having(func.count() > 1).subquery()
            )
        )
        dates = session.execute(select(func.min(Invoice.invoice_date), func.max(Invoice.invoice_date))).one()
    assert 35 <= customers <= 45 and subs >= 4
    assert {"BASE", "FSC", "CHASSIS", "DETENTION", "PERDIEM", "STORAGE", "PREPULL", "OVERWEIGHT", "HAZMAT",
            "TOLL"} <= codes and len(codes) >= 15
    assert combined and all(2 <= sets_per_invoice[i] <= 12 for i in combined)
    assert all(1 <= n <= 9 for n in lines_per_set.values())
    assert multi_invoice_payments >= 1
    assert (DEMO_AS_OF - dates[0]).days <= 183 and dates[1] <= DEMO_AS_OF


def test_payments_include_partial_and_partly_unapplied_ones(demo_factory):
    with demo_factory() as session:
        applied = dict(session.execute(
            select(PaymentApplication.payment_id, func.sum(PaymentApplication.amount))
            .group_by(PaymentApplication.payment_id)
        ).all())
        amounts = dict(session.execute(select(Payment.id, Payment.amount)).all())
        partial = session.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "partially_paid"))
    unapplied = [p for p, a in amounts.items() if a - Decimal(str(applied.get(p, 0))) > 0]
    assert unapplied
    assert partial >= 1


def test_every_billing_record_starts_with_a_never_synced_record(demo_factory):
    with demo_factory() as session:
        per_type = select(SyncRecord.entity_type, func.count()).group_by(SyncRecord.entity_type)
        by_type = dict(session.execute(per_type).all())
        statuses = set(session.scalars(select(SyncRecord.status).distinct()))
        invoices = session.scalar(select(func.count()).select_from(Invoice))
    assert by_type[EntityType.INVOICE.value] == invoices
    # Split bills exist only once settlements are routed to fleet owners (the default bills the driver).
    assert set(by_type) == {e.value for e in EntityType} - {EntityType.SETTLEMENT_SHARE.value,
                                                             EntityType.SHARE_PAYMENT.value}
    assert statuses == {SyncStatus.NEVER_SYNCED.value}


def test_records_added_after_the_demo_get_fresh_ids(demo_factory):
    with transaction(demo_factory) as session:
        customer = Customer(code="NEW-1", name="New Customer")
        session.add(customer)
        session.flush()
        newest = session.scalar(select(func.max(Customer.id)))
    assert customer.id == newest


def test_a_bigger_book_spans_more_years_as_a_real_one_does():
    from datetime import date, timedelta

    from qbcore.demo_rows import BookRows, book_days

    assert book_days(2_000) == 182 and book_days(100_000) == 365 and book_days(1_000_000) == 3650
    as_of = date(2026, 11, 29)
    book = BookRows(1_000_000, 7, as_of)
    book.make_customers()
    first = next(book.invoice_batches())["invoices"][0]
    assert first["invoice_date"] == as_of - timedelta(days=3650)
