"""Problem Sync page (AppTest): every tab renders; every action path leaves the right state in the database."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from qbcore.db import transaction
from qbcore.models import AuditEvent, EntityType, Invoice, Job, JobStatus, SyncRecord, SyncStatus
from tests.qbcore.problems.problem_data import seed_problems
from tests.ui.conftest import ROOT, open_page, tick_rows
from ui.markup import unescape_markdown

PAGE = "4_Problem_Sync.py"
OPERATOR = {"email": "ops@example.com", "role": "operator", "name": "Olga Ops"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


@pytest.fixture
def book(demo_factory):
    """The demo book with its problem list."""
    with transaction(demo_factory) as session:
        return seed_problems(session)


def _grid(at):
    return at.get("component_instance")[0]


def _grid_rows(at):
    return convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)


def _select(at, ids):
    tick_rows(at, list(ids))
    at.run()
    assert not at.exception


def _texts(elements):
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def _statuses(factory, ids):
    with factory() as session:
        return {rid: status for rid, status in session.execute(
            select(SyncRecord.id, SyncRecord.status).where(SyncRecord.id.in_(ids)))}


def _confirm(at, reason=None):
    if reason is not None:
        at.text_area(key="ps_reason").input(reason).run()
    at.button(key="ps_confirm").click().run()
    assert not at.exception


@pytest.mark.parametrize("tab, headline, rows", [
    ("Invoices", "24 invoices need attention", 24),
    ("Payments", "3 payments need attention", 3),
    ("Customers", "2 customers need attention", 2),
    ("Credit Memos", "1 credit memo needs attention", 1),
])
def test_every_tab_shows_its_counts_dollars_and_a_windowed_grid(home, demo_factory, book, tab, headline, rows):
    at = open_page(home, PAGE)
    at.session_state["ps_tab"] = tab
    at.run()
    assert not at.exception
    assert headline in _texts(at.markdown)
    assert [m.label for m in at.metric][:5] == ["Failed", "Blocked", "Pending", "Out of date", "Never synced"]
    args = json.loads(_grid(at).proto.json_args)
    assert args["data_return_mode"] == "CUSTOM"
    assert args["gridOptions"]["rowSelection"]["mode"] == "multiRow"
    frame = _grid_rows(at)
    assert len(frame) == rows
    assert {"id", "reference", "customer", "amount", "status", "message", "fix_hint", "qbo_code", "attempts",
            "open_days"} <= set(frame.columns)


def test_root_causes_read_as_sentences_with_where_to_fix(home, demo_factory, book):
    at = open_page(home, PAGE)
    # Names inside the sentences are markdown-escaped; read them as the user sees them.
    text = _texts(at.markdown).replace("\\", "")
    assert "10 invoices: charge code CHASSIS not mapped to a QuickBooks item" in text
    assert "3 invoices: dated before the books' closing date" in text
    # Nothing was mapped since they failed: no retry, but what must change and where.
    assert "Map the charge code CHASSIS on Settings → Charge codes" in _texts(at.caption)


def test_an_empty_queue_says_nothing_is_failing_and_when_the_last_sync_was(home, demo_factory):
    with transaction(demo_factory) as session:
        session.execute(update(SyncRecord).values(status="synced"))
    at = open_page(home, PAGE)
    assert not at.exception
    assert "Nothing failing" in _texts(at.success) and "Last sync: never" in _texts(at.success)
    assert "QuickBooks is not connected" in _texts(at.warning)


def test_an_empty_book_renders_without_error(home, factory):
    at = open_page(home, PAGE)
    assert not at.exception
    assert "Nothing failing" in _texts(at.success)


def test_resync_selected_queues_a_job_with_exactly_the_ticked_records(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    chosen = book.chassis[:3]
    _select(at, chosen)
    assert "3 selected" in _texts(at.caption)
    at.button(key="ps_invoice_resync").click().run()
    assert "3 invoices" in _texts(at.markdown)
    _confirm(at)
    with demo_factory() as session:
        job = session.scalars(select(Job)).one()
    assert job.params["record_ids"] == chosen and job.created_by == OPERATOR["email"]
    assert f"Resync job #{job.id} queued for 3 invoices" in _texts(at.success)
    assert set(_statuses(demo_factory, chosen).values()) == {"pending"}


def test_resync_all_matching_uses_the_sql_filter(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    at.multiselect(key="ps_invoice_kind").select("closed_period").run()
    assert "**3** matching" in _texts(at.markdown)
    at.button(key="ps_invoice_resync_all").click().run()
    _confirm(at)
    with demo_factory() as session:
        job = session.scalars(select(Job)).one()
    assert job.params["record_ids"] == book.invoices[14:17]


def test_retry_these_resyncs_one_root_cause(home, demo_factory, book):
    from qbcore.models import ChargeCode, ItemMapping

    at = open_page(home, PAGE, actor=OPERATOR)
    assert "ps_retry_invoice_0" not in [b.key for b in at.button]  # CHASSIS is not mapped yet
    with transaction(demo_factory) as session:  # mapped on Settings → Charge codes since the failures
        chassis = session.scalar(select(ChargeCode.id).where(ChargeCode.code == "CHASSIS"))
        session.add(ItemMapping(charge_code_id=chassis, qbo_item_id="77", qbo_item_name="Chassis"))
    at.run()
    at.button(key="ps_retry_invoice_0").click().run()
    assert "charge code CHASSIS" in _texts(at.markdown)
    _confirm(at)
    with demo_factory() as session:
        assert session.scalars(select(Job)).one().params["record_ids"] == book.chassis


def test_clear_requires_a_reason_then_clears_and_restore_brings_them_back(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    chosen = book.chassis[:2]
    _select(at, chosen)
    at.button(key="ps_invoice_clear").click().run()
    _confirm(at)  # no reason
    assert "Give a reason" in _texts(at.error)
    assert set(_statuses(demo_factory, chosen).values()) == {"failed"}
    _confirm(at, reason="Billed twice in the TMS")
    assert set(_statuses(demo_factory, chosen).values()) == {"cleared"}
    assert "22 invoices need attention" in _texts(at.markdown)
    with demo_factory() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "clear_invoice")).all()
    assert {(e.actor, e.reason) for e in events} == {(OPERATOR["email"], "Billed twice in the TMS")}

    at.multiselect(key="ps_invoice_status").set_value([SyncStatus.CLEARED]).run()
    assert len(_grid_rows(at)) == 2
    _select(at, chosen)
    at.button(key="ps_invoice_restore").click().run()
    _confirm(at)
    assert set(_statuses(demo_factory, chosen).values()) == {"failed"}
    assert "Restored 2 invoices" in _texts(at.success)


def test_mark_paid_without_sync_takes_the_invoice_off_the_list_and_marks_it_paid(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    chosen = [book.invoices[14]]
    _select(at, chosen)
    at.button(key="ps_invoice_mark_paid").click().run()
    _confirm(at, reason="Check 1042 applied in QuickBooks")
    assert _statuses(demo_factory, chosen) == {chosen[0]: "paid_outside"}
    with demo_factory() as session:
        invoice_status = session.scalar(select(Invoice.status).join(SyncRecord, SyncRecord.entity_id == Invoice.id)
                                        .where(SyncRecord.id == chosen[0]))
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mark_invoice_paid_outside")).one()
    assert invoice_status == "paid"
    assert (event.actor, event.reason) == (OPERATOR["email"], "Check 1042 applied in QuickBooks")
    assert chosen[0] not in _grid_rows(at)["id"].tolist()


def test_select_all_matching_clears_the_whole_filtered_set(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    at.multiselect(key="ps_invoice_kind").select("mapping").run()
    at.toggle(key="ps_all_invoice").set_value(True).run()
    at.button(key="ps_invoice_clear").click().run()
    assert "all matching the filter" in _texts(at.markdown) and "10 invoices" in _texts(at.markdown)
    _confirm(at, reason="Charges moved to another invoice")
    assert set(_statuses(demo_factory, book.chassis).values()) == {"cleared"}


@pytest.mark.parametrize("button, reason", [
    ("ps_invoice_resync", None), ("ps_invoice_clear", "dup"), ("ps_invoice_mark_paid", "paid"),
])
def test_a_viewers_action_is_refused_nothing_changes_and_the_refusal_is_audited(home, demo_factory, book, button,
                                                                                reason):
    at = open_page(home, PAGE, actor=VIEWER)
    assert "need the operator role" in _texts(at.caption)
    chosen = book.chassis[:2]
    _select(at, chosen)
    at.button(key=button).click().run()
    _confirm(at, reason=reason)
    assert "Not done" in _texts(at.error) and "needs the operator role" in _texts(at.error)
    assert set(_statuses(demo_factory, chosen).values()) == {"failed"}
    with demo_factory() as session:
        assert session.scalars(select(Job)).all() == []
        events = session.scalars(select(AuditEvent)).all()
    assert [(e.actor, e.outcome) for e in events] == [(VIEWER["email"], "refused")]


def test_resync_of_nothing_resyncable_warns_in_plain_words(home, demo_factory, book):
    at = open_page(home, PAGE, actor=OPERATOR)
    at.multiselect(key="ps_invoice_status").set_value([SyncStatus.CLEARED, SyncStatus.FAILED]).run()
    chosen = book.chassis[:1]
    _select(at, chosen)
    at.button(key="ps_invoice_clear").click().run()
    _confirm(at, reason="x")
    _select(at, chosen)
    at.button(key="ps_invoice_resync").click().run()
    _confirm(at)
    assert "Nothing was changed" in _texts(at.warning)


def test_one_selected_row_shows_its_masked_request_and_attempts(home, demo_factory, book):
    at = open_page(home, PAGE)
    _select(at, book.chassis[:1])
    code = " ".join(c.value for c in at.code)
    assert "DocNumber" in code and "[hidden]" in code
    assert "eyJ" not in code and "tok-secret-123" not in code
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2


def test_a_running_job_shows_progress_then_its_outcome(home, demo_factory, book):
    with transaction(demo_factory) as session:
        job = Job(kind="sync", params={"record_ids": book.chassis}, total=10, done=4, status="running",
                  created_by="ops@example.com")
        session.add(job)
    at = open_page(home, PAGE)
    assert "4 of 10 records done" in at.get("progress")[0].proto.text
    with transaction(demo_factory) as session:
        session.execute(update(Job).values(status=JobStatus.DONE.value, done=10))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(book.chassis[:6])).values(status="synced"))
    at.run()
    assert not at.exception
    text = _texts(at.warning)
    assert f"Resync job #{job.id} done" in text and "6 of 10 synced" in text and "Mapping missing 4" in text
    assert "18 invoices need attention" in _texts(at.markdown)


def test_export_button_is_offered_for_the_filtered_view(home, demo_factory, book):
    at = open_page(home, PAGE)
    assert any("Export 24 rows" in b.proto.label for b in at.get("download_button"))


@pytest.mark.parametrize("value, shown, expected", [
    ({"selected": ["invoice.0:3", "invoice.0:5", "invoice.0:99"]}, [3, 5, 7], [3, 5]),
    ({"selected": []}, [1], []),
    ({}, [1], []),
    ({"selected": ["invoice.0:x", None, 1, "invoice.0:1"]}, [1], [1]),
    # A tick sent for another tab's rows, or before an action started a new selection, never lands here.
    ({"selected": ["payment.0:3", "invoice.1:5", "invoice.0:7"]}, [3, 5, 7], [7]),
])
def test_grid_selection_keeps_only_ids_of_the_window_and_its_scope(value, shown, expected):
    from st_aggrid.collectors.custom import CustomResponse

    from ui.grid import selected_ids

    assert selected_ids(CustomResponse(value), shown, "invoice.0") == expected
    assert selected_ids(None, shown, "invoice.0") == []


def test_mark_paid_records_the_payment_and_restore_undoes_it_while_clear_and_mark_paid_are_off(
    home, demo_factory, book
):
    from datetime import date

    at = open_page(home, PAGE, actor=OPERATOR)
    chosen = [book.chassis[0]]
    _select(at, chosen)
    assert at.button(key="ps_invoice_restore").disabled  # nothing set aside yet
    at.button(key="ps_invoice_mark_paid").click().run()
    at.date_input(key="ps_paid_on").set_value(date(2026, 11, 20)).run()
    at.number_input(key="ps_paid_amount").set_value(0.0).run()
    at.text_input(key="ps_paid_reference").input("CHK 4411").run()
    _confirm(at, reason="Check applied in QuickBooks")
    assert "The amount must be more than $0.00" in _texts(at.error)  # the dialog stays open, nothing changed
    assert _statuses(demo_factory, chosen) == {chosen[0]: "failed"}
    at.number_input(key="ps_paid_amount").set_value(None).run()
    _confirm(at)
    assert _statuses(demo_factory, chosen) == {chosen[0]: "paid_outside"}
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "mark_invoice_paid_outside"))
    assert event.after["payment"] == {"paid_on": "2026-11-20", "amount": None, "reference": "CHK 4411"}

    at.multiselect(key="ps_invoice_status").set_value([SyncStatus.PAID_OUTSIDE]).run()
    _select(at, chosen)
    assert at.button(key="ps_invoice_clear").disabled and at.button(key="ps_invoice_mark_paid").disabled
    assert not at.button(key="ps_invoice_restore").disabled
    from ui.markup import unescape_markdown

    assert "Note: Paid in QuickBooks on 2026-11-20 · reference CHK 4411" in unescape_markdown(_texts(at.caption))
    at.button(key="ps_invoice_restore").click().run()
    _confirm(at)
    assert _statuses(demo_factory, chosen) == {chosen[0]: "failed"}
    assert "Restored 1 invoice to the problem list" in _texts(at.success)
    with demo_factory() as session:
        undo = session.scalar(select(AuditEvent).where(AuditEvent.action == "undo_mark_paid_outside"))
    assert undo.actor == OPERATOR["email"] and undo.after["status"] == "failed"


def test_homes_failed_or_blocked_count_is_the_sum_of_the_problem_tabs(home, demo_factory):
    from tests.qbcore.problems.problem_data import seed_every_entity

    with transaction(demo_factory) as session:
        seed_every_entity(session)
    home.run()
    assert not home.exception
    home_count = next(int(m.value.replace(",", "")) for m in home.metric if m.label == "Failed or blocked")
    home.switch_page(str(ROOT / "pages" / PAGE)).run()
    at = home
    tabs = [t.label for t in at.tabs]
    assert {"Credit Applications", "Items"} <= set(tabs)
    on_tabs = {}
    for tab in tabs:
        at.session_state["ps_tab"] = tab
        at.run()
        assert not at.exception
        metrics = {m.label: int(m.value.replace(",", "")) for m in at.metric}
        on_tabs[tab] = metrics["Failed"] + metrics["Blocked"]
    assert home_count == sum(on_tabs.values()) == 30
    assert on_tabs["Credit Applications"] == 3 and on_tabs["Items"] == 1
    at.session_state["ps_tab"] = "Credit Applications"
    at.run()
    references = _grid_rows(at)["reference"].tolist()
    assert len(references) == 3 and all(" → INV-" in r for r in references)
    assert at.button(key="ps_credit_application_resync_all").label == "Resync all 3 matching"
    assert not [b for b in at.button if b.key in ("ps_credit_application_clear", "ps_credit_application_mark_paid")]


def test_a_reversed_amount_range_says_it_is_reversed_and_how_to_fix_it(home, demo_factory, book):
    at = open_page(home, PAGE)
    at.number_input(key="ps_invoice_min").set_value(5000.0).run()
    at.number_input(key="ps_invoice_max").set_value(100.0).run()
    assert not at.exception
    warning = _texts(at.warning)
    assert "The amount range is reversed" in warning and "($5,000.00) is more than" in warning
    assert "Swap the two amounts" in warning
    assert "No records match" not in _texts(at.info)
    at.number_input(key="ps_invoice_max").set_value(None).run()
    assert "reversed" not in _texts(at.warning)


def test_the_grid_offers_no_header_filter_or_quick_search_the_counts_would_ignore(home, demo_factory, book):
    at = open_page(home, PAGE)
    args = json.loads(_grid(at).proto.json_args)
    options = args["gridOptions"]
    for spec in [options["defaultColDef"], *options["columnDefs"]]:
        assert spec["filter"] is False and spec["suppressHeaderMenuButton"] is True
        assert spec["suppressHeaderFilterButton"] is True and not spec.get("floatingFilter")
    assert args["show_search"] is False and args["show_toolbar"] is False


def test_root_causes_group_blocked_payments_by_their_invoices_cause_and_retry_only_what_can_pass(
        home, demo_factory, book):
    from datetime import timedelta

    from qbcore.models import Payment
    from tests.qbcore.problems.problem_data import NOW
    from tests.qbcore.problems.test_causes import _closed_period_chain

    invoices, _ = _closed_period_chain(demo_factory)
    with transaction(demo_factory) as session:  # the seeded validation failures were corrected in billing since
        payment_ids = select(SyncRecord.entity_id).where(SyncRecord.id.in_(book.payments))
        session.execute(update(Payment).where(Payment.id.in_(payment_ids)).values(updated_at=NOW + timedelta(days=1)))
    at = open_page(home, PAGE, actor=OPERATOR)
    at.session_state["ps_tab"] = "Payments"
    at.run()
    text = _texts(at.markdown).replace("\\", "")
    assert "5 payments and 3 invoices: invoice date before the books' closing date in QuickBooks" in text
    assert "Change the closing date in QuickBooks" in _texts(at.caption)
    assert "No retry until that changes" in _texts(at.caption)
    assert [b.key for b in at.button if b.key.startswith("ps_retry_payment_")] == ["ps_retry_payment_1"]

    # An invoice date changed in billing: a retry can pass now, and it resyncs the invoices the payments wait for.
    with transaction(demo_factory) as session:
        session.execute(update(Invoice).where(Invoice.id == invoices[0][1]).values(updated_at=NOW + timedelta(days=1)))
    at.run()
    at.button(key="ps_retry_payment_0").click().run()
    assert "3 invoices" in _texts(at.markdown) and "invoices behind" in _texts(at.markdown)
    _confirm(at)
    with demo_factory() as session:
        job = session.scalars(select(Job)).one()
    assert sorted(job.params["record_ids"]) == sorted(r for r, _, _ in invoices)


def test_every_root_cause_is_reachable_with_its_count(home, demo_factory, book):
    from tests.qbcore.problems.test_causes import _fail, _records

    with transaction(demo_factory) as session:
        rows = _records(session, EntityType.INVOICE, Invoice, Invoice.number, 40, 10)
        for index, (record_id, _, _) in enumerate(rows):
            _fail(session, [record_id], SyncStatus.FAILED, "validation", f"61{index:02d}", message=f"Rule {index}")
    at = open_page(home, PAGE)
    expander = [e for e in at.expander if "Show all" in e.label]
    assert len(expander) == 1 and "Show all 14 causes (6 more" in unescape_markdown(expander[0].label)
    shown = unescape_markdown(_texts(at.markdown))
    for index in range(10):
        assert f"1 invoice: rejected by QuickBooks (code 61{index:02d}): Rule {index}" in shown


def _open_link(home, params):
    home.run()
    home.query_params.update(params)
    home.switch_page(str(ROOT / "pages" / PAGE)).run()
    assert not home.exception
    return home


def test_an_alert_link_opens_exactly_the_records_of_its_error_kind_and_blocker(home, demo_factory, book):
    at = _open_link(home, {"tab": "invoice", "kind": "dependency", "cause": "customer:Atlas Import Group"})
    assert len(_grid_rows(at)) == 3
    assert at.multiselect(key="ps_invoice_kind").value == ["dependency"]
    assert "Only the records held back by Customer Atlas Import Group." in _texts(at.caption)
    # Widening back out: the blocker goes, the kind stays a filter the user can see and change.
    at.button(key="ps_invoice_cause_clear").click().run()
    assert not at.exception and len(_grid_rows(at)) == 3
    at.multiselect(key="ps_invoice_kind").set_value([]).run()
    assert len(_grid_rows(at)) == 24 and "Only the records held back by" not in _texts(at.caption)


def test_a_link_with_a_blocker_alone_narrows_to_it_and_a_kind_nobody_has_matches_nothing(home, demo_factory, book):
    at = _open_link(home, {"tab": "invoice", "cause": "charge_code:CHASSIS"})
    assert set(_grid_rows(at)["id"]) == set(book.chassis)
    at = _open_link(home, {"tab": "invoice", "kind": "throttled", "cause": "charge_code:CHASSIS"})
    assert at.multiselect(key="ps_invoice_kind").value == ["throttled"]
    assert "No records match these filters" in _texts(at.info) and "Show every blocker" in _texts(at.info)


def test_homes_count_is_the_sum_of_the_tabs_with_payables_switched_on(home, demo_factory):
    from tests.qbcore.problems.problem_data import seed_payables

    with transaction(demo_factory) as session:
        seed_payables(session)
    home.run()
    home_count = next(int(m.value.replace(",", "")) for m in home.metric if m.label == "Failed or blocked")
    home.switch_page(str(ROOT / "pages" / PAGE)).run()
    at = home
    # One side's tabs at a time: Receivables first, the payables under the Payables control above the tabs.
    assert at.segmented_control(key="ps_side").value == "Receivables"
    tabs = [t.label for t in at.tabs]
    assert "Vendors" not in tabs
    at.segmented_control(key="ps_side").set_value("Payables").run()
    payables = [t.label for t in at.tabs]
    assert payables == ["Vendors", "Settlements", "Carrier Bills", "Settlement Payments", "Carrier Bill Payments"]
    tabs += payables
    on_tabs = {}
    for tab in tabs:
        at.session_state["ps_tab"] = tab
        at.run()
        assert not at.exception
        metrics = {m.label: int(m.value.replace(",", "")) for m in at.metric}
        on_tabs[tab] = metrics["Failed"] + metrics["Blocked"]
    assert home_count == sum(on_tabs.values()) == 26 + 9
    assert (on_tabs["Vendors"], on_tabs["Settlements"], on_tabs["Carrier Bills"]) == (1, 5, 2)


def test_payables_tabs_are_hidden_while_their_sync_is_off(home, demo_factory, book):
    at = open_page(home, PAGE)
    assert not at.exception
    assert not {"Vendors", "Settlements", "Carrier Bills"} & {t.label for t in at.tabs}


def test_the_settlements_tab_names_vendors_weeks_causes_and_clears_with_a_reason(home, demo_factory):
    from tests.qbcore.problems.problem_data import seed_payables

    with transaction(demo_factory) as session:
        payables = seed_payables(session)
    at = open_page(home, PAGE, actor=OPERATOR)
    at.session_state["ps_tab"] = "Settlements"
    at.run()
    assert not at.exception
    assert "5 settlements need attention" in _texts(at.markdown)
    texts = _texts(at.markdown)
    assert "3 settlements: pay code DET not mapped to a QuickBooks expense account" in texts
    assert (f"2 settlements and 1 vendor: the name of vendor {payables.clashing_name} is already used in "
            "QuickBooks by a customer or employee") in texts
    assert "Map it in Settings → Pay codes" in [link.label for link in at.get("page_link")] or \
        "Map it in Settings → Pay codes" in _texts(at.caption)
    args = json.loads(_grid(at).proto.json_args)
    headers = [c["headerName"] for c in args["gridOptions"]["columnDefs"]]
    assert headers[:6] == ["Reference #", "Vendor", "Vendor kind", "Amount", "Date", "Period"]
    assert "Customer" not in headers
    frame = _grid_rows(at)
    assert payables.clashing_name in set(frame["vendor"]) and set(frame["vendor_kind"]) <= {
        "Driver", "Driver and fleet owner"}
    assert [m.label for m in at.multiselect][:3] == ["Status", "Error kind", "Vendor"]
    assert [b for b in at.button if b.key == "ps_settlement_mark_paid"]  # a bill entered and paid in QuickBooks
    chosen = payables.unmapped[:1]
    _select(at, chosen)
    at.button(key="ps_settlement_clear").click().run()
    _confirm(at, reason="Entered by hand in QuickBooks")
    assert _statuses(demo_factory, chosen) == {chosen[0]: "cleared"}
    assert "Cleared 1 settlement" in _texts(at.success)
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "clear_settlement"))
    assert (event.actor, event.target_type, event.reason) == (OPERATOR["email"], "settlement",
                                                              "Entered by hand in QuickBooks")


def test_a_bill_tab_shows_what_was_paid_in_quickbooks_beside_the_week_in_money(home, demo_factory):
    from qbcore.models import PulledBillPayment
    from tests.qbcore.problems.problem_data import seed_payables

    with transaction(demo_factory) as session:
        payables = seed_payables(session)
        record = session.get(SyncRecord, payables.unmapped[0])
        session.add(PulledBillPayment(
            company_id=record.company_id, qbo_bill_payment_id="901", qbo_bill_id="77", entity_type=record.entity_type,
            entity_id=record.entity_id, amount=Decimal("1234.50"), pay_type="Check", reference="1001",
            status="applied"))
    at = open_page(home, PAGE, actor=OPERATOR)
    at.session_state["ps_tab"] = "Settlements"
    at.run()
    assert not at.exception
    defs = json.loads(_grid(at).proto.json_args)["gridOptions"]["columnDefs"]
    headers = [c["headerName"] for c in defs]
    assert headers[5:8] == ["Period", "Paid in QuickBooks", "Status"]
    paid = next(c for c in defs if c["headerName"] == "Paid in QuickBooks")
    assert paid["field"] == "paid_in_qbo" and paid["type"] == "numericColumn" and "valueFormatter" in paid
    frame = _grid_rows(at).set_index("id")
    assert frame.loc[payables.unmapped[0], "paid_in_qbo"] == 1234.5
    assert frame.drop(index=payables.unmapped[0])["paid_in_qbo"].isna().all()


def test_the_vendors_tab_has_no_clear_and_the_vendor_fix_hint(home, demo_factory):
    from tests.qbcore.problems.problem_data import seed_payables

    with transaction(demo_factory) as session:
        seed_payables(session)
    at = open_page(home, PAGE, actor=OPERATOR)
    at.session_state["ps_tab"] = "Vendors"
    at.run()
    assert not at.exception
    assert "1 vendor: the vendor's name is already used in QuickBooks by a customer or employee" in _texts(at.markdown)
    assert "Give the vendor its own QuickBooks name on Settings → Vendor names" in _texts(at.caption)
    assert not [b for b in at.button if b.key in ("ps_vendor_clear", "ps_vendor_mark_paid", "ps_vendor_restore")]
    assert at.button(key="ps_vendor_resync_all").label == "Resync all 1 matching"


def test_a_carrier_bill_is_marked_paid_without_sync_from_its_tab_with_a_reason(home, demo_factory):
    from tests.qbcore.problems.problem_data import seed_payables

    with transaction(demo_factory) as session:
        payables = seed_payables(session)
    at = open_page(home, PAGE, actor=OPERATOR)
    at.session_state["ps_tab"] = "Carrier Bills"
    at.run()
    assert not at.exception
    chosen = payables.missing_account[:1]
    _select(at, chosen)
    at.button(key="ps_carrier_bill_mark_paid").click().run()
    assert "no bill payment will be sent for them" in _texts(at.caption)
    _confirm(at, reason="Entered and paid by card in QuickBooks")
    assert "Marked 1 carrier bill ($" in _texts(at.success)
    assert _statuses(demo_factory, chosen) == {chosen[0]: "paid_outside"}
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "mark_carrier_bill_paid_outside"))
    assert (event.actor, event.target_type, event.reason) == (OPERATOR["email"], "carrier_bill",
                                                              "Entered and paid by card in QuickBooks")
