"""Mapping preview page (AppTest): pick an invoice, shape the description, see the JSON; save is admin-only."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from qbcore.db import transaction
from qbcore.models import (
    AuditEvent,
    CarrierBill,
    ChargeCode,
    ChargeSet,
    CustomFieldMapping,
    Invoice,
    ItemMapping,
    Load,
    PayCode,
    Settlement,
    SettlementLine,
    SettlementLoad,
)
from qbcore.settings import load_settings
from tests.ui.conftest import open_page
from ui.markup import unescape_markdown

PAGE = "3_Mapping_Preview.py"
ADMIN = {"email": "ada@example.com", "role": "admin", "name": "Ada Admin"}
OPERATOR = {"email": "ops@example.com", "role": "operator", "name": "Olga Ops"}


def _texts(elements) -> str:
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def _combined_number(factory) -> str:
    with factory() as session:
        several = select(ChargeSet.invoice_id).group_by(ChargeSet.invoice_id).having(func.count() > 1)
        return session.scalar(select(Invoice.number).where(Invoice.id.in_(several)).order_by(Invoice.id))


def _payload(at) -> dict:
    return json.loads(at.json[-1].proto.body)


def test_the_page_previews_the_newest_invoice_without_exception(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    payload = _payload(at)
    assert payload["DocNumber"].startswith("INV-")
    assert "(new item" in payload["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]
    assert "not mapped to a QuickBooks item" in _texts(at.warning)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["#", "Product/Service", "Description", "Qty", "Rate", "Amount"]
    assert [m.label for m in at.metric] == ["Total"]


def test_a_combined_invoice_shows_one_expander_per_charge_set(home, demo_factory):
    number = _combined_number(demo_factory)
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(number).run()
    assert not at.exception
    with demo_factory() as session:
        invoice = session.scalar(select(Invoice).where(Invoice.number == number))
        loads = [cs.load.load_number for cs in invoice.charge_sets]
    assert [e.label for e in at.expander if e.label.startswith("Charge set")] == [
        f"Charge set {i} · load {n}" for i, n in enumerate(loads, start=1)]
    descriptions = [line["Description"] for line in _payload(at)["Line"]]
    assert all(any(f"Load #: {n}" in d for d in descriptions) for n in loads)


def test_the_random_button_picks_a_combined_invoice(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.button(key="mp_random").click().run()
    assert not at.exception
    assert len(at.expander) > 1


def test_changing_fields_order_and_labels_changes_the_description(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.multiselect(key="mp_fields").set_value(["container_number", "load_number"]).run()
    at.checkbox(key="mp_labels").uncheck().run()
    at.text_input(key="mp_separator").input(" / ").run()
    at.radio(key="mp_placement").set_value("every_line").run()
    assert not at.exception
    with demo_factory() as session:
        invoice = session.scalar(select(Invoice).where(Invoice.number == _payload(at)["DocNumber"]))
        load = invoice.charge_sets[0].load
        first_set = len(invoice.charge_sets[0].lines)
        expected = f"{load.container_number} / {load.load_number}"
    lines = _payload(at)["Line"]
    assert all(line["Description"].endswith(expected) for line in lines[:first_set])


def test_known_item_mappings_replace_placeholders(home, demo_factory):
    with transaction(demo_factory) as session:
        base = session.scalar(select(ChargeCode).where(ChargeCode.code == "BASE"))
        session.add(ItemMapping(charge_code_id=base.id, qbo_item_id="2", qbo_item_name="Drayage"))
    at = open_page(home, PAGE, actor=ADMIN)
    table = at.dataframe[-1].value
    assert "Drayage" in table["Product/Service"].tolist()
    assert "BASE" not in _texts(at.warning)


def _newest_first_load(factory) -> Load:
    with factory() as session:
        invoice = session.scalar(select(Invoice).order_by(Invoice.invoice_date.desc(), Invoice.id.desc()))
        return session.get(Load, invoice.charge_sets[0].load_id)


def test_missing_load_fields_are_warned(home, demo_factory):
    load = _newest_first_load(demo_factory)
    with transaction(demo_factory) as session:
        session.get(Load, load.id).bol = None
    at = open_page(home, PAGE, actor=ADMIN)
    at.multiselect(key="mp_fields").set_value(["load_number", "bol"]).run()
    assert f"Load {load.load_number} has no BOL" in _texts(at.warning)


@pytest.mark.skipif(bool(os.environ.get("QBSYNC_TEST_DATABASE_URL")),
                    reason="PostgreSQL enforces column lengths, so the book cannot hold a 4,000-character field")
def test_descriptions_over_4000_characters_are_warned_and_fail_when_set_to(home, demo_factory):
    load = _newest_first_load(demo_factory)
    with transaction(demo_factory) as session:
        session.get(Load, load.id).delivery_location = "X" * 4000
    at = open_page(home, PAGE, actor=ADMIN)
    at.multiselect(key="mp_fields").set_value(["load_number", "delivery_location"]).run()
    assert "QuickBooks allows 4,000" in _texts(at.warning)
    at.radio(key="mp_overflow").set_value("fail").run()
    assert "The sync would stop on this invoice" in _texts(at.error)


def test_admin_saves_the_template_and_it_is_audited(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.multiselect(key="mp_fields").set_value(["bol", "load_number"]).run()
    at.button(key="mp_save").click().run()
    assert "Description template saved" in _texts(at.success)
    with demo_factory() as session:
        assert load_settings(session).description.fields == ("bol", "load_number")
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "change_settings"))
    assert event.after["description"]["fields"] == ["bol", "load_number"]


def test_an_operator_cannot_save_the_template(home, demo_factory):
    at = open_page(home, PAGE, actor=OPERATOR)
    assert "saving it needs the admin role" in _texts(at.info)
    at.multiselect(key="mp_fields").set_value(["bol"]).run()
    at.button(key="mp_save").click().run()
    assert "needs the admin role" in _texts(at.error)
    with demo_factory() as session:
        assert load_settings(session).description.fields != ("bol",)


def test_custom_fields_fill_the_payload_and_save(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.selectbox(key="mp_cf_1").set_value("container_number").run()
    custom = _payload(at)["CustomField"]
    assert custom[0]["DefinitionId"] == "1" and custom[0]["Type"] == "StringType"
    at.button(key="mp_save_custom").click().run()
    assert "Custom fields saved" in _texts(at.success)
    with demo_factory() as session:
        row = session.get(CustomFieldMapping, (1, 1))  # (company, slot)
    assert (row.qbo_definition_id, row.source_field) == ("1", "container_number")


@pytest.mark.parametrize("search", ["no-such-invoice"])
def test_no_match_says_what_to_do(home, demo_factory, search):
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(search).run()
    assert "No invoice matches" in _texts(at.info)
    assert not at.json


def test_an_empty_book_says_how_to_fill_it(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    assert "qbsync demo" in _texts(at.info)


def _acme_invoice(factory) -> tuple[int, str]:
    from qbcore.models import Customer

    with factory() as session:
        acme = session.scalar(select(Customer).where(Customer.name == "ACME Logistics"))
        number = session.scalar(select(Invoice.number).where(Invoice.customer_id == acme.id).order_by(Invoice.id))
        return acme.id, number


def _refuse_customer(factory, customer_id: int, code: str, message: str) -> None:
    """The state the sync leaves when QuickBooks refused the customer's create (as after a 6240 name clash)."""
    from qbcore.models import EntityType, SyncRecord, SyncStatus

    with transaction(factory) as session:
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                         SyncRecord.entity_id == customer_id))
        record.qbo_id, record.status, record.error_kind = None, SyncStatus.FAILED, "duplicate"
        record.error_code, record.error_message, record.attempts = code, message, 1


