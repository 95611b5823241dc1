"""The demo book's payables: drivers, fleet owners and carriers, weekly settlements, carrier bills; deterministic."""

from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from qbcore.demo_conflicts import UNMAPPED_PAY_CODE, demo_closing_date, first_invoice_day
from qbcore.demo_payables import _Payables
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    DeductionCode,
    Load,
    PayablesAccountMapping,
    PayCode,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    Truck,
    Vendor,
)
from qbo_sandbox.seed import ACCOUNTS
from tests.conftest import DEMO_AS_OF


def _snapshot(factory):
    with factory() as session:
        return {
            "settlements": session.execute(select(Settlement.number, Settlement.driver_id, Settlement.status,
                                                  Settlement.net_pay).order_by(Settlement.id)).all(),
            "bills": session.execute(select(CarrierBill.carrier_invoice_number, CarrierBill.status,
                                            CarrierBill.total).order_by(CarrierBill.id)).all(),
            "vendors": session.execute(select(Vendor.code, Vendor.name).order_by(Vendor.id)).all(),
        }


def _generate(loads, closing=None):
    book = _Payables(11, DEMO_AS_OF, loads, closing)
    drivers = book.make_vendors()
    return book.vendors, book.trucks, book.settlements(drivers)


def test_the_same_seed_and_loads_give_the_same_payables(demo_factory):
    with demo_factory() as session:
        loads = [tuple(row) for row in session.execute(select(Load.id, Load.delivery_date).order_by(Load.id))]
        closing = demo_closing_date(first_invoice_day(session))
    assert _generate(loads, closing) == _generate(loads, closing)
    vendors, _, rows = _generate(loads, closing)
    written = _snapshot(demo_factory)
    assert [(v["code"], v["name"]) for v in vendors] == [tuple(v) for v in written["vendors"]]
    assert [s["number"] for s in rows["settlements"]] == [s.number for s in written["settlements"]]
    assert [b["carrier_invoice_number"] for b in rows["bills"]] == [b[0] for b in written["bills"]]


def test_vendors_are_drivers_fleet_owners_and_carriers_with_their_trucks(demo_factory):
    with demo_factory() as session:
        vendors = session.scalars(select(Vendor)).all()
        roles = Counter(("driver" if v.is_driver else "") + ("owner" if v.is_fleet_owner else "")
                        + ("carrier" if v.is_carrier else "") for v in vendors)
        owners = {v.id for v in vendors if v.is_fleet_owner}
        drivers = {v.id for v in vendors if v.is_driver}
        truck_owner = dict(session.execute(select(Truck.id, Truck.owner_id)).all())
        fleets: dict[int, set[int]] = {}
        for driver_id, truck_id in session.execute(select(Settlement.driver_id, SettlementLoad.truck_id).join(
                SettlementLoad, SettlementLoad.settlement_id == Settlement.id)):
            fleets.setdefault(driver_id, set()).add(truck_owner[truck_id])
        carriers = [v for v in vendors if v.is_carrier]
    assert roles["owner"] == 3 and roles["carrier"] == 5 and roles["driver"] >= 8
    assert all(c.mc_number and c.dot_number and c.terms == "Net 30" for c in carriers)
    assert any(fleet == {d} for d, fleet in fleets.items()), "an owner-operator drives his own truck"
    assert any(len(fleet & owners) == 2 for fleet in fleets.values()), "a driver drives for two fleet owners"
    assert set(fleets) <= drivers


def test_settlements_are_weekly_pay_per_load_less_deductions_in_every_status(demo_factory):
    with demo_factory() as session:
        settlements = session.scalars(select(Settlement)).all()
        pay = dict(session.execute(select(SettlementLoad.settlement_id, func.sum(SettlementLine.amount)).join(
            SettlementLine, SettlementLine.settlement_load_id == SettlementLoad.id)
            .group_by(SettlementLoad.settlement_id)).all())
        deducted = dict(session.execute(select(SettlementDeduction.settlement_id, func.sum(SettlementDeduction.amount))
                                        .group_by(SettlementDeduction.settlement_id)).all())
        codes = set(session.scalars(select(DeductionCode.code).join(
            SettlementDeduction, SettlementDeduction.deduction_code_id == DeductionCode.id)))
    statuses = Counter(s.status for s in settlements)
    assert statuses["draft"] >= 1 and statuses["finalized"] >= 1 and statuses["paid"] >= 1
    for s in settlements:
        assert (s.period_end - s.period_start).days == 6 and s.period_start.weekday() == 0
        assert Decimal(str(pay[s.id])) == s.pay_total
        assert Decimal(str(deducted.get(s.id, 0))) == s.deduction_total
        assert s.net_pay == s.pay_total - s.deduction_total and s.net_pay > 0
        assert (s.status == "draft") == (s.settlement_date > DEMO_AS_OF)
    assert {"OCCACC", "CHASSIS", "FUELADV"} <= codes


