"""What is wrong now, rule by rule: each finding has a stable key (the dedupe key) and the facts a message needs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.alerts.rules import AlertRules
from qbcore.company_directory import list_companies
from qbcore.connection import current_connection
from qbcore.jobs.queue import PULL_KIND, SYNC_KIND, has_active_job
from qbcore.labels import ERROR_KIND, JOB_STATUS, label, money, plural
from qbcore.models import (
    ENTITY_NOUNS,
    ConnectionStatus,
    EntityType,
    Job,
    JobStatus,
    QboConnection,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.problems.queries import PROBLEM_ENTITIES, ProblemFilter, count_matching, list_root_causes, mask_secrets
from qbcore.queries.month_end import list_month_readiness

PROBLEM_SYNC = "Problem_Sync"
SETTINGS = "Settings"
HOME = ""
# Statuses that carry an error: the problems worth a message (new and pending records are simply waiting).
_ERRORS = (SyncStatus.FAILED, SyncStatus.BLOCKED)


@dataclass(frozen=True)
class Finding:
    """One condition that holds now: its key, its rule, what would make it news again, and its facts."""

    key: str
    rule: str
    fingerprint: str
    title: str
    records: int | None = None
    amount: Decimal | None = None
    causes: tuple[str, ...] = ()
    fix: str = ""
    page: str = PROBLEM_SYNC
    params: dict[str, str] = field(default_factory=dict)

    def facts(self) -> dict[str, Any]:
        """The JSON a message is written from (no secret is ever among them)."""
        return {
            "title": self.title, "records": self.records,
            "amount": None if self.amount is None else f"{self.amount:.2f}", "causes": list(self.causes),
            "fix": self.fix, "page": self.page, "params": dict(self.params),
        }


def size_bucket(count: int) -> str:
    """A size that changes only when a count doubles, so a growing problem is news without a message a tick."""
    return f"size:{max(count, 1).bit_length()}"


def _nouns(entity_type: EntityType, count: int) -> str:
    one, many = ENTITY_NOUNS[entity_type]
    return plural(count, one, many)


def _top_causes(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> tuple[str, ...]:
    return tuple(cause.sentence for cause in list_root_causes(session, entity_type, problem_filter, limit=3))


def find_new_problems(session: Session, rules: AlertRules) -> list[Finding]:
    """Failed and blocked records per record type and error kind, above the count or dollar threshold."""
    found = []
    for entity_type in PROBLEM_ENTITIES:
        kinds = session.scalars(
            select(SyncRecord.error_kind).distinct().where(
                SyncRecord.entity_type == entity_type.value, SyncRecord.error_kind.is_not(None),
                SyncRecord.status.in_([s.value for s in _ERRORS])))
        for kind in sorted(k for k in kinds if k):
            scope = ProblemFilter(statuses=_ERRORS, error_kinds=(kind,))
            summary = count_matching(session, entity_type, scope)
            if summary.count < rules.new_problems_count and summary.amount < rules.min_amount:
                continue
            found.append(Finding(
                key=f"problems:{entity_type.value}:{kind}", rule="new_problems", fingerprint=size_bucket(summary.count),
                title=f"{_nouns(entity_type, summary.count)} not reaching QuickBooks: "
                      f"{label(ERROR_KIND, kind).lower()}",
                records=summary.count, amount=summary.amount, causes=_top_causes(session, entity_type, scope),
                params={"tab": entity_type.value, "kind": kind},
            ))
    return found


def find_root_causes(session: Session, rules: AlertRules) -> list[Finding]:
    """Causes with a named blocker (a charge code, a customer, a term) holding back at least N records."""
    found = []
    for entity_type in PROBLEM_ENTITIES:
        for cause in list_root_causes(session, entity_type, ProblemFilter(statuses=_ERRORS), limit=20):
            if not cause.blocked_by or cause.count < rules.root_cause_count:
                continue
            key = f"cause:{entity_type.value}:{cause.error_kind}:{cause.error_code or ''}:{cause.blocked_by}"
            found.append(Finding(
                key=key[:200], rule="root_cause", fingerprint=size_bucket(cause.count), title=cause.sentence,
                # The title is the cause in words; repeating it as a cause line would say it twice.
                records=cause.count, amount=cause.amount, fix=cause.fix_hint,
                # Exactly the records this blocker holds back, with this kind of error.
                params={"tab": entity_type.value, "kind": cause.error_kind or "", "cause": cause.blocked_by},
            ))
    return found


def find_reconnect(session: Session, rules: AlertRules, now: datetime) -> list[Finding]:
    """A company's QuickBooks disconnected or waiting for a reconnect, or its sign-in about to expire."""
    found: list[Finding] = []
    for company in list_companies(session):
        found.extend(_reconnect_of(current_connection(session, company.id), rules, now, company.id))
    return found


