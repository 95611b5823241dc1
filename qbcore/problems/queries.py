"""The problem list: filtered, windowed and summarised in SQL, one query per entity; also its CSV export."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from sqlalchemy import ColumnElement, Select, false, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from qbcore import labels
from qbcore.entities.registry import PROBLEM_TABS, spec_for
from qbcore.entities.spec import EntitySpec
from qbcore.errors import ErrorKind
from qbcore.export import safe_csv_bytes, write_safe_csv
from qbcore.models import (
    PROBLEM_STATUSES,
    Customer,
    EntityType,
    Setting,
    SyncAttempt,
    SyncRecord,
    SyncStatus,
)
from qbcore.problems.causes import (
    RootCause,
    describe_cause,
    describe_chain,
    describe_waiting,
    fix_hint_for,
    fix_link_for,
    make_root_cause,
    what_must_change,
)
from qbcore.pull.bookmark import CLOSE_DATE_KEY
from qbcore.sync.cascade import SETTINGS_KEY, blocker_fixed_at

# The entities the Problem Sync page has a tab for, in tab order: every type Home counts problems of.
PROBLEM_ENTITIES = tuple(spec.entity_type for spec in PROBLEM_TABS)
# Statuses an invoice leaves the queue for by a deliberate action; shown only when asked for.
SET_ASIDE_STATUSES = (SyncStatus.CLEARED, SyncStatus.PAID_OUTSIDE)
PAGE_SIZE = 500
# Statuses that carry an error, the ones root causes are made of.
_ERROR_STATUSES = (SyncStatus.FAILED, SyncStatus.BLOCKED)
_ERROR_STATUS_VALUES = tuple(s.value for s in _ERROR_STATUSES)


@dataclass(frozen=True)
class _Source:
    """Where one entity's reference, customer, amount and date come from, and what to join to reach them."""

    model: Any
    reference: Any
    amount: Any
    record_date: Any
    date_is_timestamp: bool = False
    # The billing rows between the entity and its customer, as (model, ON clause); None: no customer (items).
    joins: tuple[tuple[Any, Any], ...] | None = ()
    customer_key: Any = None


def _source_of(spec: EntitySpec) -> _Source:
    tab, ledger = spec.problems, spec.ledger
    assert tab is not None
    return _Source(
        spec.model, tab.reference if tab.reference is not None else ledger and ledger.number,
        tab.amount if tab.amount is not None else ledger and ledger.amount,
        tab.record_date if tab.record_date is not None else ledger and ledger.day,
        tab.date_is_timestamp, tab.joins, tab.customer_key)


_SOURCES: dict[EntityType, _Source] = {spec.entity_type: _source_of(spec) for spec in PROBLEM_TABS}


def has_set_aside(entity_type: EntityType) -> bool:
    """Whether its records can be cleared or marked paid without sync (and restored), so those statuses show."""
    tab = spec_for(entity_type).problems
    return tab is not None and tab.set_aside


@dataclass(frozen=True)
class CauseKey:
    """One root cause: what kind of error, QuickBooks' code, and the record blocking it (any may be None)."""

    error_kind: str | None
    error_code: str | None
    blocked_by: str | None
    # A group of records waiting for other records: any of these blocked_by values (then blocked_by is unused).
    blockers: tuple[str, ...] = ()


class ProblemSort(StrEnum):
    """Orders the problem list can be shown in."""

    OLDEST_FIRST = "Oldest problem first"
    NEWEST_ATTEMPT = "Newest attempt first"
    LARGEST_AMOUNT = "Largest amount first"
    REFERENCE = "Reference #"


