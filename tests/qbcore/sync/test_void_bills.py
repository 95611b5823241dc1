"""A void voids it: a settlement or carrier bill voided in billing has its QuickBooks bill deleted, over HTTP, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from quickbooks import QuickBooks
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.errors import ErrorKind, QboCallError, QboError
from qbcore.labels import ERROR_KIND, SYNC_STATUS
from qbcore.models import CarrierBill, CarrierBillStatus, EntityType, Settlement, SyncAttempt, SyncRecord, SyncStatus
from qbcore.problems.causes import fix_hint_for
from qbcore.qbo.gateway import QboGateway
from qbcore.sync.runner import sync_now
from tests.qbcore.pull.arrange import pay_bill_in_quickbooks
from tests.qbcore.pull.conftest import qb  # noqa: F401
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import record_of
from tests.qbcore.sync.test_payables import gateway_for, payables_on


def _void(factory: sessionmaker[Session], model: Any, entity_id: int) -> None:
    with transaction(factory) as session:
        row = session.get(model, entity_id)
        row.status, row.paid_on = "void", None


def _first(factory: sessionmaker[Session], model: Any, status: str) -> int:
    with factory() as session:
        return int(session.scalars(select(model.id).where(model.status == status).order_by(model.id).limit(1)).one())


def _record(factory: sessionmaker[Session], entity_type: EntityType, entity_id: int) -> SyncRecord:
    with factory() as session:
        return record_of(session, entity_type, entity_id)


def _gone(gateway: QboGateway, qbo_id: str) -> bool:
    try:
        gateway.read("Bill", qbo_id)
    except QboCallError as exc:
        return exc.error.kind is ErrorKind.NOT_FOUND
    return False


@pytest.fixture
def synced_bills(demo_factory: sessionmaker[Session], connected: Config) -> sessionmaker[Session]:
    """The demo book with driver and carrier pay on, synced to the sandbox."""
    payables_on(demo_factory)
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return demo_factory


@pytest.mark.parametrize(("model", "entity_type", "status"), [
    (Settlement, EntityType.SETTLEMENT, "finalized"), (CarrierBill, EntityType.CARRIER_BILL, "accepted")])
def test_a_synced_bill_voided_in_billing_is_deleted_in_quickbooks_and_its_record_says_so(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient, model: Any,
    entity_type: EntityType, status: str,
) -> None:
    gateway = gateway_for(synced_bills, connected)
    entity_id = _first(synced_bills, model, status)
    qbo_id = _record(synced_bills, entity_type, entity_id).qbo_id or ""
    bills = sandbox.count("Bill")
    _void(synced_bills, model, entity_id)

    summary = sync_now(synced_bills, connected, gateway=gateway)
    assert (summary.synced, summary.failed, summary.blocked) == (1, 0, 0)
    assert sandbox.count("Bill") == bills - 1 and _gone(gateway, qbo_id)
    record = _record(synced_bills, entity_type, entity_id)
    assert (record.status, record.qbo_id, record.error_message) == (SyncStatus.REMOVED.value, None, None)
    assert f"Id {qbo_id} was deleted" in (record.note or "")
    assert SYNC_STATUS[record.status] == "Removed from QuickBooks (void)"
    with synced_bills() as session:
        assert session.scalars(select(SyncAttempt.outcome).where(SyncAttempt.sync_record_id == record.id)
                               .order_by(SyncAttempt.id.desc()).limit(1)).one() == "removed"

    again = sync_now(synced_bills, connected, gateway=gateway)
    assert (again.total, again.synced, again.failed) == (0, 0, 0)  # closed: nothing more to send
    assert sandbox.count("Bill") == bills - 1


def test_a_bill_voided_before_it_ever_synced_sends_nothing_and_needs_no_record(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    settlement_id = _first(demo_factory, Settlement, "finalized")
    bill_id = _first(demo_factory, CarrierBill, "accepted")
    with demo_factory() as session:
        number = session.get(Settlement, settlement_id).number
        invoice_number = session.get(CarrierBill, bill_id).carrier_invoice_number
    _void(demo_factory, Settlement, settlement_id)
    _void(demo_factory, CarrierBill, bill_id)

    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    assert sandbox.count("Bill", DocNumber=number) == 0 and sandbox.count("Bill", DocNumber=invoice_number) == 0
    with demo_factory() as session:
        assert session.scalar(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.entity_id == settlement_id)) is None
        assert session.scalar(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.CARRIER_BILL.value, SyncRecord.entity_id == bill_id)) is None
    assert sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected)).total == 0


def test_a_bill_paid_in_quickbooks_is_not_deleted_the_record_fails_plainly_and_goes_once_the_payment_is_gone(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient,
    qb: QuickBooks,  # noqa: F811
) -> None:
    gateway = gateway_for(synced_bills, connected)
    settlement_id = _first(synced_bills, Settlement, "finalized")
    qbo_id = _record(synced_bills, EntityType.SETTLEMENT, settlement_id).qbo_id or ""
    with synced_bills() as session:
        net_pay = Decimal(session.get(Settlement, settlement_id).net_pay)
    check = pay_bill_in_quickbooks(qb, qbo_id, net_pay, number="2002")
    _void(synced_bills, Settlement, settlement_id)
    bills = sandbox.count("Bill")

    summary = sync_now(synced_bills, connected, gateway=gateway)
    assert (summary.synced, summary.failed) == (0, 1)
    assert sandbox.count("Bill") == bills and not _gone(gateway, qbo_id)  # nothing lost
    record = _record(synced_bills, EntityType.SETTLEMENT, settlement_id)
    assert (record.status, record.qbo_id, record.error_kind) == (SyncStatus.FAILED.value, qbo_id,
                                                                  ErrorKind.PAID_IN_QBO.value)
    assert "void in billing" in (record.error_message or "") and "bill payment" in (record.error_message or "")
    assert "Traceback" not in (record.error_detail or "") + (record.error_message or "")
    hint = fix_hint_for(record.error_kind, record.error_code, record.blocked_by, EntityType.SETTLEMENT)
    assert hint.startswith("Delete (or void) the bill payment that pays this bill in QuickBooks first")
    assert ERROR_KIND[record.error_kind] == "Voided here, paid in QuickBooks"

    gateway.delete("BillPayment", check, "0", request_id="test-delete-check")  # finance removes the check
    after = sync_now(synced_bills, connected, gateway=gateway)
    assert (after.synced, after.failed) == (1, 0)
    assert _gone(gateway, qbo_id)
    assert _record(synced_bills, EntityType.SETTLEMENT, settlement_id).status == SyncStatus.REMOVED.value


def test_our_own_payment_of_a_voided_settlement_is_never_deleted_by_us_and_both_records_close_after_it(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(synced_bills, connected)
    settlement_id = _first(synced_bills, Settlement, "paid")
    bill = _record(synced_bills, EntityType.SETTLEMENT, settlement_id)
    payment = _record(synced_bills, EntityType.SETTLEMENT_PAYMENT, settlement_id)
    assert bill.qbo_id and payment.qbo_id
    _void(synced_bills, Settlement, settlement_id)
    payments = sandbox.count("BillPayment")

    summary = sync_now(synced_bills, connected, gateway=gateway)
    assert (summary.synced, summary.failed) == (0, 2)
    assert sandbox.count("BillPayment") == payments and not _gone(gateway, bill.qbo_id)
    failed = _record(synced_bills, EntityType.SETTLEMENT_PAYMENT, settlement_id)
    assert failed.status == SyncStatus.FAILED.value and "still in QuickBooks" in (failed.error_message or "")

    token = gateway.read("BillPayment", payment.qbo_id)["SyncToken"]
    gateway.delete("BillPayment", payment.qbo_id, str(token), request_id="test-delete-our-check")
    after = sync_now(synced_bills, connected, gateway=gateway)
    assert (after.synced, after.failed) == (2, 0)
    assert _gone(gateway, bill.qbo_id)
    assert {_record(synced_bills, t, settlement_id).status for t in (EntityType.SETTLEMENT,
                                                                     EntityType.SETTLEMENT_PAYMENT)} == {
        SyncStatus.REMOVED.value}


@pytest.mark.parametrize("replayable", [True, False], ids=["same-request-id", "request-id-forgotten"])
def test_a_delete_whose_answer_was_lost_is_retried_without_an_error_and_deletes_nothing_else(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient,
    monkeypatch: pytest.MonkeyPatch, replayable: bool,
) -> None:
    gateway = gateway_for(synced_bills, connected)
    bill_id = _first(synced_bills, CarrierBill, "accepted")
    qbo_id = _record(synced_bills, EntityType.CARRIER_BILL, bill_id).qbo_id or ""
    _void(synced_bills, CarrierBill, bill_id)
    bills = sandbox.count("Bill")
    real_delete = QboGateway.delete

    def delete_then_lose_the_answer(self: QboGateway, *args: Any, **kwargs: Any) -> dict[str, Any]:
        real_delete(self, *args, **kwargs)
        raise QboCallError(QboError(ErrorKind.TIMEOUT, "", "QuickBooks did not answer within 10 s", retryable=True))

    monkeypatch.setattr(QboGateway, "delete", delete_then_lose_the_answer)
    lost = sync_now(synced_bills, connected, gateway=gateway)
    assert (lost.synced, lost.failed) == (0, 1)
    record = _record(synced_bills, EntityType.CARRIER_BILL, bill_id)
    assert (record.status, record.qbo_id) == (SyncStatus.FAILED.value, qbo_id)
    assert record.request_id and record.request_id.rsplit("-", 1)[1].startswith("d")  # a delete's, kept
    assert sandbox.count("Bill") == bills - 1
    monkeypatch.setattr(QboGateway, "delete", real_delete)
    if not replayable:
        with transaction(synced_bills) as session:
            session.get(SyncRecord, record.id).request_id = None

    retry = sync_now(synced_bills, connected, gateway=gateway)
    assert (retry.synced, retry.failed, retry.blocked) == (1, 0, 0)
    assert sandbox.count("Bill") == bills - 1  # no other bill touched
    done = _record(synced_bills, EntityType.CARRIER_BILL, bill_id)
    assert (done.status, done.error_message) == (SyncStatus.REMOVED.value, None)


def test_a_voided_bill_set_back_to_accepted_in_billing_syncs_afresh(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(synced_bills, connected)
    bill_id = _first(synced_bills, CarrierBill, "accepted")
    old = _record(synced_bills, EntityType.CARRIER_BILL, bill_id).qbo_id
    _void(synced_bills, CarrierBill, bill_id)
    sync_now(synced_bills, connected, gateway=gateway)
    with transaction(synced_bills) as session:
        session.get(CarrierBill, bill_id).status = CarrierBillStatus.ACCEPTED
    summary = sync_now(synced_bills, connected, gateway=gateway)
    assert (summary.synced, summary.failed) == (1, 0)
    record = _record(synced_bills, EntityType.CARRIER_BILL, bill_id)
    assert record.status == SyncStatus.SYNCED.value and record.qbo_id not in (None, old)
    assert sandbox.duplicates("Bill") == []


def test_a_bill_whose_create_got_no_answer_is_found_by_number_and_vendor_and_deleted_when_voided(
    synced_bills: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(synced_bills, connected)
    settlement_id = _first(synced_bills, Settlement, "finalized")
    record = _record(synced_bills, EntityType.SETTLEMENT, settlement_id)
    qbo_id, request_id = record.qbo_id or "", record.request_id
    with transaction(synced_bills) as session:  # as if the create's answer had been lost
        lost = session.get(SyncRecord, record.id)
        lost.qbo_id, lost.qbo_sync_token, lost.status = None, None, SyncStatus.FAILED
        lost.request_id = request_id or "qbs-stl-lost-answer-c1"
    _void(synced_bills, Settlement, settlement_id)
    bills = sandbox.count("Bill")

    summary = sync_now(synced_bills, connected, gateway=gateway)
    assert (summary.synced, summary.failed) == (1, 0)
    assert sandbox.count("Bill") == bills - 1 and _gone(gateway, qbo_id)
    assert _record(synced_bills, EntityType.SETTLEMENT, settlement_id).status == SyncStatus.REMOVED.value
