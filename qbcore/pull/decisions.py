"""What finance decides about pulled changes: accept or reject a proposed payment, resolve a drift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.models import Customer, Drift, Invoice, PulledPayment, PulledPaymentStatus, Role, utcnow
from qbcore.pull.apply import refresh_invoice_status
from qbcore.refusals import Refusal


class DecisionError(Refusal, ValueError):
    """The proposal or drift cannot be decided (unknown, or already decided)."""


@dataclass(frozen=True)
class ProposalRow:
    """A payment applied in QuickBooks, waiting for finance to accept or reject it."""

    id: int
    invoice_id: int
    invoice_number: str
    customer: str
    invoice_total: Decimal
    amount: Decimal
    qbo_payment_id: str
    reference: str | None
    txn_date: date | None
    detected_at: datetime


@dataclass(frozen=True)
class DriftRow:
    """An open drift, for lists."""

    id: int
    entity_type: str
    entity_id: int | None
    qbo_id: str
    kind: str
    summary: str
    detected_at: datetime


def list_proposals(session: Session, limit: int = 2000) -> list[ProposalRow]:
    """Pending proposals, oldest first."""
    rows = session.execute(
        select(PulledPayment, Invoice.number, Invoice.total, Customer.name)
        .join(Invoice, Invoice.id == PulledPayment.invoice_id).join(Customer, Customer.id == Invoice.customer_id)
        .where(PulledPayment.status == PulledPaymentStatus.PROPOSED.value).order_by(PulledPayment.id).limit(limit)
    ).all()
    return [ProposalRow(p.id, p.invoice_id, number, customer, total, p.amount, p.qbo_payment_id, p.reference,
                        p.txn_date, p.detected_at) for p, number, total, customer in rows]


def list_open_drifts(session: Session, limit: int = 2000) -> list[DriftRow]:
    """Unresolved drift, newest first."""
    drifts = session.scalars(select(Drift).where(Drift.resolved_at.is_(None)).order_by(Drift.id.desc()).limit(limit))
    return [DriftRow(d.id, d.entity_type, d.entity_id, d.qbo_id, d.kind, d.summary, d.detected_at) for d in drifts]


def _proposal(session: Session, proposal_id: int) -> PulledPayment:
    pulled = session.get(PulledPayment, proposal_id)
    if pulled is None or pulled.status != PulledPaymentStatus.PROPOSED.value:
        raise DecisionError(f"proposal {proposal_id} is not pending (already decided, or unknown)")
    return pulled


def accept_proposal(session: Session, actor: Actor, proposal_id: int) -> PulledPayment:
    """Apply a proposed payment to its invoice (operator); audited."""
    require_role(actor, Role.OPERATOR, "accept_pulled_payment", session=session)
    pulled = _proposal(session, proposal_id)
    pulled.status = PulledPaymentStatus.APPLIED
    pulled.applied_at = pulled.decided_at = utcnow()
    pulled.decided_by = actor.email
    session.flush()
    change = refresh_invoice_status(session, pulled.invoice_id)
    write_audit(session, actor, "accept_pulled_payment", target_type="invoice", target_id=pulled.invoice_id,
                before={"status": change[0]} if change else None,
                after={"qbo_payment_id": pulled.qbo_payment_id, "amount": str(pulled.amount),
                       "status": change[1] if change else None})
    return pulled


def reject_proposal(session: Session, actor: Actor, proposal_id: int, *, reason: str | None = None) -> PulledPayment:
    """Leave the invoice as it is and never propose this payment again (operator); audited."""
    require_role(actor, Role.OPERATOR, "reject_pulled_payment", session=session)
    pulled = _proposal(session, proposal_id)
    pulled.status = PulledPaymentStatus.REJECTED
    pulled.decided_at = utcnow()
    pulled.decided_by = actor.email
    write_audit(session, actor, "reject_pulled_payment", target_type="invoice", target_id=pulled.invoice_id,
                after={"qbo_payment_id": pulled.qbo_payment_id, "amount": str(pulled.amount)}, reason=reason)
    return pulled


def resolve_drift(session: Session, actor: Actor, drift_id: int, *, reason: str | None = None) -> Drift:
    """Mark a drift handled (operator); audited."""
    require_role(actor, Role.OPERATOR, "resolve_drift", session=session)
    drift = session.get(Drift, drift_id)
    if drift is None or drift.resolved_at is not None:
        raise DecisionError(f"drift {drift_id} is not open")
    drift.resolved_at = utcnow()
    drift.resolved_by = actor.email
    write_audit(session, actor, "resolve_drift", target_type=drift.entity_type, target_id=drift.entity_id,
                before={"kind": drift.kind, "summary": drift.summary}, reason=reason)
    return drift
