"""The demo's planted payables conflicts over HTTP: each shows on Problem Sync with its cause, and its fix syncs it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.demo_conflicts import (
    UNMAPPED_PAY_CODE,
    clashing_driver,
    demo_closing_date,
    first_invoice_day,
    plan_demo_conflicts,
)
from qbcore.jobs.schedule import run_schedule_tick
from qbcore.jobs.worker import run_worker
from qbcore.models import CarrierBill, EntityType, PayCode, SyncRecord, SyncStatus, Vendor
from qbcore.payables_accounts import map_code_account
from qbcore.problems.actions import resync_problems
from qbcore.problems.causes import RootCause
from qbcore.problems.queries import ProblemFilter, list_root_causes
from qbcore.pull.runner import refresh_book_close_date
from qbcore.qbo.gateway import QboGateway
from qbcore.sync.runner import sync_now
from qbcore.vendor_names import set_vendor_qbo_name
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, turn_on_payables

PAYABLES = (EntityType.VENDOR, EntityType.SETTLEMENT, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT,
            EntityType.CARRIER_PAYMENT)


def _gateway(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def _causes(factory: sessionmaker[Session]) -> dict[EntityType, list[RootCause]]:
    with factory() as session:
        return {entity: list_root_causes(session, entity) for entity in PAYABLES}


def _run_until_idle(factory: sessionmaker[Session], config: Config) -> None:
    for _ in range(6):  # the fix's job, then the cascades of what waited for what it fixed
        with transaction(factory) as session:
            run_schedule_tick(session)
        if not run_worker(factory, config, worker_id="t", once=True, gateway_factory=_gateway):
            return


def test_the_planted_payables_conflicts_show_with_their_causes_and_each_fix_syncs_them(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with demo_factory() as session:
        plan = plan_demo_conflicts(session)
        driver = clashing_driver(session)
        closing = demo_closing_date(first_invoice_day(session))
        disputed = session.scalars(select(CarrierBill).where(CarrierBill.status == "disputed")).one()
        closed_bill = session.scalars(select(CarrierBill).where(CarrierBill.bill_date <= closing)).one()
    assert driver and plan["customers"] == [driver]
    sandbox.plant(**plan)
    turn_on_payables(demo_factory, keep_planted_gap=True)
    sync_now(demo_factory, connected, gateway=_gateway(demo_factory, connected))

    causes = _causes(demo_factory)
    words = {entity: {c.sentence for c in found} for entity, found in causes.items()}
    clash = f"the name of vendor {driver} is already used in QuickBooks by a customer or employee"
    unmapped = f"pay code {UNMAPPED_PAY_CODE} not mapped to a QuickBooks expense account"
    assert words[EntityType.VENDOR] == {"1 vendor: the vendor's name is already used in QuickBooks by a customer or "
                                        "employee"}
    assert {s.split(": ", 1)[1] for s in words[EntityType.SETTLEMENT]} == {clash, unmapped}
    assert {s.split(": ", 1)[1] for s in words[EntityType.SETTLEMENT_PAYMENT]} == {clash, unmapped}
    assert words[EntityType.CARRIER_BILL] == {"1 carrier bill: dated before the books' closing date in QuickBooks"}
    assert words[EntityType.CARRIER_PAYMENT] == {"1 carrier bill payment and 1 carrier bill: carrier bill date before "
                                                 "the books' closing date in QuickBooks"}
    vendor_cause = causes[EntityType.VENDOR][0]
    assert "Settings → Vendor names" in vendor_cause.fix_hint and vendor_cause.fix_link is not None
    assert "Settings → Vendor names" in vendor_cause.fix_link.label
    perdiem = next(c for c in causes[EntityType.SETTLEMENT] if c.sentence.endswith(unmapped))
    assert perdiem.fix_link is not None and "Settings → Pay codes" in perdiem.fix_link.label
    assert "Settings → Pay codes" in perdiem.fix_hint and not perdiem.retry_offered
    closed = causes[EntityType.CARRIER_BILL][0]
    assert "closing date" in closed.fix_hint and not closed.retry_offered
    assert "Change the closing date in QuickBooks" in (closed.must_change or "")
    with demo_factory() as session:
        blocked_by = set(session.scalars(select(SyncRecord.blocked_by).where(
            SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.entity_type == EntityType.SETTLEMENT.value)))
        vendor_id = session.scalar(select(Vendor.id).where(Vendor.name == driver))
        perdiem_id = session.scalar(select(PayCode.id).where(PayCode.code == UNMAPPED_PAY_CODE))
        # The disputed bill never syncs: it has no record to fail.
        assert session.scalar(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.CARRIER_BILL.value, SyncRecord.entity_id == disputed.id)) is None
    assert blocked_by == {f"pay_code:{UNMAPPED_PAY_CODE}", f"vendor:{driver}"}
    gateway = _gateway(demo_factory, connected)

    # (a) The vendor gets its own QuickBooks name: it and the settlements waiting for it sync.
    change = set_vendor_qbo_name(demo_factory, lambda _c: gateway, LOCAL_ADMIN, vendor_id, f"{driver} (V)",
                                 reason="a customer in QuickBooks has his name")
    assert change.job_id and change.records > 1
    _run_until_idle(demo_factory, connected)
    assert sandbox.count("Vendor", DisplayName=f"{driver} (V)") == 1
    left = _causes(demo_factory)
    assert left[EntityType.VENDOR] == []
    assert all(not c.sentence.endswith(clash) for e in PAYABLES for c in left[e])

    # (b) Settings → Pay codes maps the pay code: its settlements (and then their payments) retry by themselves.
    account = gateway.query("SELECT * FROM Account WHERE Name = 'Driver Pay'")[0]["Id"]
    map_code_account(demo_factory, gateway, LOCAL_ADMIN, "pay", perdiem_id, str(account))
    _run_until_idle(demo_factory, connected)
    left = _causes(demo_factory)
    assert left[EntityType.SETTLEMENT] == [] and left[EntityType.SETTLEMENT_PAYMENT] == []

    # (c) The closing date moves back in QuickBooks and is read again: Retry is offered and the bill syncs.
    sandbox.plant(closing_date=(closed_bill.bill_date - timedelta(days=1)).isoformat())
    refresh_book_close_date(demo_factory, gateway)
    with demo_factory() as session:
        again = list_root_causes(session, EntityType.CARRIER_BILL)
    assert [c.retry_offered for c in again] == [True]
    with transaction(demo_factory) as session:
        resync_problems(session, LOCAL_ADMIN, EntityType.CARRIER_BILL, ProblemFilter())
    _run_until_idle(demo_factory, connected)
    assert _causes(demo_factory) == {entity: [] for entity in PAYABLES}
    with demo_factory() as session:
        left_over = set(session.scalars(select(SyncRecord.status).where(
            SyncRecord.entity_type.in_([e.value for e in PAYABLES]))))
    assert left_over == {SyncStatus.SYNCED.value}
    assert sandbox.count("Bill", DocNumber=closed_bill.carrier_invoice_number) == 1
    assert sandbox.count("Bill", DocNumber=disputed.carrier_invoice_number) == 0  # (d) still home
    assert sandbox.duplicates("Bill") == [] and sandbox.duplicates("Vendor") == []
