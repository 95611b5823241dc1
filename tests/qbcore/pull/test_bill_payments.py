"""Bills paid in QuickBooks come back through the pull over HTTP: settled in billing once, reversed on void, no twin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from quickbooks import QuickBooks
from quickbooks.objects.billpayment import BillPayment as QbBillPayment
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    EntityType,
    PulledBillPayment,
    Settlement,
    SettlementStatus,
    SyncRecord,
    SyncStatus,
)
from qbcore.pull import run_pull
from qbcore.queries.ids import IdFilter, list_linked_records
from qbcore.sync.records import ensure_sync_records
from qbcore.sync.runner import sync_now
from tests.qbcore.pull.arrange import pay_bill_in_quickbooks
from tests.qbcore.pull.conftest import gateway_for
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.test_payables import payables_on


@pytest.fixture
def bills_synced(demo_factory: sessionmaker[Session], connected: Config) -> sessionmaker[Session]:
    """The demo book with payables on, synced to the sandbox, and pulled once (our own pushes read back)."""
    payables_on(demo_factory)
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return demo_factory


def open_bill(factory: sessionmaker[Session], entity_type: EntityType) -> tuple[int, str, Decimal]:
    """(billing id, QuickBooks Bill id, amount) of a synced, unpaid settlement or carrier bill."""
    model: Any = Settlement if entity_type is EntityType.SETTLEMENT else CarrierBill
    amount = Settlement.net_pay if entity_type is EntityType.SETTLEMENT else CarrierBill.total
    with factory() as session:
        row = session.execute(
            select(model.id, SyncRecord.qbo_id, amount)
            .join(SyncRecord, (SyncRecord.entity_id == model.id) & (SyncRecord.entity_type == entity_type.value))
            .where(model.status.in_(("finalized", "accepted")), SyncRecord.qbo_id.is_not(None), amount > 50)
            .order_by(model.id).limit(1)).one()
    return int(row[0]), str(row[1]), Decimal(row[2])


def billing_state(factory: sessionmaker[Session], model: Any, entity_id: int) -> tuple[str, date | None]:
    with factory() as session:
        row = session.get(model, entity_id)
        return str(row.status), row.paid_on


def payment_record(factory: sessionmaker[Session], entity_type: EntityType, entity_id: int) -> SyncRecord | None:
    with factory() as session:
        return session.scalar(select(SyncRecord).where(SyncRecord.entity_type == entity_type.value,
                                                       SyncRecord.entity_id == entity_id))


def payments_of_bill(qb: QuickBooks, qbo_bill_id: str) -> list[str]:
    """The QuickBooks bill payments (not voided) that pay this bill."""
    return [str(p.Id) for p in QbBillPayment.all(max_results=1000, qb=qb)
            if float(p.TotalAmt or 0) > 0 and any(str(link.TxnId) == qbo_bill_id and link.TxnType == "Bill"
                                                  for line in p.Line for link in line.LinkedTxn)]


def pulled_rows(factory: sessionmaker[Session]) -> list[tuple[str, int, Decimal, str, str | None]]:
    with factory() as session:
        return [(r.entity_type, r.entity_id, r.amount, r.status, r.pay_type) for r in
                session.scalars(select(PulledBillPayment).order_by(PulledBillPayment.id))]


def test_a_settlement_paid_by_check_in_quickbooks_is_paid_once_and_the_next_sync_pushes_no_twin(
    bills_synced: sessionmaker[Session], connected: Config, qb: QuickBooks, sandbox: SandboxClient
) -> None:
    first = run_pull(bills_synced, connected)
    assert first.bill_payments == 0 and first.ignored > 0, "the bill payments we pushed are ours, not QuickBooks'"
    settlement_id, qbo_bill, net_pay = open_bill(bills_synced, EntityType.SETTLEMENT)
    check = pay_bill_in_quickbooks(qb, qbo_bill, net_pay, number="1001", txn_date="2026-11-20")

    summary = run_pull(bills_synced, connected)
    assert summary.bill_payments == 1 and "1 bill payment applied" in summary.sentence()
    assert billing_state(bills_synced, Settlement, settlement_id) == ("paid", date(2026, 11, 20))
    assert pulled_rows(bills_synced) == [("settlement", settlement_id, net_pay, "applied", "Check")]
    record = payment_record(bills_synced, EntityType.SETTLEMENT_PAYMENT, settlement_id)
    assert record is not None and (record.status, record.qbo_id) == (SyncStatus.PAID_OUTSIDE.value, None)
    assert "1001" in (record.note or "")
    with bills_synced() as session:
        audits = session.scalar(select(func.count()).select_from(AuditEvent))

    again = run_pull(bills_synced, connected)
    assert (again.bill_payments, again.reversed) == (0, 0)
    assert pulled_rows(bills_synced) == [("settlement", settlement_id, net_pay, "applied", "Check")]
    with bills_synced() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audits

    before_sync = sandbox.count("BillPayment")
    after = sync_now(bills_synced, connected, gateway=gateway_for(bills_synced, connected))
    assert (after.failed, after.blocked) == (0, 0)
    assert sandbox.count("BillPayment") == before_sync  # not even a payment left unapplied
    assert payments_of_bill(qb, qbo_bill) == [check]
    assert payment_record(bills_synced, EntityType.SETTLEMENT_PAYMENT, settlement_id).status == \
        SyncStatus.PAID_OUTSIDE.value


def test_a_partial_card_payment_shows_what_was_paid_and_keeps_the_carrier_bill_open(
    bills_synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    bill_id, qbo_bill, total = open_bill(bills_synced, EntityType.CARRIER_BILL)
    pay_bill_in_quickbooks(qb, qbo_bill, Decimal("40.00"), pay_type="CreditCard", number="VISA-77")

    summary = run_pull(bills_synced, connected)
    assert summary.bill_payments == 1
    assert billing_state(bills_synced, CarrierBill, bill_id) == ("accepted", None)
    assert pulled_rows(bills_synced) == [("carrier_bill", bill_id, Decimal("40.00"), "applied", "CreditCard")]
    assert payment_record(bills_synced, EntityType.CARRIER_PAYMENT, bill_id) is None
    with bills_synced() as session:
        frame = list_linked_records(session, IdFilter(entity_type=EntityType.CARRIER_BILL))
    shown = dict(zip(frame["entity_id"], frame["paid_in_qbo"], strict=True))
    assert shown[bill_id] == 40.0
    assert all(v is None for k, v in shown.items() if k != bill_id)
    assert total > Decimal("40.00")

    # The rest paid by check: now paid in full, on the later payment's date.
    pay_bill_in_quickbooks(qb, qbo_bill, total - Decimal("40.00"), number="1002", txn_date="2026-11-25")
    run_pull(bills_synced, connected)
    assert billing_state(bills_synced, CarrierBill, bill_id) == ("paid", date(2026, 11, 25))


def test_a_void_in_quickbooks_reopens_the_settlement_and_the_sync_then_pays_nothing(
    bills_synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    settlement_id, qbo_bill, net_pay = open_bill(bills_synced, EntityType.SETTLEMENT)
    check = pay_bill_in_quickbooks(qb, qbo_bill, net_pay)
    run_pull(bills_synced, connected)
    assert billing_state(bills_synced, Settlement, settlement_id)[0] == "paid"

    QbBillPayment.get(check, qb=qb).void(qb=qb)
    summary = run_pull(bills_synced, connected)
    assert summary.reversed == 1
    assert billing_state(bills_synced, Settlement, settlement_id) == ("finalized", None)
    assert pulled_rows(bills_synced) == [("settlement", settlement_id, net_pay, "reversed", "Check")]
    assert payment_record(bills_synced, EntityType.SETTLEMENT_PAYMENT, settlement_id) is None
    with bills_synced() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "settlement")))
    assert {"apply_pulled_bill_payment", "settlement_paid_from_quickbooks", "reverse_pulled_bill_payment",
            "settlement_unpaid_from_quickbooks"} <= actions

    sync_now(bills_synced, connected, gateway=gateway_for(bills_synced, connected))
    assert payments_of_bill(qb, qbo_bill) == []
    assert run_pull(bills_synced, connected).reversed == 0


def test_a_settlement_paid_in_billing_and_by_check_in_quickbooks_before_our_sync_gets_no_second_payment(
    bills_synced: sessionmaker[Session], connected: Config, qb: QuickBooks, sandbox: SandboxClient
) -> None:
    settlement_id, qbo_bill, net_pay = open_bill(bills_synced, EntityType.SETTLEMENT)
    with transaction(bills_synced) as session:
        # The billing system marks it paid; its bill payment waits for the next sync.
        settlement = session.get_one(Settlement, settlement_id)
        settlement.status, settlement.paid_on = SettlementStatus.PAID, date(2026, 11, 21)
        ensure_sync_records(session)
    record = payment_record(bills_synced, EntityType.SETTLEMENT_PAYMENT, settlement_id)
    assert record is not None and record.status == SyncStatus.NEVER_SYNCED.value
    check = pay_bill_in_quickbooks(qb, qbo_bill, net_pay, number="1003", txn_date="2026-11-21")

    assert run_pull(bills_synced, connected).bill_payments == 1
    assert payment_record(bills_synced, EntityType.SETTLEMENT_PAYMENT, settlement_id).status == \
        SyncStatus.PAID_OUTSIDE.value
    before_sync = sandbox.count("BillPayment")
    sync_now(bills_synced, connected, gateway=gateway_for(bills_synced, connected))
    assert sandbox.count("BillPayment") == before_sync
    assert payments_of_bill(qb, qbo_bill) == [check]
    assert billing_state(bills_synced, Settlement, settlement_id) == ("paid", date(2026, 11, 21))
