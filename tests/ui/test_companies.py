"""Pages with two QuickBooks companies (issue #13 item 4): selectors, Company columns, side-by-side health, the move.

The demo book is split between its first company and a Brokerage (add_company, then move_customer), with its
problem list. With one company none of this shows (test_one_company_shows_no_selector_and_no_company_column).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from qbcore.config import load_config
from qbcore.db import transaction
from qbcore.models import PROBLEM_STATUSES, AuditEvent, Company, Customer, EntityType, SyncRecord
from qbcore.problems.queries import ProblemFilter, count_matching, summarize_problems
from qbcore.settings import load_settings
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.qbcore.problems.problem_data import seed_problems
from tests.qbcore.test_company_views import split_book
from tests.ui.conftest import open_page, tick_rows
from ui.markup import unescape_markdown

ADMIN = {"email": "ada@example.com", "role": "admin", "name": "Ada Admin"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


@pytest.fixture
def two(app_env: str, demo_factory):
    """The split demo book with its problems: (factory, first company id, broker id)."""
    first, broker, _moved = split_book(demo_factory)
    with transaction(demo_factory) as session:
        seed_problems(session)
    return demo_factory, first, broker


@pytest.fixture
def sandbox_env(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A sandbox the pages talk to."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        yield running.url


def _texts(at: AppTest, *, bold: bool = True) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.info] + \
        [e.value for e in at.warning] + [e.value for e in at.success] + [e.value for e in at.error]
    text = unescape_markdown(" ".join(str(p) for p in parts))
    return text if bold else text.replace("**", "")


def _grid(at: AppTest):
    return at.get("component_instance")[0]


def _grid_frame(at: AppTest) -> pd.DataFrame:
    return convert_arrow_bytes_to_pandas_df(_grid(at).proto.special_args[0].arrow_dataframe.data.data)


def _grid_headers(at: AppTest) -> list[str]:
    import json
    return [c.get("headerName") for c in json.loads(_grid(at).proto.json_args)["gridOptions"]["columnDefs"]]


def test_one_company_shows_no_selector_and_no_company_column(app_env: str, demo_factory, home: AppTest) -> None:
    with transaction(demo_factory) as session:
        seed_problems(session)
    for page, key in (("1_Settings.py", "set_company"), ("4_Problem_Sync.py", "ps_company"),
                      ("2_QuickBooks_IDs.py", "ids_company"), ("8_Month_End.py", "month_end_company"),
                      ("7_Reconciliation.py", "recon_company"), ("5_Audit_Log.py", "audit_company")):
        at = AppTest.from_file(str(home._script_path), default_timeout=60)
        open_page(at, page, actor=ADMIN)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert key not in [s.key for s in at.selectbox], page
        if page in ("4_Problem_Sync.py", "2_QuickBooks_IDs.py"):
            assert "Company" not in _grid_headers(at) and "company" not in _grid_frame(at).columns
            assert "ids_move" not in [b.key for b in at.button]
    home.session_state["qbsync_actor"] = ADMIN
    home.run()
    assert not home.exception and home.subheader[0].value == "QuickBooks connection"


def test_settings_act_on_the_chosen_company(two, home: AppTest) -> None:
    factory, first, broker = two
    at = open_page(home, "1_Settings.py", actor=ADMIN)
    assert not at.exception
    selector = at.selectbox(key="set_company")
    assert selector.options == ["QuickBooks company", "Brokerage"] and selector.value == first
    selector.select(broker).run()
    assert "QuickBooks is not connected" in _texts(at)
    at.radio(key="set_numbering").set_value("quickbooks")
    at.button(key="set_save_options").click().run()
    assert not at.exception
    with factory() as session:
        assert load_settings(session, broker).invoice_numbering == "quickbooks"
        assert load_settings(session, first).invoice_numbering == "billing"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "change_settings")
                                .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.company_id == broker
    # Back on the first company, its own value shows, not the broker's left in the widget.
    at.selectbox(key="set_company").select(first).run()
    assert at.radio(key="set_numbering").value == "billing"


def test_the_companies_tab_adds_renames_and_assigns_roles_audited(two, home: AppTest) -> None:
    factory, first, broker = two
    at = open_page(home, "1_Settings.py", actor=ADMIN)
    at.text_input(key="set_company_new_name").input("  Drayage   West ")
    at.button(key="set_company_add_button").click().run()
    assert not at.exception and "Added the company “Drayage West”" in _texts(at)
    at.selectbox(key="set_company_rename_pick").select(broker)
    at.text_input(key="set_company_rename_name").input("Broker Co")
    at.button(key="set_company_rename_button").click().run()
    at.selectbox(key="set_company_default").select(broker)
    at.selectbox(key="set_company_driver").select(first)
    at.selectbox(key="set_company_carrier").select(broker)
    at.button(key="set_company_roles_button").click().run()
    assert not at.exception
    with factory() as session:
        companies = {c.name: c for c in session.scalars(select(Company))}
        assert set(companies) == {"QuickBooks company", "Broker Co", "Drayage West"}
        assert companies["Broker Co"].is_default and companies["Broker Co"].carrier_pay
        assert companies["QuickBooks company"].driver_pay and not companies["QuickBooks company"].is_default
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "company")))
        assert {"add_company", "rename_company", "set_company_roles"} <= set(actions)
    assert at.selectbox(key="set_company").options == ["Broker Co", "QuickBooks company", "Drayage West"]


def test_a_viewer_sees_no_companies_tab(two, home: AppTest) -> None:
    at = open_page(home, "1_Settings.py", actor=VIEWER)
    assert not at.exception
    assert "Companies" not in [t.label for t in at.tabs]
    assert "set_company_add_button" not in [b.key for b in at.button]


def test_home_shows_each_companys_health_side_by_side(two, home: AppTest) -> None:
    factory, _first, _broker = two
    home.session_state["qbsync_actor"] = ADMIN
    home.run()
    assert not home.exception
    assert home.subheader[0].value == "QuickBooks companies"
    text = _texts(home)
    with factory() as session:
        from qbcore.queries.health import list_company_health
        health = list_company_health(session)
    for company in health:
        assert f"{company.name}" in text
        assert f"**{company.failing:,}** failed or blocked · {company.waiting:,} waiting in all" in text
    assert text.count("Not connected") == 2


def test_problem_sync_filters_by_company_and_shows_a_company_column(two, home: AppTest) -> None:
    factory, _first, broker = two
    at = open_page(home, "4_Problem_Sync.py", actor=ADMIN)
    assert not at.exception
    assert "Company" in _grid_headers(at)
    assert set(_grid_frame(at)["company"]) == {"QuickBooks company", "Brokerage"}
    at.selectbox(key="ps_company").select(broker).run()
    assert not at.exception
    frame = _grid_frame(at)
    with factory() as session:
        summary = summarize_problems(session, EntityType.INVOICE, broker)
        matching = count_matching(session, EntityType.INVOICE, ProblemFilter(company_id=broker))
    assert set(frame["company"]) == {"Brokerage"} and len(frame) == matching.count == summary.count
    assert summary.count == sum(int(m.value.replace(",", "")) for m in at.metric[:len(PROBLEM_STATUSES)])
    # Select all and resync: the job takes the broker's records only.
    at.toggle(key="ps_all_invoice").set_value(True).run()
    at.button(key="ps_invoice_resync_all").click().run()
    at.button(key="ps_confirm").click().run()
    assert not at.exception
    from qbcore.models import Job
    with factory() as session:
        job = session.scalars(select(Job).order_by(Job.id.desc())).first()
        assert job is not None and job.total == matching.count


def test_quickbooks_ids_filter_by_company_and_an_admin_moves_a_customer(two, home: AppTest) -> None:
    factory, first, broker = two
    at = open_page(home, "2_QuickBooks_IDs.py", actor=ADMIN)
    assert not at.exception and "Company" in _grid_headers(at)
    at.selectbox(key="ids_company").select(first).run()
    frame = _grid_frame(at)
    assert set(frame["company"]) == {"QuickBooks company"}
    with factory() as session:
        customer = session.scalars(select(Customer).where(Customer.company_id == first, Customer.parent_id.is_(None))
                                   .order_by(Customer.id)).first()
        assert customer is not None
        record = session.scalar(select(SyncRecord.id).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                            SyncRecord.entity_id == customer.id,
                                                            SyncRecord.company_id == first))
    tick_rows(at, [record])
    at.run()
    at.button(key="ids_move").click().run()
    assert not at.exception
    assert at.selectbox(key="ids_move_customer").value == customer.id
    assert at.selectbox(key="ids_move_target").value == broker
    text = _texts(at, bold=False)
    assert f"Moving {customer.name} from QuickBooks company to Brokerage" in text
    assert "stay there, linked as they are" in text
    at.button(key="ids_move_confirm").click().run()
    assert "Give a reason" in _texts(at) or "reason" in _texts(at).lower()
    with factory() as session:
        assert session.get(Customer, customer.id).company_id == first  # no reason, no move
    at.text_area(key="ids_move_reason").input("moved to the brokerage file")
    at.button(key="ids_move_confirm").click().run()
    assert not at.exception
    with factory() as session:
        assert session.get(Customer, customer.id).company_id == broker
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "move_customer")
                                .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.actor == ADMIN["email"] and event.reason == "moved to the brokerage file"
    assert f"{customer.name} now belongs to Brokerage" in _texts(at)


def test_a_viewer_has_no_move_button(two, home: AppTest) -> None:
    at = open_page(home, "2_QuickBooks_IDs.py", actor=VIEWER)
    assert not at.exception
    assert "ids_move" not in [b.key for b in at.button]
    assert "ids_company" in [s.key for s in at.selectbox]


def test_month_end_lists_each_companys_months_with_a_company_column(two, home: AppTest) -> None:
    _factory, _first, broker = two
    at = open_page(home, "8_Month_End.py", actor=ADMIN)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["Month", "Company"]
    assert set(table["Company"]) == {"QuickBooks company", "Brokerage"}
    assert "QuickBooks closing dates:" in _texts(at)
    # Each company with its own date, by name.
    assert "QuickBooks company: not closed; Brokerage: not closed" in _texts(at)
    at.selectbox(key="month_end_company").select(broker).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "Company" not in table.columns
    assert "month_end_read_close" in [b.key for b in at.button]


def test_reconciliation_compares_the_chosen_company(sandbox_env: str, two, home: AppTest) -> None:
    from qbcore.qbo.oauth import ensure_local_connection

    factory, first, broker = two
    config = load_config(os.environ, {})
    ensure_local_connection(factory, config)
    ensure_local_connection(factory, config, broker)
    at = open_page(home, "7_Reconciliation.py", actor=ADMIN)
    at.selectbox(key="recon_company").select(broker).run()
    at.button(key="recon_run").click().run()
    assert not at.exception
    differences = next(d.value for d in at.dataframe if "Invoice" in d.value.columns)
    assert set(differences["Company"]) == {"Brokerage"}
    with factory() as session:
        brokered = set(session.scalars(select(Customer.name).where(Customer.company_id == broker)))
    assert set(differences["Customer"]) <= brokered
    # Another company: the broker's result is not shown as the first company's.
    at.selectbox(key="recon_company").select(first).run()
    assert "Press Compare with QuickBooks" in _texts(at, bold=False)


def test_the_audit_log_filters_by_company_and_names_it_in_a_column_and_the_export(two, home: AppTest):
    from datetime import UTC, datetime

    from qbcore.access import Actor, write_audit
    from qbcore.models import Role
    from qbcore.queries.audit import AuditFilter, audit_csv_bytes

    factory, first, broker = two
    ada = Actor("ada@example.com", Role.ADMIN, "Ada")
    with transaction(factory) as session:
        for company_id, reason in ((first, "carrier file's change"), (broker, "broker file's change"),
                                   (None, "a user's role")):
            event = write_audit(session, ada, "change_settings", target_type="setting", target_id="paused",
                                reason=reason, company_id=company_id)
            event.at = datetime(2030, 1, 1, tzinfo=UTC)  # newer than the split's own events
        names = {c.id: c.name for c in session.scalars(select(Company))}
    at = open_page(home, "5_Audit_Log.py", actor=ADMIN)
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns).index("Company") == list(frame.columns).index("Record") + 1
    newest = frame.head(3)
    assert sorted(newest["Company"].tolist()) == sorted([names[first], names[broker], ""])
    at.selectbox(key="audit_company").set_value(broker).run()
    frame = at.dataframe[0].value
    assert set(frame["Company"]) == {names[broker]}
    assert "broker file's change" in frame["Reason"].tolist()
    assert "carrier file's change" not in frame["Reason"].tolist()
    with factory() as session:
        csv_text = audit_csv_bytes(session, AuditFilter(company_id=broker)).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("When (UTC),Who,Role,What,Outcome,Record,Company,Reason")
    assert "broker file's change" in csv_text and "carrier file's change" not in csv_text


def test_home_names_each_recent_jobs_company_and_a_job_of_every_company_says_so(two, home: AppTest):
    from qbcore.access import Actor
    from qbcore.jobs.queue import enqueue_sync
    from qbcore.models import Role

    factory, _first, broker = two
    ada = Actor("ada@example.com", Role.ADMIN, "Ada")
    with transaction(factory) as session:
        enqueue_sync(session, ada, label="Resync the broker file", company_id=broker)
        enqueue_sync(session, ada, label="Sync all open records")
        names = {c.id: c.name for c in session.scalars(select(Company))}
    home.session_state["qbsync_actor"] = ADMIN
    home.run()
    assert not home.exception
    recent = home.dataframe[0].value
    by_label = dict(zip(recent["What"], recent["Company"], strict=True))
    assert by_label["Resync the broker file"] == names[broker]
    assert by_label["Sync all open records"] == "All companies"
