"""Month-end readiness against the sandbox: clean months after a full sync; drift, proposals and the closing date."""

from __future__ import annotations

from datetime import timedelta
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
    (void_id, void_qbo, _), (prop_id, prop_qbo, prop_total), (late_id, _, late_total) = open_synced_invoices(synced, 3)
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
    assert months[days[void_id]].drifted.count == 1 and not months[days[void_id]].is_clean
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
