"""Pay code accounts per company over HTTP: each QuickBooks company posts a code to its own account, and only there."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.companies import add_company, set_company_roles
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.entities.payables import load_accounts
from qbcore.live import map_code_to_account
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    CarrierBillLine,
    EntityType,
    PayablesAccountMapping,
    PayCode,
    Settlement,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    SyncStatus,
)
from qbcore.payables_accounts import list_code_accounts
from qbcore.qbo.lookup import open_gateway
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.queries.bill_preview import preview_bill
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.sync.state import PAYABLES_ON, copy_pay_code_accounts, map_demo_pay_code

EXTRA_LINE = Decimal("100.00")  # the line haul line given to one carrier bill, so both companies post LH


def _account_id(factory: sessionmaker[Session], config: Config, company_id: int, name: str) -> str:
    rows = open_gateway(factory, config, company_id).query(f"SELECT * FROM Account WHERE Name = '{name}'")
    return str(rows[0]["Id"])


def _bills_by_number(factory: sessionmaker[Session], config: Config, company_id: int) -> dict[str, dict]:
    rows = open_gateway(factory, config, company_id).query("SELECT * FROM Bill MAXRESULTS 1000")
    return {str(row["DocNumber"]): row for row in rows}


def _posted_to(bill: dict, account_id: str) -> list[Decimal]:
    """The amounts of a QuickBooks Bill's lines that post to one account."""
    return sorted(Decimal(str(line["Amount"])) for line in bill["Line"]
                  if line.get("AccountBasedExpenseLineDetail", {}).get("AccountRef", {}).get("value") == account_id)


def _status(factory: sessionmaker[Session], entity_type: EntityType, company_id: int) -> Counter[str]:
    with factory() as session:
        return Counter(session.scalars(select(SyncRecord.status).where(
            SyncRecord.entity_type == entity_type.value, SyncRecord.company_id == company_id)))


@pytest.fixture
def two_pay_companies(demo_factory: sessionmaker[Session], config: Config) -> dict[str, int]:
    """Driver pay in the first company, carrier pay in a Brokerage (every code mapped there by name but line haul),
    both connected over HTTP; one accepted carrier bill gains a line haul line, so both companies post LH."""
    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        set_company_roles(session, LOCAL_ADMIN, carrier_pay_id=broker)
        for company_id in (1, broker):
            save_settings(session, LOCAL_ADMIN, PAYABLES_ON, company_id=company_id)
    map_demo_pay_code(demo_factory, company_id=1)  # the demo leaves one pay code unmapped (a planted conflict)
    copy_pay_code_accounts(demo_factory, broker)
    with transaction(demo_factory) as session:
        line_haul = session.scalar(select(PayCode.id).where(PayCode.code == "LH"))
        session.execute(delete(PayablesAccountMapping).where(PayablesAccountMapping.company_id == broker,
                                                             PayablesAccountMapping.pay_code_id == line_haul))
        bill = session.scalars(select(CarrierBill).where(CarrierBill.status == "accepted")
                               .order_by(CarrierBill.id)).first()
        assert bill is not None
        position = max(line.position for line in bill.lines) + 1
        session.add(CarrierBillLine(carrier_bill_id=bill.id, pay_code_id=line_haul, position=position,
                                    description="Line haul (dray leg)", amount=EXTRA_LINE))
        bill.total += EXTRA_LINE
        ids = {"broker": broker, "line_haul": line_haul, "bill": bill.id}
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    return ids


