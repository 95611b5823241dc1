"""Credit memos applied to invoices reach QuickBooks as zero-amount payments, once, and balances then agree."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import (
    CreditMemo,
    CreditMemoApplication,
    EntityType,
    Invoice,
    PaymentApplication,
    PulledPayment,
    SyncRecord,
    SyncStatus,
)
from qbcore.pull import run_pull
from qbcore.pull.apply import apply_payments
from qbcore.qbo.gateway import QboGateway
from qbcore.reconcile import Issue, reconcile
from qbcore.settings import load_settings
from qbcore.sync.engine import SyncEngine
from qbcore.sync.records import ensure_sync_records
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, record_of, statuses


def gateway_for(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def zero_payments(gateway: QboGateway) -> list[dict]:
    return [p for p in gateway.query_all("Payment") if Decimal(str(p.get("TotalAmt"))) == 0]


def application_ids(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(CreditMemoApplication.id).order_by(CreditMemoApplication.id)))


def test_the_demo_books_credit_applications_reach_quickbooks_once_as_zero_payments(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    applications = application_ids(demo_factory)
    assert applications, "the demo book should apply some credit memos to invoices"
    gateway = gateway_for(demo_factory, connected)
    summary = sync_now(demo_factory, connected, gateway=gateway)
    assert (summary.failed, summary.blocked) == (0, 0)
    assert statuses(demo_factory, EntityType.CREDIT_APPLICATION) == {SyncStatus.SYNCED.value: len(applications)}
    pushed = zero_payments(gateway)
    assert sorted(p["PaymentRefNum"] for p in pushed) == sorted(f"CMA-{i}" for i in applications)
    assert all(sandbox.count("Payment", PaymentRefNum=f"CMA-{i}") == 1 for i in applications)
    with demo_factory() as session:
        linked = {record_of(session, EntityType.CREDIT_APPLICATION, i).qbo_id for i in applications}
    assert linked == {p["Id"] for p in pushed}

    again = sync_now(demo_factory, connected, gateway=gateway)
    assert (again.total, again.synced) == (0, 0)
    assert len(zero_payments(gateway)) == len(applications)


def test_a_credited_invoice_has_our_open_balance_in_quickbooks_and_the_credit_memo_is_used_up(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        credited = session.scalars(select(Invoice).where(Invoice.id.in_(
            select(CreditMemoApplication.invoice_id)))).all()
        assert credited
        for invoice in credited:
            paid = session.scalar(select(func.coalesce(func.sum(PaymentApplication.amount), 0))
                                  .where(PaymentApplication.invoice_id == invoice.id))
            credits = session.scalar(select(func.coalesce(func.sum(CreditMemoApplication.amount), 0))
                                     .where(CreditMemoApplication.invoice_id == invoice.id))
            theirs = gateway.read("Invoice", record_of(session, EntityType.INVOICE, invoice.id).qbo_id or "")
            assert Decimal(str(theirs["Balance"])).quantize(Decimal("0.01")) == \
                Decimal(invoice.total) - Decimal(paid) - Decimal(credits), invoice.number
        memos = session.scalars(select(CreditMemo).where(CreditMemo.id.in_(
            select(CreditMemoApplication.credit_memo_id)))).all()
        for memo in memos:
            used = sum((a.amount for a in memo.applications), Decimal(0)) + Decimal(session.scalar(
                select(func.coalesce(func.sum(PaymentApplication.amount), 0))
                .where(PaymentApplication.credit_memo_id == memo.id)))
            theirs = gateway.read("CreditMemo", record_of(session, EntityType.CREDIT_MEMO, memo.id).qbo_id or "")
            assert Decimal(str(theirs["RemainingCredit"])).quantize(Decimal("0.01")) == memo.total - used


def test_after_the_sync_reconciliation_reports_no_credit_memo_differences(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    result = reconcile(demo_factory, gateway)
    assert [r.explanation for r in result.differences if "Credit memo" in r.explanation] == []
    with demo_factory() as session:
        credited = set(session.scalars(select(Invoice.number).join(
            CreditMemoApplication, CreditMemoApplication.invoice_id == Invoice.id)))
    assert {r.number: r.issue for r in result.invoices if r.number in credited} == \
        dict.fromkeys(credited, Issue.MATCH)


def test_an_application_whose_invoice_is_not_synced_is_blocked_naming_it(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with transaction(demo_factory) as session:
        ensure_sync_records(session)
    application_id = application_ids(demo_factory)[0]
    with demo_factory() as session:
        record = record_of(session, EntityType.CREDIT_APPLICATION, application_id)
        record_id = record.id
        invoice_number = session.get(CreditMemoApplication, application_id).invoice.number
    summary = SyncEngine(demo_factory, gateway_for(demo_factory, connected)).run([record_id])
    assert (summary.blocked, summary.synced) == (1, 0)
    with demo_factory() as session:
        record = session.get(SyncRecord, record_id)
        assert (record.status, record.blocked_by) == (SyncStatus.BLOCKED.value, f"invoice:{invoice_number}")
    assert sandbox.count("Payment", PaymentRefNum=f"CMA-{application_id}") == 0

    # Syncing just that record brings its invoice, credit memo and customer along first.
    summary = sync_now(demo_factory, connected, record_ids=[record_id], gateway=gateway_for(demo_factory, connected))
    assert summary.failed == 0
    with demo_factory() as session:
        assert session.get(SyncRecord, record_id).status == SyncStatus.SYNCED.value
    assert sandbox.count("Payment", PaymentRefNum=f"CMA-{application_id}") == 1


def test_a_lost_answer_is_relinked_by_its_reference_and_creates_no_twin(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    application_id = application_ids(demo_factory)[0]
    with transaction(demo_factory) as session:
        qbo_id = record_of(session, EntityType.CREDIT_APPLICATION, application_id).qbo_id
        session.execute(update(SyncRecord).where(
            SyncRecord.entity_type == EntityType.CREDIT_APPLICATION.value, SyncRecord.entity_id == application_id,
        ).values(qbo_id=None, qbo_sync_token=None, payload_hash=None, request_id=None,
                 status=SyncStatus.NEVER_SYNCED.value))
    summary = sync_now(demo_factory, connected, gateway=gateway)
    assert (summary.synced, summary.failed) == (1, 0)
    with demo_factory() as session:
        assert record_of(session, EntityType.CREDIT_APPLICATION, application_id).qbo_id == qbo_id
    assert sandbox.count("Payment", PaymentRefNum=f"CMA-{application_id}") == 1


def test_the_pull_takes_our_zero_payments_for_ours_not_for_payments_entered_in_quickbooks(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    run_pull(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(PulledPayment)) == 0
    # Even when our record lost its QuickBooks id (an answer lost mid-push), the reference gives it away.
    pushed = zero_payments(gateway)
    with transaction(demo_factory) as session:
        session.execute(update(SyncRecord).where(SyncRecord.entity_type == EntityType.CREDIT_APPLICATION.value)
                        .values(qbo_id=None))
        counts = apply_payments(session, pushed, load_settings(session))
        assert (counts.ignored, counts.applied, counts.proposed) == (len(pushed), 0, 0)


def test_the_quickbooks_ids_grid_and_health_counts_show_credit_applications(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.queries.health import count_by_entity_and_status
    from qbcore.queries.ids import IdFilter, get_linked_record, list_linked_records

    sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    applications = application_ids(demo_factory)
    with demo_factory() as session:
        grid = list_linked_records(session, IdFilter(entity_type=EntityType.CREDIT_APPLICATION))
        assert sorted(grid["number_or_name"]) == sorted(f"CMA-{i}" for i in applications)
        one = get_linked_record(session, int(grid["record_id"].iloc[0]))
        assert one is not None and one.entity_type is EntityType.CREDIT_APPLICATION and one.qbo_id
        counts = count_by_entity_and_status(session)
    assert counts[counts["entity"] == "Credit applications"]["count"].sum() == len(applications)
