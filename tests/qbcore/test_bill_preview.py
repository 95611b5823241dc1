"""Mapping preview, payables side: a settlement or carrier bill as the Bill the sync sends, and warnings in words."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from qbcore.access import LOCAL_ADMIN
from qbcore.company_directory import pay_company_id
from qbcore.config import Config, QboEnvironment
from qbcore.db import transaction
from qbcore.entities.registry import spec_for
from qbcore.models import (
    CarrierBill,
    EntityType,
    Load,
    PayablesAccountMapping,
    PayCode,
    Settlement,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    SyncStatus,
)
from qbcore.pull.bookmark import save_book_close_date
from qbcore.qbo.lookup import open_gateway
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.queries.bill_preview import find_bills, payables_kinds, pick_random_bill, preview_bill
from qbcore.settings import load_settings, save_settings
from qbcore.sync.context import build_refs, load_billing_rows, read_name_lists
from qbo_sandbox.server import SandboxOptions, start_in_thread


def _switch_on(factory, **switches: bool) -> None:
    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, switches or {"sync_settlements": True, "sync_carrier_bills": True})


def _settlements_with(session, code: str) -> set[int]:
    return set(session.scalars(select(SettlementLoad.settlement_id).join(
        SettlementLine, SettlementLine.settlement_load_id == SettlementLoad.id).join(
        PayCode, PayCode.id == SettlementLine.pay_code_id).where(PayCode.code == code)))


def _link_vendor(session, vendor_id: int, company_id: int, qbo_id: str) -> None:
    """The vendor as a finished sync leaves it: linked to its QuickBooks id."""
    record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.VENDOR.value,
                                                     SyncRecord.entity_id == vendor_id,
                                                     SyncRecord.company_id == company_id))
    if record is None:
        session.add(SyncRecord(company_id=company_id, entity_type=EntityType.VENDOR.value, entity_id=vendor_id,
                               qbo_id=qbo_id, status=SyncStatus.SYNCED.value))
    else:
        record.qbo_id, record.status = qbo_id, SyncStatus.SYNCED.value


def _engine_payload(session, entity_type: EntityType, bill_id: int, lists) -> dict:
    """The Bill JSON the way the sync builds it: its rows, its account extras, its refs from QuickBooks' lists."""
    spec = spec_for(entity_type)
    company_id = pay_company_id(session, "driver_pay" if entity_type is EntityType.SETTLEMENT else "carrier_pay")
    settings = load_settings(session, company_id)
    rows = load_billing_rows(session, entity_type, [bill_id])
    extras = spec.load_extras(session, rows, company_id) if spec.load_extras else {}
    return spec.build_payload(rows[bill_id], settings, build_refs(session, lists, settings, company_id), extras)


def test_the_preview_json_is_what_the_engine_sends_once_vendor_and_accounts_are_known(demo_factory, db_url,
                                                                                       tmp_path: Path):
    _switch_on(demo_factory)
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=running.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
        ensure_local_connection(demo_factory, config)
        lists = read_name_lists(open_gateway(demo_factory, config))
    with transaction(demo_factory) as session:
        # As Settings → Pay codes stores a mapping: the account's name and its QuickBooks id.
        for mapping in session.scalars(select(PayablesAccountMapping)):
            mapping.qbo_account_id = lists.accounts.get(mapping.qbo_account_name or "")
        perdiem = _settlements_with(session, "PERDIEM")
        settlement = session.scalars(select(Settlement).where(
            Settlement.status == "finalized", Settlement.id.not_in(perdiem)).order_by(Settlement.id)).first()
        assert settlement is not None and settlement.deductions, "the demo has a finalized settlement with deductions"
        _link_vendor(session, settlement.driver_id, pay_company_id(session, "driver_pay"), "61")
        bill = session.scalars(select(CarrierBill).where(CarrierBill.status == "accepted")
                               .order_by(CarrierBill.id)).first()
        assert bill is not None
        _link_vendor(session, bill.carrier_id, pay_company_id(session, "carrier_pay"), "62")
        settlement_id, bill_id = settlement.id, bill.id
    with demo_factory() as session:
        preview = preview_bill(session, "settlement", settlement_id)
        expected = _engine_payload(session, EntityType.SETTLEMENT, settlement_id, lists)
        bill_preview = preview_bill(session, "carrier_bill", bill_id)
        bill_expected = _engine_payload(session, EntityType.CARRIER_BILL, bill_id, lists)
    assert preview is not None and preview.error is None and preview.payload == expected
    assert expected["VendorRef"] == {"value": "61"}
    assert [line.amount for line in preview.lines] == [Decimal(str(line["Amount"])) for line in expected["Line"]]
    assert any(line.amount < 0 for line in preview.lines)  # deductions are negative lines
    assert [line.description for line in preview.lines] == [line.get("Description", "") for line in expected["Line"]]
    assert all(line.account != "(not mapped)" for line in preview.lines)
    assert not [w for w in preview.warnings if "not in QuickBooks yet" in w or "Pay code" in w]
    # Terms are looked up by name at sync time; the preview never asks QuickBooks, so the term is a placeholder.
    assert bill_preview is not None and bill_preview.payload is not None
    assert bill_preview.payload["SalesTermRef"]["value"].startswith("(QuickBooks term ")
    assert {**bill_preview.payload, "SalesTermRef": bill_expected["SalesTermRef"]} == bill_expected


