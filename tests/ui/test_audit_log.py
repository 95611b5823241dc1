"""Audit log page (AppTest) and its queries: filters by who, what, when, outcome; safe CSV export."""

from __future__ import annotations

from datetime import UTC, date, datetime

from qbcore.access import Actor, write_audit
from qbcore.db import transaction
from qbcore.models import Role
from qbcore.queries.audit import AuditFilter, audit_csv_bytes, count_audit_events
from tests.ui.conftest import open_page
from ui.markup import unescape_markdown

PAGE = "5_Audit_Log.py"
ADA = Actor("ada@example.com", Role.ADMIN, "Ada")
VIC = Actor("vic@example.com", Role.VIEWER, "Vic")
VIEWER = {"email": "vic@example.com", "role": "viewer", "name": "Vic"}


def _texts(elements) -> str:
    return " | ".join(unescape_markdown(str(e.value)) for e in elements)


def _seed(factory) -> None:
    with transaction(factory) as session:
        for when, actor, action, outcome, target, reason in (
            (datetime(2026, 11, 1, 9, tzinfo=UTC), ADA, "remove_qbo_id", "ok", "17", "deleted in QuickBooks"),
            (datetime(2026, 11, 2, 9, tzinfo=UTC), VIC, "remove_qbo_id", "refused", "18", "needs admin"),
            (datetime(2026, 11, 3, 9, tzinfo=UTC), ADA, "change_settings", "ok", "paused", "=HYPERLINK(\"x\")"),
        ):
            event = write_audit(session, actor, action, outcome=outcome, target_type="sync_record", target_id=target,
                                before={"qbo_id": "5"}, after={"qbo_id": None}, reason=reason)
            event.at = when


def test_the_log_lists_every_event_newest_first(home, factory):
    _seed(factory)
    at = open_page(home, PAGE, actor=VIEWER)
    assert not at.exception
    frame = at.dataframe[0].value
    assert frame["What"].tolist() == ["Changed settings", "Removed a QuickBooks id", "Removed a QuickBooks id"]
    assert "remove_qbo_id" not in frame.to_csv() and "refused" not in frame.to_csv()
    assert "3 events" in _texts(at.markdown)


def test_filters_by_who_what_outcome_and_date(home, factory):
    _seed(factory)
    at = open_page(home, PAGE, actor=VIEWER)
    at.multiselect(key="audit_what").set_value(["remove_qbo_id"]).run()
    assert len(at.dataframe[0].value) == 2
    at.multiselect(key="audit_outcome").set_value(["refused"]).run()
    assert at.dataframe[0].value["Who"].tolist() == ["vic@example.com"]
    at.multiselect(key="audit_outcome").set_value([]).run()
    at.multiselect(key="audit_who").set_value(["ada@example.com"]).run()
    assert at.dataframe[0].value["Record"].tolist() == ["17"]  # no such record in an empty book: the id as stored
    at.multiselect(key="audit_what").set_value([]).run()
    at.date_input(key="audit_dates").set_value((date(2026, 11, 3), date(2026, 11, 30))).run()
    assert at.dataframe[0].value["What"].tolist() == ["Changed settings"]
    at.date_input(key="audit_dates").set_value((date(2025, 1, 1), date(2025, 1, 2))).run()
    assert "No event matches" in _texts(at.info)


def test_search_matches_target_and_reason(factory):
    _seed(factory)
    with factory() as session:
        assert count_audit_events(session, AuditFilter(search="deleted in")) == 1
        assert count_audit_events(session, AuditFilter(search="18")) == 1


def test_the_export_is_spreadsheet_safe(factory):
    _seed(factory)
    with factory() as session:
        text = audit_csv_bytes(session, AuditFilter()).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "When (UTC),Who,Role,What,Outcome,Record,Reason,Before,After"  # the page's headers
    assert ",Admin,Removed a QuickBooks id,Done," in text and ",Viewer,Removed a QuickBooks id,Refused," in text
    assert len(lines) == 4
    assert "'=HYPERLINK" in text


def test_the_page_offers_the_export(home, factory):
    _seed(factory)
    at = open_page(home, PAGE, actor=VIEWER)
    assert [b.proto.label for b in at.get("download_button")] == ["Export 3 events (CSV)"]


def test_an_empty_log_says_what_will_appear(home, factory):
    at = open_page(home, PAGE, actor=VIEWER)
    assert not at.exception
    assert "Nothing has been recorded yet" in _texts(at.info)


def test_id_removals_are_found_and_shown_by_the_invoice_number_and_customer_not_an_internal_id(home, demo_factory):
    from sqlalchemy import select

    from qbcore.id_changes import remove_qbo_ids
    from qbcore.models import Customer, EntityType, Invoice, SyncRecord

    with transaction(demo_factory) as session:
        record, number, customer = session.execute(
            select(SyncRecord, Invoice.number, Customer.name).join(Invoice, Invoice.id == SyncRecord.entity_id)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(SyncRecord.entity_type == EntityType.INVOICE.value).order_by(Invoice.id.desc())).first()
        record.qbo_id = "501"
        record.status = "synced"
    with transaction(demo_factory) as session:
        remove_qbo_ids(session, ADA, [record.id], reason="deleted in QuickBooks by the bookkeeper")
    with demo_factory() as session:
        assert count_audit_events(session, AuditFilter(search=number)) == 1
        assert count_audit_events(session, AuditFilter(search=customer.upper())) == 1
        assert count_audit_events(session, AuditFilter(search="no such invoice")) == 0
    at = open_page(home, PAGE, actor=VIEWER)
    at.text_input(key="audit_search").input(number).run()
    frame = at.dataframe[0].value
    assert frame["Record"].tolist() == [f"Invoice {number} · {customer}"]
    assert frame["What"].tolist() == ["Removed a QuickBooks id"] and "1 event" in _texts(at.markdown)
    with demo_factory() as session:
        csv_text = audit_csv_bytes(session, AuditFilter(search=number)).decode("utf-8-sig")
    assert f"Invoice {number} · {customer}" in csv_text


def test_empty_filters_say_what_they_mean_in_words_that_fit(home, factory):
    at = open_page(home, PAGE)
    assert not at.exception
    placeholders = {m.key: m.proto.placeholder for m in at.multiselect}
    assert placeholders == {"audit_who": "Anyone", "audit_what": "Any action", "audit_outcome": "Any outcome"}


def test_the_time_of_an_event_stays_in_view_while_the_table_scrolls(home, factory):
    import json

    _seed(factory)
    at = open_page(home, PAGE)
    assert not at.exception
    assert json.loads(at.dataframe[0].proto.columns)["When (UTC)"]["pinned"] is True
