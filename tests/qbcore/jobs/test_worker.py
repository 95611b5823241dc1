"""Workers: claiming, company leases, a dead worker's job resumed, two workers never twin a record, quotas."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.jobs.lease import acquire_lease, release_lease, renew_lease
from qbcore.jobs.queue import claim_job, enqueue_sync
from qbcore.jobs.worker import run_worker
from qbcore.models import CompanyLease, EntityType, Job, JobStatus, utcnow
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.limiter import Quota, QuotaLimiter, QuotaPolicy
from qbcore.sync.runner import run_sync_job
from tests.qbcore.qbo.conftest import REALM, SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, statuses, turn_on_payables


def queue_all(factory: sessionmaker[Session]) -> int:
    turn_on_payables(factory)  # the book's payables go too: no twin bill or vendor either
    with transaction(factory) as session:
        return enqueue_sync(session, SYSTEM, entity_types=list(EntityType)).id


def test_a_queued_job_is_run_to_done_with_progress_and_a_summary_by_kind(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    job_id = queue_all(demo_factory)
    assert run_worker(demo_factory, connected, worker_id="w1", once=True) == 1
    with demo_factory() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.done, job.failed) == (JobStatus.DONE.value, job.total, 0)
        assert job.summary["requests"] > 0 and job.summary["by_kind"] == {}
    assert set(statuses(demo_factory)) == {"synced"}


def test_only_one_worker_holds_a_company_lease_until_it_expires(factory: sessionmaker[Session]) -> None:
    assert acquire_lease(factory, REALM, "a")
    assert not acquire_lease(factory, REALM, "b")
    assert renew_lease(factory, REALM, "a") and not renew_lease(factory, REALM, "b")
    with transaction(factory) as session:
        session.execute(update(CompanyLease).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert acquire_lease(factory, REALM, "b") and not renew_lease(factory, REALM, "a")
    release_lease(factory, REALM, "b")
    assert acquire_lease(factory, REALM, "a")


def test_a_killed_workers_job_is_resumed_by_another_after_its_lease_expires(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    job_id = queue_all(demo_factory)
    assert claim_job(demo_factory, "dead-worker") is not None
    acquire_lease(demo_factory, REALM, "dead-worker")
    assert claim_job(demo_factory, "w2") is None  # still leased
    with transaction(demo_factory) as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Job).values(lease_expires_at=past))
        session.execute(update(CompanyLease).values(expires_at=past))
    assert run_worker(demo_factory, connected, worker_id="w2", once=True) == 1
    with demo_factory() as session:
        assert session.get(Job, job_id).status == JobStatus.DONE.value
    assert set(statuses(demo_factory)) == {"synced"}
    assert sandbox.duplicates("Invoice") == []


def test_two_workers_on_the_same_job_leave_no_twin(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    job_id = queue_all(demo_factory)
    stalled = claim_job(demo_factory, "slow-worker")
    assert stalled is not None
    with transaction(demo_factory) as session:  # the slow worker's job lease lapses while it still runs
        session.execute(update(Job).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            run_sync_job(demo_factory, connected, stalled, worker_id="slow-worker",
                    gateway=QboGateway(demo_factory, connected, retry=FAST_RETRY))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=slow),
               threading.Thread(target=run_worker, args=(demo_factory, connected),
                                kwargs={"worker_id": "fast-worker", "once": True})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sandbox.duplicates("Invoice") == [] and sandbox.duplicates("Customer") == []
    assert sandbox.duplicates("Bill") == [] and sandbox.duplicates("BillPayment") == []
    assert set(statuses(demo_factory)) == {"synced"}
    with demo_factory() as session:
        assert session.get(Job, job_id).status == JobStatus.DONE.value


def test_the_limiter_keeps_every_window_under_its_quota_across_threads() -> None:
    limiter = QuotaLimiter(QuotaPolicy(per_minute=Quota(100, 60), per_second=Quota(5, 0.5),
                                       batch_per_minute=Quota(3, 60), concurrent=4))
    stamps: list[float] = []
    lock = threading.Lock()
    import time

    def call() -> None:
        with limiter.slot(), lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    # (stamps are taken just after each reservation, so allow a little scheduling jitter)
    assert all(stamps[i + 5] - stamps[i] >= 0.45 for i in range(len(stamps) - 5))


def test_a_production_quota_sandbox_never_throttles_the_gateway(
    factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    sandbox.configure(quotas="production")
    gateway = QboGateway(factory, connected, retry=FAST_RETRY, quota=QuotaPolicy())
    threads = [threading.Thread(target=gateway.query, args=("SELECT * FROM Term",)) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.stats()["throttled"] == 0
    assert gateway.calls == 25


def test_a_queued_pull_job_is_run_by_the_same_worker(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.pull.runner import enqueue_pull

    with transaction(demo_factory) as session:
        job_id = enqueue_pull(session, SYSTEM, reason="test").id
    assert run_worker(demo_factory, connected, worker_id="w1", once=True) == 1
    with demo_factory() as session:
        assert session.get(Job, job_id).status == JobStatus.DONE.value


def test_a_passing_database_error_requeues_the_job_instead_of_failing_it(demo_factory, connected, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from qbcore.access import LOCAL_ADMIN
    from qbcore.db import transaction
    from qbcore.jobs import worker as worker_module
    from qbcore.jobs.queue import enqueue_sync
    from qbcore.models import Job, JobStatus

    with transaction(demo_factory) as session:
        job_id = enqueue_sync(session, LOCAL_ADMIN).id
    calls = []

    def flaky_run_job(*args, **kwargs):
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("too many clients already"))

    monkeypatch.setitem(worker_module.RUNNERS, "sync", flaky_run_job)
    worker_module.run_worker(demo_factory, connected, once=True, poll_s=0.01)
    with demo_factory() as session:
        job = session.get(Job, job_id)
    assert calls and job.status == JobStatus.QUEUED.value and job.lease_owner is None and job.error is None


def test_while_an_admin_has_disconnected_nothing_syncs_and_nothing_is_marked_failed(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.access import LOCAL_ADMIN
    from qbcore.qbo.oauth import disconnect

    disconnect(demo_factory, connected, actor=LOCAL_ADMIN)
    job_id = queue_all(demo_factory)
    before = statuses(demo_factory)
    invoices_before = sandbox.count("Invoice")
    assert run_worker(demo_factory, connected, worker_id="w1", once=True) == 0
    with demo_factory() as session:
        assert session.get(Job, job_id).status == JobStatus.QUEUED.value
    assert statuses(demo_factory) == before and "failed" not in before
    assert sandbox.count("Invoice") == invoices_before
