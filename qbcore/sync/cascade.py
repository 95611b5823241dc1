"""Cascade retry: when the cause that blocked records is fixed, the records it blocked are retried by themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.access import SYSTEM, write_audit
from qbcore.entities.registry import ENTITIES
from qbcore.jobs.queue import enqueue_sync
from qbcore.models import (
    DeductionCode,
    Job,
    JobStatus,
    PayablesAccountMapping,
    PayCode,
    SyncRecord,
    SyncStatus,
)
from qbcore.settings import get_setting_row, load_settings

CASCADE_LABEL = "Cascade retry"


def _settings_changed_at(session: Session, _name: str, company_id: int | None = None) -> datetime | None:
    # Terms, classes, locations and the income account are fixed in Settings (or in QuickBooks, then a resync).
    row = get_setting_row(session, company_id)
    return row.updated_at if row is not None else None


def _mapped_at(session: Session, model: type[PayCode] | type[DeductionCode], column: Any, code: str,
               company_id: int | None) -> datetime | None:
    query = select(func.max(PayablesAccountMapping.updated_at)).join(model, model.id == column).where(
        model.code == code, PayablesAccountMapping.qbo_account_name.is_not(None))
    if company_id is not None:  # mapped in another company's chart of accounts fixes nothing here
        query = query.where(PayablesAccountMapping.company_id == company_id)
    return session.scalar(query)


def _pay_code_mapped_at(session: Session, code: str, company_id: int | None = None) -> datetime | None:
    # An unmapped pay code is fixed when Settings → Pay codes maps it to an account of the company.
    return _mapped_at(session, PayCode, PayablesAccountMapping.pay_code_id, code, company_id)


def _deduction_code_mapped_at(session: Session, code: str, company_id: int | None = None) -> datetime | None:
    return _mapped_at(session, DeductionCode, PayablesAccountMapping.deduction_code_id, code, company_id)


def _account_fixed_at(session: Session, name: str, company_id: int | None = None) -> datetime | None:
    # The income account is chosen in Settings; a missing expense account is fixed by remapping its codes too.
    saved = _settings_changed_at(session, name, company_id)
    if name == "income":
        return saved
    query = select(func.max(PayablesAccountMapping.updated_at))
    if company_id is not None:
        query = query.where(PayablesAccountMapping.company_id == company_id)
    remapped = session.scalar(query)
    return max((m for m in (saved, remapped) if m is not None), default=None, key=_as_utc)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# A blocker is an entity not in QuickBooks yet (fixed when it syncs) or a name list fixed in Settings.
_RESOLVERS: dict[str, Callable[[Session, str, int | None], datetime | None]] = {
    **{spec.blocker_word: spec.fixed_at for spec in ENTITIES if spec.fixed_at is not None},
    "term": _settings_changed_at,
    "class": _settings_changed_at,
    "location": _settings_changed_at,
    "account": _account_fixed_at,
    "pay_code": _pay_code_mapped_at,
    "deduction_code": _deduction_code_mapped_at,
}


def split_cause(blocked_by: str) -> tuple[str, str]:
    """('customer', 'ACME Logistics') from 'customer:ACME Logistics' (the engine's blocked_by form)."""
    what, _, name = blocked_by.partition(":")
    return what.strip().lower(), name.strip()


def blocker_fixed_at(session: Session, blocked_by: str, company_id: int | None = None) -> datetime | None:
    """When the cause named in blocked_by ('customer:ACME', 'item:CHASSIS', …) was last fixed, in one company when
    given (the carrier file's item is not fixed by the broker file's); None if it is not."""
    what, name = split_cause(blocked_by)
    resolver = _RESOLVERS.get(what)
    return resolver(session, name, company_id) if resolver is not None else None


def describe_blocker(blocked_by: str) -> str:
    """'customer:ACME Logistics' → 'customer ACME Logistics'."""
    what, name = split_cause(blocked_by)
    return f"{what.replace('_', ' ')} {name}".strip()


def has_pending_cascade(session: Session) -> bool:
    """True while a cascade retry is queued (it will pick the records up; queuing another would double them)."""
    params = session.scalars(select(Job.params).where(Job.status == JobStatus.QUEUED.value))
    return any(str((p or {}).get("label") or "").startswith(CASCADE_LABEL) for p in params)


def cascade_retries(session: Session) -> Job | None:
    """Queue the blocked records whose blocker is fixed since their last attempt (as SYSTEM, audited), or None."""
    if has_pending_cascade(session):
        return None
    # Per company: a blocker is fixed where it was fixed, and a paused company is left alone.
    blockers = session.execute(select(SyncRecord.company_id, SyncRecord.blocked_by).where(
        SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.blocked_by.is_not(None)).distinct()).all()
    paused: dict[int, bool] = {}
    ready: dict[str, list[int]] = {}
    for company_id, blocked_by in sorted((c, b) for c, b in blockers if b):
        if paused.setdefault(company_id, load_settings(session, company_id).paused):
            continue
        fixed = blocker_fixed_at(session, blocked_by, company_id)
        if fixed is None:
            continue
        rows = session.execute(select(SyncRecord.id, SyncRecord.last_attempt_at).where(
            SyncRecord.company_id == company_id, SyncRecord.status == SyncStatus.BLOCKED.value,
            SyncRecord.blocked_by == blocked_by)).all()
        # Only records tried before the fix: one that was retried since and is still blocked waits for a person.
        ids = [rid for rid, tried in rows if tried is None or tried < fixed]
        if ids:
            ready.setdefault(blocked_by, []).extend(ids)
    if not ready:
        return None
    causes = [describe_blocker(b) for b in ready]
    record_ids = sorted(i for ids in ready.values() for i in ids)
    cause_text = causes[0] if len(causes) == 1 else f"{causes[0]} and {len(causes) - 1} more"
    label = f"{CASCADE_LABEL}: {cause_text}"
    job = enqueue_sync(session, SYSTEM, record_ids=record_ids, label=label)
    sentence = (f"{len(record_ids):,} record{'s' if len(record_ids) != 1 else ''} blocked by {', '.join(causes)} "
                f"{'are' if len(record_ids) != 1 else 'is'} being retried now that "
                f"{'it is' if len(causes) == 1 else 'they are'} fixed.")
    job.params = {**(job.params or {}), "sentence": sentence, "causes": list(ready)}
    write_audit(session, SYSTEM, "cascade_retry", target_type="job", target_id=job.id,
                after={cause: len(ids) for cause, ids in ready.items()}, reason=sentence)
    return job


def cascade_sentence(job: Job) -> str | None:
    """The human sentence of a cascade retry job (None for other jobs)."""
    return (job.params or {}).get("sentence")
