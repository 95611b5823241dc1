"""Company filters on the views (issue #13 item 4): problems, health, month end and reconciliation, per company.

The demo book is split between its first company and a Brokerage (add_company, then move_customer of every other
top-level customer), then given its problem list. Each view filtered by a company counts, lists, groups and exports
only that company's records, and the two companies add up to the whole book.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.companies import add_company, default_company
from qbcore.config import Config
from qbcore.customer_moves import move_customer
from qbcore.db import transaction
from qbcore.models import Customer, EntityType, Invoice, SyncRecord
from qbcore.problems.queries import (
    EXPORT_HEADER,
    PROBLEM_ENTITIES,
    ProblemFilter,
    count_matching,
    list_customer_choices,
    list_problems,
    list_root_causes,
    problems_csv_bytes,
    select_problem_ids,
    summarize_problems,
)
from qbcore.pull.bookmark import save_book_close_date
from qbcore.qbo.lookup import open_gateway
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.queries.customers import list_movable_customers
from qbcore.queries.health import count_failing, count_waiting, list_company_health
from qbcore.queries.month_end import (
    list_closed_by_company,
    list_closed_period_records,
    list_month_readiness,
    list_readiness_by_company,
)
from qbcore.reconcile import reconcile, reconciliation_csv
from qbcore.sync.runner import sync_now
from tests.conftest import DEMO_AS_OF
from tests.qbcore.problems.problem_data import seed_problems
from tests.qbcore.qbo.conftest import SandboxClient, config, sandbox  # noqa: F401
from tests.qbcore.sync.conftest import _no_client_quota  # noqa: F401


def split_book(factory: sessionmaker[Session], name: str = "Brokerage") -> tuple[int, int, set[int]]:
    """A second company beside the first, holding every other top-level customer and its family."""
    with transaction(factory) as session:
        first = default_company(session).id
        broker = add_company(session, LOCAL_ADMIN, name).id
        tops = list(session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)))
        for customer_id in tops[::2]:
            move_customer(session, LOCAL_ADMIN, customer_id, broker, reason="brokered freight")
        moved = set(session.scalars(select(Customer.id).where(Customer.company_id == broker)))
    return first, broker, moved


@pytest.fixture
def two_companies(demo_factory: sessionmaker[Session]) -> tuple[sessionmaker[Session], int, int]:
    """The split demo book with its problem list."""
    first, broker, _moved = split_book(demo_factory)
    with transaction(demo_factory) as session:
        seed_problems(session)
    return demo_factory, first, broker


def test_each_tab_counts_lists_and_exports_only_the_chosen_company_and_the_two_add_up(two_companies) -> None:
    factory, first, broker = two_companies
    with factory() as session:
        for entity in PROBLEM_ENTITIES:
            whole = summarize_problems(session, entity)
            parts = [summarize_problems(session, entity, cid) for cid in (first, broker)]
            assert sum(p.count for p in parts) == whole.count, entity
            assert sum((p.amount for p in parts), whole.amount * 0) == whole.amount, entity
            for cid, part in zip((first, broker), parts, strict=True):
                flt = ProblemFilter(company_id=cid)
                assert count_matching(session, entity, flt).count == part.count
                page = list_problems(session, entity, flt, page_size=10_000)
                names = {r.company for r in page.rows}
                assert names <= {"Brokerage" if cid == broker else default_company(session).name}
                ids = set(session.scalars(select_problem_ids(entity, flt)))
                assert ids == {r.record_id for r in page.rows}
                companies = set(session.scalars(select(SyncRecord.company_id).where(SyncRecord.id.in_(ids))))
                assert companies <= {cid}
        # The broker holds some of the invoice problems, the first company the rest.
        broker_invoices = summarize_problems(session, EntityType.INVOICE, broker).count
        assert 0 < broker_invoices < summarize_problems(session, EntityType.INVOICE).count


def test_the_export_carries_a_company_column_and_follows_the_company_filter(two_companies) -> None:
    factory, _first, broker = two_companies
    with factory() as session:
        first_name = default_company(session).name
        data = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter(company_id=broker))
        count = count_matching(session, EntityType.INVOICE, ProblemFilter(company_id=broker)).count
        every = list(csv.reader(io.StringIO(problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter())
                                            .decode("utf-8-sig"))))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["Reference #", "Customer", "Company"] and len(header) == len(EXPORT_HEADER) + 1
    assert len(rows) - 1 == count > 0
    assert {row[2] for row in rows[1:]} == {"Brokerage"}
    assert {row[2] for row in every[1:]} == {"Brokerage", first_name} and len(every) > len(rows)


def test_root_causes_and_customer_choices_follow_the_company(two_companies) -> None:
    factory, first, broker = two_companies
    with factory() as session:
        for entity in PROBLEM_ENTITIES:
            whole = sum(c.count for c in list_root_causes(session, entity))
            parts = [sum(c.count for c in list_root_causes(session, entity, ProblemFilter(company_id=cid)))
                     for cid in (first, broker)]
            assert sum(parts) == whole, entity
        brokered = {cid for cid, _ in list_customer_choices(session, broker)}
        assert brokered == set(session.scalars(select(Customer.id).where(Customer.company_id == broker)))
        assert not brokered & {cid for cid, _ in list_customer_choices(session, first)}
        movable = list_movable_customers(session)
        assert {c.company for c in movable} == {"Brokerage", default_company(session).name}
        assert all(c.company_id == session.get(Customer, c.customer_id).company_id for c in movable)


def test_home_health_is_per_company_and_adds_up(two_companies) -> None:
    factory, first, broker = two_companies
    with factory() as session:
        health = list_company_health(session)
        assert [h.company_id for h in health] == [first, broker]
        assert sum(h.waiting for h in health) == count_waiting(session)
        assert sum(h.failing for h in health) == count_failing(session)
        assert health[1].name == "Brokerage" and health[1].waiting > 0
        assert all(h.connection.status.value == "disconnected" for h in health)


def test_month_end_counts_each_company_against_its_own_closing_date(two_companies) -> None:
    factory, first, broker = two_companies
    with transaction(factory) as session:
        save_book_close_date(session, DEMO_AS_OF, company_id=broker)  # only the broker's books are closed
    with factory() as session:
        whole = {m.month: m for m in list_month_readiness(session)}
        by_company = list_readiness_by_company(session)
        assert {m.company for m in by_company} == {"Brokerage", default_company(session).name}
        for month, total in whole.items():
            parts = [m for m in by_company if m.month == month]
            assert sum(p.records for p in parts) == total.records
            assert sum(p.failed.count + p.blocked.count + p.unsynced.count for p in parts) == \
                total.failed.count + total.blocked.count + total.unsynced.count
        assert all(m.closed_conflicts.count == 0 for m in by_company if m.company != "Brokerage")
        closed = list_closed_by_company(session)
        assert closed and {r.company for r in closed} == {"Brokerage"}
        assert len(closed) == len(list_closed_period_records(session, company_id=broker))
        assert list_closed_period_records(session, company_id=first) == []


def test_reconciliation_compares_one_companys_invoices_with_its_own_quickbooks(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient  # noqa: F811
) -> None:
    first, broker, moved = split_book(demo_factory)
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    sync_now(demo_factory, config)
    with demo_factory() as session:
        broker_numbers = set(session.scalars(select(Invoice.number).where(Invoice.customer_id.in_(moved))))

    result = reconcile(demo_factory, open_gateway(demo_factory, config, broker), as_of=DEMO_AS_OF)

    ours = {r.number for r in result.invoices if r.invoice_id is not None}
    assert ours and ours <= broker_numbers
    assert not [r for r in result.invoices if r.invoice_id is None]  # nothing of the first company's file
    assert result.company == "Brokerage"
    rows = list(csv.reader(io.StringIO(reconciliation_csv(result).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Invoice", "Customer", "Company"] and {r[2] for r in rows[1:]} == {"Brokerage"}
    first_result = reconcile(demo_factory, open_gateway(demo_factory, config, first), as_of=DEMO_AS_OF)
    assert not {r.number for r in first_result.invoices} & ours
