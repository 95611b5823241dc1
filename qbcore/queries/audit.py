"""Read-only views of the audit log: who did what, when, to which record; filtered in SQL, exported safely.

Some events name their record by an internal id (QuickBooks id removals and overrides, customer names); the log
shows and searches them by the record's number or name, as every other page does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import has_several_companies, list_companies
from qbcore.export import safe_csv_bytes
from qbcore.labels import AUDIT_ACTION, OUTCOME, ROLE, label, label_entity
from qbcore.models import AuditEvent, Customer, Invoice
from qbcore.queries.ids import record_names

PAGE_LIMIT = 2000
# The same headers on screen and in the CSV.
COLUMNS = ["When (UTC)", "Who", "Role", "What", "Outcome", "Record", "Reason", "Before", "After"]
COMPANY_COLUMN = "Company"  # shown after Record when there are several QuickBooks companies
# Events whose target_id is a sync record's internal id.
RECORD_ID_ACTIONS = ("remove_qbo_id", "override_qbo_id")


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show: by who, what, outcome, a date range (UTC days) and free text."""

    actors: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    search: str = ""
    company_id: int | None = None  # None = every company (and the events that concern none)


def _text_matches(pattern: str) -> ColumnElement[bool]:
    """The event names, or is about a record whose number, name or customer contains the text."""
    names = record_names()
    records = select(cast(names.c.record_id, String(20))).where(or_(
        func.lower(names.c.number_or_name).like(pattern),
        func.lower(func.coalesce(names.c.customer, "")).like(pattern)))
    customers = select(cast(Customer.id, String(20))).where(or_(
        func.lower(Customer.name).like(pattern),
        func.lower(func.coalesce(Customer.qbo_display_name, "")).like(pattern)))
    invoices_of = (select(Invoice.number).join(Customer, Customer.id == Invoice.customer_id)
                   .where(func.lower(Customer.name).like(pattern)))
    return or_(
        func.lower(func.coalesce(AuditEvent.target_id, "")).like(pattern),
        func.lower(func.coalesce(AuditEvent.reason, "")).like(pattern),
        func.lower(AuditEvent.actor).like(pattern),
        and_(AuditEvent.action.in_(RECORD_ID_ACTIONS), AuditEvent.target_id.in_(records)),
        and_(AuditEvent.target_type == "customer", AuditEvent.target_id.in_(customers)),
        and_(AuditEvent.target_type == "invoice", AuditEvent.target_id.in_(invoices_of)),
    )


def _where(query: Select[*tuple[Any, ...]], flt: AuditFilter) -> Select[*tuple[Any, ...]]:
    if flt.actors:
        query = query.where(AuditEvent.actor.in_(flt.actors))
    if flt.actions:
        query = query.where(AuditEvent.action.in_(flt.actions))
    if flt.outcomes:
        query = query.where(AuditEvent.outcome.in_(flt.outcomes))
    if flt.since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(flt.since, time.min, tzinfo=UTC))
    if flt.until is not None:
        query = query.where(AuditEvent.at < datetime.combine(flt.until + timedelta(days=1), time.min, tzinfo=UTC))
    if flt.company_id is not None:
        query = query.where(AuditEvent.company_id == flt.company_id)
    text = flt.search.strip().lower()
    if text:
        query = query.where(_text_matches(f"%{text}%"))
    return query


def list_audit_actors(session: Session) -> list[str]:
    """Everyone who appears in the log."""
    return list(session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)))


def list_audit_actions(session: Session) -> list[str]:
    """Every action that appears in the log."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def action_label(action: str) -> str:
    """What an audit action is called on the page and in the CSV."""
    return label(AUDIT_ACTION, action)


def count_audit_events(session: Session, flt: AuditFilter) -> int:
    """How many events match."""
    return session.scalar(_where(select(func.count()).select_from(AuditEvent), flt)) or 0


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, default=str)


def _in_chunks(session: Session, query: Any, column: Any, ids: Iterable[Any]) -> list[Any]:
    wanted = sorted(set(ids))
    rows: list[Any] = []
    for chunk in chunked(wanted, SQL_IN_CHUNK):
        rows.extend(session.execute(query.where(column.in_(chunk))).all())
    return rows


def _record_labels(session: Session, events: list[AuditEvent]) -> dict[int, str]:
    """Event id → the record as people name it, for events that store an internal id."""
    record_ids = {int(target) for e in events
                  if e.action in RECORD_ID_ACTIONS and (target := e.target_id or "").isdigit()}
    customer_ids = {int(target) for e in events
                    if e.target_type == "customer" and (target := e.target_id or "").isdigit()}
    names = record_names()
    by_record = {rid: (etype, name, customer) for rid, etype, name, customer in _in_chunks(
        session, select(names.c.record_id, names.c.entity_type, names.c.number_or_name, names.c.customer),
        names.c.record_id, record_ids)}
    by_customer = dict(_in_chunks(session, select(Customer.id, Customer.name), Customer.id, customer_ids))
    labels: dict[int, str] = {}
    for event in events:
        target = event.target_id or ""
        if event.action in RECORD_ID_ACTIONS and target.isdigit() and int(target) in by_record:
            etype, name, customer = by_record[int(target)]
            labels[event.id] = f"{label_entity(etype)} {name}" + (f" · {customer}" if customer else "")
        elif event.target_type == "customer" and target.isdigit() and int(target) in by_customer:
            labels[event.id] = f"Customer {by_customer[int(target)]}"
        elif event.target_type == "invoice" and target:
            labels[event.id] = f"Invoice {target}"
        elif event.target_type == "job" and target:
            labels[event.id] = f"Job #{target}"
    return labels


def _columns(session: Session) -> list[str]:
    """The page's and the CSV's headers: a Company column after Record only when there are several companies."""
    if not has_several_companies(session):
        return COLUMNS
    at = COLUMNS.index("Record") + 1
    return [*COLUMNS[:at], COMPANY_COLUMN, *COLUMNS[at:]]


def _rows(session: Session, flt: AuditFilter, limit: int | None, *, with_company: bool) -> list[list[Any]]:
    query = _where(select(AuditEvent), flt).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    events = list(session.scalars(query))
    labels = _record_labels(session, events)
    names = {c.id: c.name for c in list_companies(session)} if with_company else {}
    rows = []
    for e in events:
        row = [e.at, e.actor, label(ROLE, e.role), action_label(e.action), label(OUTCOME, e.outcome),
               labels.get(e.id, e.target_id or "")]
        if with_company:
            row.append(names.get(e.company_id or 0, ""))
        rows.append([*row, e.reason or "", _json(e.before), _json(e.after)])
    return rows


def list_audit_events(session: Session, flt: AuditFilter, *, limit: int = PAGE_LIMIT) -> pd.DataFrame:
    """The newest matching events (at most `limit`), before/after as JSON text."""
    columns = _columns(session)
    return pd.DataFrame(_rows(session, flt, limit, with_company=COMPANY_COLUMN in columns), columns=columns)


def audit_csv_bytes(session: Session, flt: AuditFilter) -> bytes:
    """Every matching event as a spreadsheet-safe CSV, with the page's headers and words."""
    columns = _columns(session)
    rows = _rows(session, flt, None, with_company=COMPANY_COLUMN in columns)
    for row in rows:
        row[0] = row[0].isoformat() if isinstance(row[0], datetime) else row[0]
    return safe_csv_bytes(columns, rows)
