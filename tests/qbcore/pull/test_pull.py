"""Pulling changes back from the sandbox over HTTP: payments applied in QuickBooks, proposals, drift, resumption."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks import QuickBooks
from quickbooks.objects.invoice import Invoice as QbInvoice
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN, SYSTEM, Actor
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.errors import ErrorKind, QboCallError
from qbcore.jobs.queue import claim_job
from qbcore.models import AuditEvent, Drift, Job, JobStatus, PulledPayment, Role
from qbcore.pull import enqueue_pull, run_pull, run_pull_job
from qbcore.pull.bookmark import load_bookmarks
from qbcore.pull.decisions import accept_proposal, list_proposals, reject_proposal
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import save_settings
from tests.qbcore.pull.arrange import invoice_status, open_synced_invoices, pay_in_quickbooks
from tests.qbcore.pull.conftest import gateway_for


def pulled(factory: sessionmaker[Session]) -> list[PulledPayment]:
    with factory() as session:
        return list(session.scalars(select(PulledPayment).order_by(PulledPayment.id)))


def drifts(factory: sessionmaker[Session]) -> list[Drift]:
    with factory() as session:
        return list(session.scalars(select(Drift).order_by(Drift.id)))


def test_a_pull_after_our_own_sync_finds_no_payment_to_apply_and_no_drift(
    synced: sessionmaker[Session], connected: Config
) -> None:
    summary = run_pull(synced, connected, gateway=gateway_for(synced, connected))
    assert summary.changes > 100
    assert (summary.applied, summary.proposed, summary.drifts) == (0, 0, 0)
    assert pulled(synced) == [] and drifts(synced) == []
    assert set(load_bookmarks_of(synced)) == {"Payment", "Invoice", "CreditMemo"}


def load_bookmarks_of(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return load_bookmarks(session)


def test_a_payment_entered_in_quickbooks_marks_the_invoice_paid_once_however_often_it_is_pulled(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    run_pull(synced, connected)
    (full_id, full_qbo, full_total), (part_id, part_qbo, _) = open_synced_invoices(synced, 2)
    payment_id = pay_in_quickbooks(qb, full_qbo, full_total)
    pay_in_quickbooks(qb, part_qbo, Decimal("10.00"), ref="ACH-77")

    first = run_pull(synced, connected)
    second = run_pull(synced, connected)

    assert (first.applied, second.applied) == (2, 0)
    assert invoice_status(synced, full_id) == "paid"
    assert invoice_status(synced, part_id) == "partially_paid"
    rows = pulled(synced)
    assert next((r.qbo_payment_id, r.invoice_id, r.amount, r.status) for r in rows) == (
        payment_id, full_id, full_total, "applied")
    assert len(rows) == 2 and all(r.applied_at is not None for r in rows)
    with synced() as session:
        audits = session.scalars(select(AuditEvent).where(AuditEvent.action == "apply_pulled_payment")).all()
        assert {a.actor for a in audits} == {SYSTEM.email} and len(audits) == 2


def test_propose_mode_stores_a_proposal_and_changes_nothing_until_finance_accepts_it(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    with transaction(synced) as session:
        save_settings(session, LOCAL_ADMIN, {"pulled_payments": "propose"})
    run_pull(synced, connected)
    (inv_a, qbo_a, total_a), (inv_b, qbo_b, total_b) = open_synced_invoices(synced, 2)
    pay_in_quickbooks(qb, qbo_a, total_a)
    pay_in_quickbooks(qb, qbo_b, total_b, ref="WIRE-2")

    summary = run_pull(synced, connected)
    assert (summary.applied, summary.proposed) == (0, 2)
    assert invoice_status(synced, inv_a) == invoice_status(synced, inv_b) == "approved"
    run_pull(synced, connected)  # pulled again: still two proposals
    with synced() as session:
        proposals = list_proposals(session)
    assert [p.invoice_id for p in proposals] == [inv_a, inv_b]

    viewer = Actor(email="v@x", role=Role.VIEWER)
    with pytest.raises(PermissionError), transaction(synced) as session:
        accept_proposal(session, viewer, proposals[0].id)
    with transaction(synced) as session:
        accept_proposal(session, LOCAL_ADMIN, proposals[0].id)
        reject_proposal(session, LOCAL_ADMIN, proposals[1].id, reason="customer disputes it")
    assert invoice_status(synced, inv_a) == "paid"
    assert invoice_status(synced, inv_b) == "approved"
    run_pull(synced, connected)  # a rejected payment is never proposed again
    with synced() as session:
        assert list_proposals(session) == []
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == LOCAL_ADMIN.email)))
    assert {"accept_pulled_payment", "reject_pulled_payment"} <= actions


def test_a_void_a_deletion_and_an_edit_in_quickbooks_show_as_drift_with_what_changed(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    run_pull(synced, connected)
    (void_id, void_qbo, void_total), (del_id, del_qbo, _), (edit_id, edit_qbo, _) = open_synced_invoices(synced, 3)
    QbInvoice.get(void_qbo, qb=qb).void(qb=qb)
    QbInvoice.get(del_qbo, qb=qb).delete(qb=qb)
    edited = QbInvoice.get(edit_qbo, qb=qb)
    edited.DocNumber = "HAND-EDIT-1"
    edited.save(qb=qb)

    summary = run_pull(synced, connected)
    again = run_pull(synced, connected)

    assert (summary.drifts, again.drifts) == (3, 0)
    by_entity = {d.entity_id: d for d in drifts(synced)}
    assert by_entity[void_id].kind == "void" and f"{void_total:,.2f}" in by_entity[void_id].summary
    assert by_entity[del_id].kind == "delete" and by_entity[del_id].qbo_id == del_qbo
    assert by_entity[edit_id].kind == "edit" and "HAND-EDIT-1" in by_entity[edit_id].summary
    assert all(d.resolved_at is None and d.detected_at is not None for d in by_entity.values())


class FailingGateway(QboGateway):
    """A gateway that breaks after a number of calls, like a network cut in the middle of a pull."""

    def __init__(self, *args, fail_after: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fail_after = fail_after

    def call(self, method, path, **kwargs):
        if path == "cdc" and self.calls >= self.fail_after:
            from qbcore.errors import QboError
            raise QboCallError(QboError(ErrorKind.SERVER, "500", "connection cut", "", True))
        return super().call(method, path, **kwargs)


def test_an_interrupted_pull_resumes_from_its_bookmark_without_applying_anything_twice(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    run_pull(synced, connected)
    (inv, qbo, total), = open_synced_invoices(synced, 1)
    pay_in_quickbooks(qb, qbo, total)
    before = load_bookmarks_of(synced)

    gateway = FailingGateway(synced, connected, fail_after=1)
    with pytest.raises(QboCallError):
        run_pull(synced, connected, gateway=gateway)
    after_cut = load_bookmarks_of(synced)
    assert after_cut["Payment"] >= before["Payment"] and after_cut["Invoice"] == before["Invoice"]
    assert invoice_status(synced, inv) == "paid" and len(pulled(synced)) == 1

    resumed = run_pull(synced, connected)
    assert resumed.applied == 0 and len(pulled(synced)) == 1
    assert load_bookmarks_of(synced)["Invoice"] >= before["Invoice"]


def test_a_pull_runs_as_a_job_and_a_burst_of_requests_queues_one_job(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    (inv, qbo, total), = open_synced_invoices(synced, 1)
    pay_in_quickbooks(qb, qbo, total)
    with transaction(synced) as session:
        first = enqueue_pull(session, SYSTEM, reason="webhook")
        second = enqueue_pull(session, SYSTEM, reason="webhook")
        assert first.id == second.id
    job = claim_job(synced, "w1")
    assert job is not None and job.kind == "pull"
    summary = run_pull_job(synced, connected, job, worker_id="w1")
    with synced() as session:
        done = session.get(Job, job.id)
        assert done is not None and done.status == JobStatus.DONE.value
        assert done.done == summary.changes and done.summary["applied"] == 1
        assert session.scalar(select(func.count(Job.id))) == 1
    assert invoice_status(synced, inv) == "paid"


def test_a_pulled_payment_voided_in_quickbooks_later_is_reversed_and_the_invoice_reopens(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    from quickbooks.objects.payment import Payment as QbPayment

    run_pull(synced, connected)
    (inv, qbo, total), = open_synced_invoices(synced, 1)
    payment_id = pay_in_quickbooks(qb, qbo, total)
    run_pull(synced, connected)
    assert invoice_status(synced, inv) == "paid"

    QbPayment.get(payment_id, qb=qb).void(qb=qb)
    summary = run_pull(synced, connected)

    assert summary.reversed == 1
    assert invoice_status(synced, inv) == "approved"
    assert [p.status for p in pulled(synced)] == ["reversed"]


def test_a_credit_memo_deleted_in_quickbooks_shows_as_drift(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks
) -> None:
    from quickbooks.objects.creditmemo import CreditMemo as QbCreditMemo
    from quickbooks.objects.payment import Payment as QbPayment

    from qbcore.models import CreditMemoApplication, EntityType, SyncRecord

    run_pull(synced, connected)
    with synced() as session:
        record = session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.CREDIT_MEMO.value, SyncRecord.qbo_id.is_not(None))).first()
        assert record is not None
        # QuickBooks refuses to delete an applied credit memo: its user first deletes the payments applying it.
        applied = select(CreditMemoApplication.id).where(CreditMemoApplication.credit_memo_id == record.entity_id)
        applying = session.scalars(select(SyncRecord.qbo_id).where(
            SyncRecord.entity_type == EntityType.CREDIT_APPLICATION.value, SyncRecord.entity_id.in_(applied))).all()
    for payment_id in applying:
        QbPayment.get(payment_id, qb=qb).delete(qb=qb)
    QbCreditMemo.get(record.qbo_id, qb=qb).delete(qb=qb)
    summary = run_pull(synced, connected)
    assert summary.drifts == 1
    (drift,) = drifts(synced)
    assert (drift.entity_type, drift.entity_id, drift.kind) == ("credit_memo", record.entity_id, "delete")


def test_the_same_second_fallback_query_is_understood_by_quickbooks(
    synced: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.qbo.cdc import fetch_changed_at, last_updated

    gateway = gateway_for(synced, connected)
    some = gateway.query("SELECT * FROM Invoice MAXRESULTS 5")
    moment = last_updated(some[0])
    assert moment is not None
    rows = fetch_changed_at(gateway, "Invoice", moment)
    assert rows and {last_updated(r) for r in rows} == {moment}
    assert str(some[0]["Id"]) in {str(r["Id"]) for r in rows}


def test_a_second_pull_job_waits_while_another_worker_pulls_the_same_company(
    synced: sessionmaker[Session], connected: Config
) -> None:
    from datetime import timedelta

    from qbcore.jobs.lease import acquire_lease, release_lease

    gateway = gateway_for(synced, connected)
    key = f"pull:{gateway.realm_id}"
    assert acquire_lease(synced, key, "other-worker", timedelta(minutes=5))
    with transaction(synced) as session:
        enqueue_pull(session, SYSTEM)
    job = claim_job(synced, "w2")
    assert job is not None
    summary = run_pull_job(synced, connected, job, worker_id="w2", gateway=gateway, wait_for_lease_s=0)
    with synced() as session:
        assert summary.stopped and session.get(Job, job.id).status == JobStatus.QUEUED.value
    release_lease(synced, key, "other-worker")
    job = claim_job(synced, "w2")
    assert job is not None
    run_pull_job(synced, connected, job, worker_id="w2", gateway=gateway)
    with synced() as session:
        assert session.get(Job, job.id).status == JobStatus.DONE.value
