"""Payables reconciliation against the sandbox over HTTP: bills agree with QuickBooks'; every difference is named."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from quickbooks import QuickBooks
from quickbooks.objects.base import Ref
from quickbooks.objects.bill import Bill as QbBill
from quickbooks.objects.billpayment import BillPayment, BillPaymentLine, CheckPayment
from quickbooks.objects.detailline import AccountBasedExpenseLine, AccountBasedExpenseLineDetail
from quickbooks.objects.vendor import Vendor as QbVendor
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import CarrierBill, CarrierBillStatus, EntityType, Settlement, SyncRecord, Vendor
from qbcore.reconcile import (
    AGING_BUCKETS,
    BillIssue,
    compare_bill,
    payables_csv,
    reconcile,
    reconcile_payables,
)
from qbcore.reconcile.payables import CSV_HEADER
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.conftest import DEMO_AS_OF
from tests.qbcore.pull.conftest import _no_client_quota, config, connected, gateway_for, qb, sandbox  # noqa: F401
from tests.qbcore.sync.state import map_demo_pay_code, turn_on_payables


@pytest.fixture
def paysynced(demo_factory: sessionmaker[Session], connected: Config) -> sessionmaker[Session]:  # noqa: F811
    """The small demo book with driver pay and carrier pay switched on, synced to the sandbox."""
    turn_on_payables(demo_factory)
    map_demo_pay_code(demo_factory)  # the demo leaves one pay code unmapped (a planted conflict)
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return demo_factory


def _ref(value: str) -> Ref:
    made = Ref()
    made.value = value
    return made


def _linked(factory: sessionmaker[Session], model, status: str, entity_type: EntityType, count: int
            ) -> list[tuple[int, str]]:
    """(billing id, QuickBooks bill id) of synced bills in one status."""
    with factory() as session:
        rows = session.execute(select(model.id, SyncRecord.qbo_id).join(
            SyncRecord, (SyncRecord.entity_id == model.id) & (SyncRecord.entity_type == entity_type.value))
            .where(model.status == status, SyncRecord.qbo_id.is_not(None)).order_by(model.id).limit(count)).all()
    assert len(rows) == count
    return [(int(r[0]), str(r[1])) for r in rows]


def _pay_in_quickbooks(client: QuickBooks, bill_id: str) -> None:
    """A check written in QuickBooks by hand for the whole bill."""
    bill = QbBill.get(bill_id, qb=client)
    bank = client.query("SELECT * FROM Account WHERE Name = 'Checking'")["QueryResponse"]["Account"][0]["Id"]
    payment = BillPayment()
    payment.VendorRef = bill.VendorRef
    payment.TotalAmt = bill.TotalAmt
    payment.PayType = "Check"
    payment.CheckPayment = CheckPayment()
    payment.CheckPayment.BankAccountRef = _ref(bank)
    line = BillPaymentLine()
    line.Amount = bill.TotalAmt
    line.LinkedTxn = [bill.to_linked_txn()]
    payment.Line.append(line)
    payment.save(qb=client)


def _keyed_bill(client: QuickBooks, vendor_id: str, amount: float, number: str) -> None:
    """A bill keyed in QuickBooks by hand."""
    account = client.query("SELECT * FROM Account WHERE Name = 'Driver Pay'")["QueryResponse"]["Account"][0]["Id"]
    line = AccountBasedExpenseLine()
    line.Amount = amount
    line.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
    line.AccountBasedExpenseLineDetail.AccountRef = _ref(account)
    bill = QbBill()
    bill.VendorRef = _ref(vendor_id)
    bill.Line = [line]
    bill.DocNumber = number
    bill.save(qb=client)


def test_a_synced_book_with_payables_reconciles_with_quickbooks_bills_exactly(
    paysynced: sessionmaker[Session], connected: Config  # noqa: F811
) -> None:
    gateway = gateway_for(paysynced, connected)
    result = reconcile_payables(paysynced, gateway, as_of=DEMO_AS_OF)
    theirs = gateway.query_all("Bill")
    with paysynced() as session:
        finalized = session.scalars(select(Settlement.net_pay).where(Settlement.status == "finalized")).all()
        accepted = session.scalars(select(CarrierBill.total).where(CarrierBill.status == "accepted")).all()
        counted = session.scalar(select(Settlement.id).where(Settlement.status != "draft").limit(1))
    assert result.compared == ("Driver settlements", "Carrier bills")
    assert result.differences == [], [r.explanation for r in result.differences]
    assert len(result.bills) == len(theirs) and result.other_bills == 0
    assert result.ours_open == sum(finalized, Decimal(0)) + sum(accepted, Decimal(0)) > 0
    assert result.qbo_open == sum((Decimal(str(b["Balance"])) for b in theirs), Decimal(0)) == result.ours_open
    assert [a.bucket for a in result.aging] == list(AGING_BUCKETS)
    assert sum((a.ours for a in result.aging), Decimal(0)) == result.ours_open
    assert sum((a.qbo for a in result.aging), Decimal(0)) == result.qbo_open
    assert sum((v.ours_open for v in result.vendors), Decimal(0)) == result.ours_open
    assert {r.kind for r in result.bills} == {"Settlement", "Carrier bill"} and counted
    assert result.requests <= len(theirs) // 1000 + 1  # bulk reads, never one per bill
    # The receivables side is unchanged by bills in the same company.
    assert reconcile(paysynced, gateway, as_of=DEMO_AS_OF).differences == []


def test_every_payables_difference_is_found_and_explained_and_sums_to_the_gap(
    paysynced: sessionmaker[Session], connected: Config, qb: QuickBooks  # noqa: F811
) -> None:
    (paid_there, paid_there_qbo), (deleted, deleted_qbo) = _linked(
        paysynced, Settlement, "finalized", EntityType.SETTLEMENT, 2)
    (altered, altered_qbo), (moved, moved_qbo), (paid_here, _) = _linked(
        paysynced, CarrierBill, "accepted", EntityType.CARRIER_BILL, 3)
    _pay_in_quickbooks(qb, paid_there_qbo)
    QbBill.get(deleted_qbo, qb=qb).delete(qb=qb)
    bill = QbBill.get(altered_qbo, qb=qb)
    bill.Line[0].Amount = float(bill.Line[0].Amount) + 100
    bill.save(qb=qb)
    with paysynced() as session:
        links = dict(session.execute(select(SyncRecord.entity_id, SyncRecord.qbo_id).where(
            SyncRecord.entity_type == EntityType.VENDOR.value)).all())
        moved_row = session.get(CarrierBill, moved)
        assert moved_row is not None
        other_carrier = session.scalar(select(Vendor).where(Vendor.is_carrier, Vendor.id != moved_row.carrier_id)
                                       .order_by(Vendor.id).limit(1))
        driver = session.scalar(select(Vendor).where(Vendor.is_driver).order_by(Vendor.id).limit(1))
        assert other_carrier is not None and driver is not None
        other_name, driver_name = other_carrier.name, driver.name
    bill = QbBill.get(moved_qbo, qb=qb)
    bill.VendorRef = _ref(str(links[other_carrier.id]))
    bill.save(qb=qb)
    _keyed_bill(qb, str(links[driver.id]), 75.0, "HAND-1")  # for one of our drivers: not ours
    landlord = QbVendor()
    landlord.DisplayName = "Port Yard Landlord LLC"
    landlord.save(qb=qb)
    _keyed_bill(qb, str(landlord.Id), 1200.0, "RENT-11")  # a vendor billing does not have: outside the comparison
    # In our book: a carrier bill paid here whose check has not gone to QuickBooks, and a newly accepted one.
    with transaction(paysynced) as session:
        row = session.get(CarrierBill, paid_here)
        assert row is not None
        row.status, row.paid_on = CarrierBillStatus.PAID, date(2026, 11, 28)
        waiting = session.scalar(select(CarrierBill).where(CarrierBill.status.in_(("received", "disputed")))
                                 .order_by(CarrierBill.id).limit(1))
        assert waiting is not None
        waiting.status, waiting.dispute_reason = CarrierBillStatus.ACCEPTED, None
        new_id, new_total = waiting.id, waiting.total

    result = reconcile_payables(paysynced, gateway_for(paysynced, connected), as_of=DEMO_AS_OF)
    found = {(r.entity_type, r.entity_id): r for r in result.differences}
    settlement, carrier = EntityType.SETTLEMENT.value, EntityType.CARRIER_BILL.value
    assert found[(settlement, paid_there)].issue is BillIssue.PAID_IN_QBO
    assert found[(settlement, paid_there)].qbo_open == 0 and "Paid in QuickBooks" in \
        found[(settlement, paid_there)].explanation
    assert found[(settlement, deleted)].issue is BillIssue.MISSING_IN_QBO
    assert "deleted there" in found[(settlement, deleted)].explanation
    assert found[(carrier, altered)].issue is BillIssue.AMOUNT_DIFFERS
    assert found[(carrier, altered)].qbo_amount == found[(carrier, altered)].ours_amount + 100
    assert found[(carrier, moved)].issue is BillIssue.VENDOR_DIFFERS and other_name in \
        found[(carrier, moved)].explanation
    assert found[(carrier, paid_here)].issue is BillIssue.OPEN_IN_QBO
    assert "payment is not in QuickBooks yet" in found[(carrier, paid_here)].explanation
    assert found[(carrier, new_id)].issue is BillIssue.NOT_SYNCED and found[(carrier, new_id)].ours_open == new_total
    (hand,) = [r for r in result.differences if r.entity_id is None]
    assert (hand.issue, hand.number, hand.vendor, hand.qbo_open) == (BillIssue.NOT_OURS, "HAND-1", driver_name,
                                                                    Decimal("75.00"))
    assert len(result.differences) == 7
    assert (result.other_bills, result.other_open) == (1, Decimal("1200.00"))
    assert "RENT-11" not in {r.number for r in result.bills}
    gap = result.ours_open - result.qbo_open
    assert sum((r.difference for r in result.differences), Decimal(0)) == gap != 0
    assert sum((a.difference for a in result.aging), Decimal(0)) == gap
    assert sum((a.ours for a in result.aging), Decimal(0)) == result.ours_open
    assert sum((a.qbo for a in result.aging), Decimal(0)) == result.qbo_open
    assert sum((v.difference for v in result.vendors), Decimal(0)) == gap

    rows = list(csv.reader(io.StringIO(payables_csv(result, differences_only=True).decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_HEADER and len(rows) == len(result.differences) + 1
    internal = {"settlement", "carrier_bill", "finalized", "accepted", "never_synced", "qbo", "entity"}
    assert not [h for h in rows[0] if h.lower() in internal or "_" in h]
    issues = {row[CSV_HEADER.index("Issue")] for row in rows[1:]}
    assert "Paid in QuickBooks, open here" in issues and "Not ours" in issues
    assert {row[CSV_HEADER.index("Status here")] for row in rows[1:]} <= {"Finalized", "Accepted", "Paid", ""}
    assert {row[CSV_HEADER.index("Type")] for row in rows[1:]} == {"Settlement", "Carrier bill", "QuickBooks only"}


def test_only_what_syncs_is_compared_and_nothing_is_read_when_payables_are_off(
    paysynced: sessionmaker[Session], connected: Config  # noqa: F811
) -> None:
    with transaction(paysynced) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": False})
    result = reconcile_payables(paysynced, gateway_for(paysynced, connected), as_of=DEMO_AS_OF)
    # The settlements' bills are linked, so they are left out rather than called "not ours".
    assert result.compared == ("Carrier bills",) and result.differences == []
    assert {r.kind for r in result.bills} == {"Carrier bill"} and result.other_bills == 0
    with transaction(paysynced) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_carrier_bills": False})
    off = reconcile_payables(paysynced, gateway_for(paysynced, connected), as_of=DEMO_AS_OF)
    assert (off.compared, off.bills, off.requests) == ((), [], 0)


def test_pure_bill_comparisons_name_each_difference() -> None:
    ours = {"kind": "Settlement", "qbo_id": "9", "sync_status": "synced", "vendor": "Ray Diaz", "vendor_qbo_id": "4",
            "total": Decimal("500.00"), "open": Decimal("500.00"), "paid_on": None, "payment_sync_status": None}
    theirs = {"Id": "9", "TotalAmt": 500, "Balance": 500, "VendorRef": {"value": "4"}}
    assert compare_bill(ours, theirs, {}) == (BillIssue.MATCH, "")
    assert compare_bill(ours, {**theirs, "Balance": 200}, {})[0] is BillIssue.BALANCE_DIFFERS
    assert compare_bill({**ours, "qbo_id": None, "sync_status": "failed"}, None, {}) == (
        BillIssue.NOT_SYNCED, "The settlement is not in QuickBooks yet (sync status: failed)")
    paid = {**ours, "open": Decimal(0), "paid_on": date(2026, 11, 2), "payment_sync_status": "synced"}
    issue, text = compare_bill(paid, theirs, {})
    assert issue is BillIssue.OPEN_IN_QBO and "voided or deleted there" in text and "$500.00" in text
    assert compare_bill(ours, {**theirs, "VendorRef": {"value": "5"}}, {"5": "Ana Ruiz"}) == (
        BillIssue.VENDOR_DIFFERS, "Billed to Ray Diaz here, to Ana Ruiz in QuickBooks")


def test_each_company_compares_only_the_bills_of_the_pay_function_it_holds(
    demo_factory: sessionmaker[Session], config: Config  # noqa: F811
) -> None:
    from qbcore.companies import add_company, set_company_roles
    from qbcore.qbo.lookup import open_gateway
    from qbcore.qbo.oauth import ensure_local_connection
    from tests.qbcore.sync.state import PAYABLES_ON, copy_pay_code_accounts, map_demo_pay_code

    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        set_company_roles(session, LOCAL_ADMIN, carrier_pay_id=broker)
        for company_id in (1, broker):
            save_settings(session, LOCAL_ADMIN, PAYABLES_ON, company_id=company_id)
    copy_pay_code_accounts(demo_factory, broker)  # the Brokerage's own chart of accounts, mapped by name
    map_demo_pay_code(demo_factory)  # the demo leaves one pay code unmapped (a planted conflict)
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    summary = sync_now(demo_factory, config)
    assert (summary.failed, summary.blocked) == (0, 0)

    driver_pay = reconcile_payables(demo_factory, open_gateway(demo_factory, config, 1), as_of=DEMO_AS_OF)
    carrier_pay = reconcile_payables(demo_factory, open_gateway(demo_factory, config, broker), as_of=DEMO_AS_OF)
    assert driver_pay.differences == [] and carrier_pay.differences == []
    assert {r.kind for r in driver_pay.bills} == {"Settlement"} and {r.kind for r in carrier_pay.bills} == {
        "Carrier bill"}
    assert (driver_pay.other_bills, carrier_pay.other_bills) == (0, 0)
    with demo_factory() as session:
        owed = sum(session.scalars(select(CarrierBill.total).where(CarrierBill.status == "accepted")), Decimal(0))
    assert carrier_pay.ours_open == carrier_pay.qbo_open == owed
    rows = list(csv.reader(io.StringIO(payables_csv(carrier_pay).decode("utf-8-sig"))))
    assert rows[0][:4] == ["Bill", "Type", "Vendor", "Company"] and {r[3] for r in rows[1:]} == {"Brokerage"}