def _reconnect_of(row: QboConnection | None, rules: AlertRules, now: datetime, company_id: int) -> list[Finding]:
    if row is None or row.connected_at is None:
        return []  # never connected: nothing broke
    found = _connection_finding(row, rules, now)
    # The first company keeps the key earlier releases used, so an alert already sent is not sent again.
    key = "connection" if company_id == 1 else f"connection:{company_id}"
    return [dataclasses.replace(f, key=key) for f in found]


def _connection_finding(row: QboConnection, rules: AlertRules, now: datetime) -> list[Finding]:
    status = ConnectionStatus(row.status)
    company = row.company_name or "the QuickBooks company"
    if status is ConnectionStatus.DISCONNECTED:
        who = f" by {row.disconnected_by}" if row.disconnected_by else ""
        return [Finding(key="connection", rule="reconnect", fingerprint="disconnected", page=SETTINGS,
                        title=f"QuickBooks is disconnected{who}: nothing syncs with {company}",
                        fix="Connect QuickBooks again in Settings.")]
    if status is ConnectionStatus.RECONNECT_REQUIRED:
        return [Finding(key="connection", rule="reconnect", fingerprint="reconnect_required", page=SETTINGS,
                        title=f"QuickBooks needs to be reconnected: nothing syncs with {company}",
                        causes=tuple(filter(None, [mask_secrets(row.last_error)])),
                        fix="Reconnect QuickBooks in Settings; the sync resumes where it stopped.")]
    expires = row.refresh_expires_at
    if expires is not None and expires - now <= timedelta(days=rules.reconnect_days):
        days = max((expires - now).days, 0)
        return [Finding(key="connection", rule="reconnect", fingerprint="expiring", page=SETTINGS,
                        title=f"QuickBooks' sign-in expires in {plural(days, 'day')} "
                              f"({expires.date().isoformat()}): reconnect before then",
                        fix="Reconnect QuickBooks in Settings.")]
    return []


def find_failed_jobs(session: Session, now: datetime) -> list[Finding]:
    """The newest sync or pull job, when it failed or paused in the last week."""
    found = []
    for kind, noun in ((SYNC_KIND, "sync"), (PULL_KIND, "pull from QuickBooks")):
        job = session.scalar(select(Job).where(Job.kind == kind).order_by(Job.created_at.desc(), Job.id.desc())
                             .limit(1))
        if job is None or job.status not in (JobStatus.FAILED.value, JobStatus.PAUSED.value):
            continue
        if now - job.created_at > timedelta(days=7):
            continue
        what = str((job.params or {}).get("label") or f"The {noun}")
        error = mask_secrets(job.error) or ""
        found.append(Finding(
            key=f"job:{kind}", rule="job_failed", fingerprint=f"{job.id}:{job.status}", page=HOME,
            title=f"{what} (job #{job.id}): {label(JOB_STATUS, job.status).lower()}",
            records=job.total or None, causes=(error[:300],) if error else (),
            fix="Reconnect QuickBooks in Settings; the job resumes." if job.status == JobStatus.PAUSED.value
            else "Read the job's error on Home, fix it, then sync again.",
        ))
    return found


