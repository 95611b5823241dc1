"""Resync, clear, mark paid and restore: role-checked, audited, and leaving the database as promised."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qbcore.access import Actor, PermissionDenied
from qbcore.db import transaction
from qbcore.jobs.queue import NothingToSync
from qbcore.models import AuditEvent, EntityType, Invoice, Job, Role, SyncRecord, SyncStatus
from qbcore.problems.actions import (
    NothingToChange,
    clear_invoices,
    mark_invoices_paid_outside,
    restore_invoices,
    resync_problems,
)
from qbcore.problems.queries import CauseKey, ProblemFilter, count_matching
from qbcore.refusals import ReasonRequired

OPERATOR = Actor("ops@example.com", Role.OPERATOR, "Olga Ops")
VIEWER = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")


def _statuses(session, ids):
    return {rid: status for rid, status in session.execute(
        select(SyncRecord.id, SyncRecord.status).where(SyncRecord.id.in_(ids)))}


def test_resync_selected_enqueues_a_job_with_exactly_those_records(demo_factory, problem_book):
    chosen = problem_book.chassis[:3]
    with transaction(demo_factory) as session:
        job = resync_problems(session, OPERATOR, EntityType.INVOICE, chosen, audit_factory=demo_factory)
    with demo_factory() as session:
        stored = session.get(Job, job.id)
        assert stored.params["record_ids"] == sorted(chosen) and stored.total == 3
        assert set(_statuses(session, chosen).values()) == {SyncStatus.PENDING.value}
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "resync")).one()
        assert audit.actor == OPERATOR.email and audit.target_id == str(job.id)


def test_resync_all_matching_runs_the_filter_in_the_database(demo_factory, problem_book):
    cause = ProblemFilter(cause=CauseKey("mapping", None, "charge_code:CHASSIS"))
    with transaction(demo_factory) as session:
        job = resync_problems(session, OPERATOR, EntityType.INVOICE, cause)
    with demo_factory() as session:
        assert session.get(Job, job.id).params["record_ids"] == problem_book.chassis


def test_resync_of_only_synced_records_says_nothing_to_sync(demo_factory, problem_book):
    with demo_factory() as session:
        synced = session.scalars(select(SyncRecord.id).where(SyncRecord.status == "synced").limit(2)).all()
    with pytest.raises(NothingToSync), transaction(demo_factory) as session:
        resync_problems(session, OPERATOR, EntityType.INVOICE, list(synced))


@pytest.mark.parametrize("act", [
    lambda s, t, f: resync_problems(s, VIEWER, EntityType.INVOICE, t, audit_factory=f),
    lambda s, t, f: clear_invoices(s, VIEWER, t, reason="dup", audit_factory=f),
    lambda s, t, f: mark_invoices_paid_outside(s, VIEWER, t, reason="paid in QBO", audit_factory=f),
    lambda s, t, f: restore_invoices(s, VIEWER, t, audit_factory=f),
])
def test_a_viewer_is_refused_nothing_changes_and_the_refusal_is_audited(demo_factory, problem_book, act):
    chosen = problem_book.chassis[:2]
    with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
        act(session, chosen, demo_factory)
    with demo_factory() as session:
        assert set(_statuses(session, chosen).values()) == {SyncStatus.FAILED.value}
        assert session.scalars(select(Job)).all() == []
        events = session.scalars(select(AuditEvent)).all()
        assert [(e.actor, e.outcome) for e in events] == [(VIEWER.email, "refused")]


def test_clear_needs_a_reason_and_takes_invoices_off_the_list(demo_factory, problem_book):
    chosen = problem_book.chassis[:4]
    with pytest.raises(ReasonRequired), transaction(demo_factory) as session:
        clear_invoices(session, OPERATOR, chosen, reason="  ")
    with transaction(demo_factory) as session:
        result = clear_invoices(session, OPERATOR, chosen, reason="Billed twice in the TMS")
    assert result.count == 4
    with demo_factory() as session:
        assert set(_statuses(session, chosen).values()) == {SyncStatus.CLEARED.value}
        assert count_matching(session, EntityType.INVOICE, ProblemFilter()).count == 20
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "clear_invoice")).all()
        assert len(events) == 4
        assert {(e.actor, e.reason, e.before["status"], e.after["status"]) for e in events} == {
            (OPERATOR.email, "Billed twice in the TMS", "failed", "cleared")}


def test_restore_puts_cleared_invoices_back_in_their_previous_status(demo_factory, problem_book):
    failed, out_of_date = problem_book.chassis[:2], problem_book.invoices[20:22]
    with transaction(demo_factory) as session:
        clear_invoices(session, OPERATOR, failed + out_of_date, reason="not ours")
    with transaction(demo_factory) as session:
        result = restore_invoices(session, OPERATOR, ProblemFilter(statuses=(SyncStatus.CLEARED,)))
    assert result.count == 4
    with demo_factory() as session:
        statuses = _statuses(session, failed + out_of_date)
        assert [statuses[i] for i in failed] == ["failed", "failed"]
        assert [statuses[i] for i in out_of_date] == ["out_of_date", "out_of_date"]
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "restore_invoice")).all()) == 4
    with pytest.raises(NothingToChange), transaction(demo_factory) as session:
        restore_invoices(session, OPERATOR, failed)


def test_mark_paid_without_sync_sets_both_statuses_and_audits_who_and_why(demo_factory, problem_book):
    chosen = problem_book.chassis[:2]
    with pytest.raises(ReasonRequired), transaction(demo_factory) as session:
        mark_invoices_paid_outside(session, OPERATOR, chosen, reason="")
    with transaction(demo_factory) as session:
        result = mark_invoices_paid_outside(session, OPERATOR, chosen, reason="Check applied in QuickBooks")
    with demo_factory() as session:
        assert set(_statuses(session, chosen).values()) == {SyncStatus.PAID_OUTSIDE.value}
        invoice_statuses = session.scalars(select(Invoice.status).join(
            SyncRecord, SyncRecord.entity_id == Invoice.id).where(SyncRecord.id.in_(chosen))).all()
        assert set(invoice_statuses) == {"paid"}
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "mark_invoice_paid_outside")).first()
        assert (event.actor, event.reason, event.after["invoice_status"]) == (
            OPERATOR.email, "Check applied in QuickBooks", "paid")
    assert result.count == 2 and result.amount > 0


def test_clear_ignores_records_of_other_entities_and_synced_invoices(demo_factory, problem_book):
    with demo_factory() as session:
        synced = session.scalars(select(SyncRecord.id).where(
            SyncRecord.entity_type == "invoice", SyncRecord.status == "synced").limit(1)).all()
    with pytest.raises(NothingToChange), transaction(demo_factory) as session:
        clear_invoices(session, OPERATOR, problem_book.payments + list(synced), reason="x")


def test_mark_paid_without_sync_can_be_undone_back_to_both_earlier_statuses_and_is_audited(demo_factory, problem_book):
    chosen = problem_book.chassis[:2]
    with demo_factory() as session:
        billing_before = dict(session.execute(select(SyncRecord.id, Invoice.status).join(
            Invoice, Invoice.id == SyncRecord.entity_id).where(SyncRecord.id.in_(chosen))).all())
    with transaction(demo_factory) as session:
        mark_invoices_paid_outside(session, OPERATOR, chosen, reason="Check applied in QuickBooks")
    with transaction(demo_factory) as session:
        result = restore_invoices(session, OPERATOR, chosen, reason="it was another customer's check")
    assert result.count == 2
    with demo_factory() as session:
        assert set(_statuses(session, chosen).values()) == {SyncStatus.FAILED.value}
        billing_after = dict(session.execute(select(SyncRecord.id, Invoice.status).join(
            Invoice, Invoice.id == SyncRecord.entity_id).where(SyncRecord.id.in_(chosen))).all())
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "undo_mark_paid_outside")).all()
        notes = set(session.scalars(select(SyncRecord.note).where(SyncRecord.id.in_(chosen))))
    assert billing_after == billing_before
    assert len(events) == 2 and {e.reason for e in events} == {"it was another customer's check"}
    assert {e.after["invoice_status"] for e in events} == set(billing_before.values())
    assert notes == {None}


def test_mark_paid_records_the_payments_date_amount_and_reference_seen_in_quickbooks(demo_factory, problem_book):
    from datetime import date
    from decimal import Decimal

    from qbcore.problems.actions import OutsidePayment

    one = problem_book.chassis[:1]
    with demo_factory() as session:
        total = session.scalar(select(Invoice.total).join(SyncRecord, SyncRecord.entity_id == Invoice.id)
                               .where(SyncRecord.id == one[0]))
    paid = OutsidePayment(paid_on=date(2026, 11, 20), amount=Decimal(str(total)), reference=" CHK  4411 ")
    with transaction(demo_factory) as session:
        mark_invoices_paid_outside(session, OPERATOR, one, reason="seen in QuickBooks", payment=paid)
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "mark_invoice_paid_outside"))
        note = session.get(SyncRecord, one[0]).note
    assert event.after["payment"] == {"paid_on": "2026-11-20", "amount": f"{Decimal(str(total)):.2f}",
                                      "reference": "CHK 4411"}
    assert note == f"Paid in QuickBooks on 2026-11-20 · ${Decimal(str(total)):,.2f} · reference CHK 4411"


@pytest.mark.parametrize(("payment", "pick", "why"), [
    (dict(paid_on="future"), 1, "in the future"),
    (dict(amount="0"), 1, "more than"),
    (dict(amount="too_much"), 1, "at most the invoice's"),
    (dict(amount="1.00"), 2, "one invoice at a time"),
    (dict(reference="x" * 41), 1, "at most 40 characters"),
])
def test_payment_details_that_do_not_hold_together_are_refused_and_nothing_changes(
    demo_factory, problem_book, payment, pick, why
):
    from datetime import date, timedelta
    from decimal import Decimal

    from qbcore.problems.actions import OutsidePayment, PaymentDetailsRefused

    chosen = problem_book.chassis[:pick]
    values = dict(payment)
    if values.get("paid_on") == "future":
        values["paid_on"] = date.today() + timedelta(days=5)
    if values.get("amount") == "too_much":
        values["amount"] = "99999999.00"
    if "amount" in values:
        values["amount"] = Decimal(values["amount"])
    with pytest.raises(PaymentDetailsRefused, match=why), transaction(demo_factory) as session:
        mark_invoices_paid_outside(session, OPERATOR, chosen, reason="r", payment=OutsidePayment(**values))
    with demo_factory() as session:
        assert set(_statuses(session, chosen).values()) == {SyncStatus.FAILED.value}
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "mark_invoice_paid_outside")) is None


def test_a_credit_application_resync_is_labelled_in_peoples_words(demo_factory):
    from tests.qbcore.problems.problem_data import seed_every_entity

    with transaction(demo_factory) as session:
        seeded = seed_every_entity(session)
    with transaction(demo_factory) as session:
        picked = resync_problems(session, OPERATOR, EntityType.CREDIT_APPLICATION, seeded.credit_applications[:1])
        matching = resync_problems(session, OPERATOR, EntityType.CREDIT_APPLICATION, ProblemFilter())
    with demo_factory() as session:
        assert session.get(Job, picked.id).params["label"] == "Resync 1 credit application (selected)"
        stored = session.get(Job, matching.id)
    assert stored.params["label"] == "Resync all matching credit application problems"
    assert sorted(stored.params["record_ids"]) == sorted(seeded.credit_applications)  # the pending one too
