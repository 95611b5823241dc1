"""Tokens during a run: expiry is refreshed in flight; invalid_grant pauses work without failing records."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.config import Config
from qbcore.connection import get_connection_state
from qbcore.db import transaction
from qbcore.jobs.queue import enqueue_sync
from qbcore.jobs.worker import run_worker
from qbcore.models import ConnectionStatus, EntityType, Job, JobStatus, QboConnection, SyncRecord
from qbcore.qbo.tokens import load_tokens, make_auth_client
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import statuses, turn_on_payables


def test_an_access_token_expiring_mid_run_is_refreshed_and_the_run_completes(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    turn_on_payables(demo_factory)
    before = load_tokens(demo_factory, connected)
    sandbox.configure(force_faults=["expired_token", "expired_token"])
    summary = sync_now(demo_factory, connected)
    assert (summary.failed, summary.paused) == (0, False)
    assert set(statuses(demo_factory)) == {"synced"}
    after = load_tokens(demo_factory, connected)
    assert after.refresh_token != before.refresh_token


def test_invalid_grant_pauses_the_job_without_failing_records_and_it_resumes_after_reconnecting(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER])
    # Another copy of the app used our refresh token: ours is dead, and the access token expires.
    make_auth_client(connected).refresh(refresh_token=load_tokens(demo_factory, connected).refresh_token)
    sandbox.expire_tokens()
    with transaction(demo_factory) as session:
        job_id = enqueue_sync(session, SYSTEM, entity_types=[EntityType.INVOICE]).id
    # The run meets a 401, its refresh meets invalid_grant: the job pauses.
    run_worker(demo_factory, connected, worker_id="w1", once=True)
    with demo_factory() as session:
        job = session.get(Job, job_id)
        assert job.status == JobStatus.PAUSED.value
        assert get_connection_state(session).status == ConnectionStatus.RECONNECT_REQUIRED
        invoice_statuses = set(session.scalars(select(SyncRecord.status).where(SyncRecord.entity_type == "invoice")))
        assert "failed" not in invoice_statuses and "blocked" not in invoice_statuses
    # Local mode reconnects by itself; the paused job is requeued and finishes.
    run_worker(demo_factory, connected, worker_id="w1", once=True)
    with demo_factory() as session:
        assert session.get(Job, job_id).status == JobStatus.DONE.value
        assert session.scalars(select(QboConnection.status)).one() == ConnectionStatus.CONNECTED.value
    assert set(statuses(demo_factory, EntityType.INVOICE)) == {"synced"}
