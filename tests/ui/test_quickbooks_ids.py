"""QuickBooks IDs page (AppTest) against the real sandbox: grid, remove, override, re-link, and the guards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from qbcore.config import load_config
from qbcore.db import transaction
from qbcore.models import AuditEvent, Customer, EntityType, Invoice, SyncRecord, SyncStatus
from qbcore.qbo.lookup import open_gateway
from qbcore.sync.records import ensure_sync_records
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.ui.conftest import open_page, tick_rows
from ui.markup import unescape_markdown

PAGE = "2_QuickBooks_IDs.py"
ADMIN = {"email": "ada@example.com", "role": "admin", "name": "Ada Admin"}
OPERATOR = {"email": "ops@example.com", "role": "operator", "name": "Olga Ops"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


@dataclass
class Linked:
    """Two invoices with QuickBooks twins: `linked` is linked, `spare` is not; plus ids to try."""

    factory: object
    linked_id: int
    linked_qbo: str
    spare_id: int
    spare_qbo: str
    customer_qbo: str


def _twin(gateway, invoice: Invoice, customer_id: str) -> str:
    amount = float(invoice.total)
    return gateway.write("Invoice", {
        "DocNumber": invoice.number, "TxnDate": invoice.invoice_date.isoformat(), "CustomerRef": {"value": customer_id},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": amount,
                  "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": amount}}],
    }, request_id=f"ui-{invoice.number}")["Id"]


@pytest.fixture
def sandbox_env(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A sandbox the pages talk to (QBSYNC_QBO_BASE_URL)."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        yield running.url


@pytest.fixture
def linked(sandbox_env: str, demo_factory) -> Linked:
    from qbcore.qbo.oauth import ensure_local_connection

    config = load_config(os.environ, {})
    ensure_local_connection(demo_factory, config)
    gateway = open_gateway(demo_factory, config)
    with transaction(demo_factory) as session:
        ensure_sync_records(session)
        first, second = session.scalars(select(Invoice).order_by(Invoice.id).limit(2)).all()
        names = {first.customer.name, second.customer.name}
        customers = {n: gateway.write("Customer", {"DisplayName": n}, request_id=f"ui-{n}")["Id"] for n in names}
        first_qbo = _twin(gateway, first, customers[first.customer.name])
        spare_qbo = _twin(gateway, second, customers[second.customer.name])
        records = {r.entity_id: r for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE, SyncRecord.entity_id.in_([first.id, second.id])))}
        records[first.id].qbo_id, records[first.id].status = first_qbo, SyncStatus.SYNCED
        records[second.id].status = SyncStatus.FAILED
        linked_id, spare_id = records[first.id].id, records[second.id].id
    invoice_ids = {row["Id"] for row in gateway.query("SELECT * FROM Invoice MAXRESULTS 100")}
    customer_only = next(c["Id"] for c in gateway.query("SELECT * FROM Customer MAXRESULTS 100")
                         if c["Id"] not in invoice_ids)
    return Linked(demo_factory, linked_id, first_qbo, spare_id, spare_qbo, customer_only)


def _grid(at):
    return at.get("component_instance")[0]


def _select(at, ids):
    tick_rows(at, list(ids))
    at.run()
    assert not at.exception


def _texts(elements) -> str:
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def _record(factory, record_id):
    with factory() as session:
        return session.get(SyncRecord, record_id)


def _audit(factory, action):
    with factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _confirm(at, reason="checked with the controller"):
    at.text_area(key="ids_reason").input(reason).run()
    at.checkbox(key="ids_sure").check().run()
    at.button(key="ids_confirm").click().run()
    assert not at.exception


def _open_override(home, linked, record_id, new_id, actor=ADMIN):
    at = open_page(home, PAGE, actor=actor)
    at.checkbox(key="ids_unlinked").check().run()
    _select(at, [record_id])
    at.button(key="ids_override").click().run()
    at.text_input(key="ids_new_id").input(new_id).run()
    at.button(key="ids_check").click().run()
    assert not at.exception
    return at


def test_the_grid_lists_linked_records_with_their_quickbooks_id(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    frame = convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)
    assert frame["id"].tolist() == [linked.linked_id]
    assert frame["qbo_id"].tolist() == [linked.linked_qbo]
    assert "**1 record** ·" in _texts(at.markdown) and "1 records" not in _texts(at.markdown)


def test_search_and_unlinked_filter_are_applied(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    at.checkbox(key="ids_unlinked").check().run()
    at.text_input(key="ids_search_text").input("no-such-thing").run()
    assert "No record matches" in _texts(at.info)


def test_an_empty_console_says_what_to_do_next(home, factory):
    at = open_page(home, PAGE, actor=ADMIN)
    assert not at.exception
    assert "run a sync from Problem Sync" in _texts(at.info)


def test_admin_removes_an_id_after_confirming_with_a_reason(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    _select(at, [linked.linked_id])
    at.button(key="ids_remove").click().run()
    assert "breaks the link" in _texts(at.warning)
    with linked.factory() as session:
        number = session.scalar(select(Invoice.number).join(SyncRecord, SyncRecord.entity_id == Invoice.id)
                                .where(SyncRecord.id == linked.linked_id))
        customer = session.scalar(select(Customer.name).join(Invoice, Invoice.customer_id == Customer.id)
                                  .where(Invoice.number == number))
    # The dialog and the outcome name the record as the team knows it: type, number and customer.
    assert (f"Our **Invoice {number} · {customer}** (QuickBooks id {linked.linked_qbo}) will lose its QuickBooks id"
            in _texts(at.markdown))
    _confirm(at, "deleted in QuickBooks")
    assert (f"Removed the QuickBooks id of Invoice {number} · {customer} (was QuickBooks id {linked.linked_qbo}). "
            "It will re-sync." in _texts(at.success))
    record = _record(linked.factory, linked.linked_id)
    assert (record.qbo_id, record.status) == (None, SyncStatus.NEVER_SYNCED)
    [event] = _audit(linked.factory, "remove_qbo_id")
    assert (event.before["qbo_id"], event.reason, event.actor) == (linked.linked_qbo, "deleted in QuickBooks",
                                                                    ADMIN["email"])


def test_remove_without_a_reason_keeps_the_dialog_open_and_changes_nothing(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    _select(at, [linked.linked_id])
    at.button(key="ids_remove").click().run()
    at.checkbox(key="ids_sure").check().run()
    at.button(key="ids_confirm").click().run()
    assert "Give a reason" in _texts(at.error)
    assert _record(linked.factory, linked.linked_id).qbo_id == linked.linked_qbo


@pytest.mark.parametrize("actor", [VIEWER, OPERATOR])
def test_a_viewer_or_operator_cannot_remove_an_id(home, linked, actor):
    at = open_page(home, PAGE, actor=actor)
    assert "needs the admin role" in _texts(at.info)
    _select(at, [linked.linked_id])
    at.button(key="ids_remove").click().run()
    _confirm(at)
    assert "needs the admin role" in _texts(at.error)
    assert _record(linked.factory, linked.linked_id).qbo_id == linked.linked_qbo
    [event] = _audit(linked.factory, "remove_qbo_id")
    assert (event.actor, event.outcome) == (actor["email"], "refused")


def test_admin_overrides_after_seeing_the_quickbooks_record_next_to_ours(home, linked):
    at = _open_override(home, linked, linked.spare_id, linked.spare_qbo)
    table = at.dataframe[-1].value
    assert table.set_index("")["QuickBooks"]["Id"] == linked.spare_qbo
    assert table.set_index("")["QuickBooks"]["Number / name"] == table.set_index("")["Ours"]["Number / name"]
    assert "points this record at another QuickBooks record" in _texts(at.warning)
    _confirm(at, "twin found by hand")
    assert f"now linked to QuickBooks id {linked.spare_qbo}" in _texts(at.success)
    record = _record(linked.factory, linked.spare_id)
    assert (record.qbo_id, record.status) == (linked.spare_qbo, SyncStatus.SYNCED)
    [event] = _audit(linked.factory, "override_qbo_id")
    assert (event.before["qbo_id"], event.after["qbo_id"]) == (None, linked.spare_qbo)


@pytest.mark.parametrize("junk", ["abc", "-1", "1.5"])
def test_a_junk_id_is_refused_with_a_clear_message(home, linked, junk):
    at = _open_override(home, linked, linked.linked_id, junk)
    assert "is not a QuickBooks id" in _texts(at.error)
    assert not [b for b in at.button if b.key == "ids_confirm"]
    assert _record(linked.factory, linked.linked_id).qbo_id == linked.linked_qbo


def test_a_customer_id_given_for_an_invoice_is_refused(home, linked):
    at = _open_override(home, linked, linked.linked_id, linked.customer_qbo)
    assert f"QuickBooks has no invoice with id {linked.customer_qbo}" in _texts(at.error)
    assert _record(linked.factory, linked.linked_id).qbo_id == linked.linked_qbo


def test_an_id_already_linked_to_another_record_is_refused(home, linked):
    at = _open_override(home, linked, linked.spare_id, linked.linked_qbo)
    assert "is already linked to our invoice" in _texts(at.error)
    assert _record(linked.factory, linked.spare_id).qbo_id is None


@pytest.mark.parametrize("actor", [VIEWER, OPERATOR])
def test_a_viewer_or_operator_cannot_override_an_id(home, linked, actor):
    at = _open_override(home, linked, linked.spare_id, linked.spare_qbo, actor=actor)
    _confirm(at)
    assert "needs the admin role" in _texts(at.error)
    assert _record(linked.factory, linked.spare_id).qbo_id is None
    [event] = _audit(linked.factory, "override_qbo_id")
    assert (event.actor, event.outcome) == (actor["email"], "refused")


def test_the_relink_assistant_finds_the_twin_and_links_it_through_the_override_checks(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    at.checkbox(key="ids_unlinked").check().run()
    _select(at, [linked.spare_id])
    at.button(key="ids_relink").click().run()
    at.button(key="ids_search").click().run()
    assert not at.exception
    candidates = at.dataframe[-1].value
    assert candidates["QB id"].iloc[0] == linked.spare_qbo
    assert "same number" in candidates["Why"].iloc[0]
    at.button(key="ids_use_candidate").click().run()
    assert at.text_input(key="ids_new_id").value == linked.spare_qbo
    at.button(key="ids_check").click().run()
    _confirm(at, "re-linked with the assistant")
    assert _record(linked.factory, linked.spare_id).qbo_id == linked.spare_qbo


def test_type_and_status_filters_narrow_the_grid_in_sql(home, linked):
    at = open_page(home, PAGE, actor=ADMIN)
    at.checkbox(key="ids_unlinked").check().run()
    at.multiselect(key="ids_status").set_value([SyncStatus.FAILED]).run()
    frame = convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)
    assert frame["id"].tolist() == [linked.spare_id]
    at.multiselect(key="ids_status").set_value([]).run()
    box = at.selectbox(key="ids_entity")
    box.select_index(box.options.index("Customer")).run()
    frame = convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)
    assert set(frame["entity"]) == {"Customer"}


def test_override_when_quickbooks_is_not_connected_says_so_plainly(home, demo_factory, app_env):
    with transaction(demo_factory) as session:
        ensure_sync_records(session)
        record_id = session.scalar(select(SyncRecord.id).where(SyncRecord.entity_type == EntityType.INVOICE))
    at = _open_override(home, None, record_id, "12")
    assert "Could not check the id in QuickBooks" in _texts(at.error)


def _headers(at) -> list[str]:
    import json

    return [c["headerName"] for c in json.loads(_grid(at).proto.json_args)["gridOptions"]["columnDefs"]]


def test_the_party_column_is_headed_by_what_the_rows_name_customers_vendors_or_both(home, demo_factory):
    from qbcore.access import LOCAL_ADMIN
    from qbcore.models import Settlement, Vendor
    from qbcore.settings import save_settings

    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
        ensure_sync_records(session)
        drivers = dict(session.execute(select(Settlement.number, Vendor.name).join(
            Vendor, Vendor.id == Settlement.driver_id)).all())
    at = open_page(home, PAGE, actor=ADMIN)
    at.checkbox(key="ids_unlinked").check().run()
    assert not at.exception and "Customer or vendor" in _headers(at)
    at.selectbox(key="ids_entity").select(EntityType.SETTLEMENT).run()
    assert "Vendor" in _headers(at) and "Customer" not in _headers(at)
    frame = convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)
    assert all(drivers[n] == c for n, c in zip(frame["number_or_name"], frame["customer"], strict=True))
    at.selectbox(key="ids_entity").select(EntityType.INVOICE).run()
    assert "Customer" in _headers(at) and "Vendor" not in _headers(at)