def test_a_customer_create_known_to_fail_is_said_with_what_to_do(home, demo_factory):
    acme, number = _acme_invoice(demo_factory)
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(number).run()
    assert "ACME Logistics' is not in QuickBooks yet; the sync creates it first" in _texts(at.warning)
    _refuse_customer(demo_factory, acme, "6240", "Duplicate Name Exists Error")
    at.run()
    warnings = _texts(at.warning)
    assert "creates it first" not in warnings
    assert ("but QuickBooks refused the name 'ACME Logistics' (code 6240: a vendor, employee or another customer "
            "has it), so this invoice waits. Give the customer its own QuickBooks name on Settings → Customer names "
            "(or set the name-clash rule there)") in warnings


def test_with_a_name_clash_rule_the_preview_says_which_name_the_next_sync_tries(home, demo_factory):
    from qbcore.access import Actor
    from qbcore.models import Role
    from qbcore.settings import save_settings

    acme, number = _acme_invoice(demo_factory)
    _refuse_customer(demo_factory, acme, "6240", "Duplicate Name Exists Error")
    with transaction(demo_factory) as session:
        save_settings(session, Actor("ada@example.com", Role.ADMIN, "Ada"), {"name_clash_suffix": " (C)"})
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(number).run()
    assert "the name-clash rule on Settings → Customer names sends it as 'ACME Logistics (C)'" in _texts(at.warning)


