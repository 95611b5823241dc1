"""Cascade retry: fix the cause once, and the records it blocked retry by themselves (against the sandbox)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.jobs.queue import claim_job
from qbcore.models import (
    AuditEvent,
    ChargeCode,
    EntityType,
    Invoice,
    ItemMapping,
    Job,
    JobStatus,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import save_settings
from qbcore.sync.cascade import blocker_fixed_at, cascade_retries, cascade_sentence
from qbcore.sync.runner import run_sync_job, sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, customer_named, record_of, statuses


def gateway_for(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def run_queued(factory: sessionmaker[Session], config: Config) -> None:
    job = claim_job(factory, "test-worker")
    assert job is not None
    run_sync_job(factory, config, job, worker_id="test-worker", gateway=gateway_for(factory, config))


def test_invoices_blocked_by_a_customer_name_clash_retry_by_themselves_once_the_clash_is_resolved(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    planted = sandbox.plant(vendors=["ACME Logistics"])
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        acme = customer_named(session, "ACME Logistics")
        blocked = list(session.scalars(select(SyncRecord.id).where(
            SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.blocked_by == "customer:ACME Logistics")))
        assert blocked
        assert record_of(session, EntityType.CUSTOMER, acme.id).status == SyncStatus.FAILED.value
    with transaction(demo_factory) as session:
        assert cascade_retries(session) is None  # nothing fixed yet: nothing queued

    # Someone renames the vendor in QuickBooks (deactivating renames it) and resyncs the customer.
    gateway.write("Vendor", {"Id": planted["vendors"][0], "SyncToken": "0", "sparse": True, "Active": False},
                  request_id="test-free-the-name")
    with demo_factory() as session:
        customer_record = record_of(session, EntityType.CUSTOMER, acme.id).id
    sync_now(demo_factory, connected, record_ids=[customer_record], gateway=gateway)

    with transaction(demo_factory) as session:
        job = cascade_retries(session)
        assert job is not None
        assert job.params["label"] == "Cascade retry: customer ACME Logistics"
        assert set(blocked) <= set(job.params["record_ids"])
        assert "ACME Logistics" in (cascade_sentence(job) or "")
        assert cascade_retries(session) is None  # already queued: not twice
    run_queued(demo_factory, connected)
    # Payments that waited for those invoices follow in the next cascade, until nothing is left blocked.
    for _ in range(3):
        with transaction(demo_factory) as session:
            follow_up = cascade_retries(session)
        if follow_up is None:
            break
        run_queued(demo_factory, connected)
    assert statuses(demo_factory).get(SyncStatus.BLOCKED.value, 0) == 0
    assert sandbox.duplicates("Invoice") == []
    with demo_factory() as session:
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "cascade_retry")) is not None
        with transaction(demo_factory) as again:
            assert cascade_retries(again) is None


def test_records_blocked_by_an_unmapped_charge_code_retry_once_it_is_mapped_and_only_once(
    demo_factory: sessionmaker[Session],
) -> None:
    with transaction(demo_factory) as session:
        code = session.scalars(select(ChargeCode).where(ChargeCode.code == "CHASSIS")).one()
        invoice_ids = list(session.scalars(select(Invoice.id).limit(3)))
        records = list(session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id.in_(invoice_ids))))
        for record in records:
            record.status, record.blocked_by = SyncStatus.BLOCKED, "item:CHASSIS"
        session.flush()
        for record in records:
            record.last_attempt_at = utcnow()
        assert blocker_fixed_at(session, "item:CHASSIS") is None
        assert cascade_retries(session) is None
    with transaction(demo_factory) as session:
        session.add(ItemMapping(charge_code_id=code.id, qbo_item_id="4", qbo_item_name="Chassis Rental"))
    with transaction(demo_factory) as session:
        job = cascade_retries(session)
        assert job is not None and job.params["label"] == "Cascade retry: item CHASSIS"
        assert sorted(job.params["record_ids"]) == sorted(r.id for r in records)
        # The job is done and the records are still blocked (tried after the fix): no endless loop.
        session.get(Job, job.id).status = JobStatus.DONE
        for record in session.scalars(select(SyncRecord).where(SyncRecord.id.in_([r.id for r in records]))):
            record.last_attempt_at = utcnow()
    with transaction(demo_factory) as session:
        assert cascade_retries(session) is None


def test_a_paused_console_queues_no_cascade(demo_factory: sessionmaker[Session]) -> None:
    with transaction(demo_factory) as session:
        record = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE.value)).first()
        assert record is not None
        record.status, record.blocked_by = SyncStatus.BLOCKED, "term:Net 45"
        save_settings(session, LOCAL_ADMIN, {"paused": True})
        assert cascade_retries(session) is None
        save_settings(session, LOCAL_ADMIN, {"paused": False})
        job = cascade_retries(session)
        assert job is not None and job.params["record_ids"] == [record.id]

