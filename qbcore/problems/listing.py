"""The problem list: windowed rows, counts and dollars, one record's detail, and the filters' choices."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.entities.payables import vendor_kind
from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.models import (
    PROBLEM_STATUSES,
    Customer,
    EntityType,
    SyncAttempt,
    SyncRecord,
    SyncStatus,
    Vendor,
)
from qbcore.problems.causes import (
    fix_hint_for,
)
from qbcore.problems.filters import (
    PROBLEM_ENTITIES,
    SET_ASIDE_STATUSES,
    SOURCES,
    ProblemFilter,
    as_utc,
    company_name,
    conditions,
    customer_name,
    from_records,
    has_set_aside,
    join_records,
    period_of,
    to_money,
    vendor_kind_of,
)
from qbcore.problems.masking import mask_secrets
from qbcore.pull.bill_payments import BILL_KINDS, paid_on_rows
from qbcore.settings import load_settings

PAGE_SIZE = 500
EXPORT_BATCH = 2000


class ProblemSort(StrEnum):
    """Orders the problem list can be shown in."""

    OLDEST_FIRST = "Oldest problem first"
    NEWEST_ATTEMPT = "Newest attempt first"
    LARGEST_AMOUNT = "Largest amount first"
    REFERENCE = "Reference #"


# Not frozen, but slotted: a frozen dataclass sets each field through object.__setattr__, and building the rows was a
# tenth of a 200,000-row export. Nothing changes a row once made; dataclasses.replace makes a new one.
@dataclass(slots=True)
class ProblemRow:
    """One row of the problem list, as the grid and the CSV show it."""

    record_id: int
    entity_id: int
    reference: str
    customer: str  # the customer's name, or the vendor's on a payables tab
    amount: Decimal | None
    record_date: date | None
    status: SyncStatus
    error_kind: str | None
    error_code: str | None
    error_message: str | None
    fix_hint: str
    blocked_by: str | None
    attempts: int
    first_failed_at: datetime | None
    last_attempt_at: datetime | None
    qbo_id: str | None
    open_days: int | None
    vendor_kind: str = ""  # payables: "Driver", "Fleet owner", "Carrier" (empty on receivables tabs)
    period_start: date | None = None  # a settlement's week
    period_end: date | None = None
    company: str = ""  # the QuickBooks company the record goes to
    company_id: int = 0
    paid_in_qbo: Decimal | None = None  # a bill's payments entered in QuickBooks (None: none, or not a bill)

    @property
    def period(self) -> str:
        """"2026-11-02 to 2026-11-08", or empty text when the record covers no period."""
        if self.period_start is None or self.period_end is None:
            return ""
        return f"{self.period_start.isoformat()} to {self.period_end.isoformat()}"


@dataclass(frozen=True)
class ProblemPage:
    """One window of the filtered list, with the size and dollars of the whole filtered set."""

    rows: list[ProblemRow]
    total: int
    amount: Decimal
    page: int
    page_count: int


@dataclass(frozen=True)
class StatusCount:
    """How many records are in one status, and their dollars."""

    status: SyncStatus
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ProblemSummary:
    """One tab's headline: counts and dollars by status over the whole queue."""

    entity_type: EntityType
    by_status: dict[SyncStatus, StatusCount]
    count: int
    amount: Decimal
    company_id: int | None = None  # the company it counts (None: every company)


@dataclass(frozen=True)
class SelectionSummary:
    """What an action is about to touch: how many records and their dollars."""

    count: int
    amount: Decimal


@dataclass(frozen=True)
class AttemptRow:
    """One past push of a record."""

    at: datetime
    outcome: str
    error_kind: str | None
    error_code: str | None
    message: str | None
    request_id: str | None
    job_id: int | None


@dataclass(frozen=True)
class ProblemDetail:
    """Everything known about one problem record, with secrets masked."""

    row: ProblemRow
    request_id: str | None
    error_detail: str | None
    last_request: str | None
    last_response: str | None
    note: str | None
    attempts: list[AttemptRow] = field(default_factory=list)