def test_another_customer_failure_points_to_problem_sync(home, demo_factory):
    acme, number = _acme_invoice(demo_factory)
    _refuse_customer(demo_factory, acme, "6000", "Business validation error: email is not valid.")
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(number).run()
    assert ("failed last time (Business validation error: email is not valid), so this invoice waits. The "
            "customer's problem and what to do about it are on the Problem Sync page") in _texts(at.warning)


def test_an_invoice_dated_in_the_closed_period_is_warned_and_one_after_it_is_not(home, demo_factory):
    from qbcore.pull.bookmark import save_book_close_date

    with demo_factory() as session:
        oldest = session.scalar(select(Invoice).order_by(Invoice.invoice_date, Invoice.id))
        newest = session.scalar(select(Invoice).order_by(Invoice.invoice_date.desc(), Invoice.id.desc()))
        old_number, old_day, new_number = oldest.number, oldest.invoice_date, newest.number
    assert newest.invoice_date > old_day
    with transaction(demo_factory) as session:
        save_book_close_date(session, old_day)  # what the pull read from QuickBooks' company preferences
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(old_number).run()
    assert (f"The invoice date {old_day.isoformat()} is on or before QuickBooks' closing date {old_day.isoformat()}: "
            "QuickBooks refuses it (error 6200)") in _texts(at.warning)
    at.text_input(key="mp_search").input(new_number).run()
    assert "closing date" not in _texts(at.warning)


def _mark_all_synced(factory) -> int:
    from qbcore.models import EntityType, SyncRecord, SyncStatus

    with transaction(factory) as session:
        records = list(session.scalars(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value)))
        for index, record in enumerate(records, start=1):
            record.qbo_id, record.status, record.payload_hash = str(index), SyncStatus.SYNCED, "x"
    return len(records)


def test_a_template_change_says_how_many_synced_invoices_it_changes_and_marks_them_when_saved(home, demo_factory):
    from qbcore.models import SyncRecord, SyncStatus

    _mark_all_synced(demo_factory)
    with demo_factory() as session:
        # The oracle: adding BOL changes exactly the invoices with a load that has a BOL.
        with_bol = session.scalar(select(func.count(func.distinct(ChargeSet.invoice_id))).join(
            Load, Load.id == ChargeSet.load_id).where(Load.bol.is_not(None), Load.bol != ""))
    assert with_bol > 1
    at = open_page(home, PAGE, actor=ADMIN)
    assert "This changes the description" not in _texts(at.warning)
    at.multiselect(key="mp_fields").set_value(["load_number", "container_number", "reference_number", "bol"]).run()
    assert (f"This changes the description of {with_bol} synced invoices already in QuickBooks; saving marks them "
            "out of date and the next sync re-sends them.") in _texts(at.warning)
    at.button(key="mp_save").click().run()
    assert not at.exception
    assert (f"Description template saved. {with_bol} synced invoices are marked out of date; the next sync re-sends "
            "them with the new text.") in _texts(at.success)
    with demo_factory() as session:
        stale = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.status == SyncStatus.OUT_OF_DATE.value))
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "mark_out_of_date"))
    assert stale == with_bol and event.actor == ADMIN["email"] and event.after["invoices"] == with_bol
    # Saved, the template on screen is the saved one: nothing more to say.
    assert "This changes the description" not in _texts(at.warning)


