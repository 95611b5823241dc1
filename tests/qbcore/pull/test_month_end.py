"""Month-end readiness against the sandbox: clean months after a full sync; drift, proposals and the closing date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from quickbooks import QuickBooks
from quickbooks.objects.invoice import Invoice as QbInvoice
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import EntityType, Invoice, SyncRecord, SyncStatus
from qbcore.pull import run_pull
from qbcore.pull.bookmark import get_book_close_date
from qbcore.queries.month_end import checklist, list_closed_period_records, list_month_readiness
from qbcore.settings import save_settings
from tests.qbcore.pull.arrange import open_synced_invoices, pay_in_quickbooks
from tests.qbcore.qbo.conftest import SandboxClient


def test_after_a_full_sync_every_month_is_clean_and_counts_match_the_sandbox(
    synced: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    run_pull(synced, connected)
    with synced() as session:
        months = list_month_readiness(session)
        invoices = session.scalar(select(Invoice.id).order_by(Invoice.id.desc()).limit(1))
    assert months and all(m.is_clean for m in months), [(m.month, m.checklist) for m in months if not m.is_clean]
    assert sum(m.records for m in months) >= invoices
    assert sandbox.count("Invoice") >= invoices


def test_drift_proposals_and_records_inside_the_closed_period_keep_their_month_from_closing(
    synced: sessionmaker[Session], connected: Config, sandbox: SandboxClient, qb: QuickBooks
) -> None:
    with transaction(synced) as session:
        save_settings(session, LOCAL_ADMIN, {"pulled_payments": "propose"})
    voided, proposed, late_one = open_synced_invoices(synced, 3)
    (void_id, void_qbo, void_total), (prop_id, prop_qbo, prop_total) = voided, proposed
    late_id, _, late_total = late_one
    QbInvoice.get(void_qbo, qb=qb).void(qb=qb)
    pay_in_quickbooks(qb, prop_qbo, prop_total)
    with transaction(synced) as session:
        late = session.get(Invoice, late_id)
        record = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value,
                                                          SyncRecord.entity_id == late_id)).one()
        record.status = SyncStatus.OUT_OF_DATE  # edited here, waiting to go again
        close = late.invoice_date + timedelta(days=1)
    assert sandbox.plant(closing_date=close.isoformat())["errors"] == []

    run_pull(synced, connected)  # reads the closing date too

    with synced() as session:
        assert get_book_close_date(session) == close
        months = {m.month: m for m in list_month_readiness(session)}
        flagged = list_closed_period_records(session)
        days = {i: session.get(Invoice, i).invoice_date.strftime("%Y-%m") for i in (void_id, prop_id, late_id)}
    assert [(r.entity_type, r.entity_id) for r in flagged if r.entity_type == "invoice"] == [("invoice", late_id)]
    void_month = months[days[void_id]]
    assert void_month.drifted.count == 1 and not void_month.is_clean
    assert void_month.drifted.amount == void_total  # the dollars the books now disagree on
    drift_item = next(i for i in void_month.checklist if i.label == "No drift from QuickBooks")
    assert f"${void_total:,.2f} in all" in drift_item.detail
    assert months[days[prop_id]].proposals.amount == prop_total
    late_month = months[days[late_id]]
    assert late_month.unsynced.count == 1 and late_month.unsynced.amount == late_total
    assert late_month.closed_conflicts.count == 1 and not late_month.is_clean


def test_the_checklist_turns_green_only_when_everything_is_done() -> None:
    from collections import defaultdict

    from qbcore.queries.month_end import Tally

    clean: dict = defaultdict(Tally)
    assert all(item.done for item in checklist(clean, None))
    dirty: dict = defaultdict(Tally, failed=Tally(2, Decimal(10)))
    items = checklist(dirty, None)
    assert [i.done for i in items] == [False, True, True, True] and "2 failed" in items[0].detail
    drifted: dict = defaultdict(Tally, drifted=Tally(3, Decimal("1234.5")), closed=Tally(1, Decimal(99)))
    items = checklist(drifted, date(2026, 10, 31))
    assert "3 records voided, deleted or edited in QuickBooks: $1,234.50 in all" in items[1].detail
    assert "(QuickBooks error 6200): $99.00 in all" in items[3].detail


def test_bills_count_in_their_month_only_once_payables_sync_and_the_closing_date_flags_them(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.models import CarrierBill, Settlement
    from qbcore.pull.bookmark import save_book_close_date
    from qbcore.sync.runner import sync_now
    from tests.qbcore.pull.conftest import gateway_for
    from tests.qbcore.sync.state import map_demo_pay_code, turn_on_payables

    with demo_factory() as session:
        off = list_month_readiness(session)
        settlements = session.execute(select(Settlement.id, Settlement.net_pay, Settlement.settlement_date).where(
            Settlement.status != "draft").order_by(Settlement.settlement_date, Settlement.id)).all()
        bills = session.execute(select(CarrierBill.total).where(CarrierBill.status.in_(("accepted", "paid")))).all()
    assert off and not any(m.payables or m.bills for m in off)
    assert all(len(m.checklist) == 4 for m in off)  # payables switched off: no bill items

    turn_on_payables(demo_factory)
    with demo_factory() as session:
        on = list_month_readiness(session)
    assert all(m.payables for m in on)
    assert sum(m.bills_unsynced.count for m in on) == len(settlements) + len(bills)
    assert sum((m.bills_unsynced.amount for m in on), Decimal(0)) == \
        sum((s.net_pay for s in settlements), Decimal(0)) + sum((b.total for b in bills), Decimal(0))
    waiting = [m for m in on if m.bills_unsynced.count]
    assert waiting and all(not m.is_clean for m in waiting)
    item = next(i for i in waiting[0].checklist if i.label.startswith("Every bill"))
    assert not item.done and "unsynced" in item.detail and "$" in item.detail

    map_demo_pay_code(demo_factory)  # the demo leaves one pay code unmapped (a planted conflict)
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    first_id, first_pay, first_day = settlements[0]
    with transaction(demo_factory) as session:
        record = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == EntityType.SETTLEMENT.value,
                                                          SyncRecord.entity_id == first_id)).one()
        record.status = SyncStatus.FAILED  # refused once, waiting to go again
        save_book_close_date(session, first_day)
    with demo_factory() as session:
        months = {m.month: m for m in list_month_readiness(session)}
        flagged = list_closed_period_records(session)
    month = months[first_day.strftime("%Y-%m")]
    assert (month.bills_failed.count, month.bills_failed.amount) == (1, first_pay)
    assert month.bills_closed.count == 1 and not month.is_clean
    closed_item = next(i for i in month.checklist if i.label.startswith("No bill waiting"))
    assert not closed_item.done and "1 bill dated on or before" in closed_item.detail
    assert [(r.entity_type, r.entity_id) for r in flagged if r.entity_type == "settlement"] == [
        ("settlement", first_id)]
    assert all(m.bills_unsynced.count == 0 for m in months.values())