def test_an_unmapped_pay_code_is_warned_and_names_settings_pay_codes(demo_factory):
    _switch_on(demo_factory)
    with demo_factory() as session:
        settlement_id = min(_settlements_with(session, "PERDIEM") & set(session.scalars(
            select(Settlement.id).where(Settlement.status != "draft"))))
        preview = preview_bill(session, "settlement", settlement_id)
    assert preview is not None and preview.payload is None
    [warning] = [w for w in preview.warnings if "PERDIEM" in w]
    assert "Pay code PERDIEM (Per diem) is not mapped" in warning and "Settings → Pay codes" in warning
    assert preview.error is not None and "PERDIEM" in preview.error
    assert "(not mapped)" in [line.account for line in preview.lines]
    # Nothing is in QuickBooks yet in a fresh demo book: the vendor is created first, placeholders stand in.
    assert any("is not in QuickBooks yet; the sync creates it first" in w for w in preview.warnings)


def test_placeholders_stand_in_for_a_vendor_and_accounts_not_in_quickbooks_yet(demo_factory):
    _switch_on(demo_factory)
    with demo_factory() as session:
        settlement = session.scalars(select(Settlement).where(
            Settlement.status == "finalized", Settlement.id.not_in(_settlements_with(session, "PERDIEM")))
            .order_by(Settlement.id)).first()
        preview = preview_bill(session, "settlement", settlement.id)
        driver = settlement.driver.name
    assert preview is not None and preview.payload is not None
    assert preview.payload["VendorRef"] == {"value": f"(new vendor {driver})"}
    accounts = {line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for line in preview.payload["Line"]}
    assert "(QuickBooks account Driver Pay)" in accounts


def test_deductions_larger_than_pay_and_a_closed_period_are_warned(demo_factory):
    _switch_on(demo_factory)
    with transaction(demo_factory) as session:
        settlement = session.scalars(select(Settlement).where(
            Settlement.status == "finalized", Settlement.id.not_in(_settlements_with(session, "PERDIEM")))
            .order_by(Settlement.id)).first()
        deduction = settlement.deductions[0]
        extra = settlement.pay_total + Decimal("100.00")
        deduction.amount += extra
        settlement.deduction_total += extra
        settlement.net_pay -= extra
        save_book_close_date(session, settlement.settlement_date + timedelta(days=1))
        settlement_id = settlement.id
    with demo_factory() as session:
        preview = preview_bill(session, "settlement", settlement_id)
    assert preview is not None and preview.payload is None
    assert any(w.startswith("The deductions ($") and "more than the pay" in w for w in preview.warnings)
    assert any("on or before QuickBooks' closing date" in w for w in preview.warnings)
    assert preview.error is not None and "less than $0" in preview.error


@pytest.mark.skipif(bool(os.environ.get("QBSYNC_TEST_DATABASE_URL")),
                    reason="PostgreSQL enforces column lengths, so the book cannot hold a 4,000-character field")
