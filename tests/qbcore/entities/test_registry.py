"""The entity registry: every entity type described once, in an order that puts each after what it needs."""

from __future__ import annotations

import pytest

from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.models import EntityType, SyncRecord
from qbcore.sync.plan import ORDER


def test_every_entity_type_is_described_exactly_once():
    assert sorted(spec.entity_type for spec in ENTITIES) == sorted(EntityType)


def test_plan_order_is_the_registry_order_and_puts_dependencies_first():
    assert ORDER == (EntityType.CUSTOMER, EntityType.ITEM, EntityType.INVOICE, EntityType.CREDIT_MEMO,
                     EntityType.PAYMENT, EntityType.CREDIT_APPLICATION, EntityType.VENDOR, EntityType.SETTLEMENT,
                     EntityType.SETTLEMENT_SHARE, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT,
                     EntityType.SHARE_PAYMENT, EntityType.CARRIER_PAYMENT)
    for position, spec in enumerate(ENTITIES):
        assert set(spec.depends_on) <= set(ORDER[:position]), spec.entity_type


def test_request_codes_are_three_letters_and_distinct():
    codes = [spec.request_code for spec in ENTITIES]
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 3 and code.isalpha() for code in codes)


def test_spec_for_takes_the_enum_or_its_value():
    assert spec_for("credit_memo") is spec_for(EntityType.CREDIT_MEMO)
    assert spec_for(EntityType.CREDIT_APPLICATION).qbo_object == "Payment"
    with pytest.raises(ValueError):
        spec_for("vendor_bill")


@pytest.mark.parametrize(("entity_type", "payload", "matching", "key"), [
    (EntityType.CUSTOMER, {"DisplayName": "ACME"}, "name", ("DisplayName", "ACME")),
    (EntityType.CUSTOMER, {"DisplayName": "ACME", "PrimaryEmailAddr": {"Address": "ap@acme.test"}}, "email",
     ("PrimaryEmailAddr", "ap@acme.test")),
    (EntityType.CUSTOMER, {"DisplayName": "ACME"}, "email", ("DisplayName", "ACME")),
    (EntityType.ITEM, {"Name": "Drayage"}, "name", ("Name", "Drayage")),
    (EntityType.INVOICE, {"DocNumber": "INV-1"}, "name", ("DocNumber", "INV-1")),
    (EntityType.INVOICE, {}, "name", None),
    (EntityType.CREDIT_MEMO, {"DocNumber": "CM-1"}, "name", ("DocNumber", "CM-1")),
    (EntityType.PAYMENT, {"PaymentRefNum": "P-1"}, "name", ("PaymentRefNum", "P-1")),
    (EntityType.CREDIT_APPLICATION, {"PaymentRefNum": "CMA-7"}, "name", ("PaymentRefNum", "CMA-7")),
    (EntityType.VENDOR, {"DisplayName": "Luis Ortiz"}, "email", ("DisplayName", "Luis Ortiz")),
    (EntityType.SETTLEMENT, {"DocNumber": "ST-260601-0004"}, "name", ("DocNumber", "ST-260601-0004")),
    (EntityType.CARRIER_BILL, {"DocNumber": "BLU-40001"}, "name", ("DocNumber", "BLU-40001")),
    (EntityType.SETTLEMENT_PAYMENT, {"DocNumber": "ST-260601-0004"}, "name", ("DocNumber", "ST-260601-0004")),
    (EntityType.CARRIER_PAYMENT, {"DocNumber": "BLU-40001"}, "name", ("DocNumber", "BLU-40001")),
    (EntityType.SETTLEMENT_SHARE, {"DocNumber": "ST-260601-0004-2"}, "name", ("DocNumber", "ST-260601-0004-2")),
    (EntityType.SHARE_PAYMENT, {"DocNumber": "ST-260601-0004-2"}, "name", ("DocNumber", "ST-260601-0004-2")),
])
def test_natural_key_is_the_field_quickbooks_finds_the_record_by(entity_type, payload, matching, key):
    assert spec_for(entity_type).natural_key(payload, matching) == key


