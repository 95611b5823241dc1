"""Vendor routing over HTTP: settlements billed to the driver, the fleet owner, or split into one bill per owner."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from quickbooks import QuickBooks
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.entities.payables import SETTLEMENT_LINES
from qbcore.models import EntityType, Settlement, SettlementShare, SettlementStatus, SyncRecord, SyncStatus
from qbcore.pull import run_pull
from qbcore.reconcile.payables import reconcile_payables
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.pull.arrange import pay_bill_in_quickbooks
from tests.qbcore.pull.conftest import qb  # noqa: F401
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import statuses
from tests.qbcore.sync.test_payables import gateway_for, payables_on


def route(factory: sessionmaker[Session], routing: str) -> None:
    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, {"settlement_vendor": routing})


def billed(factory: sessionmaker[Session]) -> list[Settlement]:
    """Finalized and paid settlements with their loads' trucks (and owners) loaded."""
    with factory() as session:
        return list(session.scalars(select(Settlement).where(Settlement.status.in_(("finalized", "paid")))
                                    .options(selectinload(Settlement.deductions), *SETTLEMENT_LINES)
                                    .order_by(Settlement.id)))


def owners_of(settlement: Settlement) -> list[int]:
    return list(dict.fromkeys(load.truck.owner_id for load in settlement.loads))


def qbo_ids(factory: sessionmaker[Session], entity_type: EntityType) -> dict[int, str]:
    with factory() as session:
        return {r.entity_id: str(r.qbo_id) for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == entity_type.value, SyncRecord.qbo_id.is_not(None)))}


def bills_in_quickbooks(sandbox: SandboxClient, factory: sessionmaker[Session], connected: Config) -> dict[str, dict]:
    return {str(b["Id"]): b for b in gateway_for(factory, connected).query_all("Bill")}


