"""What a problem filter selects: each tab's billing columns, and the SQL a filter becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, false, literal, null, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from qbcore.entities.payables import vendor_kind
from qbcore.entities.registry import PROBLEM_TABS, spec_for
from qbcore.entities.spec import EntitySpec
from qbcore.errors import ErrorKind
from qbcore.models import (
    PROBLEM_STATUSES,
    Company,
    Customer,
    EntityType,
    SyncRecord,
    SyncStatus,
    Vendor,
)

# The entities that have a Problem Sync tab, in tab order; list_problem_tabs keeps those switched on (what Home counts).
PROBLEM_ENTITIES = tuple(spec.entity_type for spec in PROBLEM_TABS)
# Statuses an invoice leaves the queue for by a deliberate action; shown only when asked for.
SET_ASIDE_STATUSES = (SyncStatus.CLEARED, SyncStatus.PAID_OUTSIDE)
# Statuses that carry an error, the ones root causes are made of.
ERROR_STATUSES = (SyncStatus.FAILED, SyncStatus.BLOCKED)
ERROR_STATUS_VALUES = tuple(s.value for s in ERROR_STATUSES)


@dataclass(frozen=True)
class _Source:
    """Where one entity's reference, customer or vendor, amount and date come from, and what to join to reach them."""

    model: Any
    reference: Any
    amount: Any
    record_date: Any
    date_is_timestamp: bool = False
    # The billing rows between the entity and its customer, as (model, ON clause); None: no customer (items).
    joins: tuple[tuple[Any, Any], ...] | None = ()
    customer_key: Any = None
    payee: bool = False  # its party is a vendor: vendor_key holds the vendor's id (None: it is the vendor)
    vendor_key: Any = None
    period: tuple[Any, Any] | None = None


def _source_of(spec: EntitySpec) -> _Source:
    tab, ledger = spec.problems, spec.ledger
    assert tab is not None
    return _Source(
        spec.model, tab.reference if tab.reference is not None else ledger and ledger.number,
        tab.amount if tab.amount is not None else ledger and ledger.amount,
        tab.record_date if tab.record_date is not None else ledger and ledger.day,
        tab.date_is_timestamp, tab.joins, tab.customer_key, tab.payee, tab.vendor_key, tab.period)


SOURCES: dict[EntityType, _Source] = {spec.entity_type: _source_of(spec) for spec in PROBLEM_TABS}


def has_set_aside(entity_type: EntityType) -> bool:
    """Whether its records can be cleared or marked paid without sync (and restored), so those statuses show."""
    tab = spec_for(entity_type).problems
    return tab is not None and tab.set_aside


def has_mark_paid(entity_type: EntityType) -> bool:
    """Whether Mark paid without sync applies: the billing row can be set paid (invoices; not bills, see payables)."""
    tab = spec_for(entity_type).problems
    return tab is not None and tab.mark_paid


def is_payee(entity_type: EntityType) -> bool:
    """Whether its rows name a vendor (payables) rather than a customer."""
    return SOURCES[entity_type].payee


