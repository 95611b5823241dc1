"""Home's monthly chart and Month End count only the months they show, dated back from the book's newest record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import transaction
from qbcore.models import EntityType, Invoice, SyncRecord, SyncStatus
from qbcore.queries.book import CHART_MONTHS, first_chart_day, list_monthly_totals
from qbcore.queries.month_end import list_month_readiness
from qbcore.sync.records import ensure_sync_records


def _add_old_invoice(factory: sessionmaker[Session], months_back: int) -> tuple[str, Decimal]:
    """An unsynced invoice dated `months_back` months before the book's newest invoice; returns its month, total."""
    with transaction(factory) as session:
        newest = session.scalar(select(func.max(Invoice.invoice_date)))
        month = newest.year * 12 + newest.month - 1 - months_back
        day = date(month // 12, month % 12 + 1, 15)
        model = session.scalars(select(Invoice).order_by(Invoice.id).limit(1)).one()
        session.add(Invoice(number="INV-OLD-1", customer_id=model.customer_id, invoice_date=day, due_date=day,
                            terms=model.terms, status="approved", is_combined=False, total=Decimal("777.25")))
        session.flush()
        ensure_sync_records(session)
        record = session.scalars(select(SyncRecord).join(Invoice, Invoice.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, Invoice.number == "INV-OLD-1")).one()
        record.status = SyncStatus.FAILED
    return day.strftime("%Y-%m"), Decimal("777.25")


def test_the_monthly_chart_holds_the_last_twelve_months_up_to_the_newest_record(demo_factory):
    old_month, _ = _add_old_invoice(demo_factory, months_back=CHART_MONTHS)  # one month too old
    with demo_factory() as session:
        since = first_chart_day(session)
        shown = list_monthly_totals(session)
        every = list_monthly_totals(session, months=10_000)
        newest = session.scalar(select(func.max(Invoice.invoice_date)))
    assert since is not None and since.day == 1
    assert (newest.year * 12 + newest.month) - (since.year * 12 + since.month) == CHART_MONTHS - 1
    assert old_month not in set(shown["month"]) and old_month in set(every["month"])
    # Every month the chart shows has the same figures as the whole book's: only older months are left out.
    kept = every[every["month"] >= since.strftime("%Y-%m")].reset_index(drop=True)
    assert kept.sort_values(["entity", "month"]).reset_index(drop=True).equals(
        shown.sort_values(["entity", "month"]).reset_index(drop=True))


def test_month_end_counts_the_months_it_shows_and_leaves_out_older_ones(demo_factory):
    old_month, total = _add_old_invoice(demo_factory, months_back=30)
    with demo_factory() as session:
        shown = {m.month: m for m in list_month_readiness(session, months=24)}
        every = {m.month: m for m in list_month_readiness(session)}
    assert old_month not in shown
    assert every[old_month].records == 1 and every[old_month].failed.count == 1
    assert every[old_month].failed.amount == total
    # The months in the window count exactly as the unbounded list counts them.
    assert all(every[month] == readiness for month, readiness in shown.items())