def test_a_code_posts_to_each_companys_own_account_and_waits_only_where_it_is_unmapped(
    demo_factory: sessionmaker[Session], config: Config, two_pay_companies: dict[str, int]
) -> None:
    broker, line_haul, bill_id = (two_pay_companies[k] for k in ("broker", "line_haul", "bill"))
    cogs = _account_id(demo_factory, config, 1, "Cost of Goods Sold")
    change = map_code_to_account(demo_factory, config, LOCAL_ADMIN, "pay", line_haul, cogs, company_id=1)
    assert (change.mapping.account_name, change.marked) == ("Cost of Goods Sold", 0)

    summary = sync_now(demo_factory, config)

    # Line haul has no account in the Brokerage: its one carrier bill there waits, naming the code; all else syncs.
    assert summary.failed == 0 and summary.blocked == 1
    with demo_factory() as session:
        blocked = session.scalars(select(SyncRecord).where(SyncRecord.status == SyncStatus.BLOCKED.value)).one()
        number = session.get(CarrierBill, bill_id).carrier_invoice_number
        lh_amounts = dict(session.execute(
            select(Settlement.number, func.sum(SettlementLine.amount))
            .join(SettlementLoad, SettlementLoad.settlement_id == Settlement.id)
            .join(SettlementLine, SettlementLine.settlement_load_id == SettlementLoad.id)
            .where(SettlementLine.pay_code_id == line_haul).group_by(Settlement.number)).all())
    assert (blocked.company_id, blocked.entity_type, blocked.entity_id) == (broker, "carrier_bill", bill_id)
    assert blocked.blocked_by == "pay_code:LH" and "LH" in (blocked.error_message or "")
    assert _status(demo_factory, EntityType.SETTLEMENT, 1)[SyncStatus.SYNCED.value] > 0
    # In the driver pay company, every settlement's line haul posts to the account mapped there, and only it does.
    settlements = _bills_by_number(demo_factory, config, 1)
    assert set(lh_amounts) & set(settlements)
    for stl, qbo_bill in settlements.items():
        assert sum(_posted_to(qbo_bill, cogs), Decimal(0)) == lh_amounts.get(stl, Decimal(0))

    chassis = _account_id(demo_factory, config, broker, "Chassis Rental Expense")
    change = map_code_to_account(demo_factory, config, LOCAL_ADMIN, "pay", line_haul, chassis, company_id=broker)
    assert (change.mapping.account_name, change.marked) == ("Chassis Rental Expense", 0)
    with demo_factory() as session:
        assert load_accounts(session, {}, 1)["accounts"][("pay", line_haul)] == "Cost of Goods Sold"
        assert load_accounts(session, {}, broker)["accounts"][("pay", line_haul)] == "Chassis Rental Expense"
        preview = preview_bill(session, "carrier_bill", bill_id)
    assert preview is not None
    assert [ln.account for ln in preview.lines if ln.what == "Line haul pay (LH)"] == ["Chassis Rental Expense"]

    summary = sync_now(demo_factory, config)

    assert (summary.failed, summary.blocked) == (0, 0)
    qbo_bill = _bills_by_number(demo_factory, config, broker)[number]
    carrier_costs = _account_id(demo_factory, config, broker, "Carrier Costs")
    assert _posted_to(qbo_bill, chassis) == [EXTRA_LINE]
    assert len(_posted_to(qbo_bill, carrier_costs)) == len(qbo_bill["Line"]) - 1
    assert number not in settlements  # the carrier bill never went to the driver pay company


def test_remapping_a_code_in_one_company_marks_only_that_companys_synced_bills_out_of_date(
    demo_factory: sessionmaker[Session], config: Config, two_pay_companies: dict[str, int]
) -> None:
    broker, line_haul, bill_id = (two_pay_companies[k] for k in ("broker", "line_haul", "bill"))
    map_code_to_account(demo_factory, config, LOCAL_ADMIN, "pay", line_haul,
                        _account_id(demo_factory, config, broker, "Carrier Costs"), company_id=broker)
    with transaction(demo_factory) as session:
        # Every bill in QuickBooks already, as after a sync.
        session.execute(update(SyncRecord).values(status=SyncStatus.SYNCED.value, qbo_id="1"))
        settlements = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.company_id == 1))
    assert settlements

    change = map_code_to_account(demo_factory, config, LOCAL_ADMIN, "pay", line_haul,
                                 _account_id(demo_factory, config, broker, "Chassis Rental Expense"),
                                 company_id=broker)

    # Only the Brokerage's one carrier bill with a line haul line; the settlements paying line haul stay.
    assert change.marked == 1
    with demo_factory() as session:
        stale = session.execute(select(SyncRecord.company_id, SyncRecord.entity_type, SyncRecord.entity_id).where(
            SyncRecord.status == SyncStatus.OUT_OF_DATE.value)).all()
        marked = session.scalars(select(AuditEvent).where(AuditEvent.action == "mark_bills_out_of_date")).one()
        assert next(m for m in list_code_accounts(session, 1) if m.code == "LH").account_name == "Driver Pay"
        assert next(m for m in list_code_accounts(session, broker) if m.code == "LH").account_name == (
            "Chassis Rental Expense")
    assert stale == [(broker, "carrier_bill", bill_id)]
    assert marked.company_id == broker and marked.after["bills"] == 1
    assert _status(demo_factory, EntityType.SETTLEMENT, 1) == {SyncStatus.SYNCED.value: settlements}

    change = map_code_to_account(demo_factory, config, LOCAL_ADMIN, "pay", line_haul,
                                 _account_id(demo_factory, config, 1, "Cost of Goods Sold"), company_id=1)

    # Now the driver pay company's settlements; the Brokerage's bills are as they were.
    assert change.marked == settlements
    assert _status(demo_factory, EntityType.SETTLEMENT, 1) == {SyncStatus.OUT_OF_DATE.value: settlements}
    carrier = _status(demo_factory, EntityType.CARRIER_BILL, broker)
    assert carrier[SyncStatus.OUT_OF_DATE.value] == 1 and carrier[SyncStatus.SYNCED.value] > 0
