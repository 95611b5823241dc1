"""Charge code → item mappings, custom fields and users: admin-only, validated, audited; items made in the sandbox."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from qbcore.access import Actor, PermissionDenied
from qbcore.config import Config, QboEnvironment
from qbcore.db import transaction
from qbcore.item_mappings import (
    CustomFieldChoice,
    MappingChangeRefused,
    clear_item_mapping,
    create_missing_item,
    list_charge_code_mappings,
    list_custom_field_mappings,
    save_custom_field_mappings,
    save_item_mapping,
)
from qbcore.models import AuditEvent, ChargeCode, Role
from qbcore.qbo.lookup import open_gateway
from qbcore.users import add_user, change_user_role, list_users, set_user_active
from qbo_sandbox.server import SandboxOptions, start_in_thread

ADMIN = Actor("ada@example.com", Role.ADMIN, "Ada")
VIEWER = Actor("vic@example.com", Role.VIEWER, "Vic")


@pytest.fixture
def codes(factory) -> dict[str, int]:
    with transaction(factory) as session:
        for code, name in (("BASE", "Line haul"), ("CHASSIS", "Chassis rental"), ("FSC", "Fuel surcharge")):
            session.add(ChargeCode(code=code, name=name))
        session.flush()
        return {c.code: c.id for c in session.scalars(select(ChargeCode))}


def _events(factory, action):
    with factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_unmapped_codes_are_listed_as_unmapped(factory, codes):
    with factory() as session:
        mappings = list_charge_code_mappings(session)
    assert [(m.code, m.is_mapped) for m in mappings] == [("BASE", False), ("CHASSIS", False), ("FSC", False)]


def test_admin_maps_and_unmaps_a_code_with_audit(factory, codes):
    with transaction(factory) as session:
        mapping = save_item_mapping(session, ADMIN, codes["BASE"], qbo_item_id="2", qbo_item_name="Drayage",
                                    income_account_id="1")
    assert (mapping.qbo_item_id, mapping.qbo_item_name, mapping.is_mapped) == ("2", "Drayage", True)
    with transaction(factory) as session:
        save_item_mapping(session, ADMIN, codes["BASE"], qbo_item_id="3", qbo_item_name="Fuel Surcharge")
        clear_item_mapping(session, ADMIN, codes["BASE"])
    first, second = _events(factory, "map_charge_code")
    assert (first.before["qbo_item_id"], first.after["qbo_item_id"]) == (None, "2")
    assert (second.before["qbo_item_id"], second.after["qbo_item_id"]) == ("2", "3")
    [cleared] = _events(factory, "unmap_charge_code")
    assert cleared.before["qbo_item_id"] == "3"


@pytest.mark.parametrize(("item_id", "message"), [("abc", "not a QuickBooks item id"), ("", "Choose the QuickBooks")])
def test_a_bad_item_id_is_refused(factory, codes, item_id, message):
    with pytest.raises(MappingChangeRefused, match=message), transaction(factory) as session:
        save_item_mapping(session, ADMIN, codes["BASE"], qbo_item_id=item_id, qbo_item_name=None)


def test_a_viewer_cannot_map_and_the_refusal_is_audited(factory, codes):
    with pytest.raises(PermissionDenied), transaction(factory) as session:
        save_item_mapping(session, VIEWER, codes["BASE"], qbo_item_id="2", qbo_item_name="Drayage",
                          audit_factory=factory)
    with factory() as session:
        assert not list_charge_code_mappings(session)[0].is_mapped
    assert [e.outcome for e in _events(factory, "map_charge_code")] == ["refused"]


def test_create_missing_item_creates_it_once_in_quickbooks_and_maps_it(factory, codes, db_url, tmp_path: Path):
    from qbcore.qbo.oauth import ensure_local_connection

    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=running.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
        ensure_local_connection(factory, config)
        gateway = open_gateway(factory, config)
        first = create_missing_item(factory, gateway, ADMIN, codes["CHASSIS"], name=None, income_account_id="1")
        again = create_missing_item(factory, gateway, ADMIN, codes["CHASSIS"], name=None, income_account_id="1")
        rows = gateway.query("SELECT * FROM Item WHERE Name = 'CHASSIS'")
        with pytest.raises(MappingChangeRefused, match="income account"):
            create_missing_item(factory, gateway, ADMIN, codes["FSC"], name=None, income_account_id=None)
        with pytest.raises(PermissionDenied):
            create_missing_item(factory, gateway, VIEWER, codes["FSC"], name=None, income_account_id="1")
    assert len(rows) == 1
    assert first.qbo_item_id == again.qbo_item_id == rows[0]["Id"]
    events = _events(factory, "create_qbo_item")
    assert [e.after["linked_existing"] for e in events if e.outcome == "ok"] == [False, True]
    assert [e.actor for e in events if e.outcome == "refused"] == [VIEWER.email]


def test_custom_fields_are_saved_replaced_and_audited(factory):
    choices = [CustomFieldChoice(1, "1", "Container #", "container_number"),
               CustomFieldChoice(2, "2", "PO #", "reference_number")]
    with transaction(factory) as session:
        save_custom_field_mappings(session, ADMIN, choices)
    with transaction(factory) as session:
        save_custom_field_mappings(session, ADMIN, choices[:1])
    with factory() as session:
        assert list_custom_field_mappings(session) == choices[:1]
    first, second = _events(factory, "change_custom_fields")
    assert (len(first.after), len(second.before), len(second.after)) == (2, 2, 1)


@pytest.mark.parametrize(("choices", "message"), [
    ([CustomFieldChoice(4, "4", "Extra", "bol")], "Slot 4 does not exist"),
    ([CustomFieldChoice(1, "x", "Extra", "bol")], "not a QuickBooks custom field definition id"),
    ([CustomFieldChoice(1, "1", "A", "nope")], "'nope' is not a billing field"),
    ([CustomFieldChoice(1, "1", "", "bol")], "1-40 characters"),
    ([CustomFieldChoice(1, "1", "A", "bol"), CustomFieldChoice(1, "2", "B", "bol")], "used once"),
    ([CustomFieldChoice(1, "1", "A", "bol"), CustomFieldChoice(2, "1", "B", "bol")], "one billing field"),
])
def test_invalid_custom_fields_are_refused(factory, choices, message):
    with pytest.raises(MappingChangeRefused, match=message), transaction(factory) as session:
        save_custom_field_mappings(session, ADMIN, choices)
    with factory() as session:
        assert list_custom_field_mappings(session) == []


def test_users_are_added_promoted_and_deactivated_with_audit(factory):
    with transaction(factory) as session:
        ada = add_user(session, ADMIN, email="Ada@Example.com", name="Ada", role="admin")
        otto = add_user(session, ADMIN, email="otto@example.com", name="Otto", role=Role.VIEWER)
        change_user_role(session, ADMIN, otto.user_id, Role.OPERATOR)
        set_user_active(session, ADMIN, otto.user_id, False)
    with factory() as session:
        users = {u.email: u for u in list_users(session)}
    assert ada.email == "ada@example.com"
    assert (users["otto@example.com"].role, users["otto@example.com"].active) == (Role.OPERATOR, False)
    assert [e.action for e in _events(factory, "change_user_role")] == ["change_user_role"]
    assert len(_events(factory, "deactivate_user")) == 1


@pytest.mark.parametrize(("email", "role", "message"), [
    ("not-an-email", "viewer", "is not an email address"),
    ("x@example.com", "boss", "is not a role"),
])
def test_bad_new_users_are_refused(factory, email, role, message):
    with pytest.raises(MappingChangeRefused, match=message), transaction(factory) as session:
        add_user(session, ADMIN, email=email, name=None, role=role)


def test_the_last_admin_cannot_be_demoted_or_deactivated_and_nobody_deactivates_themselves(factory):
    with transaction(factory) as session:
        ada = add_user(session, ADMIN, email="ada@example.com", name="Ada", role="admin")
        add_user(session, ADMIN, email="bob@example.com", name="Bob", role="viewer")
    with pytest.raises(MappingChangeRefused, match="last active admin"), transaction(factory) as session:
        change_user_role(session, ADMIN, ada.user_id, Role.VIEWER)
    with pytest.raises(MappingChangeRefused, match="cannot deactivate yourself"), transaction(factory) as session:
        set_user_active(session, ADMIN, ada.user_id, False)
    with pytest.raises(MappingChangeRefused, match="already a user"), transaction(factory) as session:
        add_user(session, ADMIN, email="BOB@example.com", name=None, role="viewer")


def test_a_viewer_cannot_manage_users(factory):
    with pytest.raises(PermissionDenied), transaction(factory) as session:
        add_user(session, VIEWER, email="x@example.com", name=None, role="admin", audit_factory=factory)
    with factory() as session:
        assert list_users(session) == []
    assert [e.outcome for e in _events(factory, "add_user")] == ["refused"]


def test_a_new_description_template_marks_the_synced_invoices_it_changes_and_the_next_sync_resends_them(
    demo_factory, db_url, tmp_path: Path
):
    from qbcore.item_mappings import save_settings_and_mark
    from qbcore.models import EntityType, Invoice, SyncRecord, SyncStatus
    from qbcore.qbo.oauth import ensure_local_connection
    from qbcore.queries.mapping_preview import synced_invoices_changed_by
    from qbcore.settings import DescriptionTemplate, load_settings
    from qbcore.sync.runner import sync_now

    def invoice_records(session):
        return {r.id: r for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value))}

    new_template = {"description": {"fields": ["load_number", "bol"], "separator": " / ", "show_labels": True,
                                    "placement": "first_line"}}
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=running.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
        ensure_local_connection(demo_factory, config)
        sync_now(demo_factory, config)
        with demo_factory() as session:
            synced = {i for i, r in invoice_records(session).items() if r.status == SyncStatus.SYNCED.value}
            before = load_settings(session)
        # Nothing changes for a template saved as it is.
        with transaction(demo_factory) as session:
            assert save_settings_and_mark(session, ADMIN, {"description": new_template["description"] | {
                "fields": list(before.description.fields), "separator": before.description.separator}}).marked == 0
        with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
            save_settings_and_mark(session, VIEWER, new_template, audit_factory=demo_factory)
        with demo_factory() as session:
            expected = synced_invoices_changed_by(session, before, replace(before, description=DescriptionTemplate(
                fields=("load_number", "bol"), separator=" / ")))
            assert {i for i, r in invoice_records(session).items() if r.status == SyncStatus.SYNCED.value} == synced
        assert 0 < len(expected) <= len(synced)
        with transaction(demo_factory) as session:
            change = save_settings_and_mark(session, ADMIN, new_template)
        assert change.marked == len(expected)
        with demo_factory() as session:
            records = invoice_records(session)
            assert sorted(i for i, r in records.items() if r.status == SyncStatus.OUT_OF_DATE.value) == expected
            sample = session.get(Invoice, records[expected[0]].entity_id)
            qbo_id, number = records[expected[0]].qbo_id, sample.number
        [marked] = _events(demo_factory, "mark_out_of_date")
        assert (marked.actor, marked.after["invoices"], marked.after["status"]) == (ADMIN.email, len(expected),
                                                                                 "out_of_date")
        assert [e.outcome for e in _events(demo_factory, "change_settings")] == ["refused", "ok"]
        sync_now(demo_factory, config)
        line = open_gateway(demo_factory, config).read("Invoice", qbo_id)["Line"][0]
    with demo_factory() as session:
        assert all(invoice_records(session)[i].status == SyncStatus.SYNCED.value for i in expected)
    assert number and "BOL: " in line["Description"] and " / " in line["Description"]
