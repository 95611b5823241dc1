"""Payables invariants the database itself enforces."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qbcore.db import transaction
from qbcore.models import (
    CarrierBill,
    Customer,
    Load,
    PayablesAccountMapping,
    PayCode,
    Settlement,
    SettlementLoad,
    Truck,
    Vendor,
)


def _vendor(session, code="D1", **roles):
    vendor = Vendor(code=code, name=f"Vendor {code}", **(roles or {"is_driver": True}))
    session.add(vendor)
    session.flush()
    return vendor


def _settlement(session, driver, number="STL-1", pay="500.00", deductions="120.00", net="380.00", **extra):
    fields = dict(number=number, driver_id=driver.id, period_start=date(2026, 10, 26), period_end=date(2026, 11, 1),
                  settlement_date=date(2026, 11, 4), pay_total=Decimal(pay), deduction_total=Decimal(deductions),
                  net_pay=Decimal(net))
    settlement = Settlement(**{**fields, **extra})
    session.add(settlement)
    session.flush()
    return settlement


def _load(session):
    customer = Customer(code="C1", name="Atlas Import Group")
    session.add(customer)
    session.flush()
    load = Load(load_number="L1", customer_id=customer.id, container_number="MSCU1234565", size_type="40HC",
                pickup_location="Maher Terminals", pickup_date=date(2026, 10, 27), delivery_location="Edison NJ",
                delivery_date=date(2026, 10, 27))
    session.add(load)
    session.flush()
    return load


def _carrier_bill(session, carrier, load, number="INV-77", **extra):
    fields = dict(carrier_id=carrier.id, load_id=load.id, carrier_invoice_number=number,
                  bill_date=date(2026, 10, 30), due_date=date(2026, 11, 29), total=Decimal("950.00"))
    bill = CarrierBill(**{**fields, **extra})
    session.add(bill)
    session.flush()
    return bill


def test_a_settlement_keeps_net_pay_equal_to_pay_less_deductions(factory):
    with transaction(factory) as session:
        _settlement(session, _vendor(session))
    with pytest.raises(IntegrityError), transaction(factory) as session:
        _settlement(session, _vendor(session, "D2"), number="STL-2", net="390.00")
    with factory() as session:
        assert session.scalars(select(Settlement.number)).all() == ["STL-1"]


def test_a_driver_has_one_settlement_per_period(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        driver = _vendor(session)
        _settlement(session, driver)
        _settlement(session, driver, number="STL-2")


@pytest.mark.parametrize("extra", [
    {"status": "paid"},  # paid without a date
    {"status": "draft", "paid_on": date(2026, 11, 5)},
    {"status": "approved"},  # not a settlement status
    {"period_end": date(2026, 10, 1)},  # period backwards
])
def test_a_settlement_status_says_what_its_dates_say(factory, extra):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        _settlement(session, _vendor(session), **extra)


def test_a_vendor_is_a_driver_a_fleet_owner_or_a_carrier_and_may_be_several(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        _vendor(session, "X1", is_driver=False, is_fleet_owner=False, is_carrier=False)
    with transaction(factory) as session:
        both = _vendor(session, "F1", is_driver=True, is_fleet_owner=True)
        session.add(Truck(number="T1", owner_id=both.id))
    with factory() as session:
        truck = session.scalars(select(Truck)).one()
        assert (truck.owner.code, truck.owner.is_driver, truck.owner.is_fleet_owner) == ("F1", True, True)


def test_a_load_appears_once_on_a_settlement(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        driver = _vendor(session)
        truck = Truck(number="T1", owner_id=driver.id)
        session.add(truck)
        settlement = _settlement(session, driver)
        load = _load(session)
        session.add_all([SettlementLoad(settlement_id=settlement.id, load_id=load.id, truck_id=truck.id),
                         SettlementLoad(settlement_id=settlement.id, load_id=load.id, truck_id=truck.id, position=2)])
        session.flush()


def test_a_carrier_invoice_number_is_unique_per_carrier_not_across_carriers(factory):
    with transaction(factory) as session:
        load = _load(session)
        first = _vendor(session, "CR1", is_carrier=True)
        second = _vendor(session, "CR2", is_carrier=True)
        _carrier_bill(session, first, load)
        _carrier_bill(session, second, load)
    with pytest.raises(IntegrityError), transaction(factory) as session:
        carrier = session.scalars(select(Vendor).where(Vendor.code == "CR1")).one()
        _carrier_bill(session, carrier, session.scalars(select(Load)).one())
    with factory() as session:
        assert session.scalar(select(CarrierBill.id).order_by(CarrierBill.id.desc()).limit(1)) == 2


@pytest.mark.parametrize("extra", [
    {"status": "disputed"},  # disputed without a reason
    {"status": "paid"},  # paid without a date
    {"total": Decimal("-1.00")},
    {"due_date": date(2026, 10, 1)},
])
def test_a_carrier_bill_refuses_what_cannot_be(factory, extra):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        _carrier_bill(session, _vendor(session, "CR1", is_carrier=True), _load(session), **extra)


def test_an_account_mapping_is_for_exactly_one_code(factory):
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(PayablesAccountMapping(qbo_account_name="Driver pay"))
        session.flush()
    with transaction(factory) as session:
        code = PayCode(code="LH", name="Line haul pay")
        session.add(code)
        session.flush()
        session.add(PayablesAccountMapping(pay_code_id=code.id, qbo_account_name="Driver pay"))
    with factory() as session:
        assert session.scalars(select(PayablesAccountMapping.qbo_account_name)).all() == ["Driver pay"]
