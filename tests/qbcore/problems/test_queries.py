"""The problem list is filtered, windowed, summarised and exported in SQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from qbcore.jobs.queue import get_latest_resync
from qbcore.models import AuditEvent, EntityType, Invoice, Job, JobStatus, SyncRecord, SyncStatus
from qbcore.problems.queries import (
    EXPORT_HEADER,
    CauseKey,
    ProblemFilter,
    ProblemSort,
    count_matching,
    export_problems_csv,
    get_last_sync_time,
    get_problem_detail,
    list_problems,
    list_root_causes,
    mask_secrets,
    problems_csv_bytes,
    summarize_problems,
)

TODAY = date(2026, 11, 29)


def _invoice_total(session, record_ids):
    return session.scalar(
        select(func.sum(Invoice.total)).join(SyncRecord, SyncRecord.entity_id == Invoice.id)
        .where(SyncRecord.entity_type == "invoice", SyncRecord.id.in_(record_ids))
    )


def test_summary_counts_each_problem_status_with_its_dollars(demo_factory, problem_book):
    with demo_factory() as session:
        summary = summarize_problems(session, EntityType.INVOICE)
        failed_ids = problem_book.invoices[:17]
        assert summary.by_status[SyncStatus.FAILED].count == 17
        assert summary.by_status[SyncStatus.FAILED].amount == _invoice_total(session, failed_ids)
        assert summary.by_status[SyncStatus.BLOCKED].count == 3
        assert summary.by_status[SyncStatus.OUT_OF_DATE].count == 2
        assert summary.by_status[SyncStatus.PENDING].count == 2
        assert summary.by_status[SyncStatus.NEVER_SYNCED].count == 0
        assert summary.count == 24
        assert summary.amount == _invoice_total(session, problem_book.invoices)


@pytest.mark.parametrize("entity, expected", [
    (EntityType.PAYMENT, 3), (EntityType.CUSTOMER, 2), (EntityType.CREDIT_MEMO, 1),
])
def test_every_entity_has_its_own_queue(demo_factory, problem_book, entity, expected):
    with demo_factory() as session:
        page = list_problems(session, entity, ProblemFilter(), today=TODAY)
    assert page.total == expected
    assert {r.status for r in page.rows} == {SyncStatus.FAILED}
    assert all(r.reference and r.customer for r in page.rows)


def test_customers_are_valued_at_their_open_invoice_total(demo_factory, problem_book):
    with demo_factory() as session:
        rows = list_problems(session, EntityType.CUSTOMER, ProblemFilter(), today=TODAY).rows
        for row in rows:
            open_total = session.scalar(select(func.coalesce(func.sum(Invoice.total), 0)).where(
                Invoice.customer_id == row.entity_id, Invoice.status.in_(["approved", "partially_paid"])))
            assert row.amount == Decimal(str(open_total)).quantize(Decimal("0.01"))


def test_rows_carry_the_message_fix_hint_code_attempts_and_age(demo_factory, problem_book):
    with demo_factory() as session:
        rows = list_problems(session, EntityType.INVOICE, ProblemFilter(error_kinds=("duplicate",)), today=TODAY).rows
    assert len(rows) == 4
    row = rows[0]
    assert row.error_code == "6240" and row.attempts == 2
    assert "ACME Logistics" in row.fix_hint and "Settings → Customer names" in row.fix_hint
    assert row.open_days is not None and row.open_days >= 5


@pytest.mark.parametrize("make_filter, expected", [
    (lambda b: ProblemFilter(statuses=(SyncStatus.BLOCKED,)), 3),
    (lambda b: ProblemFilter(error_kinds=("mapping", "closed_period")), 13),
    (lambda b: ProblemFilter(cause=CauseKey("mapping", None, "charge_code:CHASSIS")), 10),
    (lambda b: ProblemFilter(cause=CauseKey("duplicate", "6240", "customer:ACME Logistics")), 4),
    (lambda b: ProblemFilter(search="chassis"), 10),
    (lambda b: ProblemFilter(search="no such thing %_"), 0),
    (lambda b: ProblemFilter(statuses=(SyncStatus.SYNCED,)), 96),
])
def test_filters_narrow_the_list_in_sql(demo_factory, problem_book, make_filter, expected):
    with demo_factory() as session:
        assert count_matching(session, EntityType.INVOICE, make_filter(problem_book)).count == expected


def test_customer_date_and_amount_filters_match_a_python_recount(demo_factory, problem_book):
    with demo_factory() as session:
        every = list_problems(session, EntityType.INVOICE, ProblemFilter(), today=TODAY).rows
        some = every[0]
        by_customer = [r for r in every if r.customer == some.customer]
        customer_id = session.scalar(select(Invoice.customer_id).where(Invoice.number == some.reference))
        assert count_matching(session, EntityType.INVOICE, ProblemFilter(customer_ids=(customer_id,))).count == len(
            by_customer)
        dates = sorted(r.record_date for r in every)
        middle = dates[len(dates) // 2]
        in_range = ProblemFilter(date_from=dates[0], date_to=middle)
        expected_in_range = sum(r.record_date <= middle for r in every)
        assert count_matching(session, EntityType.INVOICE, in_range).count == expected_in_range
        amounts = sorted(r.amount for r in every)
        low, high = amounts[5], amounts[15]
        expected = sum(low <= r.amount <= high for r in every)
        assert count_matching(session, EntityType.INVOICE,
                              ProblemFilter(amount_min=low, amount_max=high)).count == expected


def test_pages_are_windows_of_the_filtered_and_sorted_set(demo_factory, problem_book):
    with demo_factory() as session:
        whole = list_problems(session, EntityType.INVOICE, ProblemFilter(), sort=ProblemSort.LARGEST_AMOUNT,
                              today=TODAY)
        first = list_problems(session, EntityType.INVOICE, ProblemFilter(), page=1, page_size=10,
                              sort=ProblemSort.LARGEST_AMOUNT, today=TODAY)
        third = list_problems(session, EntityType.INVOICE, ProblemFilter(), page=3, page_size=10,
                              sort=ProblemSort.LARGEST_AMOUNT, today=TODAY)
    assert (first.total, first.page_count, len(first.rows), len(third.rows)) == (24, 3, 10, 4)
    assert [r.record_id for r in first.rows + third.rows] == [r.record_id for r in whole.rows[:10] + whole.rows[20:]]
    assert [r.amount for r in whole.rows] == sorted((r.amount for r in whole.rows), reverse=True)
    assert first.amount == whole.amount


def test_root_causes_group_by_what_blocks_them_in_plain_words(demo_factory, problem_book):
    with demo_factory() as session:
        causes = list_root_causes(session, EntityType.INVOICE)
    sentences = [c.sentence for c in causes]
    assert sentences[0] == "10 invoices: charge code CHASSIS not mapped to a QuickBooks item"
    assert "4 invoices: customer ACME Logistics clashes with a name already used in QuickBooks" in sentences[1]
    assert "3 invoices: dated before the books' closing date in QuickBooks" in sentences
    # The Atlas Import Group invoices wait for a customer that itself failed: the group names that cause.
    assert ("3 invoices and 1 customer: customer Atlas Import Group clashes with a name already used in QuickBooks "
            "(vendor, employee or customer)") in sentences
    assert causes[0].fix_link is not None and causes[0].fix_link.page == "pages/1_Settings.py"
    assert causes[1].fix_link is not None and causes[1].fix_link.page == "pages/1_Settings.py"
    assert sum(c.count for c in causes) == 20


def test_detail_masks_tokens_and_lists_attempts_newest_first(demo_factory, problem_book):
    with demo_factory() as session:
        detail = get_problem_detail(session, EntityType.INVOICE, problem_book.chassis[0])
    assert detail is not None
    assert "eyJ" not in detail.last_request and "tok-secret-123" not in detail.last_request
    assert "[hidden]" in detail.last_request and "DocNumber" in detail.last_request
    assert [a.at for a in detail.attempts] == sorted((a.at for a in detail.attempts), reverse=True)
    assert len(detail.attempts) == 2


@pytest.mark.parametrize("text, leaked", [
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ('{"refresh_token": "AB12-secret"}', "AB12-secret"),
    ("access_token=xyz789&x=1", "xyz789"),
    ("id eyJhbGciOiJIUzI1.eyJzdWIiOiIx.sig-nature", "eyJhbGciOiJIUzI1"),
])
def test_mask_secrets_hides_tokens(text, leaked):
    assert leaked not in mask_secrets(text)


def test_export_writes_every_matching_row_with_safe_cells(demo_factory, problem_book):
    with demo_factory() as session:
        session.execute(SyncRecord.__table__.update().where(SyncRecord.id == problem_book.chassis[0])
                        .values(error_message="=HYPERLINK(\"http://evil\")"))
        out = io.StringIO()
        count = export_problems_csv(session, EntityType.INVOICE, ProblemFilter(), out)
        data = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter(error_kinds=("mapping",)))
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert count == 24 and len(rows) == 25 and tuple(rows[0]) == EXPORT_HEADER
    column = {name: i for i, name in enumerate(EXPORT_HEADER)}
    assert any(r[column["Message"]].startswith("'=HYPERLINK") for r in rows[1:])
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(parsed) == 11 and {r[column["Error kind"]] for r in parsed[1:]} == {"Mapping missing"}


def test_export_headers_are_the_grids_and_its_values_are_in_words(demo_factory, problem_book):
    with demo_factory() as session:
        data = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter())
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    column = {name: i for i, name in enumerate(header)}
    assert {r[column["Status"]] for r in rows} == {"Failed", "Blocked", "Out of date", "Pending"}
    assert {r[column["Type"]] for r in rows} == {"Invoice"}
    assert "Customer ACME Logistics" in {r[column["Blocked by"]] for r in rows}
    assert all(r[column["Amount"]].replace(".", "", 1).isdigit() for r in rows)  # plain numbers for a spreadsheet


def test_last_sync_time_and_latest_job_outcome(demo_factory, problem_book):
    with demo_factory() as session:
        assert get_last_sync_time(session) is not None
        job = Job(kind="sync", params={"record_ids": problem_book.chassis}, total=10, done=10,
                  status=JobStatus.DONE.value, created_by="ops@example.com")
        session.add(job)
        session.flush()
        progress = get_latest_resync(session)
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert progress is not None and not progress.is_active
    assert progress.synced == 0 and progress.still_failing == {"mapping": 10}


def test_every_record_home_counts_is_on_a_problem_tab_with_a_name_and_a_customer(demo_factory):
    from qbcore.db import transaction
    from qbcore.models import PROBLEM_STATUSES, CreditMemo, CreditMemoApplication
    from qbcore.problems.queries import list_problem_tabs
    from qbcore.queries.health import count_by_entity_and_status, count_waiting
    from tests.qbcore.problems.problem_data import seed_every_entity

    with transaction(demo_factory) as session:
        seeded = seed_every_entity(session)
    with demo_factory() as session:
        statuses = count_by_entity_and_status(session)
        home_problems = int(statuses.loc[statuses["status"].isin(["failed", "blocked"]), "count"].sum())
        summaries = [summarize_problems(session, entity) for entity in list_problem_tabs(session)]
        on_tabs = sum(s.by_status[SyncStatus.FAILED].count + s.by_status[SyncStatus.BLOCKED].count
                      for s in summaries)
        assert home_problems == on_tabs == 24 - 4 + 3 + 2 + 1 + 3 + 1
        assert count_waiting(session) == sum(s.count for s in summaries)
        applications = list_problems(session, EntityType.CREDIT_APPLICATION, ProblemFilter(), today=TODAY)
        assert sorted(r.record_id for r in applications.rows) == sorted(seeded.credit_applications)
        row = next(r for r in applications.rows if r.record_id == seeded.credit_applications[0])
        memo_number, application_amount, customer = session.execute(
            select(CreditMemo.number, CreditMemoApplication.amount, CreditMemo.customer_id)
            .join(CreditMemoApplication, CreditMemoApplication.credit_memo_id == CreditMemo.id)
            .where(CreditMemoApplication.id == row.entity_id)).one()
        assert row.reference.startswith(f"{memo_number} → INV-") and row.amount == application_amount
        assert row.customer and row.status in PROBLEM_STATUSES
        by_customer = count_matching(session, EntityType.CREDIT_APPLICATION, ProblemFilter(customer_ids=(customer,)))
        assert by_customer.count >= 1
        items = list_problems(session, EntityType.ITEM, ProblemFilter(search="income"), today=TODAY)
        assert [r.record_id for r in items.rows] == seeded.items and items.rows[0].customer == ""
        assert count_matching(session, EntityType.ITEM, ProblemFilter(customer_ids=(customer,))).count == 0


def test_a_sync_record_whose_billing_row_is_gone_is_counted_on_neither_page(demo_factory):
    from sqlalchemy import delete

    from qbcore.db import transaction
    from qbcore.models import CreditMemoApplication
    from qbcore.problems.queries import list_problem_tabs
    from qbcore.queries.health import count_by_entity_and_status, count_waiting, list_problem_ages
    from tests.qbcore.problems.problem_data import seed_every_entity

    with transaction(demo_factory) as session:
        seeded = seed_every_entity(session)
        # An import that restates a credit memo replaces its applications; the old one's sync record stays behind.
        gone = session.get(SyncRecord, seeded.credit_applications[2]).entity_id
        session.execute(delete(CreditMemoApplication).where(CreditMemoApplication.id == gone))
    with demo_factory() as session:
        statuses = count_by_entity_and_status(session)
        home_problems = int(statuses.loc[statuses["status"].isin(["failed", "blocked"]), "count"].sum())
        summaries = [summarize_problems(session, entity) for entity in list_problem_tabs(session)]
        on_tabs = sum(s.by_status[SyncStatus.FAILED].count + s.by_status[SyncStatus.BLOCKED].count
                      for s in summaries)
        assert home_problems == on_tabs == 29
        assert count_waiting(session) == sum(s.count for s in summaries)
        assert int(list_problem_ages(session)["count"].sum()) == 29
