"""Model invariants the database itself enforces."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from qbcore.access import LOCAL_ADMIN, write_audit
from qbcore.db import transaction
from qbcore.models import (
    AuditEvent,
    CreditMemo,
    CreditMemoApplication,
    Customer,
    Invoice,
    Payment,
    PaymentApplication,
)


def _customer(session, code="C1"):
    customer = Customer(code=code, name=f"Customer {code}", terms="Net 30")
    session.add(customer)
    session.flush()
    return customer


def _invoice(session, customer, number="INV-1", total="100.00"):
    invoice = Invoice(number=number, customer_id=customer.id, invoice_date=date(2026, 1, 1),
                      due_date=date(2026, 1, 31), total=Decimal(total))
    session.add(invoice)
    session.flush()
    return invoice


def _payment(session, customer, amount="100.00", number="P1"):
    payment = Payment(number=number, customer_id=customer.id, method="check", payment_date=date(2026, 1, 5),
                      amount=Decimal(amount))
    session.add(payment)
    session.flush()
    return payment


def test_invoice_numbers_are_unique(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        customer = _customer(session)
        _invoice(session, customer, "INV-9")
        _invoice(session, customer, "INV-9")


@pytest.mark.parametrize("total", ["-0.01", "-100"])
def test_invoice_totals_are_never_negative(factory, total):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        _invoice(session, _customer(session), total=total)


def test_money_comes_back_as_decimal_cents(factory):
    with transaction(factory) as session:
        _invoice(session, _customer(session), total="1234.57")
    with factory() as session:
        total = session.scalar(select(Invoice.total))
    assert total == Decimal("1234.57")
    assert isinstance(total, Decimal)


def test_a_partial_payment_with_an_unapplied_remainder_is_allowed(factory):
    with transaction(factory) as session:
        customer = _customer(session)
        invoice = _invoice(session, customer, total="100.00")
        payment = _payment(session, customer, amount="150.00")
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=invoice.id, amount=Decimal("60.00")))
    with factory() as session:
        applied = session.scalar(select(PaymentApplication.amount))
    assert applied == Decimal("60.00")


def test_a_payment_cannot_be_applied_beyond_its_amount(factory):
    with transaction(factory) as session:
        customer = _customer(session)
        first = _invoice(session, customer, "INV-1", "100.00")
        second = _invoice(session, customer, "INV-2", "100.00")
        payment = _payment(session, customer, amount="150.00")
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=first.id, amount=Decimal("100.00")))
    with pytest.raises(DatabaseError, match="beyond its amount"), transaction(factory) as session:
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=second.id, amount=Decimal("50.01")))
    with factory() as session:
        second_applied = select(PaymentApplication.amount).where(PaymentApplication.invoice_id == second.id)
        assert session.scalar(second_applied) is None


def test_an_invoice_cannot_be_paid_and_credited_beyond_its_total(factory):
    with transaction(factory) as session:
        customer = _customer(session)
        invoice = _invoice(session, customer, total="100.00")
        credit = CreditMemo(number="CM-1", customer_id=customer.id, memo_date=date(2026, 1, 3), total=Decimal("30"))
        session.add(credit)
        session.flush()
        session.add(CreditMemoApplication(credit_memo_id=credit.id, invoice_id=invoice.id, amount=Decimal("30")))
        payment = _payment(session, customer, amount="200.00")
    with pytest.raises(DatabaseError, match="beyond its total"), transaction(factory) as session:
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=invoice.id, amount=Decimal("70.01")))
    with transaction(factory) as session:
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=invoice.id, amount=Decimal("70.00")))


def test_a_credit_memo_cannot_be_applied_beyond_its_total(factory):
    with transaction(factory) as session:
        customer = _customer(session)
        invoice = _invoice(session, customer, total="500.00")
        credit = CreditMemo(number="CM-1", customer_id=customer.id, memo_date=date(2026, 1, 3), total=Decimal("40"))
        session.add(credit)
    with pytest.raises(DatabaseError, match="credit memo applied beyond"), transaction(factory) as session:
        session.add(CreditMemoApplication(credit_memo_id=credit.id, invoice_id=invoice.id, amount=Decimal("40.01")))


def test_an_application_targets_exactly_one_document(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        customer = _customer(session)
        payment = _payment(session, customer)
        session.add(PaymentApplication(payment_id=payment.id, invoice_id=None, credit_memo_id=None,
                                       amount=Decimal("1")))


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"])
def test_the_audit_log_is_append_only(factory, statement):
    with transaction(factory) as session:
        write_audit(session, LOCAL_ADMIN, "remove_qbo_id", target_type="invoice", target_id=7, reason="wrong id")
    with pytest.raises(DatabaseError, match="append-only"), transaction(factory) as session:
        session.execute(text(statement))
    with factory() as session:
        event = session.scalar(select(AuditEvent))
    assert (event.actor, event.action, event.reason) == (LOCAL_ADMIN.email, "remove_qbo_id", "wrong id")