@dataclass(frozen=True)
class ProblemFilter:
    """What the user narrowed the list to; every field is applied in SQL."""

    statuses: tuple[SyncStatus, ...] = PROBLEM_STATUSES
    error_kinds: tuple[str, ...] = ()
    customer_ids: tuple[int, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    search: str = ""
    cause: CauseKey | None = None
    blocked_by: str = ""  # exactly this blocker ("item:GENSET"), as an alert's link names it

    @property
    def amounts_reversed(self) -> bool:
        """True when the amount range runs backwards (from more than to), so nothing can match it."""
        return self.amount_min is not None and self.amount_max is not None and self.amount_min > self.amount_max


@dataclass(frozen=True)
class ProblemRow:
    """One row of the problem list, as the grid and the CSV show it."""

    record_id: int
    entity_id: int
    reference: str
    customer: str
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


# ---- building the SQL ----------------------------------------------------------------------------------------


def _customer_name(entity_type: EntityType) -> Any:
    # Charge codes have no customer: the column stays empty rather than naming one.
    return literal("") if _SOURCES[entity_type].joins is None else Customer.name


def _from_records(entity_type: EntityType, *columns: Any) -> Select[Any]:
    source = _SOURCES[entity_type]
    query = select(*columns).select_from(SyncRecord).join(source.model, source.model.id == SyncRecord.entity_id)
    for model, on in source.joins or ():
        query = query.join(model, on)
    if source.joins is not None and source.model is not Customer:
        query = query.join(Customer, Customer.id == source.customer_key)
    return query.where(SyncRecord.entity_type == entity_type.value)


def _escape_like(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def _matches_cause(cause: CauseKey) -> list[ColumnElement[bool]]:
    if cause.blockers:
        return [SyncRecord.error_kind == ErrorKind.DEPENDENCY.value, SyncRecord.blocked_by.in_(cause.blockers)]
    pairs: list[tuple[InstrumentedAttribute[Any], str | None]] = [
        (SyncRecord.error_kind, cause.error_kind), (SyncRecord.error_code, cause.error_code),
        (SyncRecord.blocked_by, cause.blocked_by),
    ]
    return [column.is_(None) if value is None else column == value for column, value in pairs]


def _conditions(entity_type: EntityType, problem_filter: ProblemFilter) -> list[ColumnElement[bool]]:
    source = _SOURCES[entity_type]
    where: list[ColumnElement[bool]] = [SyncRecord.status.in_([s.value for s in problem_filter.statuses])]
    if problem_filter.error_kinds:
        where.append(SyncRecord.error_kind.in_(problem_filter.error_kinds))
    if problem_filter.cause is not None:
        where.extend(_matches_cause(problem_filter.cause))
    if problem_filter.customer_ids:
        # A record with no customer (a charge code) matches no customer filter.
        where.append(Customer.id.in_(problem_filter.customer_ids) if source.joins is not None else false())
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
            _customer_name(entity_type).ilike(pattern, escape="\\"),
            SyncRecord.error_message.ilike(pattern, escape="\\"),
            SyncRecord.blocked_by.ilike(pattern, escape="\\"),
        ))
    return where


def select_problem_ids(entity_type: EntityType, problem_filter: ProblemFilter) -> Select[int]:
    """The SELECT of sync-record ids matching a filter, for bulk actions run inside the database."""
    return _from_records(entity_type, SyncRecord.id).where(*_conditions(entity_type, problem_filter))


def _row_columns(entity_type: EntityType) -> list[Any]:
    source = _SOURCES[entity_type]
    return [
        SyncRecord.id, SyncRecord.entity_id, source.reference.label("reference"),
        _customer_name(entity_type).label("customer"),
        source.amount.label("amount"), source.record_date.label("record_date"), SyncRecord.status,
        SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.error_message, SyncRecord.blocked_by,
        SyncRecord.attempts, SyncRecord.first_failed_at, SyncRecord.last_attempt_at, SyncRecord.qbo_id,
    ]


def _order(entity_type: EntityType, sort: ProblemSort) -> list[Any]:
    source = _SOURCES[entity_type]
    if sort is ProblemSort.NEWEST_ATTEMPT:
        return [SyncRecord.last_attempt_at.desc().nulls_last(), SyncRecord.id]
    if sort is ProblemSort.LARGEST_AMOUNT:
        return [source.amount.desc(), SyncRecord.id]
    if sort is ProblemSort.REFERENCE:
        return [source.reference, SyncRecord.id]
    # Oldest first: failures by when they first failed, never-synced records by their own date.
    return [SyncRecord.first_failed_at.asc().nulls_last(), source.record_date, SyncRecord.id]