def test_every_ids_view_selects_the_same_columns_so_they_union():
    record = (SyncRecord.id.label("record_id"), SyncRecord.entity_type.label("entity_type"))
    columns = {spec.entity_type: [c.name for c in spec.ids_view(record).selected_columns] for spec in ENTITIES}
    first = columns[ENTITIES[0].entity_type]
    assert first == ["record_id", "entity_type", "number_or_name", "customer", "customer_id", "amount", "date",
                     "email"]
    assert all(names == first for names in columns.values())


def test_settings_what_syncs_is_each_switched_entity_and_is_enabled_follows_its_switches():
    from qbcore.entities.registry import what_syncs
    from qbcore.settings import SyncSettings

    assert [(s.setting, s.label) for s in what_syncs()] == [
        ("sync_customers", "Customers"), ("sync_invoices", "Invoices"), ("sync_credit_memos", "Credit memos"),
        ("sync_payments", "Payments"), ("sync_settlements", "Driver settlements"),
        ("sync_carrier_bills", "Carrier bills")]
    payables = {EntityType.VENDOR, EntityType.SETTLEMENT, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT,
                EntityType.CARRIER_PAYMENT, EntityType.SETTLEMENT_SHARE, EntityType.SHARE_PAYMENT}
    # Payables are off until finance turns them on; then everything syncs.
    assert {spec.entity_type for spec in ENTITIES if not spec.is_enabled(SyncSettings())} == payables
    everything = SyncSettings(sync_settlements=True, sync_carrier_bills=True)
    no_memos = SyncSettings(sync_credit_memos=False, sync_settlements=True, sync_carrier_bills=True)
    assert all(spec.is_enabled(everything) for spec in ENTITIES)
    # A vendor syncs for driver pay or for carrier pay; each bill and its payment only for its own.
    driver_pay_only = SyncSettings(sync_settlements=True)
    assert {spec.entity_type for spec in ENTITIES if spec.entity_type in payables and
            spec.is_enabled(driver_pay_only)} == {EntityType.VENDOR, EntityType.SETTLEMENT,
                                                  EntityType.SETTLEMENT_PAYMENT, EntityType.SETTLEMENT_SHARE,
                                                  EntityType.SHARE_PAYMENT}
    # A credit application links a memo to an invoice: it syncs only when both may; items always sync.
    assert {spec.entity_type for spec in ENTITIES if not spec.is_enabled(no_memos)} == {
        EntityType.CREDIT_MEMO, EntityType.CREDIT_APPLICATION}
    assert spec_for(EntityType.ITEM).is_enabled(SyncSettings(sync_customers=False, sync_invoices=False,
                                                            sync_credit_memos=False, sync_payments=False))


def test_problem_sync_tabs_and_import_files_come_from_the_specs_in_their_order():
    from qbcore.entities.registry import IMPORT_ENTITY, IMPORT_FILES, PROBLEM_TABS
    from qbcore.importer import FileKind
    from qbcore.problems.causes import split_blocker

    assert [spec.entity_type for spec in PROBLEM_TABS] == [
        EntityType.INVOICE, EntityType.PAYMENT, EntityType.CUSTOMER, EntityType.CREDIT_MEMO,
        EntityType.CREDIT_APPLICATION, EntityType.ITEM, EntityType.VENDOR, EntityType.SETTLEMENT,
        EntityType.SETTLEMENT_SHARE, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT, EntityType.SHARE_PAYMENT,
        EntityType.CARRIER_PAYMENT]
    assert [f.kind for f in IMPORT_FILES] == [k.value for k in FileKind]
    assert [f.option for f in IMPORT_FILES] == ["--customers", "--invoices", "--payments", "--credit-memos",
                                               "--vendors", "--settlements", "--carrier-bills"]
    assert IMPORT_ENTITY["credit_memos"] is EntityType.CREDIT_MEMO
    # A blocker naming a billing record reads with its entity's noun; one naming a mapping keeps its own.
    assert split_blocker("credit_memo:CM-1") == ("credit memo", "CM-1")
    assert split_blocker("charge_code:GENSET") == ("charge code", "GENSET")
    assert split_blocker("item:GENSET") == ("item", "GENSET")
