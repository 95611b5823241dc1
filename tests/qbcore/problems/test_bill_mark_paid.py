"""Mark paid without sync for settlements and carrier bills: operator only, reasoned, audited, undone by Restore."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor
from qbcore.db import transaction
from qbcore.models import AuditEvent, CarrierBill, EntityType, Role, Settlement, SyncRecord, SyncStatus
from qbcore.problems import actions
from qbcore.problems.actions import NothingToChange, OutsidePayment, PaymentDetailsRefused
from qbcore.refusals import Refusal
from tests.qbcore.problems.problem_data import PayablesBook, seed_payables

OPERATOR = Actor("ops@example.com", Role.OPERATOR, "Olga Ops")
VIEWER = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")


@pytest.fixture
def payables_book(demo_factory: sessionmaker[Session]) -> PayablesBook:
    with transaction(demo_factory) as session:
        return seed_payables(session)


def _state(factory: sessionmaker[Session], record_id: int, model: type) -> tuple[str, str, date | None, str | None]:
    """(bill record status, billing status, paid on, its payment record's status) of one bill record."""
    payment_type = EntityType.SETTLEMENT_PAYMENT if model is Settlement else EntityType.CARRIER_PAYMENT
    with factory() as session:
        record = session.get(SyncRecord, record_id)
        row: Any = session.get(model, record.entity_id)
        payment = session.scalar(select(SyncRecord.status).where(SyncRecord.entity_type == payment_type.value,
                                                                 SyncRecord.entity_id == record.entity_id))
        return str(record.status), str(row.status), row.paid_on, payment


def test_a_viewer_is_refused_mark_paid_on_bills_and_the_refusal_is_audited(demo_factory, payables_book):
    target = payables_book.unmapped[:1]
    before = _state(demo_factory, target[0], Settlement)
    with transaction(demo_factory) as session, pytest.raises(PermissionError):
        actions.mark_paid_outside(session, VIEWER, EntityType.SETTLEMENT, target, reason="paid by check in QuickBooks",
                                  audit_factory=demo_factory)
    assert _state(demo_factory, target[0], Settlement) == before
    with demo_factory() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.actor == VIEWER.email)).all()
    assert [(e.action, e.outcome) for e in refused] == [("mark_settlements_paid", "refused")]


def test_a_settlement_entered_and_paid_in_quickbooks_is_marked_paid_and_its_payment_set_aside(
    demo_factory, payables_book
):
    with transaction(demo_factory) as session:
        # A finalized settlement whose bill QuickBooks refused: the bookkeeper entered and paid it there by hand.
        record_id = session.scalar(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value,
            SyncRecord.entity_id.in_(select(Settlement.id).where(Settlement.status == "finalized")))
            .order_by(SyncRecord.id).limit(1))
        session.execute(update(SyncRecord).where(SyncRecord.id == record_id).values(
            status=SyncStatus.FAILED.value, qbo_id=None, error_kind="validation"))
    with transaction(demo_factory) as session, pytest.raises(Refusal):
        actions.mark_paid_outside(session, OPERATOR, EntityType.SETTLEMENT, [record_id], reason="  ")
    with transaction(demo_factory) as session, pytest.raises(PaymentDetailsRefused, match="settlement's"):
        actions.mark_paid_outside(session, OPERATOR, EntityType.SETTLEMENT, [record_id], reason="paid by hand",
                                  payment=OutsidePayment(amount=10**6))
    was = _state(demo_factory, record_id, Settlement)
    with transaction(demo_factory) as session:
        result = actions.mark_paid_outside(session, OPERATOR, EntityType.SETTLEMENT, [record_id],
                                           reason="entered and paid by check in QuickBooks",
                                           payment=OutsidePayment(paid_on=date(2026, 11, 20), reference="1044"))
    assert result.count == 1 and result.amount > 0
    assert _state(demo_factory, record_id, Settlement) == ("paid_outside", "paid", date(2026, 11, 20), "paid_outside")
    with demo_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mark_settlement_paid_outside")).one()
    assert (event.actor, event.target_type, event.reason) == (OPERATOR.email, "settlement",
                                                              "entered and paid by check in QuickBooks")
    assert event.before["billing_status"] == "finalized" and event.after["payment"]["reference"] == "1044"
    with transaction(demo_factory) as session, pytest.raises(NothingToChange):
        actions.mark_paid_outside(session, OPERATOR, EntityType.SETTLEMENT, [record_id], reason="again")

    with transaction(demo_factory) as session:
        actions.restore_records(session, OPERATOR, EntityType.SETTLEMENT, [record_id])
    assert _state(demo_factory, record_id, Settlement) == (was[0], "finalized", None, None)


def test_a_carrier_bill_can_be_marked_paid_but_a_bill_payment_cannot(demo_factory, payables_book):
    record_id = payables_book.missing_account[0]
    with transaction(demo_factory) as session:
        actions.mark_paid_outside(session, OPERATOR, EntityType.CARRIER_BILL, [record_id], reason="paid by card there")
    state = _state(demo_factory, record_id, CarrierBill)
    assert state[:2] == (SyncStatus.PAID_OUTSIDE.value, "paid") and state[2] is not None
    assert state[3] in (SyncStatus.PAID_OUTSIDE.value, SyncStatus.SYNCED.value)
    with transaction(demo_factory) as session, pytest.raises(NothingToChange, match="cannot be marked paid"):
        actions.mark_paid_outside(session, OPERATOR, EntityType.SETTLEMENT_PAYMENT, [1], reason="no")