def test_carrier_bills_per_brokered_load_some_accepted_some_paid_one_disputed(demo_factory):
    with demo_factory() as session:
        bills = session.scalars(select(CarrierBill)).all()
        totals = dict(session.execute(select(CarrierBillLine.carrier_bill_id, func.sum(CarrierBillLine.amount))
                                      .group_by(CarrierBillLine.carrier_bill_id)).all())
        settled_loads = set(session.scalars(select(SettlementLoad.load_id)))
    statuses = Counter(b.status for b in bills)
    assert statuses["accepted"] >= 1 and statuses["paid"] >= 1 and statuses["disputed"] == 1
    assert all(Decimal(str(totals[b.id])) == b.total for b in bills)
    assert not {b.load_id for b in bills} & settled_loads, "a brokered load is not also on a driver's settlement"
    assert all(b.bill_date <= DEMO_AS_OF for b in bills)


def test_every_code_but_the_planted_one_is_mapped_to_an_account_the_sandbox_has(demo_factory):
    with demo_factory() as session:
        mapped = session.execute(select(PayablesAccountMapping.pay_code_id, PayablesAccountMapping.deduction_code_id,
                                        PayablesAccountMapping.qbo_account_name)).all()
        pay_codes = {i: c for i, c in session.execute(select(PayCode.id, PayCode.code))}
        deduction_codes = set(session.scalars(select(DeductionCode.id)))
        unmapped_on = session.scalar(select(func.count(func.distinct(SettlementLoad.settlement_id))).join(
            SettlementLine, SettlementLine.settlement_load_id == SettlementLoad.id).join(
            PayCode, PayCode.id == SettlementLine.pay_code_id).where(PayCode.code == UNMAPPED_PAY_CODE))
        settlements = session.scalar(select(func.count()).select_from(Settlement))
    accounts = {name for name, *_ in ACCOUNTS}
    assert {pay_codes[p] for p, _, _ in mapped if p} == set(pay_codes.values()) - {UNMAPPED_PAY_CODE}
    assert {d for _, d, _ in mapped if d} == deduction_codes
    assert {a for _, _, a in mapped} <= accounts
    assert {"Driver Pay", "Carrier Costs", "Chassis Rental Expense", "Insurance"} <= {a for _, _, a in mapped}
    # The unmapped code blocks some settlements, not all: the others sync.
    assert 0 < unmapped_on < settlements


def test_one_carrier_bill_is_dated_in_the_closed_month_and_another_is_disputed(demo_factory):
    with demo_factory() as session:
        closing = demo_closing_date(first_invoice_day(session))
        bills = session.scalars(select(CarrierBill).order_by(CarrierBill.id)).all()
        delivered = dict(session.execute(select(Load.id, Load.delivery_date)).all())
    closed = [b for b in bills if b.bill_date <= closing]
    assert len(closed) == 1 and closed[0].status in ("accepted", "paid"), "QuickBooks refuses it: a closed month"
    assert delivered[closed[0].load_id] <= closed[0].bill_date
    disputed = [b for b in bills if b.status == "disputed"]
    assert len(disputed) == 1 and disputed[0].dispute_reason and disputed[0] is not closed[0]


def test_a_book_whose_carrier_bills_are_all_just_received_still_gets_its_disputed_one():
    # Every load delivered today: no carrier bill is accepted yet (a tiny demo book is like this).
    _, _, rows = _generate([(load_id, DEMO_AS_OF) for load_id in range(1, 60)])
    assert rows["bills"] and {b["status"] for b in rows["bills"]} == {"received", "disputed"}
    assert sum(b["status"] == "disputed" for b in rows["bills"]) == 1


def test_a_demo_split_between_two_companies_maps_the_codes_in_each_by_account_name(factory):
    from qbcore.db import transaction
    from qbcore.demo import write_demo_book
    from qbcore.demo_companies import BROKERAGE, CARRIER
    from qbcore.entities.payables import load_accounts
    from qbcore.models import Company

    with transaction(factory) as session:
        write_demo_book(session, invoices=60, seed=11, as_of=DEMO_AS_OF, companies=2)
    with factory() as session:
        companies = dict(session.execute(select(Company.name, Company.id)).all())
        carrier, brokerage = (load_accounts(session, {}, companies[name])["accounts"] for name in (CARRIER, BROKERAGE))
        planted = session.scalar(select(PayCode.id).where(PayCode.code == UNMAPPED_PAY_CODE))
    # Each company its own mappings, to the account of the same name in its own chart; the planted gap in both.
    assert carrier and brokerage == carrier and ("pay", planted) not in brokerage
