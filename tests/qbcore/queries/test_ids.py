"""QuickBooks IDs' counts and newest-first window: the quick paths give what the joined, sorted query gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from qbcore.db import transaction
from qbcore.models import CreditMemoApplication, EntityType, SyncRecord, SyncStatus
from qbcore.queries.ids import IdFilter, count_joined, count_linked_records, list_linked_records
from tests.qbcore.problems.problem_data import seed_every_entity

FILTERS = [
    IdFilter(), IdFilter(linked_only=False), IdFilter(entity_type=EntityType.INVOICE),
    IdFilter(entity_type=EntityType.CREDIT_APPLICATION, linked_only=False),
    IdFilter(statuses=(SyncStatus.FAILED, SyncStatus.BLOCKED), linked_only=False), IdFilter(company_id=1),
]


@pytest.fixture
def book(demo_factory):
    """The demo book with problems of every entity, every other record linked at its own moment, and an
    orphan: a credit application's sync record whose billing row an import deleted."""
    with transaction(demo_factory) as session:
        seed_every_entity(session)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        for record in session.scalars(select(SyncRecord).where(SyncRecord.status == SyncStatus.NEVER_SYNCED.value)):
            if record.id % 2:
                record.status, record.qbo_id = SyncStatus.SYNCED, str(50_000 + record.id)
                record.last_synced_at = start + timedelta(minutes=record.id % 997)
        orphan = session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.CREDIT_APPLICATION.value).order_by(SyncRecord.id)).first()
        session.execute(update(SyncRecord).where(SyncRecord.id == orphan.id).values(qbo_id="77"))
        session.execute(delete(CreditMemoApplication).where(CreditMemoApplication.id == orphan.entity_id))
    return demo_factory


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[:60])
def test_the_count_without_joins_is_the_joined_count(book, flt):
    with book() as session:
        assert count_linked_records(session, flt) == count_joined(session, flt) > 0


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f)[:60])
def test_each_entity_s_newest_rows_make_the_same_window_as_sorting_every_row(book, flt):
    with book() as session:
        everything = list_linked_records(session, flt, limit=1_000_000)
        size = min(40, len(everything) // 2)
        window = list_linked_records(session, flt, limit=size)
    assert size > 0 and len(everything) > size
    assert window["record_id"].tolist() == everything["record_id"].head(size).tolist()