@dataclass(frozen=True)
class CauseKey:
    """One root cause: what kind of error, QuickBooks' code, and the record blocking it (any may be None)."""

    error_kind: str | None
    error_code: str | None
    blocked_by: str | None
    # A group of records waiting for other records: any of these blocked_by values (then blocked_by is unused).
    blockers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProblemFilter:
    """What the user narrowed the list to; every field is applied in SQL."""

    statuses: tuple[SyncStatus, ...] = PROBLEM_STATUSES
    error_kinds: tuple[str, ...] = ()
    customer_ids: tuple[int, ...] = ()
    vendor_ids: tuple[int, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    search: str = ""
    cause: CauseKey | None = None
    blocked_by: str = ""  # exactly this blocker ("item:GENSET"), as an alert's link names it
    company_id: int | None = None  # one QuickBooks company's records; None: every company

    @property
    def amounts_reversed(self) -> bool:
        """True when the amount range runs backwards (from more than to), so nothing can match it."""
        return self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max


def customer_name(entity_type: EntityType) -> Any:
    """The customer column of a tab, or its vendor's name on a payables tab (empty text for records with neither)."""
    source = SOURCES[entity_type]
    if source.payee:
        return Vendor.name
    # Charge codes have no customer: the column stays empty rather than naming one.
    return literal("") if source.joins is None else Customer.name


def vendor_kind_of(entity_type: EntityType) -> Any:
    """What the tab's vendor is in words (driver, fleet owner, carrier); empty text on receivables tabs."""
    return vendor_kind() if SOURCES[entity_type].payee else literal("")


def period_of(entity_type: EntityType) -> tuple[Any, Any]:
    """The first and last day a record covers (a settlement's week), or two NULLs."""
    period = SOURCES[entity_type].period
    return period if period is not None else (null(), null())


def from_records(entity_type: EntityType, *columns: Any) -> Select[Any]:
    """A SELECT of sync records of one entity joined to its billing rows and customer."""
    return join_records(entity_type, *columns).where(SyncRecord.entity_type == entity_type.value)


def join_records(entity_type: EntityType, *columns: Any) -> Select[Any]:
    """from_records without its type filter, for records already chosen by id (the filter is then only a cost).

    SQLite, with no statistics, prefers a type index over a list of ids: the type filter made it walk the book.
    """
    source = SOURCES[entity_type]
    query = select(*columns).select_from(SyncRecord).join(source.model, source.model.id == SyncRecord.entity_id)
    for model, on in source.joins or ():
        query = query.join(model, on)
    if source.joins is not None and source.model is not Customer:
        query = query.join(Customer, Customer.id == source.customer_key)
    if source.payee and source.vendor_key is not None:
        query = query.join(Vendor, Vendor.id == source.vendor_key)
    return query


def company_name() -> Any:
    """The name of a sync record's company, as a column of any query over sync records."""
    return select(Company.name).where(Company.id == SyncRecord.company_id).scalar_subquery()


def _escape_like(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def matches_cause(cause: CauseKey) -> list[ColumnElement[bool]]:
    """The WHERE clauses selecting one root cause's records."""
    if cause.blockers:
        return [SyncRecord.error_kind == ErrorKind.DEPENDENCY.value, SyncRecord.blocked_by.in_(cause.blockers)]
    pairs: list[tuple[InstrumentedAttribute[Any], str | None]] = [
        (SyncRecord.error_kind, cause.error_kind), (SyncRecord.error_code, cause.error_code),
        (SyncRecord.blocked_by, cause.blocked_by),
    ]
    return [column.is_(None) if value is None else column == value for column, value in pairs]


def conditions(entity_type: EntityType, problem_filter: ProblemFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter on one tab."""
    source = SOURCES[entity_type]
    where: list[ColumnElement[bool]] = [SyncRecord.status.in_([s.value for s in problem_filter.statuses])]
    if problem_filter.company_id is not None:
        where.append(SyncRecord.company_id == problem_filter.company_id)
    if problem_filter.error_kinds:
        where.append(SyncRecord.error_kind.in_(problem_filter.error_kinds))
    if problem_filter.cause is not None:
        where.extend(matches_cause(problem_filter.cause))
    if problem_filter.customer_ids:
        # A record with no customer (a charge code) matches no customer filter.
        where.append(Customer.id.in_(problem_filter.customer_ids) if source.joins is not None else false())
    if problem_filter.vendor_ids:
        # A receivables record has no vendor, so it matches no vendor filter.
        where.append(Vendor.id.in_(problem_filter.vendor_ids) if source.payee else false())
    if problem_filter.date_from is not None:
        start: date | datetime = problem_filter.date_from
        if source.date_is_timestamp:
            start = datetime.combine(problem_filter.date_from, time.min, tzinfo=UTC)
        where.append(source.record_date >= start)
    if problem_filter.date_to is not None:
        if source.date_is_timestamp:
            end = datetime.combine(problem_filter.date_to + timedelta(days=1), time.min, tzinfo=UTC)
            where.append(source.record_date < end)
        else:
            where.append(source.record_date <= problem_filter.date_to)
    if problem_filter.amount_min is not None:
        where.append(source.amount >= problem_filter.amount_min)
    if problem_filter.amount_max is not None:
        where.append(source.amount <= problem_filter.amount_max)
    if problem_filter.blocked_by:
        where.append(SyncRecord.blocked_by == problem_filter.blocked_by)
    text = problem_filter.search.strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        where.append(or_(
            source.reference.ilike(pattern, escape="\\"),
            customer_name(entity_type).ilike(pattern, escape="\\"),
            SyncRecord.error_message.ilike(pattern, escape="\\"),
            SyncRecord.blocked_by.ilike(pattern, escape="\\"),
        ))
    return where


def select_problem_ids(entity_type: EntityType, problem_filter: ProblemFilter) -> Select[int]:
    """The SELECT of sync-record ids matching a filter, for bulk actions run inside the database."""
    return from_records(entity_type, SyncRecord.id).where(*conditions(entity_type, problem_filter))


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored moment as UTC (SQLite hands timestamps back naive; they were written as UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def to_money(value: Any) -> Decimal:
    """A sum or amount as dollars and cents (none as zero)."""
    if value.__class__ is Decimal:  # the usual case; str() and back again was a tenth of a 200,000-row export
        return value.quantize(_CENT)
    return Decimal(str(value or 0)).quantize(_CENT)


_CENT = Decimal("0.01")
