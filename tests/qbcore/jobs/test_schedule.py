"""Automatic sync on approval: what is queued, and when nothing is."""

import pytest
from sqlalchemy import func, select, update

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.jobs.schedule import enqueue_waiting
from qbcore.models import ConnectionStatus, EntityType, Invoice, Job, QboConnection, SyncRecord, SyncStatus
from qbcore.settings import save_settings
from tests.qbcore.sync.state import PAYABLES_ON


def _queued_types(factory, job_id):
    with factory() as session:
        ids = session.get(Job, job_id).params["record_ids"]
        return set(session.scalars(select(SyncRecord.entity_type).where(SyncRecord.id.in_(ids)).distinct()))


def test_new_records_of_every_enabled_type_are_queued_once(demo_factory):
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, PAYABLES_ON)
    with transaction(demo_factory) as session:
        job = enqueue_waiting(session)
    # Split bills exist only once settlements are routed to fleet owners (the default bills the driver).
    split = {EntityType.SETTLEMENT_SHARE.value, EntityType.SHARE_PAYMENT.value}
    assert _queued_types(demo_factory, job.id) == {e.value for e in EntityType} - split
    with transaction(demo_factory) as session:
        assert enqueue_waiting(session) is None  # a job is already active
        assert session.scalar(select(func.count()).select_from(Job)) == 1


@pytest.mark.parametrize("change", [{"paused": True}, {"trigger": "on_demand"}])
def test_nothing_is_queued_when_paused_or_on_demand(demo_factory, change):
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, change)
    with transaction(demo_factory) as session:
        assert enqueue_waiting(session) is None


def test_disabled_entity_types_and_draft_invoices_stay_out(demo_factory):
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_payments": False, "sync_credit_memos": False})
        draft = session.scalar(select(Invoice.id).order_by(Invoice.id).limit(1))
        session.execute(update(Invoice).where(Invoice.id == draft).values(status="draft"))
    with transaction(demo_factory) as session:
        job = enqueue_waiting(session)
    assert _queued_types(demo_factory, job.id) == {"customer", "item", "invoice"}
    with demo_factory() as session:
        draft_record = session.scalar(select(SyncRecord.id).where(SyncRecord.entity_type == "invoice",
                                                                  SyncRecord.entity_id == draft))
        assert draft_record not in session.get(Job, job.id).params["record_ids"]


def test_carrier_pay_alone_queues_vendors_carrier_bills_and_their_payments_but_no_settlement(demo_factory):
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_carrier_bills": True})
    with transaction(demo_factory) as session:
        job = enqueue_waiting(session)
    queued = _queued_types(demo_factory, job.id)
    assert {"vendor", "carrier_bill", "carrier_payment"} <= queued
    assert not {"settlement", "settlement_payment"} & queued


def test_failed_records_wait_for_a_person(demo_factory):
    with transaction(demo_factory) as session:
        session.execute(update(SyncRecord).values(status=SyncStatus.FAILED.value))
    with transaction(demo_factory) as session:
        assert enqueue_waiting(session) is None


def _connect(factory, status=ConnectionStatus.CONNECTED):
    with transaction(factory) as session:
        session.add(QboConnection(realm_id="9341", environment="local", status=status))


def test_a_tick_queues_waiting_records_and_a_pull_then_nothing_until_they_finish(demo_factory):
    from qbcore.jobs.schedule import run_schedule_tick

    _connect(demo_factory)
    with transaction(demo_factory) as session:
        kinds = sorted(job.kind for job in run_schedule_tick(session))
    assert kinds == ["pull", "sync"]
    with transaction(demo_factory) as session:
        assert run_schedule_tick(session) == []


@pytest.mark.parametrize("status", [ConnectionStatus.DISCONNECTED, ConnectionStatus.RECONNECT_REQUIRED, None])
def test_no_pull_is_scheduled_while_quickbooks_is_not_connected(demo_factory, status):
    from qbcore.jobs.schedule import run_schedule_tick

    if status is not None:
        _connect(demo_factory, status)
    with transaction(demo_factory) as session:
        assert [job.kind for job in run_schedule_tick(session)] == ["sync"]  # records wait for the reconnect
    with demo_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "pull")) == 0


def test_a_paused_console_schedules_nothing(demo_factory):
    from qbcore.jobs.schedule import run_schedule_tick

    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"paused": True})
    with transaction(demo_factory) as session:
        assert run_schedule_tick(session) == []