def _as_utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive timestamps; they were written as UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _to_row(values: Any, today: date) -> ProblemRow:
    (record_id, entity_id, reference, customer, amount, record_date, status, kind, code, message, blocked_by,
     attempts, first_failed_at, last_attempt_at, qbo_id) = values
    first_failed_at = _as_utc(first_failed_at)
    record_date = _as_date(record_date)
    opened = first_failed_at.date() if first_failed_at else record_date
    return ProblemRow(
        record_id=record_id, entity_id=entity_id, reference=reference, customer=customer,
        amount=None if amount is None else _money(amount), record_date=record_date, status=SyncStatus(status),
        error_kind=kind, error_code=code, error_message=message,
        fix_hint=fix_hint_for(kind, code, blocked_by) if kind else "",
        blocked_by=blocked_by, attempts=attempts or 0, first_failed_at=first_failed_at,
        last_attempt_at=_as_utc(last_attempt_at), qbo_id=qbo_id,
        open_days=None if opened is None else max(0, (today - opened).days),
    )


# ---- reading ---------------------------------------------------------------------------------------------------


def count_matching(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> SelectionSummary:
    """How many records match the filter, and their dollars."""
    source = _SOURCES[entity_type]
    count, amount = session.execute(
        _from_records(entity_type, func.count(SyncRecord.id), func.sum(source.amount))
        .where(*_conditions(entity_type, problem_filter))
    ).one()
    return SelectionSummary(count=count or 0, amount=_money(amount))


def list_problems(
    session: Session,
    entity_type: EntityType,
    problem_filter: ProblemFilter,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    sort: ProblemSort = ProblemSort.OLDEST_FIRST,
    today: date | None = None,
) -> ProblemPage:
    """One page of the filtered problem list (windowed in SQL) with the filtered set's size and dollars."""
    matching = count_matching(session, entity_type, problem_filter)
    page_count = max(1, -(-matching.count // page_size))
    page = min(max(1, page), page_count)
    query = (
        _from_records(entity_type, *_row_columns(entity_type))
        .where(*_conditions(entity_type, problem_filter))
        .order_by(*_order(entity_type, sort))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    today = today or datetime.now(UTC).date()
    rows = [_to_row(values, today) for values in session.execute(query)]
    return ProblemPage(rows=rows, total=matching.count, amount=matching.amount, page=page, page_count=page_count)


def iter_problems(
    session: Session, entity_type: EntityType, problem_filter: ProblemFilter, *,
    sort: ProblemSort = ProblemSort.OLDEST_FIRST, today: date | None = None,
) -> Iterator[ProblemRow]:
    """Every matching row, streamed in batches (for exports)."""
    query = (
        _from_records(entity_type, *_row_columns(entity_type))
        .where(*_conditions(entity_type, problem_filter))
        .order_by(*_order(entity_type, sort))
        .execution_options(yield_per=2000)
    )
    today = today or datetime.now(UTC).date()
    for values in session.execute(query):
        yield _to_row(values, today)


def summarize_problems(session: Session, entity_type: EntityType) -> ProblemSummary:
    """Counts and dollars by status for one entity's queue (the tab headline)."""
    source = _SOURCES[entity_type]
    statuses = PROBLEM_STATUSES + (SET_ASIDE_STATUSES if has_set_aside(entity_type) else ())
    rows = session.execute(
        _from_records(entity_type, SyncRecord.status, func.count(SyncRecord.id), func.sum(source.amount))
        .where(SyncRecord.status.in_([s.value for s in statuses]))
        .group_by(SyncRecord.status)
    ).all()
    by_status = {s: StatusCount(s, 0, Decimal("0.00")) for s in statuses}
    for status, count, amount in rows:
        by_status[SyncStatus(status)] = StatusCount(SyncStatus(status), count, _money(amount))
    queue = [by_status[s] for s in PROBLEM_STATUSES]
    return ProblemSummary(
        entity_type=entity_type, by_status=by_status, count=sum(c.count for c in queue),
        amount=sum((c.amount for c in queue), Decimal("0.00")),
    )


def summarize_records(session: Session, entity_type: EntityType, record_ids: Sequence[int]) -> SelectionSummary:
    """How many of these sync records exist for the entity, and their dollars."""
    source = _SOURCES[entity_type]
    count, amount = 0, Decimal("0.00")
    ids = list(record_ids)
    for start in range(0, len(ids), 900):
        part_count, part_amount = session.execute(
            _from_records(entity_type, func.count(SyncRecord.id), func.sum(source.amount))
            .where(SyncRecord.id.in_(ids[start:start + 900]))
        ).one()
        count += part_count or 0
        amount += _money(part_amount)
    return SelectionSummary(count=count, amount=amount)


def list_error_kinds(session: Session, entity_type: EntityType) -> list[str]:
    """The error kinds present in one entity's queue, for the filter's choices."""
    return list(session.scalars(
        select(SyncRecord.error_kind).distinct()
        .where(SyncRecord.entity_type == entity_type.value, SyncRecord.error_kind.is_not(None))
        .order_by(SyncRecord.error_kind)
    ))


def list_customer_choices(session: Session) -> list[tuple[int, str]]:
    """Every customer as (id, "CODE · Name"), for the customer filter."""
    return [(cid, f"{code} · {name}") for cid, code, name in
            session.execute(select(Customer.id, Customer.code, Customer.name).order_by(Customer.name))]


def get_last_sync_time(session: Session) -> datetime | None:
    """When anything last reached QuickBooks."""
    return _as_utc(session.scalar(select(func.max(SyncRecord.last_synced_at))))


# Things in stored requests/responses that must never reach a screen, even if the engine missed them.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1[hidden]"),
    (re.compile(r"(?i)(\"?(?:access_token|refresh_token|id_token|client_secret|authorization|password)\"?\s*[:=]\s*)"
                r"(\"[^\"]*\"|[^\s,&}]+)"), r'\1"[hidden]"'),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), "[hidden token]"),
)


def mask_secrets(text: str | None) -> str | None:
    """The text with anything that looks like a token or password replaced."""
    if text is None:
        return None
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def get_problem_detail(session: Session, entity_type: EntityType, record_id: int) -> ProblemDetail | None:
    """One record's row, masked last request and response, and attempt history (newest first)."""
    values = session.execute(
        _from_records(entity_type, *_row_columns(entity_type)).where(SyncRecord.id == record_id)
    ).first()
    if values is None:
        return None
    record = session.get(SyncRecord, record_id)
    assert record is not None
    attempts = [
        AttemptRow(at=_as_utc(a.at) or a.at, outcome=a.outcome, error_kind=a.error_kind, error_code=a.error_code,
                   message=a.message, request_id=a.request_id, job_id=a.job_id)
        for a in session.scalars(
            select(SyncAttempt).where(SyncAttempt.sync_record_id == record_id)
            .order_by(SyncAttempt.at.desc(), SyncAttempt.id.desc()).limit(50)
        )
    ]
    return ProblemDetail(
        row=_to_row(values, datetime.now(UTC).date()), request_id=record.request_id,
        error_detail=mask_secrets(record.error_detail), last_request=mask_secrets(record.last_request),
        last_response=mask_secrets(record.last_response), note=record.note, attempts=attempts,
    )


# ---- export ------------------------------------------------------------------------------------------------------


# The grid's headers, in its order, then what only the file holds; values in the grid's words, amounts plain.
EXPORT_HEADER = (
    "Reference #", "Customer", "Amount", "Date", "Status", "Error kind", "Message", "How to fix", "QuickBooks code",
    "Attempts", "Open (days)", "Last attempt", "QuickBooks id", "Type", "Record id", "Blocked by", "First failed",
)


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _export_cells(entity_type: EntityType, row: ProblemRow) -> tuple[Any, ...]:
    return (
        row.reference, row.customer, "" if row.amount is None else f"{row.amount:.2f}",
        row.record_date.isoformat() if row.record_date else "", labels.label(labels.SYNC_STATUS, row.status),
        labels.label(labels.ERROR_KIND, row.error_kind), row.error_message, row.fix_hint, row.error_code,
        row.attempts, row.open_days, _moment(row.last_attempt_at), row.qbo_id, labels.label_entity(entity_type),
        row.record_id, labels.blocker(row.blocked_by), _moment(row.first_failed_at),
    )


def export_problems_csv(session: Session, entity_type: EntityType, problem_filter: ProblemFilter, out: IO[str]) -> int:
    """Write every row matching the filter as spreadsheet-safe CSV to `out`; returns the row count."""
    rows = (_export_cells(entity_type, row) for row in iter_problems(session, entity_type, problem_filter))
    return write_safe_csv(out, EXPORT_HEADER, rows)


def problems_csv_bytes(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> bytes:
    """The same export as UTF-8 bytes (with a BOM), for a download button."""
    rows = (_export_cells(entity_type, row) for row in iter_problems(session, entity_type, problem_filter))
    return safe_csv_bytes(EXPORT_HEADER, rows)


# A blocked_by prefix that names another billing record: (its entity, its model, the column holding the name).
_RECORD_BLOCKERS: dict[str, tuple[EntityType, Any, Any]] = {
    spec.blocker_word: (spec.entity_type, spec.model, spec.problems.named_by)
    for spec in PROBLEM_TABS if spec.problems and spec.problems.named_by is not None
}
# When each entity's billing row last changed: a failure whose input changed since may pass on a retry.
_CHANGED_AT: dict[EntityType, Any] = {
    spec.entity_type: spec.problems.changed_at for spec in PROBLEM_TABS if spec.problems
}
# Failures a retry repeats unless their input changed: QuickBooks gave a definite answer about this record.
_DEFINITE = (ErrorKind.CLOSED_PERIOD.value, ErrorKind.VALIDATION.value, ErrorKind.MALFORMED.value)
_CHAIN_DEPTH = 5
NAME_CLASH_CODE = "6240"  # QuickBooks: the name is taken by another customer, vendor or employee


@dataclass(frozen=True)
class _Blocker:
    """The record a blocked_by names, as the sync sees it."""

    record_id: int
    entity_type: EntityType
    status: str
    error_kind: str | None
    error_code: str | None
    blocked_by: str | None
    message: str | None


def _record_blocker(blocked_by: str | None) -> tuple[str, str] | None:
    if not blocked_by:
        return None
    what, sep, name = blocked_by.partition(":")
    what = what.strip().lower()
    return (what, name.strip()) if sep and what in _RECORD_BLOCKERS else None


def _read_blockers(session: Session, blocked_bys: set[str]) -> dict[str, _Blocker]:
    """The records named by these blocked_by values and, down each chain, the records blocking them."""
    found: dict[str, _Blocker] = {}
    todo = {b for b in blocked_bys if _record_blocker(b)}
    for _ in range(_CHAIN_DEPTH):
        by_what: dict[str, list[str]] = {}
        for blocked_by in todo:
            what, name = _record_blocker(blocked_by) or ("", "")
            by_what.setdefault(what, []).append(name)
        for what, names in by_what.items():
            entity_type, model, name_column = _RECORD_BLOCKERS[what]
            for start in range(0, len(names), 900):
                rows = session.execute(
                    select(name_column, SyncRecord.id, SyncRecord.status, SyncRecord.error_kind, SyncRecord.error_code,
                           SyncRecord.blocked_by, SyncRecord.error_message)
                    .join(SyncRecord, (SyncRecord.entity_id == model.id)
                          & (SyncRecord.entity_type == entity_type.value))
                    .where(name_column.in_(names[start:start + 900]))
                    .order_by(SyncRecord.id)
                )
                for name, *values in rows:
                    key = f"{what}:{name}"
                    blocker = _Blocker(values[0], entity_type, *values[1:])
                    # Two customers may share a name: the failing one is the one that explains the block.
                    if key not in found or blocker.status in _ERROR_STATUS_VALUES:
                        found[key] = blocker
        todo = {b.blocked_by for b in found.values() if b.status == SyncStatus.BLOCKED.value and b.blocked_by
                and _record_blocker(b.blocked_by) and b.blocked_by not in found}
        if not todo:
            break
    return found


def _root_of(blocked_by: str, blockers: dict[str, _Blocker]) -> tuple[str, _Blocker] | None:
    """The failing record at the bottom of a chain of blocks (with its name), or None when the first is not failing."""
    root: tuple[str, _Blocker] | None = None
    seen: set[str] = set()
    current: str | None = blocked_by
    while current and current not in seen:
        seen.add(current)
        blocker = blockers.get(current)
        if blocker is None or blocker.status not in _ERROR_STATUS_VALUES or not blocker.error_kind:
            break
        root = (current, blocker)
        current = blocker.blocked_by if blocker.status == SyncStatus.BLOCKED.value else None
    return root


@dataclass
class _Group:
    """Root-cause rows being folded together."""

    kind: str | None
    code: str | None
    blocked_by: str | None
    sample: str | None
    count: int = 0
    amount: Decimal = Decimal("0.00")
    blockers: list[str] = field(default_factory=list)
    root_entity: EntityType | None = None
    root_ids: set[int] = field(default_factory=set)
    root_sample: str | None = None
    root_names: set[str] = field(default_factory=set)
    shape: str = "direct"  # "direct", "chain" (blocked by a failing record) or "waiting" / "ready"


def _changed_since_failure(session: Session, entity_type: EntityType, where: list[ColumnElement[bool]]) -> bool:
    """Whether any of these records' billing rows changed after their last attempt (their input is new)."""
    changed = session.scalar(
        _from_records(entity_type, func.count(SyncRecord.id))
        .where(*where, _CHANGED_AT[entity_type] > SyncRecord.last_attempt_at)
    )
    return bool(changed)


def _setting_changed_since(session: Session, key: str, entity_type: EntityType,
                           where: list[ColumnElement[bool]]) -> bool:
    """Whether a setting (the known closing date) was saved after the oldest of these records' last attempts."""
    row = session.get(Setting, key)
    if row is None or row.updated_at is None:
        return False
    oldest = session.scalar(_from_records(entity_type, func.min(SyncRecord.last_attempt_at)).where(*where))
    saved, tried = _as_utc(row.updated_at), _as_utc(oldest)
    return tried is None or (saved is not None and saved > tried)


def _blocker_fixed(session: Session, entity_type: EntityType, blocked_by: str,
                   where: list[ColumnElement[bool]]) -> bool:
    """Whether the mapping or setting named in blocked_by was fixed after the oldest of these records' attempts."""
    what, sep, name = blocked_by.partition(":")
    # The cascade knows a charge code by the engine's name for it, "item:<code>".
    fixed = _as_utc(blocker_fixed_at(session, f"item:{name}" if sep and what == "charge_code" else blocked_by))
    if fixed is None:
        return False
    oldest = _as_utc(session.scalar(_from_records(entity_type, func.min(SyncRecord.last_attempt_at)).where(*where)))
    return oldest is None or fixed > oldest


def _retry_may_pass(session: Session, entity_type: EntityType, kind: str | None, code: str | None,
                    blocked_by: str | None, where: list[ColumnElement[bool]]) -> bool:
    """False where nothing changed since the failure that could make a retry pass (a definite answer or a gap)."""
    if kind in _DEFINITE:
        changed = _changed_since_failure(session, entity_type, where)
        if kind == ErrorKind.CLOSED_PERIOD.value:
            changed = changed or _setting_changed_since(session, CLOSE_DATE_KEY, entity_type, where)
        return changed
    if kind == ErrorKind.MAPPING.value and blocked_by and not _record_blocker(blocked_by):
        return _blocker_fixed(session, entity_type, blocked_by, where)
    if kind == ErrorKind.DUPLICATE.value and code == NAME_CLASH_CODE and entity_type is EntityType.CUSTOMER:
        # A new QuickBooks name (the customer row changes) or a new clash rule (the settings change) can pass.
        return (_changed_since_failure(session, entity_type, where)
                or _setting_changed_since(session, SETTINGS_KEY, entity_type, where))
    return True


def list_root_causes(
    session: Session, entity_type: EntityType, problem_filter: ProblemFilter | None = None, *,
    limit: int | None = None,
) -> list[RootCause]:
    """Failed and blocked records grouped by what blocks them, biggest group first (all groups unless limited).

    Records blocked by another record are grouped by the cause that blocks that record, down the chain: payments
    waiting for invoices that failed for a closed period make one group with those invoices, not one per invoice.
    """
    source = _SOURCES[entity_type]
    base = problem_filter or ProblemFilter()
    scope = replace(base, statuses=tuple(s for s in base.statuses if s in _ERROR_STATUSES) or _ERROR_STATUSES,
                    cause=None)
    where = _conditions(entity_type, scope)
    rows = session.execute(
        _from_records(entity_type, SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.blocked_by,
                      func.count(SyncRecord.id), func.sum(source.amount), func.min(SyncRecord.error_message))
        .where(*where, SyncRecord.error_kind.is_not(None))
        .group_by(SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.blocked_by)
    ).all()
    blockers = _read_blockers(session, {b for _, _, b, *_ in rows if b})
    groups: dict[tuple[Any, ...], _Group] = {}
    for kind, code, blocked_by, count, amount, sample in rows:
        # Only a dependency waits for the record it names; a clash may name a customer without waiting for it.
        named = _record_blocker(blocked_by) if kind == ErrorKind.DEPENDENCY.value else None
        group_key: tuple[Any, ...]
        if named is None or blocked_by is None:
            group_key = ("direct", kind, code, blocked_by)
            group = groups.setdefault(group_key, _Group(kind, code, blocked_by, sample))
        else:
            found = _root_of(blocked_by, blockers)
            first = blockers.get(blocked_by)
            if found is not None:
                root_name, root = found
                group_key = ("chain", root.entity_type, root.error_kind, root.error_code, root.blocked_by)
                group = groups.setdefault(group_key, _Group(root.error_kind, root.error_code, root.blocked_by, sample,
                                                            root_entity=root.entity_type, shape="chain",
                                                            root_sample=root.message))
                group.root_ids.add(root.record_id)
                group.root_names.add(root_name)
            else:
                # The blocker is not failing: it is in QuickBooks now (a retry passes) or has not synced yet.
                ready = first is not None and first.status == SyncStatus.SYNCED.value
                shape = "ready" if ready else "waiting"
                group_key = (shape, named[0])
                group = groups.setdefault(group_key, _Group(kind, code, None, sample, shape=shape,
                                                            root_entity=_RECORD_BLOCKERS[named[0]][0]))
                if first is not None:
                    group.root_ids.add(first.record_id)
            group.blockers.append(blocked_by)
        group.count += count
        group.amount += _money(amount)
    causes = [_to_cause(session, entity_type, group, where) for group in groups.values()]
    causes.sort(key=lambda c: (-c.count, c.sentence))
    return causes if limit is None else causes[:limit]


def cause_key(cause: RootCause) -> CauseKey:
    """The filter that selects a root cause's own records (on its tab)."""
    if cause.blockers:
        return CauseKey(ErrorKind.DEPENDENCY.value, None, None, cause.blockers)
    return CauseKey(cause.error_kind, cause.error_code, cause.blocked_by)


def _to_cause(session: Session, entity_type: EntityType, group: _Group,
              where: list[ColumnElement[bool]]) -> RootCause:
    cause = make_root_cause(entity_type, group.kind, group.code, group.blocked_by, group.count, group.amount,
                            group.sample)
    blockers = tuple(sorted(set(group.blockers)))
    if group.shape == "direct":
        key = CauseKey(group.kind, group.code, group.blocked_by)
        may_pass = _retry_may_pass(session, entity_type, group.kind, group.code, group.blocked_by,
                                   [*where, *_matches_cause(key)])
        return replace(cause, retry_offered=may_pass,
                       must_change=None if may_pass else what_must_change(entity_type, group.kind, group.code,
                                                                          group.blocked_by))
    assert group.root_entity is not None
    roots = tuple(sorted(group.root_ids))
    if len(blockers) == 1 and group.shape != "chain":
        # One named blocker reads best as itself: "waiting for customer Atlas Import Group to sync".
        sentence = describe_cause(entity_type, ErrorKind.DEPENDENCY, None, blockers[0], group.count)
    elif group.shape == "chain":
        # One root record is named ("customer Atlas Import Group clashes …") unless its own error names one.
        named_root = group.blocked_by or (next(iter(group.root_names)) if len(group.root_names) == 1 else None)
        sentence = describe_chain(entity_type, group.count, group.root_entity, len(roots), group.kind, group.code,
                                  named_root, group.root_sample)
    else:
        sentence = describe_waiting(entity_type, group.count, group.root_entity, len(blockers))
    if group.shape == "ready":
        sentence += " (it is in QuickBooks now)" if len(blockers) == 1 else " (they are in QuickBooks now)"
    may_pass, must_change = True, None
    if group.shape == "chain":
        root_where: list[ColumnElement[bool]] = [SyncRecord.id.in_(roots)]
        may_pass = _retry_may_pass(session, group.root_entity, group.kind, group.code, group.blocked_by, root_where)
        if not may_pass:
            must_change = what_must_change(group.root_entity, group.kind, group.code, group.blocked_by)
    return replace(
        cause, error_kind=ErrorKind.DEPENDENCY.value, error_code=None, blocked_by=None, sentence=sentence,
        fix_hint=(fix_hint_for(group.kind, group.code, group.blocked_by) if group.shape == "chain" else cause.fix_hint),
        fix_link=fix_link_for(group.kind, group.code, group.blocked_by) if group.shape == "chain" else None,
        root_entity=group.root_entity, root_record_ids=roots if group.shape != "ready" else (), blockers=blockers,
        retry_offered=may_pass, must_change=must_change,
    )
