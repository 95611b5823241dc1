"""Payables on Problem Sync: tabs once switched on, vendor columns, root causes in words, clear, export, counts."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.db import transaction
from qbcore.models import AuditEvent, EntityType, Job, Role, Settlement, SyncRecord, SyncStatus, Vendor
from qbcore.problems import actions
from qbcore.problems.actions import NothingToChange
from qbcore.problems.queries import (
    PROBLEM_ENTITIES,
    ProblemFilter,
    count_matching,
    list_problem_tabs,
    list_problems,
    list_root_causes,
    list_vendor_choices,
    problems_csv_bytes,
    summarize_problems,
)
from qbcore.refusals import Refusal
from tests.qbcore.problems.problem_data import PayablesBook, seed_payables, seed_problems

TODAY = date(2026, 11, 29)
OPERATOR = Actor("ops@example.com", Role.OPERATOR, "Olga Ops")
PAYABLES = (EntityType.VENDOR, EntityType.SETTLEMENT, EntityType.SETTLEMENT_SHARE, EntityType.CARRIER_BILL,
            EntityType.SETTLEMENT_PAYMENT, EntityType.SHARE_PAYMENT, EntityType.CARRIER_PAYMENT)


@pytest.fixture
def payables_book(demo_factory) -> PayablesBook:
    with transaction(demo_factory) as session:
        return seed_payables(session)


def test_payables_tabs_show_only_once_their_sync_is_switched_on(demo_factory):
    with demo_factory() as session:
        assert set(PAYABLES) <= set(PROBLEM_ENTITIES)
        assert not set(PAYABLES) & set(list_problem_tabs(session))
    from qbcore.settings import save_settings

    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_carrier_bills": True})
    with demo_factory() as session:
        tabs = list_problem_tabs(session)
    # Vendors sync for carrier pay too; settlements and their payments wait for driver pay.
    assert [t for t in tabs if t in PAYABLES] == [EntityType.VENDOR, EntityType.CARRIER_BILL,
                                                  EntityType.CARRIER_PAYMENT]
    assert tabs[:len(tabs) - 3] == [t for t in PROBLEM_ENTITIES if t not in PAYABLES]


def test_split_bill_tabs_show_only_once_a_settlement_was_split(demo_factory):
    from qbcore.settings import save_settings
    from qbcore.sync.records import ensure_sync_records

    split_tabs = {EntityType.SETTLEMENT_SHARE, EntityType.SHARE_PAYMENT}
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True})
    with demo_factory() as session:
        assert not split_tabs & set(list_problem_tabs(session)), "routed to drivers, nothing splits"
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"settlement_vendor": "fleet_owner"})
        ensure_sync_records(session, derived_only=True)
    with demo_factory() as session:
        tabs = list_problem_tabs(session)
        shares = list_problems(session, EntityType.SETTLEMENT_SHARE, ProblemFilter(), today=TODAY)
    assert split_tabs <= set(tabs)
    assert shares.total > 0 and all(row.reference.endswith(("-2", "-3")) and row.vendor_kind for row in shares.rows)


def test_a_settlement_row_names_the_vendor_its_kind_number_week_and_amount(demo_factory, payables_book):
    with demo_factory() as session:
        page = list_problems(session, EntityType.SETTLEMENT, ProblemFilter(), today=TODAY)
        settlement = session.scalar(select(Settlement).join(SyncRecord, SyncRecord.entity_id == Settlement.id)
                                    .where(SyncRecord.id == payables_book.waiting_for_vendor[0]))
        vendor_row = list_problems(session, EntityType.VENDOR, ProblemFilter(), today=TODAY).rows
    assert page.total == 5
    row = next(r for r in page.rows if r.record_id == payables_book.waiting_for_vendor[0])
    assert (row.reference, row.customer, row.vendor_kind) == (settlement.number, payables_book.clashing_name, "Driver")
    assert row.amount == settlement.net_pay and row.record_date == settlement.settlement_date
    assert row.period == f"{settlement.period_start.isoformat()} to {settlement.period_end.isoformat()}"
    assert [(r.customer, r.vendor_kind) for r in vendor_row] == [(payables_book.clashing_name, "Driver")]
    assert vendor_row[0].amount is not None and vendor_row[0].amount >= 0


def test_vendor_search_and_filter_narrow_a_payables_tab_and_match_no_receivables(demo_factory, payables_book):
    with demo_factory() as session:
        driver_id = session.scalar(select(Vendor.id).where(Vendor.name == payables_book.clashing_name))
        by_name = count_matching(session, EntityType.SETTLEMENT, ProblemFilter(search=payables_book.clashing_name))
        by_vendor = count_matching(session, EntityType.SETTLEMENT, ProblemFilter(vendor_ids=(driver_id,)))
        on_invoices = count_matching(session, EntityType.INVOICE, ProblemFilter(vendor_ids=(driver_id,)))
        by_customer = count_matching(session, EntityType.SETTLEMENT, ProblemFilter(customer_ids=(1,)))
        choices = dict(list_vendor_choices(session))
    assert by_name.count == by_vendor.count == 2 and on_invoices.count == 0 and by_customer.count == 0
    assert choices[driver_id] == f"{payables_book.clashing_name} · Driver"


def test_payables_root_causes_are_named_in_words_with_a_fix_that_exists(demo_factory, payables_book):
    name = payables_book.clashing_name
    with demo_factory() as session:
        settlements = {c.sentence: c for c in list_root_causes(session, EntityType.SETTLEMENT)}
        bills = list_root_causes(session, EntityType.CARRIER_BILL)
        payments = list_root_causes(session, EntityType.SETTLEMENT_PAYMENT)
    unmapped = settlements["3 settlements: pay code DET not mapped to a QuickBooks expense account"]
    assert "Settings → Pay codes" in unmapped.fix_hint and unmapped.fix_link is not None
    assert unmapped.fix_link.label == "Map it in Settings → Pay codes"
    assert unmapped.retry_offered is False and "Map the pay code DET" in (unmapped.must_change or "")
    chain = settlements[f"2 settlements and 1 vendor: the name of vendor {name} is already used in QuickBooks by a "
                        "customer or employee"]
    assert chain.root_entity is EntityType.VENDOR and chain.root_record_ids == (payables_book.clashing_vendor,)
    assert "Settings → Vendor names" in chain.fix_hint and "its bills follow" in chain.fix_hint
    assert chain.fix_link is not None
    assert chain.fix_link.label == "Give the vendor a QuickBooks name in Settings → Vendor names"
    assert [c.sentence for c in bills] == ["2 carrier bills: QuickBooks has no account named Fuel Cards"]
    assert "Add an account named Fuel Cards in QuickBooks" in bills[0].fix_hint
    assert bills[0].fix_link is not None and "Settings → Pay codes" in bills[0].fix_link.label
    assert [c.sentence for c in payments] == ["1 settlement payment: QuickBooks has no account named Checking"]
    assert payments[0].fix_hint == "Add a bank account named Checking in QuickBooks, then resync these payments."
    assert payments[0].fix_link is None  # no page of the console makes a bank account


def test_a_vendor_refused_for_a_customers_name_gets_the_vendor_fix_not_the_customer_one(demo_factory, payables_book):
    with demo_factory() as session:
        causes = list_root_causes(session, EntityType.VENDOR)
        row = list_problems(session, EntityType.VENDOR, ProblemFilter(), today=TODAY).rows[0]
        customers = list_root_causes(session, EntityType.CUSTOMER)
    assert [c.sentence for c in causes] == [
        "1 vendor: the vendor's name is already used in QuickBooks by a customer or employee"]
    for hint in (causes[0].fix_hint, row.fix_hint):
        assert "Give the vendor its own QuickBooks name on Settings → Vendor names" in hint
        assert "Give the customer its own QuickBooks name" not in hint
    assert causes[0].fix_link is not None and "Settings → Vendor names" in causes[0].fix_link.label
    # The customers' own 6240 keeps the customer's hint.
    assert "Give the customer its own QuickBooks name" in customers[0].fix_hint


def test_settlements_clear_with_a_reason_and_restore_as_they_were(demo_factory, payables_book):
    target = payables_book.unmapped[:2]
    with transaction(demo_factory) as session:
        with pytest.raises(Refusal):
            actions.clear_records(session, OPERATOR, EntityType.SETTLEMENT, target, reason=" ")
        result = actions.clear_records(session, OPERATOR, EntityType.SETTLEMENT, target,
                                       reason="entered by hand in QuickBooks")
    with demo_factory() as session:
        assert result.count == 2 and result.amount > Decimal(0)
        assert {session.get(SyncRecord, i).status for i in target} == {SyncStatus.CLEARED.value}
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "clear_settlement")))
        assert [e.target_type for e in events] == ["settlement", "settlement"]
        assert {e.reason for e in events} == {"entered by hand in QuickBooks"}
        summary = summarize_problems(session, EntityType.SETTLEMENT)
        assert summary.by_status[SyncStatus.CLEARED].count == 2 and summary.count == 3
    with transaction(demo_factory) as session:
        restored = actions.restore_records(session, OPERATOR, EntityType.SETTLEMENT, target)
    with demo_factory() as session:
        assert restored.count == 2
        assert {session.get(SyncRecord, i).status for i in target} == {SyncStatus.BLOCKED.value}


def test_a_vendor_cannot_be_cleared_and_a_viewer_cannot_clear_bills(demo_factory, payables_book):
    viewer = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")
    with transaction(demo_factory) as session, pytest.raises(NothingToChange, match="cannot be cleared"):
        actions.clear_records(session, OPERATOR, EntityType.VENDOR, [payables_book.clashing_vendor],
                              reason="gone")
    with pytest.raises(Refusal), transaction(demo_factory) as session:
        actions.clear_records(session, viewer, EntityType.CARRIER_BILL, payables_book.missing_account,
                              reason="gone", audit_factory=demo_factory)
    with demo_factory() as session:
        assert session.get(SyncRecord, payables_book.clashing_vendor).status == SyncStatus.FAILED.value
        assert {session.get(SyncRecord, i).status for i in payables_book.missing_account} == {
            SyncStatus.BLOCKED.value}


VIEWER = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")


@pytest.mark.parametrize("act", ["resync", "clear", "restore"])
@pytest.mark.parametrize("target", ["unmapped", "missing_account", "no_bank"])
def test_a_viewer_is_refused_every_bill_action_nothing_changes_and_the_refusal_is_audited(
    demo_factory, payables_book, act, target
):
    entity_type = {"unmapped": EntityType.SETTLEMENT, "missing_account": EntityType.CARRIER_BILL,
                   "no_bank": EntityType.SETTLEMENT_PAYMENT}[target]
    chosen = getattr(payables_book, target)
    with demo_factory() as session:
        before = {r.id: (r.status, r.blocked_by, r.qbo_id) for r in session.scalars(select(SyncRecord))}
        events_before = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
        if act == "resync":
            actions.resync_problems(session, VIEWER, entity_type, chosen, audit_factory=demo_factory)
        elif act == "clear":
            actions.clear_records(session, VIEWER, entity_type, chosen, reason="keyed by hand in QuickBooks",
                                  audit_factory=demo_factory)
        else:
            actions.restore_records(session, VIEWER, entity_type, chosen, audit_factory=demo_factory)
    with demo_factory() as session:
        assert {r.id: (r.status, r.blocked_by, r.qbo_id) for r in session.scalars(select(SyncRecord))} == before
        assert session.scalars(select(Job)).all() == []
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(events_before)).all()
    assert [(e.actor, e.outcome) for e in events] == [(VIEWER.email, "refused")]
    assert events[0].action.startswith(act)


def test_the_settlements_export_has_the_vendor_its_kind_and_the_week_and_is_spreadsheet_safe(demo_factory,
                                                                                             payables_book):
    with transaction(demo_factory) as session:
        session.execute(update(Vendor).where(Vendor.name == payables_book.clashing_name)
                        .values(name="=cmd|' /C calc'!A0"))
    with demo_factory() as session:
        data = problems_csv_bytes(session, EntityType.SETTLEMENT, ProblemFilter())
        invoices = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter())
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:6] == ["Reference #", "Vendor", "Vendor kind", "Amount", "Date", "Period"]
    assert "Customer" not in header and len(rows) == 5
    column = {name: i for i, name in enumerate(header)}
    assert {r[column["Vendor kind"]] for r in rows} <= {"Driver", "Driver and fleet owner"}
    assert "'=cmd|' /C calc'!A0" in {r[column["Vendor"]] for r in rows}
    assert all(" to " in r[column["Period"]] for r in rows)
    assert {r[column["Blocked by"]] for r in rows} >= {"Pay code DET"}
    assert next(csv.reader(io.StringIO(invoices.decode("utf-8-sig"))))[1] == "Customer"


def test_home_counts_what_the_shown_tabs_hold_with_payables_on_and_off(demo_factory):
    from qbcore.queries.health import count_by_entity_and_status, count_waiting, list_problem_ages
    from qbcore.settings import save_settings

    with transaction(demo_factory) as session:
        seed_payables(session)
    for switched_on in (True, False):
        with transaction(demo_factory) as session:
            save_settings(session, LOCAL_ADMIN, {"sync_settlements": switched_on, "sync_carrier_bills": switched_on})
        with demo_factory() as session:
            statuses = count_by_entity_and_status(session)
            home = int(statuses.loc[statuses["status"].isin(["failed", "blocked"]), "count"].sum())
            summaries = [summarize_problems(session, e) for e in list_problem_tabs(session)]
            on_tabs = sum(s.by_status[SyncStatus.FAILED].count + s.by_status[SyncStatus.BLOCKED].count
                          for s in summaries)
            payables = 1 + 2 + 3 + 2 + 1 if switched_on else 0
            assert home == on_tabs == 24 - 4 + 3 + 2 + 1 + payables
            assert count_waiting(session) == sum(s.count for s in summaries)
            assert int(list_problem_ages(session)["count"].sum()) == on_tabs


def test_the_receivables_book_alone_shows_no_payables_problems(demo_factory):
    with transaction(demo_factory) as session:
        seed_problems(session)
    with demo_factory() as session:
        assert all(summarize_problems(session, e).count == 0 for e in PAYABLES)


def _pulled(record: SyncRecord, amount: str, status: str = "applied", company_id: int | None = None):
    from qbcore.models import PulledBillPayment

    return PulledBillPayment(company_id=company_id or record.company_id, qbo_bill_payment_id=f"bp-{record.id}-{amount}",
                             qbo_bill_id=f"b-{record.id}", entity_type=record.entity_type, entity_id=record.entity_id,
                             amount=Decimal(amount), pay_type="Check", txn_date=date(2026, 11, 20), reference="1001",
                             status=status)


@pytest.mark.parametrize("entity_type", [EntityType.SETTLEMENT, EntityType.CARRIER_BILL])
def test_a_bill_tab_and_its_export_show_what_was_paid_in_quickbooks_as_the_ids_page_does(
    demo_factory, payables_book, entity_type
):
    from qbcore.companies import add_company
    from qbcore.queries.ids import IdFilter, list_linked_records

    with demo_factory() as session:
        first, second, *_ = list_problems(session, entity_type, ProblemFilter(), today=TODAY).rows
    with transaction(demo_factory) as session:
        other = add_company(session, LOCAL_ADMIN, "Broker file").id if entity_type is EntityType.CARRIER_BILL else None
        record = session.get(SyncRecord, first.record_id)
        # Two checks on the first bill count; a voided one does not, nor one of the same id in another company.
        session.add_all([_pulled(record, "40.00"), _pulled(record, "2.50"), _pulled(record, "99.00", "reversed")])
        if other is not None:
            session.add(_pulled(record, "7.00", company_id=other))
    with demo_factory() as session:
        rows = {r.record_id: r for r in list_problems(session, entity_type, ProblemFilter(), today=TODAY).rows}
        exported = problems_csv_bytes(session, entity_type, ProblemFilter())
        on_ids_page = list_linked_records(session, IdFilter(entity_type=entity_type, linked_only=False))
        receivables = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter())
    assert (rows[first.record_id].paid_in_qbo, rows[second.record_id].paid_in_qbo) == (Decimal("42.50"), None)
    ids_paid = dict(zip(on_ids_page["record_id"], on_ids_page["paid_in_qbo"], strict=True))
    assert ids_paid[first.record_id] == 42.5 and ids_paid[second.record_id] is None
    header, *cells = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
    paid = header.index("Paid in QuickBooks")
    assert header[paid - 1] == ("Period" if entity_type is EntityType.SETTLEMENT else "Date")
    assert header[paid + 1] == "Status"
    by_id = {c[header.index("Record id")]: c[paid] for c in cells}
    assert (by_id[str(first.record_id)], by_id[str(second.record_id)]) == ("42.50", "")  # plain, as Amount
    assert "Paid in QuickBooks" not in next(csv.reader(io.StringIO(receivables.decode("utf-8-sig"))))


def test_only_the_bill_tabs_have_a_paid_in_quickbooks_column():
    from qbcore.problems.queries import PAID_HEADER, has_paid_in_quickbooks
    from ui.grid import PAID_IN_QUICKBOOKS

    assert [e for e in PROBLEM_ENTITIES if has_paid_in_quickbooks(e)] == [EntityType.SETTLEMENT,
                                                                          EntityType.CARRIER_BILL]
    assert PAID_IN_QUICKBOOKS.header == PAID_HEADER and PAID_IN_QUICKBOOKS.kind == "money"
