"""Settings page (AppTest): connect round trip through the sandbox, settings, charge codes, custom fields, users."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from sqlalchemy import select

from qbcore.access import LOCAL_ADMIN
from qbcore.config import load_config
from qbcore.connection import get_connection_state
from qbcore.db import transaction
from qbcore.item_mappings import list_charge_code_mappings, list_custom_field_mappings
from qbcore.labels import count_words
from qbcore.models import AuditEvent, ConnectionStatus, EntityType, QboConnection, Role, SyncRecord, SyncStatus, User
from qbcore.settings import load_settings
from qbcore.users import list_users
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.ui.conftest import open_page
from ui.markup import unescape_markdown

PAGE = "1_Settings.py"
ADMIN = {"email": "ada@example.com", "role": "admin", "name": "Ada Admin"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


def _texts(elements) -> str:
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def _choose(at, key, starts):
    box = at.selectbox(key=key)
    box.select_index(next(i for i, o in enumerate(box.options) if o.startswith(starts))).run()


def _button(at, key):
    return next(b for b in at.button if b.key == key)


@pytest.fixture
def sandbox_env(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A sandbox the page talks to."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        yield running.url


@pytest.fixture
def connected(sandbox_env: str, factory) -> str:
    from qbcore.qbo.oauth import ensure_local_connection

    ensure_local_connection(factory, load_config(os.environ, {}))
    return sandbox_env


def _consent(auth_url: str) -> dict[str, str]:
    """What the sandbox's consent page does when the user clicks Connect: redirect with code/state/realmId."""
    parsed = urlparse(auth_url)
    form = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    response = requests.post(f"{parsed.scheme}://{parsed.netloc}{parsed.path}", data=form, allow_redirects=False,
                             timeout=10)
    return {k: v[0] for k, v in parse_qs(urlparse(response.headers["location"]).query).items()}


def test_a_fresh_console_says_quickbooks_is_not_connected_and_offers_connect(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    assert "QuickBooks is not connected" in _texts(at.info)
    assert not _button(at, "set_connect").disabled
    assert "No charge codes yet" in _texts(at.info)


def test_connect_round_trip_through_the_sandbox_consent_page(home, factory, sandbox_env):
    at = open_page(home, PAGE, actor=ADMIN)
    _button(at, "set_connect").click().run()
    assert not at.exception
    [link] = at.get("link_button")
    url = link.proto.url
    assert url.startswith(f"{sandbox_env}/connect/oauth2") and "state=" in url
    callback = _consent(url)
    at.query_params.update(callback)
    at.run()
    assert not at.exception
    assert "Connected to QuickBooks" in _texts(at.success)
    assert dict(at.query_params) == {}
    with factory() as session:
        state = get_connection_state(session)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "connect_quickbooks"))
    assert (state.status, state.realm_id) == (ConnectionStatus.CONNECTED, callback["realmId"])
    assert event.actor == ADMIN["email"]


def test_a_callback_with_a_forged_state_is_refused_and_the_url_cleaned(home, factory, sandbox_env):
    at = open_page(home, PAGE, actor=ADMIN)
    _button(at, "set_connect").click().run()
    callback = _consent(at.get("link_button")[0].proto.url)
    at.query_params.update({**callback, "state": "forged"})
    at.run()
    assert "stale or was not started here" in _texts(at.error)
    assert dict(at.query_params) == {}
    with factory() as session:
        assert get_connection_state(session).status is ConnectionStatus.DISCONNECTED