def open_split_settlement(factory: sessionmaker[Session], connected: Config) -> Settlement:
    """A settlement on two owners' trucks, finalized and not paid in billing; the book then synced to fleet owners."""
    settlement = next(s for s in billed(factory) if len(owners_of(s)) > 1)
    with transaction(factory) as session:
        row = session.get_one(Settlement, settlement.id)
        row.status, row.paid_on = SettlementStatus.FINALIZED, None
        session.execute(delete(SyncRecord).where(SyncRecord.entity_type == EntityType.SETTLEMENT_PAYMENT.value,
                                                 SyncRecord.entity_id == settlement.id))
    payables_on(factory)
    route(factory, "fleet_owner")
    summary = sync_now(factory, connected, gateway=gateway_for(factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return settlement


@pytest.fixture
def split_book(demo_factory: sessionmaker[Session], connected: Config) -> sessionmaker[Session]:
    """The demo book, payables on, settlements billed to fleet owners, synced once."""
    payables_on(demo_factory)
    route(demo_factory, "fleet_owner")
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return demo_factory


def test_a_settlement_on_two_fleet_owners_trucks_becomes_one_bill_per_owner_adding_up_to_its_net_pay(
    split_book: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    settlements = billed(split_book)
    split = [s for s in settlements if len(owners_of(s)) > 1]
    assert split, "the demo has drivers who drive for two fleet owners"
    with split_book() as session:
        shares = list(session.scalars(select(SettlementShare).order_by(SettlementShare.settlement_id,
                                                                        SettlementShare.position)))
        vendors = {r.entity_id: str(r.qbo_id) for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.VENDOR.value))}
    extra = [s for s in shares if s.position >= 2]
    assert len(extra) == sum(len(owners_of(s)) - 1 for s in split)
    assert statuses(split_book, EntityType.SETTLEMENT_SHARE) == {SyncStatus.SYNCED.value: len(extra)}
    bills = bills_in_quickbooks(sandbox, split_book, connected)
    own, shared = qbo_ids(split_book, EntityType.SETTLEMENT), qbo_ids(split_book, EntityType.SETTLEMENT_SHARE)
    by_settlement: dict[int, list[SettlementShare]] = defaultdict(list)
    for share in shares:
        by_settlement[share.settlement_id].append(share)
    for settlement in split:
        parts = by_settlement[settlement.id]
        assert sorted(p.payee_id for p in parts) == sorted(owners_of(settlement))
        qbo = [bills[own[settlement.id]]] + [bills[shared[p.id]] for p in parts[1:]]
        assert [b["DocNumber"] for b in qbo] == [settlement.number] + [f"{settlement.number}-{p.position}"
                                                                       for p in parts[1:]]
        assert [b["VendorRef"]["value"] for b in qbo] == [vendors[p.payee_id] for p in parts]
        assert sum(Decimal(str(b["TotalAmt"])) for b in qbo) == settlement.net_pay
        assert [Decimal(str(b["TotalAmt"])) for b in qbo] == [p.net_pay for p in parts]
        assert "bill 2 of" in qbo[1]["PrivateNote"]
    single = next(s for s in settlements if len(owners_of(s)) == 1)
    assert bills[own[single.id]]["VendorRef"]["value"] == vendors[owners_of(single)[0]]
    assert sandbox.count("Bill") == len(settlements) + len(extra) + len(qbo_ids(split_book, EntityType.CARRIER_BILL))

    # Paid settlements pay each of their bills, to each bill's own vendor.
    paid_extra = [p for p in extra if next(s for s in settlements if s.id == p.settlement_id).status == "paid"]
    assert paid_extra, "the demo has paid settlements that split"
    assert statuses(split_book, EntityType.SHARE_PAYMENT) == {SyncStatus.SYNCED.value: len(paid_extra)}

    # Synced again, nothing new is made: no twin bill, no twin payment.
    counts = (sandbox.count("Bill"), sandbox.count("BillPayment"))
    again = sync_now(split_book, connected, gateway=gateway_for(split_book, connected))
    assert (again.failed, again.blocked, again.synced) == (0, 0, 0)
    assert (sandbox.count("Bill"), sandbox.count("BillPayment")) == counts


def test_a_change_of_routing_never_moves_a_bill_already_in_quickbooks(
    split_book: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    before = {k: (b["VendorRef"]["value"], b["TotalAmt"]) for k, b in
              bills_in_quickbooks(sandbox, split_book, connected).items()}
    with split_book() as session:
        shares_before = session.scalars(select(SettlementShare.id).order_by(SettlementShare.id)).all()
    route(split_book, "driver")
    summary = sync_now(split_book, connected, gateway=gateway_for(split_book, connected))
    assert (summary.failed, summary.blocked, summary.synced) == (0, 0, 0)
    after = {k: (b["VendorRef"]["value"], b["TotalAmt"]) for k, b in
             bills_in_quickbooks(sandbox, split_book, connected).items()}
    assert after == before
    with split_book() as session:
        assert session.scalars(select(SettlementShare.id).order_by(SettlementShare.id)).all() == shares_before


def test_both_bills_the_one_fleet_owner_or_else_the_driver_and_never_splits(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    payables_on(demo_factory)
    route(demo_factory, "both")
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    assert statuses(demo_factory, EntityType.SETTLEMENT_SHARE) == {}
    bills = bills_in_quickbooks(sandbox, demo_factory, connected)
    own, vendors = qbo_ids(demo_factory, EntityType.SETTLEMENT), qbo_ids(demo_factory, EntityType.VENDOR)
    kinds = set()
    for settlement in billed(demo_factory):
        owners = owners_of(settlement)
        payee = owners[0] if len(owners) == 1 else settlement.driver_id
        kinds.add((len(owners) > 1, payee == settlement.driver_id))
        bill = bills[own[settlement.id]]
        assert bill["VendorRef"]["value"] == vendors[payee]
        assert Decimal(str(bill["TotalAmt"])) == settlement.net_pay
    # Every case is in the demo: two owners (the driver), another owner's trucks, an owner-operator's own truck.
    assert kinds == {(True, True), (False, False), (False, True)}


def test_split_bills_paid_in_quickbooks_settle_the_settlement_and_no_payment_is_pushed_for_any_of_them(
    demo_factory: sessionmaker[Session], connected: Config, qb: QuickBooks, sandbox: SandboxClient  # noqa: F811
) -> None:
    settlement = open_split_settlement(demo_factory, connected)
    split_book = demo_factory
    run_pull(split_book, connected)  # our own pushes read back first
    with split_book() as session:
        parts = list(session.scalars(select(SettlementShare).where(SettlementShare.settlement_id == settlement.id)
                                     .order_by(SettlementShare.position)))
    own, shared = qbo_ids(split_book, EntityType.SETTLEMENT), qbo_ids(split_book, EntityType.SETTLEMENT_SHARE)
    pay_bill_in_quickbooks(qb, shared[parts[1].id], parts[1].net_pay, number="2001", txn_date="2026-11-27")
    run_pull(split_book, connected)
    with split_book() as session:
        assert session.get_one(Settlement, settlement.id).status == "finalized"  # one bill of two paid

    pay_bill_in_quickbooks(qb, own[settlement.id], parts[0].net_pay, number="2002", txn_date="2026-11-28")
    run_pull(split_book, connected)
    with split_book() as session:
        row = session.get_one(Settlement, settlement.id)
        assert (row.status, row.paid_on) == ("paid", date(2026, 11, 28))
        set_aside = {(str(r.entity_type), r.entity_id): str(r.status) for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type.in_((EntityType.SETTLEMENT_PAYMENT.value, EntityType.SHARE_PAYMENT.value)),
            SyncRecord.entity_id.in_([settlement.id, *(p.id for p in parts)])))}
    assert set_aside[(EntityType.SETTLEMENT_PAYMENT.value, settlement.id)] == SyncStatus.PAID_OUTSIDE.value
    assert all(set_aside[(EntityType.SHARE_PAYMENT.value, p.id)] == SyncStatus.PAID_OUTSIDE.value for p in parts[1:])
    payments = sandbox.count("BillPayment")
    sync_now(split_book, connected, gateway=gateway_for(split_book, connected))
    assert sandbox.count("BillPayment") == payments


def test_a_split_book_reconciles_bill_for_bill(
    split_book: sessionmaker[Session], connected: Config
) -> None:
    gateway = gateway_for(split_book, connected)
    result = reconcile_payables(split_book, gateway)
    theirs = gateway.query_all("Bill")
    assert result.differences == [], [r.explanation for r in result.differences]
    assert len(result.bills) == len(theirs) and result.other_bills == 0
    with split_book() as session:
        finalized = session.scalars(select(Settlement.net_pay).where(Settlement.status == "finalized")).all()
    assert result.qbo_open == sum((Decimal(str(b["Balance"])) for b in theirs), Decimal(0)) == result.ours_open
    assert result.ours_open >= sum(finalized, Decimal(0)) > 0
    split_vendors = {r.vendor for r in result.bills if r.entity_type == EntityType.SETTLEMENT_SHARE.value}
    assert split_vendors, "the split bills are compared as bills of their own"


def test_a_split_settlement_voided_in_billing_has_every_one_of_its_bills_deleted(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    settlement = open_split_settlement(demo_factory, connected)
    own, shared = qbo_ids(demo_factory, EntityType.SETTLEMENT), qbo_ids(demo_factory, EntityType.SETTLEMENT_SHARE)
    with demo_factory() as session:
        parts = session.scalars(select(SettlementShare.id).where(SettlementShare.settlement_id == settlement.id)
                                .order_by(SettlementShare.position)).all()
    targets = [own[settlement.id], *(shared[p] for p in parts[1:])]
    assert len(targets) == len(owners_of(settlement)) > 1
    bills = sandbox.count("Bill")
    with transaction(demo_factory) as session:
        session.get_one(Settlement, settlement.id).status = SettlementStatus.VOID
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    assert sandbox.count("Bill") == bills - len(targets)
    assert not set(targets) & set(bills_in_quickbooks(sandbox, demo_factory, connected))
    assert statuses(demo_factory, EntityType.SETTLEMENT_SHARE)[SyncStatus.REMOVED.value] == len(parts) - 1
    assert statuses(demo_factory, EntityType.SETTLEMENT)[SyncStatus.REMOVED.value] == 1