def test_a_description_over_4000_characters_is_warned_and_cut_or_stops_the_sync(demo_factory):
    _switch_on(demo_factory)
    with transaction(demo_factory) as session:
        bill = session.scalars(select(CarrierBill).where(CarrierBill.status == "accepted")
                               .order_by(CarrierBill.id)).first()
        session.get(Load, bill.load_id).delivery_location = "X" * 4000
        bill_id = bill.id
    template = {"description": {"fields": ["load_number", "delivery_location"], "separator": " | ",
                                "show_labels": True, "placement": "first_line"}}
    with demo_factory() as session:
        cut = preview_bill(session, "carrier_bill", bill_id, template)
        stops = preview_bill(session, "carrier_bill", bill_id, {**template, "description_overflow": "fail"})
    assert cut is not None and cut.payload is not None
    assert any("QuickBooks allows 4,000, so it will be cut" in w for w in cut.warnings)
    assert len(cut.payload["Line"][0]["Description"]) == 4000 == len(cut.lines[0].description)
    assert stops is not None and stops.payload is None and stops.error is not None and "4,000" in stops.error


def test_bills_are_offered_only_when_they_sync_and_the_pickers_label_them(demo_factory):
    with demo_factory() as session:
        assert payables_kinds(session) == ()
    _switch_on(demo_factory, sync_settlements=True)
    with demo_factory() as session:
        assert payables_kinds(session) == ("settlement",)
        [first, *_] = find_bills(session, "settlement", "")
        number = session.get(Settlement, first.bill_id).number
        assert first.label.startswith(f"{number} · ") and " · week of " in first.label and "$" in first.label
        assert first.label.endswith(" load") or first.label.endswith(" loads")
        assert [c.bill_id for c in find_bills(session, "settlement", number)] == [first.bill_id]
        bills = find_bills(session, "carrier_bill", "")
        assert bills and all(session.get(CarrierBill, c.bill_id).status in ("accepted", "paid") for c in bills)
        assert " · load L" in bills[0].label
        picked = pick_random_bill(session, "settlement")
        assert picked is not None and len(session.get(Settlement, picked[0]).loads) > 1
        assert session.get(Settlement, picked[0]).number == picked[1]


def test_a_vendor_quickbooks_refused_by_name_says_the_bill_waits_and_where_to_rename(demo_factory):
    _switch_on(demo_factory)
    with transaction(demo_factory) as session:
        bill = session.scalars(select(CarrierBill).where(CarrierBill.status == "accepted")
                               .order_by(CarrierBill.id)).first()
        company_id = pay_company_id(session, "carrier_pay")
        _link_vendor(session, bill.carrier_id, company_id, "63")
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.VENDOR.value,
                                                         SyncRecord.entity_id == bill.carrier_id))
        record.qbo_id, record.status, record.error_code = None, SyncStatus.FAILED.value, "6240"
        record.error_message = "Duplicate Name Exists Error"
        bill_id, carrier = bill.id, bill.carrier.name
    with demo_factory() as session:
        preview = preview_bill(session, "carrier_bill", bill_id)
    assert preview is not None
    [warning] = [w for w in preview.warnings if carrier in w]
    assert "QuickBooks refused its name last time (code 6240" in warning
    assert "this carrier bill waits" in warning and "Settings → Vendor names" in warning
    assert "the sync creates it first" not in warning


def test_a_settlement_routed_to_two_fleet_owners_previews_one_bill_per_owner_adding_up_to_its_net_pay(demo_factory):
    from qbcore.entities.payables import SETTLEMENT_LINES

    _switch_on(demo_factory, sync_settlements=True)
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"settlement_vendor": "fleet_owner"})
    with demo_factory() as session:
        settlements = session.scalars(select(Settlement).where(Settlement.status.in_(("finalized", "paid")))
                                      .options(*SETTLEMENT_LINES).order_by(Settlement.id)).all()
        split = next(s for s in settlements if len({ld.truck.owner_id for ld in s.loads}) == 2)
        owners = {ld.truck.owner.name for ld in split.loads}
        preview = preview_bill(session, "settlement", split.id)
        single = preview_bill(session, "settlement",
                              next(s.id for s in settlements if len({ld.truck.owner_id for ld in s.loads}) == 1))
    assert preview is not None and single is not None
    bills = (preview, *preview.other_bills)
    assert [b.number for b in bills] == [split.number, f"{split.number}-2"]
    assert {b.vendor for b in bills} == owners
    assert sum((b.total for b in bills), Decimal(0)) == split.net_pay
    assert all(b.payload is not None and b.payload["DocNumber"] == b.number for b in bills)
    assert "bill 2 of 2" in preview.other_bills[0].payload["PrivateNote"]
    assert single.other_bills == ()