def test_a_cancelled_sign_in_says_nothing_changed(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.query_params.update({"error": "access_denied", "state": "x"})
    at.run()
    assert "did not complete (access_denied)" in _texts(at.warning)


def test_a_connection_needing_renewal_shows_reconnect(home, connected, factory):
    with transaction(factory) as session:
        row = session.scalar(select(QboConnection))
        row.status = ConnectionStatus.RECONNECT_REQUIRED
        row.last_error = "QuickBooks refused the saved authorization (invalid_grant)."
    at = open_page(home, PAGE, actor=ADMIN)
    assert "needs to be reconnected" in _texts(at.error)
    _button(at, "set_reconnect").click().run()
    assert at.get("link_button")


def test_admin_disconnects_after_ticking_the_box(home, connected, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert "Connected to" in _texts(at.success)
    at.checkbox(key="set_disconnect_sure").check().run()
    _button(at, "set_disconnect").click().run()
    assert "QuickBooks disconnected" in _texts(at.success)
    with factory() as session:
        assert get_connection_state(session).status is ConnectionStatus.DISCONNECTED


def test_a_viewer_sees_read_only_settings(home, factory):
    at = open_page(home, PAGE, actor=VIEWER)
    assert "read-only for you" in _texts(at.info)
    assert _button(at, "set_connect").disabled
    assert _button(at, "set_save_what").disabled
    assert _button(at, "set_save_options").disabled


def test_admin_pauses_syncing_and_the_change_is_audited(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.toggle(key="set_paused").set_value(True)
    at.checkbox(key="set_sync_payments").uncheck()
    _button(at, "set_save_what").click().run()
    assert "What syncs saved" in _texts(at.success)
    with factory() as session:
        settings = load_settings(session)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "change_settings"))
    assert (settings.paused, settings.sync_payments) == (True, False)
    assert event.before["paused"] is False and event.after["paused"] is True


def test_admin_changes_numbering_matching_terms_and_overflow(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    at.radio(key="set_numbering").set_value("quickbooks")
    at.radio(key="set_matching").set_value("email")
    at.radio(key="set_overflow").set_value("fail")
    _button(at, "set_save_options").click().run()
    assert not at.exception
    assert "Sync options saved" in _texts(at.success)
    # Saved in two steps: settings.save_settings puts every changed key into AuditEvent.target_id (64 chars).
    at.selectbox(key="set_term_0").set_value("Net 45")
    _button(at, "set_save_options").click().run()
    assert not at.exception
    with demo_factory() as session:
        settings = load_settings(session)
    assert (settings.invoice_numbering, settings.customer_matching, settings.description_overflow) == \
        ("quickbooks", "email", "fail")
    assert settings.terms_mapping == {"Due on receipt": "Net 45"}


def test_charge_codes_flag_unmapped_and_map_from_the_quickbooks_item_list(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    assert "not mapped" in _texts(at.warning)
    _choose(at, "set_map_code", "BASE —")
    _choose(at, f"set_map_item_{at.selectbox(key='set_map_code').value}", "Drayage")
    _button(at, "set_map_save").click().run()
    assert "BASE now posts to QuickBooks item Drayage" in _texts(at.success)
    with demo_factory() as session:
        mapping = next(m for m in list_charge_code_mappings(session) if m.code == "BASE")
    assert (mapping.qbo_item_name, mapping.is_mapped) == ("Drayage", True)


def test_create_a_missing_item_in_quickbooks_from_the_page(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    _choose(at, "set_map_code", "CHASSIS —")
    chassis = at.selectbox(key="set_map_code").value
    at.text_input(key=f"set_new_item_name_{chassis}").input("Chassis (drayage)").run()
    _button(at, "set_map_create").click().run()
    assert not at.exception
    assert "CHASSIS now posts to QuickBooks item Chassis (drayage)" in _texts(at.success)


def test_a_mistyped_item_id_is_refused_when_lists_are_unavailable(home, demo_factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key=f"set_map_item_id_{at.selectbox(key='set_map_code').value}").input("abc").run()
    _button(at, "set_map_save").click().run()
    assert "is not a QuickBooks item id" in _texts(at.error)


def test_custom_fields_are_read_from_quickbooks_and_saved(home, factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    _choose(at, "set_cf_1", "Container #")
    _choose(at, "set_cf_2", "Reference #")
    _button(at, "set_cf_save").click().run()
    assert "Custom fields saved" in _texts(at.success)
    with factory() as session:
        saved = list_custom_field_mappings(session)
    assert [(c.slot, c.qbo_name, c.source_field) for c in saved] == [
        (1, "Container #", "container_number"), (2, "PO #", "reference_number")]


def test_admin_adds_a_user_changes_the_role_and_deactivates(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert "No users yet" in _texts(at.info)
    at.text_input(key="set_user_email").input("otto@example.com")
    at.text_input(key="set_user_name").input("Otto")
    at.selectbox(key="set_user_role").set_value("viewer")
    _button(at, "set_user_add").click().run()
    assert "Added otto@example.com as viewer" in _texts(at.success)
    at.selectbox(key="set_user_new_role").set_value("operator")
    _button(at, "set_user_change").click().run()
    assert "is now operator" in _texts(at.success)
    _button(at, "set_user_toggle").click().run()
    with factory() as session:
        [user] = list_users(session)
    assert (user.role, user.active) == (Role.OPERATOR, False)


def test_a_bad_email_is_refused_with_a_message(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    at.text_input(key="set_user_email").input("not an email")
    _button(at, "set_user_add").click().run()
    assert "is not an email address" in _texts(at.error)
    with factory() as session:
        assert session.scalar(select(User)) is None


def test_a_customer_refused_for_a_name_clash_gets_its_quickbooks_name_on_settings_and_is_requeued(
    home, connected, demo_factory
):
    from qbcore.models import Customer, Job
    from qbcore.sync.runner import sync_now

    config = load_config(os.environ, {})
    with demo_factory() as session:
        realm = get_connection_state(session).realm_id
    requests.post(f"{connected}/_sandbox/realms/{realm}/plant", json={"vendors": ["ACME Logistics"]}, timeout=10)
    sync_now(demo_factory, config)
    at = open_page(home, PAGE, ADMIN)
    assert "1 customer is refused by QuickBooks" in _texts(at.warning)
    assert at.selectbox(key="set_names_customer").value is not None
    with demo_factory() as session:
        acme = session.scalar(select(Customer).where(Customer.name == "ACME Logistics"))
    assert at.selectbox(key="set_names_customer").value == acme.id  # clashes come first
    assert at.text_input(key=f"set_names_value_{acme.id}").value == "ACME Logistics (C)"
    at.text_input(key=f"set_names_reason_{acme.id}").input("a vendor has this name in QuickBooks")
    _button(at, "set_names_save").click().run()
    assert not at.exception
    assert "ACME Logistics now goes to QuickBooks as “ACME Logistics (C)”" in _texts(at.success)
    with demo_factory() as session:
        assert session.get(Customer, acme.id).qbo_display_name == "ACME Logistics (C)"
        job = session.scalar(select(Job).order_by(Job.id.desc()))
    assert job.total > 1 and "ACME Logistics" in job.params["label"]



def test_a_vendor_refused_for_a_customers_name_gets_its_quickbooks_name_on_vendor_names_and_is_requeued(
    home, connected, demo_factory
):
    from qbcore.demo_conflicts import clashing_driver
    from qbcore.models import Job, Vendor
    from qbcore.settings import save_settings
    from qbcore.sync.runner import sync_now

    config = load_config(os.environ, {})
    with demo_factory() as session:
        driver = session.scalar(select(Vendor).where(Vendor.name == clashing_driver(session)))
    with demo_factory() as session:
        realm = get_connection_state(session).realm_id
    requests.post(f"{connected}/_sandbox/realms/{realm}/plant", json={"customers": [driver.name]}, timeout=10)
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
    sync_now(demo_factory, config)
    viewer = open_page(home, PAGE, VIEWER)
    assert not viewer.exception and _button(viewer, "set_vnames_save").disabled
    at = open_page(home, PAGE, ADMIN)
    assert "1 vendor is refused by QuickBooks" in _texts(at.warning)
    assert at.selectbox(key="set_vnames_vendor").value == driver.id  # clashes come first
    assert at.text_input(key=f"set_vnames_value_{driver.id}").value == f"{driver.name} (V)"
    at.text_input(key=f"set_vnames_value_{driver.id}").input("  ")
    at.text_input(key=f"set_vnames_reason_{driver.id}").input("a customer in QuickBooks has his name")
    _button(at, "set_vnames_save").click().run()
    assert not at.exception and "Type the name QuickBooks should know this vendor by" in _texts(at.error)
    with demo_factory() as session:
        blocked = Counter(session.scalars(select(SyncRecord.entity_type).where(
            SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.blocked_by == f"vendor:{driver.name}")))
    assert blocked[EntityType.SETTLEMENT.value] > 1, "his settlements wait for him"
    at.text_input(key=f"set_vnames_value_{driver.id}").input(f"{driver.name} (V)")
    _button(at, "set_vnames_save").click().run()
    assert not at.exception
    assert f"{driver.name} now goes to QuickBooks as “{driver.name} (V)”" in _texts(at.success)
    waiting = count_words([(e, blocked[e.value]) for e in EntityType])
    assert f"resyncs it, and {waiting} waiting on it will resync too." in _texts(at.success), _texts(at.success)
    with demo_factory() as session:
        assert session.get(Vendor, driver.id).qbo_display_name == f"{driver.name} (V)"
        job = session.scalar(select(Job).order_by(Job.id.desc()))
    assert job.total > 1 and driver.name in job.params["label"]


def _plant_and_sync(base_url: str, factory, spec: dict) -> None:
    """Plant what the demo company meets in QuickBooks, then run the first sync for real (client over HTTP)."""
    from qbcore.sync.runner import sync_now

    with factory() as session:
        realm = get_connection_state(session).realm_id
    requests.post(f"{base_url}/_sandbox/realms/{realm}/plant", json=spec, timeout=10).raise_for_status()
    sync_now(factory, load_config(os.environ, {}))


def _code_rows(at) -> dict[str, dict]:
    frame = next(d.value for d in at.dataframe if "Code" in d.value.columns)
    return {row["Code"]: row for row in frame.to_dict("records")}


def test_choosing_a_code_never_preselects_another_codes_item(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    with demo_factory() as session:
        codes = {m.code: m.charge_code_id for m in list_charge_code_mappings(session)}
    _choose(at, "set_map_code", "HAZMAT —")
    box = at.selectbox(key=f"set_map_item_{codes['HAZMAT']}")
    assert box.value == "" and box.options[0] == "— choose an item —"
    assert _button(at, "set_map_save").disabled  # one Save can no longer map hazmat to line haul
    # Choosing a mapped code, then HAZMAT again, still offers nothing for HAZMAT.
    _choose(at, "set_map_code", "BASE —")
    _choose(at, f"set_map_item_{codes['BASE']}", "Drayage")
    _choose(at, "set_map_code", "HAZMAT —")
    assert at.selectbox(key=f"set_map_item_{codes['HAZMAT']}").value == ""


def test_a_code_with_an_item_of_its_own_name_offers_that_item(home, demo_factory, connected):
    with demo_factory() as session:
        realm = get_connection_state(session).realm_id
    requests.post(f"{connected}/_sandbox/realms/{realm}/plant", json={"items": ["FSC"]}, timeout=10).raise_for_status()
    at = open_page(home, PAGE, actor=ADMIN)
    with demo_factory() as session:
        fsc = next(m.charge_code_id for m in list_charge_code_mappings(session) if m.code == "FSC")
    _choose(at, "set_map_code", "FSC —")
    box = at.selectbox(key=f"set_map_item_{fsc}")
    assert box.value != "" and box.format_func(box.value) == "FSC"


def test_codes_the_sync_gave_an_item_say_mapped_automatically_and_only_itemless_codes_are_unmapped(
    home, demo_factory, connected
):
    _plant_and_sync(connected, demo_factory, {"items": ["HAZMAT"], "inactive_items": ["HAZMAT"]})
    with demo_factory() as session:
        mappings = {m.code: m for m in list_charge_code_mappings(session)}
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    rows = _code_rows(at)
    automatic = [code for code, m in mappings.items() if m.is_auto_mapped]
    assert len(automatic) == len(mappings) - 1 and not mappings["HAZMAT"].posts_to
    for code in automatic:
        assert rows[code]["Status"] == f"Mapped automatically to {code}"
        assert rows[code]["Item id"] == mappings[code].auto_item_id
    assert [code for code, row in rows.items() if "Unmapped" in row["Status"]] == ["HAZMAT"]
    warning = _texts(at.warning)
    assert "1 charge code not mapped to a QuickBooks item yet: HAZMAT." in warning
    assert "(Options tab)" in warning and "above" not in warning
    # A code mapped automatically offers its own item, never the first one in the list.
    _choose(at, "set_map_code", "FSC —")
    box = at.selectbox(key=f"set_map_item_{mappings['FSC'].charge_code_id}")
    assert box.value == mappings["FSC"].auto_item_id
    assert "FSC is mapped automatically to FSC" in _texts(at.caption)


def test_create_and_map_and_every_save_stay_on_the_tab_the_user_was_on(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    at.session_state["set_tab"] = "Charge codes"
    at.run()
    _choose(at, "set_map_code", "CHASSIS —")
    _button(at, "set_map_create").click().run()
    assert "CHASSIS now posts to QuickBooks item CHASSIS" in _texts(at.success)
    assert at.session_state["set_tab"] == "Charge codes"
    at.session_state["set_tab"] = "Options"
    at.run()
    _button(at, "set_save_options").click().run()
    assert at.session_state["set_tab"] == "Options"


def test_a_mapped_code_offers_its_own_item_and_income_account(home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    _choose(at, "set_map_code", "FSC —")
    fsc = at.selectbox(key="set_map_code").value
    _choose(at, f"set_map_item_{fsc}", "Fuel")
    account = at.selectbox(key=f"set_map_account_{fsc}")
    account.select_index(1).run()
    chosen_account = at.selectbox(key=f"set_map_account_{fsc}").value
    _button(at, "set_map_save").click().run()
    assert "FSC now posts to QuickBooks item" in _texts(at.success)
    from streamlit.testing.v1 import AppTest

    from tests.ui.conftest import ROOT

    # A new visit (a fresh session) shows what is saved, not the first entries of the lists.
    at = open_page(AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60), PAGE, actor=ADMIN)
    _choose(at, "set_map_code", "FSC —")
    with demo_factory() as session:
        saved = next(m for m in list_charge_code_mappings(session) if m.code == "FSC")
    assert at.selectbox(key=f"set_map_item_{fsc}").value == saved.qbo_item_id
    assert at.selectbox(key=f"set_map_account_{fsc}").value == saved.income_account_id == chosen_account


def test_pay_codes_map_to_an_expense_account_read_from_quickbooks_and_synced_bills_go_out_of_date(
        home, demo_factory, connected):
    from sqlalchemy import select, update

    from qbcore.models import AuditEvent, EntityType, SyncRecord, SyncStatus
    from qbcore.payables_accounts import list_code_accounts

    with demo_factory() as session, session.begin():
        session.execute(update(SyncRecord).where(SyncRecord.entity_type == EntityType.SETTLEMENT.value)
                        .values(status=SyncStatus.SYNCED.value, qbo_id="1"))
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    frame = next(d.value for d in at.dataframe if "Kind" in d.value.columns)
    assert set(frame["Kind"]) == {"Pay code", "Deduction code"}
    assert "Posts to Driver Pay" in set(frame["Account"])
    _choose(at, "set_pay_code", "LH —")
    key = at.selectbox(key="set_pay_code").value
    options = at.selectbox(key=f"set_pay_account_{key}").options
    # Only accounts a bill line may post to are offered: no bank, income or payable account.
    assert "Carrier Costs" in options and "Checking" not in options and "Services" not in options
    _choose(at, f"set_pay_account_{key}", "Carrier Costs")
    _button(at, "set_pay_save").click().run()
    assert not at.exception
    success = _texts(at.success)
    assert "LH now posts to Carrier Costs" in success and "marked out of date" in success
    with demo_factory() as session:
        mapping = next(m for m in list_code_accounts(session) if m.code == "LH")
        stale = session.scalars(select(SyncRecord.status).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value)).all()
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "map_pay_code"))
    assert mapping.account_name == "Carrier Costs" and set(stale) == {SyncStatus.OUT_OF_DATE.value}
    assert (event.actor, event.after["account"]) == (ADMIN["email"], "Carrier Costs")


def test_pay_codes_show_and_map_the_chosen_companys_accounts(home, demo_factory, sandbox_env):
    from qbcore.companies import add_company
    from qbcore.models import PayablesAccountMapping, PayCode
    from qbcore.payables_accounts import list_code_accounts
    from qbcore.qbo.lookup import open_gateway
    from qbcore.qbo.oauth import ensure_local_connection
    from tests.qbcore.sync.state import copy_pay_code_accounts

    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
    copy_pay_code_accounts(demo_factory, broker)
    with transaction(demo_factory) as session:
        line_haul = session.scalar(select(PayCode.id).where(PayCode.code == "LH"))
        session.scalars(select(PayablesAccountMapping).where(
            PayablesAccountMapping.company_id == broker, PayablesAccountMapping.pay_code_id == line_haul)
        ).one().qbo_account_name = "Carrier Costs"
    config = load_config(os.environ, {})
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)

    def accounts(at) -> dict[str, str]:
        frame = next(d.value for d in at.dataframe if "Kind" in d.value.columns)
        return dict(zip(frame["Code"], frame["Account"], strict=True))

    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    assert accounts(at)["LH"] == "Posts to Driver Pay"
    at.selectbox(key="set_company").select(broker).run()
    assert not at.exception
    shown = accounts(at)
    assert shown["LH"] == "Posts to Carrier Costs" and shown["PERDIEM"].startswith("⚠ Unmapped")
    assert "these are Brokerage's" in _texts(at.caption) and "PERDIEM" in _texts(at.warning)
    _choose(at, "set_pay_code", "LH —")
    key = at.selectbox(key="set_pay_code").value
    _choose(at, f"set_pay_account_{key}", "Chassis Rental Expense")
    _button(at, "set_pay_save").click().run()
    assert not at.exception
    assert "LH now posts to Chassis Rental Expense" in _texts(at.success)
    assert accounts(at)["LH"] == "Posts to Chassis Rental Expense"
    chassis = open_gateway(demo_factory, config, broker).query(
        "SELECT * FROM Account WHERE Name = 'Chassis Rental Expense'")[0]["Id"]
    with demo_factory() as session:
        mine = next(m for m in list_code_accounts(session, broker) if m.code == "LH")
        first = next(m for m in list_code_accounts(session, 1) if m.code == "LH")
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "map_pay_code"))
    assert (mine.account_name, mine.account_id) == ("Chassis Rental Expense", str(chassis))
    assert first.account_name == "Driver Pay" and event.company_id == broker
    # Back on the first company: its own mapping, untouched.
    at.selectbox(key="set_company").select(1).run()
    assert accounts(at)["LH"] == "Posts to Driver Pay"


def test_pay_codes_are_read_only_for_a_viewer_and_need_a_connection_to_map(home, demo_factory):
    at = open_page(home, PAGE, actor=VIEWER)
    assert not at.exception
    assert any("Kind" in d.value.columns for d in at.dataframe)
    assert "Connect QuickBooks to map codes to its accounts" in _texts(at.caption)
    assert "switched off under What syncs" in _texts(at.caption)
    assert not [b for b in at.button if b.key == "set_pay_save"]


def test_admin_routes_settlements_to_fleet_owners_and_a_viewer_cannot(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert at.radio(key="set_routing_choice").value == "driver"
    at.radio(key="set_routing_choice").set_value("fleet_owner")
    _button(at, "set_save_routing").click().run()
    assert "Bill options saved" in _texts(at.success)
    assert "one bill per owner" in _texts(at.caption)
    with factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "change_settings"))
        assert load_settings(session).settlement_vendor == "fleet_owner"
    assert (event.before, event.after) == ({"settlement_vendor": "driver"}, {"settlement_vendor": "fleet_owner"})

    viewer = open_page(home, PAGE, actor=VIEWER)
    assert viewer.radio(key="set_routing_choice").value == "fleet_owner"
    assert _button(viewer, "set_save_routing").disabled


def test_admin_names_the_default_expense_account_from_quickbooks_and_sees_its_bank_accounts(
        home, demo_factory, connected):
    at = open_page(home, PAGE, actor=ADMIN)
    box = at.selectbox(key="set_default_expense")
    assert box.value == "" and "None: a pay code without an account waits, named" in box.options
    box.select("Cost of Goods Sold")
    bank = at.selectbox(key="set_bill_bank")
    assert bank.value == "Checking" and "Checking" in bank.options  # QuickBooks' bank accounts, read from it
    _button(at, "set_save_routing").click().run()
    assert "Bill options saved" in _texts(at.success)
    with demo_factory() as session:
        settings = load_settings(session)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "change_settings")).all()[-1]
    assert (settings.default_expense_account, settings.bill_payment_account) == ("Cost of Goods Sold", "Checking")
    assert event.after == {"default_expense_account": "Cost of Goods Sold"}
