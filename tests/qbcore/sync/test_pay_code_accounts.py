"""Settings → Pay codes: a code maps to an account QuickBooks has (checked over HTTP), audited; its bills follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.live import map_code_to_account
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    DeductionCode,
    EntityType,
    PayablesAccountMapping,
    PayCode,
    Role,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    SyncStatus,
)
from qbcore.payables_accounts import AccountMappingRefused, list_code_accounts
from qbcore.problems.queries import list_root_causes
from qbcore.qbo.lookup import open_gateway
from qbcore.settings import save_settings
from qbcore.sync.cascade import cascade_retries

VIEWER = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")


def _account_id(factory, config: Config, name: str) -> str:
    rows = open_gateway(factory, config).query(f"SELECT * FROM Account WHERE Name = '{name}'")
    return str(rows[0]["Id"])


def _code_id(factory, model, code: str) -> int:
    with factory() as session:
        return session.scalar(select(model.id).where(model.code == code))


def _statuses(factory, entity: EntityType) -> set[str]:
    with factory() as session:
        return set(session.scalars(select(SyncRecord.status).where(SyncRecord.entity_type == entity.value)))


@pytest.fixture
def synced_payables(demo_factory):
    """Payables switched on, every bill and settlement in QuickBooks already (as after a sync)."""
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
        session.execute(update(SyncRecord).values(status=SyncStatus.SYNCED.value, qbo_id="1"))
    return demo_factory


def test_remapping_a_pay_code_checks_quickbooks_audits_and_marks_its_synced_bills_out_of_date(
        synced_payables, connected):
    factory = synced_payables
    line_haul = _code_id(factory, PayCode, "LH")
    change = map_code_to_account(factory, connected, LOCAL_ADMIN, "pay", line_haul,
                                 _account_id(factory, connected, "Carrier Costs"))
    assert (change.mapping.code, change.mapping.account_name) == ("LH", "Carrier Costs")
    with factory() as session:
        row = session.scalar(select(PayablesAccountMapping).where(PayablesAccountMapping.pay_code_id == line_haul))
        settlements = session.scalar(select(func.count()).select_from(Settlement)
                                     .where(Settlement.status != "draft"))
        events = {e.action: e for e in session.scalars(select(AuditEvent).where(AuditEvent.target_id == "LH"))}
    assert row.qbo_account_name == "Carrier Costs" and row.qbo_account_id
    # Every settlement pays line haul; the carriers' bills use the brokered codes and stay as they are.
    assert change.marked == settlements and _statuses(factory, EntityType.SETTLEMENT) == {SyncStatus.OUT_OF_DATE.value}
    assert _statuses(factory, EntityType.CARRIER_BILL) == {SyncStatus.SYNCED.value}
    assert events["map_pay_code"].before["account"] == "Driver Pay"
    assert events["map_pay_code"].after["account"] == "Carrier Costs"
    assert events["mark_bills_out_of_date"].after == {"status": "out_of_date", "bills": settlements,
                                                      "account": "Carrier Costs"}
    again = map_code_to_account(factory, connected, LOCAL_ADMIN, "pay", line_haul,
                                _account_id(factory, connected, "Carrier Costs"))
    assert again.marked == 0


def test_remapping_a_deduction_marks_only_the_settlements_that_take_it(synced_payables, connected):
    factory = synced_payables
    fuel = _code_id(factory, DeductionCode, "FUELADV")
    change = map_code_to_account(factory, connected, LOCAL_ADMIN, "deduction", fuel,
                                 _account_id(factory, connected, "Driver Pay"))
    with factory() as session:
        taking = set(session.scalars(select(SettlementDeduction.settlement_id)
                                     .where(SettlementDeduction.deduction_code_id == fuel)))
        stale = set(session.scalars(select(SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.status == SyncStatus.OUT_OF_DATE.value)))
        bills = session.scalar(select(func.count()).select_from(CarrierBill))
    assert taking and stale == taking and change.marked == len(taking)
    assert bills and _statuses(factory, EntityType.CARRIER_BILL) == {SyncStatus.SYNCED.value}


@pytest.mark.parametrize(("account", "message"), [
    ("Checking", "Checking is a Bank account in QuickBooks; pay and deduction codes post to an expense"),
    ("999999", "QuickBooks has no active account with id 999999"),
    ("12a", "'12a' is not a QuickBooks account id"),
    ("", "Choose the QuickBooks account"),
])
def test_an_account_bills_cannot_post_to_is_refused_and_nothing_changes(synced_payables, connected, account, message):
    factory = synced_payables
    line_haul = _code_id(factory, PayCode, "LH")
    wanted = _account_id(factory, connected, account) if account == "Checking" else account
    with pytest.raises(AccountMappingRefused, match=message):
        map_code_to_account(factory, connected, LOCAL_ADMIN, "pay", line_haul, wanted)
    with factory() as session:
        assert next(m for m in list_code_accounts(session) if m.code == "LH").account_name == "Driver Pay"
    assert _statuses(factory, EntityType.SETTLEMENT) == {SyncStatus.SYNCED.value}


def test_a_viewer_cannot_map_a_code_and_the_refusal_is_audited(synced_payables, connected):
    factory = synced_payables
    with pytest.raises(PermissionDenied):
        map_code_to_account(factory, connected, VIEWER, "pay", _code_id(factory, PayCode, "LH"),
                            _account_id(factory, connected, "Carrier Costs"))
    with factory() as session:
        refused = session.scalar(select(AuditEvent).where(AuditEvent.action == "map_pay_code"))
        assert (refused.outcome, refused.actor) == ("refused", VIEWER.email)
        assert next(m for m in list_code_accounts(session) if m.code == "LH").account_name == "Driver Pay"


def test_bills_blocked_by_an_unmapped_pay_code_retry_by_themselves_once_it_is_mapped(demo_factory, connected):
    detention = _code_id(demo_factory, PayCode, "DET")
    tried = datetime.now(UTC) - timedelta(hours=1)
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
        session.execute(delete(PayablesAccountMapping).where(PayablesAccountMapping.pay_code_id == detention))
        blocked = list(session.scalars(select(SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value).order_by(SyncRecord.id).limit(3)))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(blocked)).values(
            status=SyncStatus.BLOCKED.value, error_kind="mapping", blocked_by="pay_code:DET", last_attempt_at=tried,
            first_failed_at=tried, error_message="Pay code DET has no QuickBooks expense account."))
    with transaction(demo_factory) as session:
        cause = next(c for c in list_root_causes(session, EntityType.SETTLEMENT) if c.blocked_by == "pay_code:DET")
        assert not cause.retry_offered and cascade_retries(session) is None
        assert next(m for m in list_code_accounts(session) if m.code == "DET").account_name is None
    map_code_to_account(demo_factory, connected, LOCAL_ADMIN, "pay", detention,
                        _account_id(demo_factory, connected, "Driver Pay"))
    with transaction(demo_factory) as session:
        cause = next(c for c in list_root_causes(session, EntityType.SETTLEMENT) if c.blocked_by == "pay_code:DET")
        assert cause.retry_offered
        job = cascade_retries(session)
    assert job is not None and set(blocked) <= set(job.params["record_ids"])
    assert "pay code DET" in job.params["sentence"]


def test_a_default_expense_account_takes_an_unmapped_pay_code_and_its_bills_sync_posting_there(
        demo_factory, connected):
    from qbcore.demo_conflicts import UNMAPPED_PAY_CODE
    from qbcore.sync.runner import sync_now
    from tests.qbcore.sync.state import turn_on_payables
    from tests.qbcore.sync.test_payables import gateway_for

    turn_on_payables(demo_factory, keep_planted_gap=True)
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"default_expense_account": "Cost of Goods Sold"})
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        waiting = session.scalars(select(SyncRecord.id).where(
            SyncRecord.blocked_by == f"pay_code:{UNMAPPED_PAY_CODE}")).all()
        synced = select(SyncRecord.entity_id).where(SyncRecord.entity_type == EntityType.SETTLEMENT.value,
                                                    SyncRecord.status == SyncStatus.SYNCED.value)
        per_diem_lines = session.scalar(
            select(func.count()).select_from(SettlementLine).join(SettlementLoad).join(PayCode)
            .where(PayCode.code == UNMAPPED_PAY_CODE, SettlementLoad.settlement_id.in_(synced)))
        others = session.scalars(select(PayablesAccountMapping.qbo_account_name)).all()
    assert waiting == [], "no bill waits for the unmapped code once a default account takes it"
    assert per_diem_lines > 0 and "Cost of Goods Sold" not in others
    cogs = _account_id(demo_factory, connected, "Cost of Goods Sold")
    posted = [line for bill in gateway.query_all("Bill") for line in bill["Line"]
              if line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] == cogs]
    assert len(posted) == per_diem_lines  # every per diem line, and nothing else, posts to the default
