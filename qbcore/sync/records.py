"""Sync records: one per billing record and QuickBooks company it goes to, created in bulk where missing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, literal, or_, select, true, update
from sqlalchemy.orm import Session

from qbcore.db import rows_changed
from qbcore.entities.registry import ENTITIES
from qbcore.errors import ErrorKind
from qbcore.models import Company, SyncRecord, SyncStatus


def ensure_sync_records(session: Session, *, derived_only: bool = False) -> int:
    """Insert a never-synced record for every billing record (in each company it goes to) that has none.

    derived_only: only the rows the console derives (a settlement's bills per payee, and their payments), as a
    sync does before it picks what to send, so a change of routing or a newly finalized split is billed.
    """
    added = 0
    model: Any
    derived = {spec.model for spec in ENTITIES if spec.derive_rows is not None}
    for spec in ENTITIES:
        if derived_only and spec.model not in derived:
            continue
        entity_type, model = spec.entity_type, spec.model
        if spec.derive_rows is not None:
            spec.derive_rows(session)
        route = spec.company_route() if spec.company_route is not None else true()
        same = and_(SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id == model.id)
        # A document that already has a record keeps it, in its company, even after its customer moved away.
        existing = and_(same, SyncRecord.company_id == Company.id) if spec.linked_in_each_company else same
        missing = (
            select(Company.id, literal(entity_type.value), model.id, literal(SyncStatus.NEVER_SYNCED.value),
                   literal(0))
            .select_from(model).join(Company, route)
            .where(~select(SyncRecord.id).where(existing).exists(), *spec.syncs_only)
            # Records numbered in billing order, company by company, whatever plan the database picks for the join.
            .order_by(Company.id, model.id)
        )
        result = session.execute(
            insert(SyncRecord).from_select(["company_id", "entity_type", "entity_id", "status", "attempts"], missing)
        )
        added += rows_changed(result)
    return added


# QuickBooks answered these with a refusal, so nothing was created there: such a record may still change company.
_REFUSED = (ErrorKind.AUTH, ErrorKind.VALIDATION, ErrorKind.DUPLICATE, ErrorKind.THROTTLED, ErrorKind.DEPENDENCY,
            ErrorKind.CLOSED_PERIOD, ErrorKind.MAPPING)
# Someone set these aside: they stay as they are.
_SET_ASIDE = (SyncStatus.CLEARED.value, SyncStatus.PAID_OUTSIDE.value, SyncStatus.REMOVED.value)


def may_change_company() -> ColumnElement[bool]:
    """Records that can go to another company without risk of a twin: not in QuickBooks, never possibly created.

    A record sent once whose answer never came (a timeout, a server error, an unreadable answer) may exist in its
    company already: it stays there, where the next sync finds and links it.
    """
    return and_(SyncRecord.qbo_id.is_(None), SyncRecord.status.not_in(_SET_ASIDE),
                or_(SyncRecord.request_id.is_(None), SyncRecord.error_kind.in_([k.value for k in _REFUSED])))


# What a record's attempts in its old company leave behind, cleared when it changes company.
FRESH_IN_NEW_COMPANY: dict[str, Any] = {
    "request_id": None, "attempts": 0, "first_failed_at": None, "error_kind": None, "error_code": None,
    "error_message": None, "error_detail": None, "blocked_by": None, "status": SyncStatus.NEVER_SYNCED.value,
}


def reroute_open_records(session: Session) -> int:
    """Send the open documents whose route changed (a pay function moved) to their new company; returns how many.

    Name-list records (vendors, customers, items) left without a route and never linked are dropped; each company
    they are now routed to gets its own by ensure_sync_records.
    """
    moved = 0
    model: Any
    for spec in ENTITIES:
        if spec.company_route is None:
            continue
        model = spec.model
        routed = select(Company.id).select_from(model).join(Company, spec.company_route()).where(
            model.id == SyncRecord.entity_id)
        if spec.linked_in_each_company:
            still = routed.where(Company.id == SyncRecord.company_id).exists()
            result = session.execute(delete(SyncRecord).where(
                SyncRecord.entity_type == spec.entity_type.value, may_change_company(), ~still)
                .execution_options(synchronize_session=False))
        else:
            target = routed.order_by(Company.id).limit(1).scalar_subquery()
            result = session.execute(update(SyncRecord).where(
                SyncRecord.entity_type == spec.entity_type.value, may_change_company(),
                SyncRecord.company_id != func.coalesce(target, SyncRecord.company_id))
                .values(company_id=target, **FRESH_IN_NEW_COMPANY).execution_options(synchronize_session=False))
        moved += rows_changed(result)
    return moved
