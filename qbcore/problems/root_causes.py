"""Root causes: failed and blocked records grouped by what blocks them, down each chain of blocks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from qbcore.entities.registry import PROBLEM_TABS
from qbcore.errors import ErrorKind
from qbcore.models import (
    EntityType,
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
from qbcore.problems.filters import (
    ERROR_STATUS_VALUES,
    ERROR_STATUSES,
    SOURCES,
    CauseKey,
    ProblemFilter,
    as_utc,
    conditions,
    from_records,
    to_money,
)
from qbcore.pull.bookmark import CLOSE_DATE_KEY
from qbcore.settings import SYNC_SETTINGS_KEY, company_setting_row
from qbcore.sync.cascade import blocker_fixed_at

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


def _read_blockers(session: Session, blocked_bys: set[str], company_id: int | None = None) -> dict[str, _Blocker]:
    """The records named by these blocked_by values and, down each chain, the records blocking them."""
    # A customer has a record in each company it was in: a company's records wait for that company's.
    same_company = [] if company_id is None else [SyncRecord.company_id == company_id]
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
                    .where(name_column.in_(names[start:start + 900]), *same_company)
                    .order_by(SyncRecord.id)
                )
                for name, *values in rows:
                    key = f"{what}:{name}"
                    blocker = _Blocker(values[0], entity_type, *values[1:])
                    # Two customers may share a name: the failing one is the one that explains the block.
                    if key not in found or blocker.status in ERROR_STATUS_VALUES:
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
        if blocker is None or blocker.status not in ERROR_STATUS_VALUES or not blocker.error_kind:
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
    changed: int = 0  # records whose billing row changed after their last attempt
    oldest_attempt: datetime | None = None
    shape: str = "direct"  # "direct", "chain" (blocked by a failing record) or "waiting" / "ready"


@dataclass(frozen=True)
class _Attempts:
    """What a group's records say about their last attempts: how many changed since, and the oldest attempt."""

    changed: int
    oldest: datetime | None


def _attempt_columns(entity_type: EntityType) -> list[Any]:
    """The aggregates _Attempts is made of, as columns of a query over one entity's sync records."""
    changed_since = case((_CHANGED_AT[entity_type] > SyncRecord.last_attempt_at, 1), else_=0)
    return [func.sum(changed_since), func.min(SyncRecord.last_attempt_at)]


def _read_attempts(session: Session, entity_type: EntityType, where: list[ColumnElement[bool]]) -> _Attempts:
    """The attempts of the records these clauses select (a chain's root records)."""
    changed, oldest = session.execute(from_records(entity_type, *_attempt_columns(entity_type)).where(*where)).one()
    return _Attempts(int(changed or 0), oldest)


def _setting_changed_since(session: Session, key: str, attempts: _Attempts, company_id: int | None = None) -> bool:
    """Whether a company's setting (the closing date) was saved after the oldest of these records' last attempts."""
    row = company_setting_row(session, key, company_id)
    if row is None or row.updated_at is None:
        return False
    saved, tried = as_utc(row.updated_at), as_utc(attempts.oldest)
    return tried is None or (saved is not None and saved > tried)


def _blocker_fixed(session: Session, blocked_by: str, attempts: _Attempts) -> bool:
    """Whether the mapping or setting named in blocked_by was fixed after the oldest of these records' attempts."""
    what, sep, name = blocked_by.partition(":")
    # The cascade knows a charge code by the engine's name for it, "item:<code>".
    fixed = as_utc(blocker_fixed_at(session, f"item:{name}" if sep and what == "charge_code" else blocked_by))
    if fixed is None:
        return False
    oldest = as_utc(attempts.oldest)
    return oldest is None or fixed > oldest


def _retry_may_pass(session: Session, entity_type: EntityType, kind: str | None, code: str | None,
                    blocked_by: str | None, attempts: _Attempts, company_id: int | None = None) -> bool:
    """False where nothing changed since the failure that could make a retry pass (a definite answer or a gap)."""
    if kind in _DEFINITE:
        changed = attempts.changed > 0
        if kind == ErrorKind.CLOSED_PERIOD.value:
            changed = changed or _setting_changed_since(session, CLOSE_DATE_KEY, attempts, company_id)
        return changed
    if kind == ErrorKind.MAPPING.value and blocked_by and not _record_blocker(blocked_by):
        return _blocker_fixed(session, blocked_by, attempts)
    if kind == ErrorKind.DUPLICATE.value and code == NAME_CLASH_CODE and entity_type is EntityType.CUSTOMER:
        # A new QuickBooks name (the customer row changes) or a new clash rule (the settings change) can pass.
        return attempts.changed > 0 or _setting_changed_since(session, SYNC_SETTINGS_KEY, attempts, company_id)
    return True