def _row_columns(entity_type: EntityType) -> list[Any]:
    source = SOURCES[entity_type]
    return [
        SyncRecord.id, SyncRecord.entity_id, source.reference.label("reference"),
        customer_name(entity_type).label("customer"),
        source.amount.label("amount"), source.record_date.label("record_date"), SyncRecord.status,
        SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.error_message, SyncRecord.blocked_by,
        SyncRecord.attempts, SyncRecord.first_failed_at, SyncRecord.last_attempt_at, SyncRecord.qbo_id,
        vendor_kind_of(entity_type).label("vendor_kind"), *period_of(entity_type), company_name().label("company"),
        SyncRecord.company_id,
    ]


def _order(entity_type: EntityType, sort: ProblemSort) -> list[Any]:
    source = SOURCES[entity_type]
    if sort is ProblemSort.NEWEST_ATTEMPT:
        return [SyncRecord.last_attempt_at.desc().nulls_last(), SyncRecord.id]
    if sort is ProblemSort.LARGEST_AMOUNT:
        return [source.amount.desc(), SyncRecord.id]
    if sort is ProblemSort.REFERENCE:
        return [source.reference, SyncRecord.id]
    # Oldest first: failures by when they first failed, never-synced records by their own date.
    return [SyncRecord.first_failed_at.asc().nulls_last(), source.record_date, SyncRecord.id]


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


# SyncStatus(value) goes through Enum's machinery: 6 µs a call, over a second of a 200,000-row export.
_STATUS_OF = {status.value: status for status in SyncStatus}

# The hint depends only on these four values, and a queue of 200,000 problems holds a few dozen combinations.
_fix_hint = lru_cache(maxsize=4096)(fix_hint_for)


def _to_row(entity_type: EntityType, values: Any, today: date) -> ProblemRow:
    (record_id, entity_id, reference, customer, amount, record_date, status, kind, code, message, blocked_by,
     attempts, first_failed_at, last_attempt_at, qbo_id, kind_of_vendor, period_start, period_end, company,
     company_id) = values
    first_failed_at = as_utc(first_failed_at)
    record_date = _as_date(record_date)
    opened = first_failed_at.date() if first_failed_at else record_date
    return ProblemRow(
        record_id=record_id, entity_id=entity_id, reference=reference, customer=customer,
        amount=None if amount is None else to_money(amount), record_date=record_date,
        status=_STATUS_OF.get(status) or SyncStatus(status),
        error_kind=kind, error_code=code, error_message=message,
        fix_hint=_fix_hint(kind, code, blocked_by, entity_type) if kind else "",
        blocked_by=blocked_by, attempts=attempts or 0, first_failed_at=first_failed_at,
        last_attempt_at=as_utc(last_attempt_at), qbo_id=qbo_id,
        open_days=None if opened is None else max(0, (today - opened).days),
        vendor_kind=kind_of_vendor or "", period_start=_as_date(period_start), period_end=_as_date(period_end),
        company=company or "", company_id=company_id,
    )


def has_paid_in_quickbooks(entity_type: EntityType) -> bool:
    """True on a bill tab (settlements, carrier bills): its rows show what was paid on them in QuickBooks."""
    return entity_type in BILL_KINDS


def _with_paid_in_quickbooks(session: Session, entity_type: EntityType, rows: list[ProblemRow]) -> list[ProblemRow]:
    """A bill tab's rows with what bill payments entered in QuickBooks paid on each (the QuickBooks IDs grid's)."""
    if not has_paid_in_quickbooks(entity_type) or not rows:
        return rows
    paid = paid_on_rows(session, [(entity_type.value, r.company_id, r.entity_id) for r in rows])
    return [row if amount is None else replace(row, paid_in_qbo=amount) for row, amount in zip(rows, paid, strict=True)]


# ---- reading ---------------------------------------------------------------------------------------------------


