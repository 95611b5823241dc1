"""Which synced invoices a settings change would re-send."""

from dataclasses import replace

from sqlalchemy import select, update

from qbcore.db import transaction
from qbcore.models import ChargeLine, ChargeSet, EntityType, SyncRecord
from qbcore.queries.mapping_preview import synced_invoices_changed_by
from qbcore.settings import load_settings


def test_the_other_overflow_choice_changes_only_synced_invoices_with_a_line_over_the_limit(demo_factory, monkeypatch):
    # The columns' widths keep a real line far below 4,000 characters; a lower limit makes one line pass it.
    limit = 300
    monkeypatch.setattr("qbcore.mapping.description.DESCRIPTION_MAX", limit)
    monkeypatch.setattr("qbcore.queries.mapping_preview.DESCRIPTION_MAX", limit)
    with transaction(demo_factory) as session:
        records = dict(session.execute(select(SyncRecord.entity_id, SyncRecord.id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value).order_by(SyncRecord.entity_id).limit(3)).all())
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(list(records.values())))
                        .values(status="synced", qbo_id="77"))
        long_one, unsynced = next(iter(records)), max(records) + 1
        for invoice_id in (long_one, unsynced):  # the unsynced one is not in QuickBooks: nothing to re-send
            line = session.scalars(select(ChargeLine.id).join(ChargeSet, ChargeSet.id == ChargeLine.charge_set_id)
                                   .where(ChargeSet.invoice_id == invoice_id).limit(1)).one()
            session.execute(update(ChargeLine).where(ChargeLine.id == line)
                            .values(description="x" * (limit + 5)))
    with demo_factory() as session:
        before = load_settings(session)
        other = "fail" if before.description_overflow == "truncate" else "truncate"
        changed = synced_invoices_changed_by(session, before, replace(before, description_overflow=other))
        unchanged = synced_invoices_changed_by(session, before, before)
    assert changed == [records[long_one]]
    assert unchanged == []