def test_a_template_change_no_synced_invoice_has_says_so(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.multiselect(key="mp_fields").set_value(["bol"]).run()
    assert "No invoice already in QuickBooks changes with this template" in _texts(at.caption)
    at.button(key="mp_save").click().run()
    assert "no invoice already in QuickBooks changes" in _texts(at.success)


def test_a_charge_code_whose_item_create_failed_says_so_instead_of_creates_it(home, demo_factory):
    from qbcore.models import ChargeLine, EntityType, SyncRecord, SyncStatus

    with transaction(demo_factory) as session:
        hazmat = session.scalar(select(ChargeCode).where(ChargeCode.code == "HAZMAT"))
        number = session.scalar(select(Invoice.number).join(ChargeSet, ChargeSet.invoice_id == Invoice.id)
                                .join(ChargeLine, ChargeLine.charge_set_id == ChargeSet.id)
                                .where(ChargeLine.charge_code_id == hazmat.id).order_by(Invoice.id).limit(1))
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.ITEM.value,
                                                         SyncRecord.entity_id == hazmat.id))
        record.status, record.error_code = SyncStatus.FAILED, "6240"
        record.error_message = "QuickBooks already has an inactive item named HAZMAT."
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="mp_search").input(number).run()
    warnings = _texts(at.warning)
    assert ("Charge code HAZMAT has no QuickBooks item, and creating one failed last time (QuickBooks already has "
            "an inactive item named HAZMAT), so this invoice waits. Map it to an item on Settings → Charge "
            "codes") in warnings
    assert "HAZMAT —" not in warnings
    assert "(no item: HAZMAT)" in at.dataframe[-1].value["Product/Service"].tolist()


def _switch_payables_on(factory) -> None:
    from qbcore.access import LOCAL_ADMIN
    from qbcore.settings import save_settings

    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})


def _settlement_with(factory, code: str) -> Settlement:
    with factory() as session:
        return session.scalars(select(Settlement).join(SettlementLoad).join(SettlementLine).join(PayCode).where(
            PayCode.code == code, Settlement.status != "draft").order_by(Settlement.id)).first()


def test_the_bill_choice_shows_only_when_payables_sync(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not [r for r in at.radio if r.key == "mp_kind"]
    _switch_payables_on(demo_factory)
    at.run()
    assert at.radio(key="mp_kind").options == ["Invoice", "Settlement", "Carrier bill"]


def test_a_settlement_previews_its_lines_accounts_and_the_perdiem_warning(home, demo_factory):
    _switch_payables_on(demo_factory)
    settlement = _settlement_with(demo_factory, "PERDIEM")
    at = open_page(home, PAGE, actor=ADMIN)
    at.radio(key="mp_kind").set_value("settlement").run()
    at.text_input(key="mp_bill_search_settlement").input(settlement.number).run()
    assert not at.exception
    assert at.header[-1].value.startswith(f"Settlement {settlement.number} · ")
    assert "Pay code PERDIEM (Per diem) is not mapped" in _texts(at.warning)
    assert "Settings → Pay codes" in _texts(at.warning)
    assert "The sync would stop on this settlement" in _texts(at.error)
    table = at.dataframe[-1].value
    assert list(table.columns) == ["#", "Load #", "Container #", "Pay or deduction", "Account", "Amount",
                                   "Description"]
    with demo_factory() as session:
        loads = [sl.load.load_number for sl in session.get(Settlement, settlement.id).loads]
    assert [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("Load ")] == [
        f"Load {n}" for n in loads]
    assert "(not mapped)" in table["Account"].tolist() and "Driver Pay" in table["Account"].tolist()
    assert unescape_markdown(at.metric[-1].value).startswith("$")
    assert not at.json  # no Bill JSON: the sync would not send one


def test_a_carrier_bill_shows_its_json_and_follows_template_edits(home, demo_factory):
    _switch_payables_on(demo_factory)
    at = open_page(home, PAGE, actor=ADMIN)
    at.radio(key="mp_kind").set_value("carrier_bill").run()
    bill = _payload(at)
    with demo_factory() as session:
        row = session.scalar(select(CarrierBill).where(CarrierBill.carrier_invoice_number == bill["DocNumber"]))
        container = row.load.container_number
    assert bill["VendorRef"]["value"].startswith("(new vendor ")
    at.multiselect(key="mp_fields").set_value(["container_number"]).run()
    at.checkbox(key="mp_labels").uncheck().run()
    assert _payload(at)["Line"][0]["Description"].endswith(f"\n{container}")


def test_the_random_button_picks_a_settlement_of_several_loads(home, demo_factory):
    _switch_payables_on(demo_factory)
    at = open_page(home, PAGE, actor=ADMIN)
    at.radio(key="mp_kind").set_value("settlement").run()
    at.button(key="mp_bill_random").click().run()
    assert not at.exception
    assert at.selectbox(key="mp_bill_settlement").value is not None
    with demo_factory() as session:
        chosen = session.get(Settlement, at.selectbox(key="mp_bill_settlement").value)
        assert len(chosen.loads) > 1