def count_matching(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> SelectionSummary:
    """How many records match the filter, and their dollars."""
    source = SOURCES[entity_type]
    count, amount = session.execute(
        from_records(entity_type, func.count(SyncRecord.id), func.sum(source.amount))
        .where(*conditions(entity_type, problem_filter))
    ).one()
    return SelectionSummary(count=count or 0, amount=to_money(amount))


def _matching_from(summary: ProblemSummary | None, entity_type: EntityType,
                   problem_filter: ProblemFilter) -> SelectionSummary | None:
    """The filtered set's size and dollars read off the tab's headline, when the filter narrows by status alone."""
    if summary is None or summary.entity_type is not entity_type or summary.company_id != problem_filter.company_id:
        return None
    statuses = set(problem_filter.statuses)
    if (replace(problem_filter, statuses=PROBLEM_STATUSES) != ProblemFilter(company_id=problem_filter.company_id)
            or not statuses <= set(summary.by_status)):
        return None
    counts = [summary.by_status[status] for status in statuses]
    return SelectionSummary(count=sum(c.count for c in counts), amount=sum((c.amount for c in counts), Decimal("0.00")))


def list_problems(
    session: Session,
    entity_type: EntityType,
    problem_filter: ProblemFilter,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    sort: ProblemSort = ProblemSort.OLDEST_FIRST,
    today: date | None = None,
    summary: ProblemSummary | None = None,
) -> ProblemPage:
    """One page of the filtered problem list (windowed in SQL) with the filtered set's size and dollars.

    A summary of the tab read just before (its headline) gives the size and dollars of a list narrowed by status
    alone, so they are not counted twice: at 200,000 problems each count is a pass over every one of them.
    """
    matching = _matching_from(summary, entity_type, problem_filter) or count_matching(session, entity_type,
                                                                                      problem_filter)
    page_count = max(1, -(-matching.count // page_size))
    page = min(max(1, page), page_count)
    # The window is chosen on the sort keys alone, then its rows are read: sorting every match carried every
    # column of every one (names, messages, the company) through the sort, and the keys come from an index.
    window = (
        from_records(entity_type, SyncRecord.id)
        .where(*conditions(entity_type, problem_filter))
        .order_by(*_order(entity_type, sort))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    query = (
        join_records(entity_type, *_row_columns(entity_type))
        .where(SyncRecord.id.in_(window.scalar_subquery()))
        .order_by(*_order(entity_type, sort))
    )
    today = today or datetime.now(UTC).date()
    rows = _with_paid_in_quickbooks(session, entity_type,
                                    [_to_row(entity_type, values, today) for values in session.execute(query)])
    return ProblemPage(rows=rows, total=matching.count, amount=matching.amount, page=page, page_count=page_count)


def iter_problems(
    session: Session, entity_type: EntityType, problem_filter: ProblemFilter, *,
    sort: ProblemSort = ProblemSort.OLDEST_FIRST, today: date | None = None,
) -> Iterator[ProblemRow]:
    """Every matching row, streamed in batches (for exports)."""
    query = (
        from_records(entity_type, *_row_columns(entity_type))
        .where(*conditions(entity_type, problem_filter))
        .order_by(*_order(entity_type, sort))
    )
    today = today or datetime.now(UTC).date()
    # Plain columns, so Core runs it: the ORM's per-row loading was a fifth of a 200,000-row export.
    result = session.connection().execution_options(yield_per=EXPORT_BATCH).execute(query)
    for batch in result.partitions():
        # A bill tab asks for the batch's payments between batches; the export's cursor stays open meanwhile.
        yield from _with_paid_in_quickbooks(session, entity_type, [_to_row(entity_type, v, today) for v in batch])


def summarize_problems(session: Session, entity_type: EntityType, company_id: int | None = None) -> ProblemSummary:
    """Counts and dollars by status for one entity's queue (the tab headline), of one company or all (None)."""
    source = SOURCES[entity_type]
    statuses = PROBLEM_STATUSES + (SET_ASIDE_STATUSES if has_set_aside(entity_type) else ())
    rows = session.execute(
        from_records(entity_type, SyncRecord.status, func.count(SyncRecord.id), func.sum(source.amount))
        .where(SyncRecord.status.in_([s.value for s in statuses]), *_of_company(company_id))
        .group_by(SyncRecord.status)
    ).all()
    by_status = {s: StatusCount(s, 0, Decimal("0.00")) for s in statuses}
    for status, count, amount in rows:
        by_status[SyncStatus(status)] = StatusCount(SyncStatus(status), count, to_money(amount))
    queue = [by_status[s] for s in PROBLEM_STATUSES]
    return ProblemSummary(
        entity_type=entity_type, by_status=by_status, count=sum(c.count for c in queue),
        amount=sum((c.amount for c in queue), Decimal("0.00")), company_id=company_id,
    )


def summarize_records(session: Session, entity_type: EntityType, record_ids: Sequence[int]) -> SelectionSummary:
    """How many of these sync records exist for the entity, and their dollars."""
    source = SOURCES[entity_type]
    count, amount = 0, Decimal("0.00")
    ids = list(record_ids)
    for start in range(0, len(ids), 900):
        part_count, part_amount = session.execute(
            from_records(entity_type, func.count(SyncRecord.id), func.sum(source.amount))
            .where(SyncRecord.id.in_(ids[start:start + 900]))
        ).one()
        count += part_count or 0
        amount += to_money(part_amount)
    return SelectionSummary(count=count, amount=amount)


def list_error_kinds(session: Session, entity_type: EntityType, company_id: int | None = None) -> list[str]:
    """The error kinds present in one entity's queue (of one company, or all), for the filter's choices."""
    return list(session.scalars(
        select(SyncRecord.error_kind).distinct()
        .where(SyncRecord.entity_type == entity_type.value, SyncRecord.error_kind.is_not(None),
               *_of_company(company_id))
        .order_by(SyncRecord.error_kind)
    ))


def list_customer_choices(session: Session, company_id: int | None = None) -> list[tuple[int, str]]:
    """Every customer (of one company, or all) as (id, "CODE · Name"), for the customer filter."""
    query = select(Customer.id, Customer.code, Customer.name).order_by(Customer.name)
    if company_id is not None:
        query = query.where(Customer.company_id == company_id)
    return [(cid, f"{code} · {name}") for cid, code, name in session.execute(query)]


def _of_company(company_id: int | None) -> list[Any]:
    return [] if company_id is None else [SyncRecord.company_id == company_id]


def list_vendor_choices(session: Session) -> list[tuple[int, str]]:
    """Every vendor as (id, "Name · Driver"), for the vendor filter of the payables tabs."""
    return [(vid, f"{name} · {kind}" if kind else name) for vid, name, kind in
            session.execute(select(Vendor.id, Vendor.name, vendor_kind()).order_by(Vendor.name, Vendor.id))]


def list_problem_tabs(session: Session) -> list[EntityType]:
    """The Problem Sync tabs to show: every type with a tab whose sync is switched on (what Home counts).

    A type of rows the console derives (split bills, only where a settlement was split) shows once it has any.
    """
    settings = load_settings(session)
    return [entity for entity in PROBLEM_ENTITIES if spec_for(entity).is_enabled(settings)
            and (not _derived(entity) or session.scalar(select(SyncRecord.id).where(
                SyncRecord.entity_type == entity.value).limit(1)) is not None)]


def _derived(entity_type: EntityType) -> bool:
    model = spec_for(entity_type).model
    return any(spec.derive_rows is not None and spec.model is model for spec in ENTITIES)


def get_last_sync_time(session: Session) -> datetime | None:
    """When anything last reached QuickBooks."""
    return as_utc(session.scalar(select(func.max(SyncRecord.last_synced_at))))


def get_problem_detail(session: Session, entity_type: EntityType, record_id: int) -> ProblemDetail | None:
    """One record's row, masked last request and response, and attempt history (newest first)."""
    values = session.execute(
        from_records(entity_type, *_row_columns(entity_type)).where(SyncRecord.id == record_id)
    ).first()
    if values is None:
        return None
    record = session.get(SyncRecord, record_id)
    assert record is not None
    attempts = [
        AttemptRow(at=as_utc(a.at) or a.at, outcome=a.outcome, error_kind=a.error_kind, error_code=a.error_code,
                   message=a.message, request_id=a.request_id, job_id=a.job_id)
        for a in session.scalars(
            select(SyncAttempt).where(SyncAttempt.sync_record_id == record_id)
            .order_by(SyncAttempt.at.desc(), SyncAttempt.id.desc()).limit(50)
        )
    ]
    return ProblemDetail(
        row=_to_row(entity_type, values, datetime.now(UTC).date()), request_id=record.request_id,
        error_detail=mask_secrets(record.error_detail), last_request=mask_secrets(record.last_request),
        last_response=mask_secrets(record.last_response), note=record.note, attempts=attempts,
    )