def list_root_causes(
    session: Session, entity_type: EntityType, problem_filter: ProblemFilter | None = None, *,
    limit: int | None = None,
) -> list[RootCause]:
    """Failed and blocked records grouped by what blocks them, biggest group first (all groups unless limited).

    Records blocked by another record are grouped by the cause that blocks that record, down the chain: payments
    waiting for invoices that failed for a closed period make one group with those invoices, not one per invoice.
    """
    source = SOURCES[entity_type]
    base = problem_filter or ProblemFilter()
    scope = replace(base, statuses=tuple(s for s in base.statuses if s in ERROR_STATUSES) or ERROR_STATUSES,
                    cause=None)
    where = conditions(entity_type, scope)
    rows = session.execute(
        from_records(entity_type, SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.blocked_by,
                      func.count(SyncRecord.id), func.sum(source.amount), func.min(SyncRecord.error_message),
                      *_attempt_columns(entity_type))
        # Whether a retry may pass is read in the same pass: a query per group was two fifths of the page at 1M.
        .where(*where, SyncRecord.error_kind.is_not(None))
        .group_by(SyncRecord.error_kind, SyncRecord.error_code, SyncRecord.blocked_by)
    ).all()
    blockers = _read_blockers(session, {b for _, _, b, *_ in rows if b}, base.company_id)
    groups: dict[tuple[Any, ...], _Group] = {}
    for kind, code, blocked_by, count, amount, sample, changed, oldest in rows:
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
        group.amount += to_money(amount)
        group.changed += int(changed or 0)
        tried = as_utc(oldest)
        if tried is not None and (group.oldest_attempt is None or tried < group.oldest_attempt):
            group.oldest_attempt = tried
    causes = [_to_cause(session, entity_type, group, base.company_id) for group in groups.values()]
    causes.sort(key=lambda c: (-c.count, c.sentence))
    return causes if limit is None else causes[:limit]


def cause_key(cause: RootCause) -> CauseKey:
    """The filter that selects a root cause's own records (on its tab)."""
    if cause.blockers:
        return CauseKey(ErrorKind.DEPENDENCY.value, None, None, cause.blockers)
    return CauseKey(cause.error_kind, cause.error_code, cause.blocked_by)


def _to_cause(session: Session, entity_type: EntityType, group: _Group, company_id: int | None) -> RootCause:
    cause = make_root_cause(entity_type, group.kind, group.code, group.blocked_by, group.count, group.amount,
                            group.sample)
    blockers = tuple(sorted(set(group.blockers)))
    if group.shape == "direct":
        may_pass = _retry_may_pass(session, entity_type, group.kind, group.code, group.blocked_by,
                                   _Attempts(group.changed, group.oldest_attempt), company_id)
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
        root_attempts = _read_attempts(session, group.root_entity, [SyncRecord.id.in_(roots)])
        may_pass = _retry_may_pass(session, group.root_entity, group.kind, group.code, group.blocked_by,
                                   root_attempts, company_id)
        if not may_pass:
            must_change = what_must_change(group.root_entity, group.kind, group.code, group.blocked_by)
    return replace(
        cause, error_kind=ErrorKind.DEPENDENCY.value, error_code=None, blocked_by=None, sentence=sentence,
        fix_hint=(fix_hint_for(group.kind, group.code, group.blocked_by, group.root_entity) if group.shape == "chain"
                  else cause.fix_hint),
        fix_link=(fix_link_for(group.kind, group.code, group.blocked_by, group.root_entity) if group.shape == "chain"
                  else None),
        root_entity=group.root_entity, root_record_ids=roots if group.shape != "ready" else (), blockers=blockers,
        retry_offered=may_pass, must_change=must_change,
    )