def find_old_problems(session: Session, rules: AlertRules, now: datetime) -> list[Finding]:
    """Failed and blocked records open longer than N days."""
    cutoff = now - timedelta(days=rules.old_problems_days)
    rows = session.execute(
        select(SyncRecord.entity_type, func.count()).where(
            SyncRecord.status.in_([s.value for s in _ERRORS]), SyncRecord.first_failed_at < cutoff,
            SyncRecord.entity_type.in_([e.value for e in PROBLEM_ENTITIES]))
        .group_by(SyncRecord.entity_type).order_by(func.count().desc())).all()
    if not rows:
        return []
    total = sum(count for _, count in rows)
    parts = tuple(_nouns(EntityType(entity), count) for entity, count in rows)
    return [Finding(
        key="old_problems", rule="old_problems", fingerprint=size_bucket(total), records=total,
        title=f"{plural(total, 'record')} failing for more than {plural(rules.old_problems_days, 'day')}",
        causes=parts, fix="Open Problem Sync, oldest problem first, and fix or clear them.",
        params={"tab": str(rows[0][0])},
    )]


def _previous_month(day: date) -> tuple[str, date, date]:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}", last.replace(day=1), last


def find_month_end(session: Session, rules: AlertRules, now: datetime) -> list[Finding]:
    """From day N of a month, the month before when it is not ready to close."""
    today = now.astimezone(rules.zone).date()
    if today.day < rules.month_end_day:
        return []
    month, first, last = _previous_month(today)
    readiness = next((m for m in list_month_readiness(session, months=3) if m.month == month), None)
    if readiness is None or readiness.is_clean:
        return []
    stuck = (readiness.failed.count + readiness.blocked.count + readiness.drifted.count + readiness.proposals.count
             + readiness.closed_conflicts.count + readiness.bills_failed.count + readiness.bills_blocked.count
             + readiness.bills_closed.count)
    if not stuck and has_active_job(session):
        return []  # only waiting records, and a job is sending them now: not news yet
    # Bills count once payables sync (their tallies stay zero otherwise).
    behind = (readiness.unsynced + readiness.failed + readiness.blocked + readiness.bills_unsynced
              + readiness.bills_failed + readiness.bills_blocked)
    waiting, amount = behind.count, behind.amount
    todo = tuple(f"{item.label}: {item.detail}" for item in readiness.checklist if not item.done)
    return [Finding(
        key=f"month_end:{month}", rule="month_end", fingerprint="not_ready", records=waiting, amount=amount,
        title=f"{month} is not ready to close: {plural(waiting, 'record')} ({money(amount)}) not in QuickBooks yet",
        causes=todo[:5], fix="Open Month end for the checklist, then Problem Sync for the records.",
        params={"from": first.isoformat(), "to": last.isoformat()},
    )]


def _not_covered(problems: list[Finding], causes: list[Finding]) -> list[Finding]:
    # One unmapped charge code is one alert: a type-and-kind group its named causes explain fully says nothing more.
    covered: dict[tuple[str, str], int] = {}
    for cause in causes:
        _, entity, kind, _rest = cause.key.split(":", 3)
        covered[(entity, kind)] = covered.get((entity, kind), 0) + (cause.records or 0)
    return [p for p in problems if covered.get((p.key.split(":")[1], p.key.split(":")[2]), 0) < (p.records or 0)]


def find_conditions(session: Session, rules: AlertRules, now: datetime | None = None) -> list[Finding]:
    """Every finding of every rule that is on."""
    now = now or utcnow()
    found: list[Finding] = []
    causes = find_root_causes(session, rules) if rules.root_cause else []
    if rules.new_problems:
        found += _not_covered(find_new_problems(session, rules), causes)
    found += causes
    if rules.reconnect:
        found += find_reconnect(session, rules, now)
    if rules.job_failed:
        found += find_failed_jobs(session, now)
    if rules.old_problems:
        found += find_old_problems(session, rules, now)
    if rules.month_end:
        found += find_month_end(session, rules, now)
    return found
