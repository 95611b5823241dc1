"""The engine against the sandbox over HTTP: the whole book once, planted conflicts, edits, 5010, dependencies."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.errors import ErrorKind
from qbcore.models import ChargeCode, ChargeLine, ChargeSet, EntityType, Invoice, SyncAttempt, SyncRecord, SyncStatus
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import (
    FAST_RETRY,
    customer_named,
    invoice_numbers,
    record_of,
    statuses,
    turn_on_payables,
)


def gateway_for(factory: sessionmaker[Session], config: Config, **kwargs) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=kwargs.pop("timeout_s", 5), **kwargs)


def test_the_whole_demo_book_reaches_quickbooks_once_with_no_problems(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    turn_on_payables(demo_factory)
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked, summary.paused) == (0, 0, False)
    assert set(statuses(demo_factory)) == {SyncStatus.SYNCED.value}
    assert sandbox.duplicates("Invoice") == [] and sandbox.duplicates("Customer") == []
    assert sandbox.duplicates("Bill") == [] and sandbox.duplicates("Vendor") == []
    numbers = invoice_numbers(demo_factory)
    assert [sandbox.count("Invoice", DocNumber=n) for n in numbers[:10]] == [1] * 10
    # Batches and bulk look-ups: far fewer requests than records.
    assert summary.requests < summary.total / 4


def test_a_second_run_finds_nothing_to_do_and_sends_nothing(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    sync_now(demo_factory, connected)
    again = sync_now(demo_factory, connected)
    assert (again.total, again.synced) == (0, 0)
    assert sandbox.duplicates("Invoice") == []


def test_planted_conflicts_end_as_classified_problems_and_everything_else_syncs(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with demo_factory() as session:
        acme = customer_named(session, "ACME Logistics")
        first_day = session.scalar(select(Invoice.invoice_date).order_by(Invoice.invoice_date).limit(1))
        closing = first_day + timedelta(days=20)
        keyed = session.scalars(select(Invoice).where(Invoice.customer_id != acme.id,
                                                      Invoice.invoice_date > closing).order_by(Invoice.id.desc())
                                ).first()
        assert keyed is not None
    gateway = gateway_for(demo_factory, connected)
    gateway.write("Item", {"Name": "HAZMAT", "Type": "Service", "IncomeAccountRef": {"value": "1"}},
                  request_id="test-hazmat")
    sync_now(demo_factory, connected, entity_types=[EntityType.ITEM], gateway=gateway)
    planted = sandbox.plant(vendors=["ACME Logistics"], inactive_items=["HAZMAT"], closing_date=closing.isoformat(),
                            invoices=[{"DocNumber": keyed.number, "CustomerName": "Walk-in Customer",
                                       "Amount": 125.0, "TxnDate": keyed.invoice_date.isoformat()}])
    assert planted["errors"] == []

    summary = sync_now(demo_factory, connected, gateway=gateway)

    with demo_factory() as session:
        customer = record_of(session, EntityType.CUSTOMER, acme.id)
        assert (customer.status, customer.error_kind, customer.error_code) == ("failed", "duplicate", "6240")
        acme_invoices = list(session.scalars(select(Invoice.id).where(Invoice.customer_id == acme.id)))
        assert acme_invoices
        for invoice_id in acme_invoices:
            record = record_of(session, EntityType.INVOICE, invoice_id)
            assert (record.status, record.blocked_by) == ("blocked", "customer:ACME Logistics")
        clash = record_of(session, EntityType.INVOICE, keyed.id)
        assert (clash.status, clash.error_kind, clash.error_code) == ("failed", "duplicate", "6140")
        assert "Walk-in Customer" in (clash.error_detail or "")
        closed = session.scalars(select(SyncRecord).join(Invoice, Invoice.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == "invoice", Invoice.invoice_date <= closing,
            Invoice.customer_id != acme.id)).all()
        assert closed and {(r.status, r.error_kind, r.error_code) for r in closed} <= {
            ("failed", "closed_period", "6200"), ("failed", "not_found", "610")}
        hazmat = session.scalar(select(ChargeCode.id).where(ChargeCode.code == "HAZMAT"))
        with_hazmat = set(session.scalars(select(ChargeSet.invoice_id).join(ChargeLine).where(
            ChargeLine.charge_code_id == hazmat)))
        open_hazmat = [record_of(session, EntityType.INVOICE, i) for i in with_hazmat]
        assert any(r.error_kind == ErrorKind.NOT_FOUND.value for r in open_hazmat)
        others = session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == "invoice", SyncRecord.status != "synced")).all()
        assert {r.error_kind for r in others} <= {"dependency", "duplicate", "closed_period", "not_found"}
        last_failed = session.scalars(select(SyncAttempt).where(SyncAttempt.sync_record_id == customer.id)).all()
        assert last_failed[-1].error_code == "6240"
        assert "Bearer" not in (customer.last_request or "") and "6240" in (customer.last_response or "")
    assert summary.synced > 150
    assert sandbox.count("Invoice", DocNumber=keyed.number) == 1
    assert sandbox.duplicates("Invoice") == []


def test_an_edited_invoice_is_updated_in_place_with_its_sync_token_advanced(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with transaction(demo_factory) as session:
        invoice = session.get(Invoice, 7)
        line = invoice.charge_sets[0].lines[0]
        line.rate = line.rate + Decimal("10.00")
        line.amount = line.quantity * line.rate
        before = record_of(session, EntityType.INVOICE, 7)
        qbo_id, number = before.qbo_id, invoice.number
    summary = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE], gateway=gateway)
    assert summary.synced == 1
    with demo_factory() as session:
        after = record_of(session, EntityType.INVOICE, 7)
        assert (after.qbo_id, after.qbo_sync_token, after.status) == (qbo_id, "1", "synced")
    assert gateway.read("Invoice", qbo_id)["SyncToken"] == "1"
    assert sandbox.count("Invoice", DocNumber=number) == 1


def test_a_stale_sync_token_5010_is_recovered_by_re_reading_and_retrying_once(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        qbo_id = record_of(session, EntityType.INVOICE, 3).qbo_id
    # Someone edits the invoice in QuickBooks: its SyncToken moves on behind our back.
    gateway.write("Invoice", {"Id": qbo_id, "SyncToken": "0", "sparse": True, "PrivateNote": "edited in QBO"},
                  request_id="test-edit-in-qbo")
    with transaction(demo_factory) as session:
        invoice = session.get(Invoice, 3)
        invoice.due_date = invoice.due_date + timedelta(days=5)
    summary = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE], gateway=gateway)
    assert (summary.synced, summary.failed) == (1, 0)
    current = gateway.read("Invoice", qbo_id)
    with demo_factory() as session:
        record = record_of(session, EntityType.INVOICE, 3)
        assert (record.status, record.qbo_sync_token) == ("synced", current["SyncToken"])
        assert current["SyncToken"] == "2" and current["DueDate"] == session.get(Invoice, 3).due_date.isoformat()


def test_an_unmapped_charge_code_blocks_its_invoices_when_items_are_not_created(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"create_missing_items": False, "branch_tracking": "none"})
    summary = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE])
    with demo_factory() as session:
        blocked = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == "invoice",
                                                           SyncRecord.status == "blocked")).all()
        assert blocked and all(r.blocked_by and r.blocked_by.startswith("item:") for r in blocked)
        assert {r.blocked_by for r in blocked} & {"item:BASE"}
        # In id order: without one, PostgreSQL may hand back a linked item first (it reads whichever index it likes).
        items = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == "item")
                                .order_by(SyncRecord.id)).all()
        unlinked = [item for item in items if item.status != "synced"]
        assert unlinked and all((item.status, item.error_kind) == ("failed", "mapping") for item in unlinked)
    # The customers the invoices need still went; only the item-dependent invoices wait.
    # (DETENTION and STORAGE match the sandbox's "Detention" and "Storage" items by name and are linked.)
    linked_items = statuses(demo_factory, EntityType.ITEM)["synced"]
    assert summary.synced == statuses(demo_factory, EntityType.CUSTOMER)["synced"] + linked_items
    assert linked_items == 2


def test_request_ids_are_committed_before_the_batch_is_sent(
    demo_factory: sessionmaker[Session], connected: Config
) -> None:
    seen: list[tuple[int, str | None]] = []

    class Watching(QboGateway):
        def batch(self, items, *, request_id, **options):
            from qbcore.sync.requestids import batch_item_id

            with demo_factory() as session:
                rows = session.execute(select(SyncRecord.id, SyncRecord.request_id)).all()
            by_bid = {batch_item_id(rid): req for rid, req in rows}
            seen.extend((0, by_bid.get(item["bId"])) for item in items)
            return super().batch(items, request_id=request_id, **options)

    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER],
             gateway=Watching(demo_factory, connected, retry=FAST_RETRY))
    assert seen and all(req and req.startswith("qbs-cus-") and len(req) <= 50 for _, req in seen)


def test_the_master_pause_in_settings_moves_and_marks_nothing(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"paused": True})
    summary = sync_now(demo_factory, connected)
    assert summary.paused and summary.synced == 0
    assert set(statuses(demo_factory)) == {"never_synced"}
    assert sandbox.count("Invoice", DocNumber=invoice_numbers(demo_factory)[0]) == 0


def test_a_charge_code_mapped_by_hand_posts_to_that_item_and_creates_none(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.models import ItemMapping

    gateway = gateway_for(demo_factory, connected)
    drayage = gateway.query_in("Item", "Name", ["Drayage"])[0]["Id"]
    with transaction(demo_factory) as session:
        base = session.scalar(select(ChargeCode.id).where(ChargeCode.code == "BASE"))
        session.add(ItemMapping(charge_code_id=base, qbo_item_id=drayage, qbo_item_name="Drayage"))
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        assert record_of(session, EntityType.ITEM, base).qbo_id == drayage
        qbo_id = record_of(session, EntityType.INVOICE, 1).qbo_id
    lines = gateway.read("Invoice", qbo_id)["Line"]
    assert lines[0]["SalesItemLineDetail"]["ItemRef"]["value"] == drayage
    assert sandbox.count("Item", Name="BASE") == 0
    again = sync_now(demo_factory, connected, gateway=gateway)
    assert again.total == 0
