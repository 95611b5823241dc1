"""How long the first full sync of a book takes: its unsent records against QuickBooks' quota ceiling and a rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.chunks import QBO_BATCH
from qbcore.company_directory import list_companies
from qbcore.entities.registry import ENTITIES
from qbcore.labels import plural
from qbcore.models import ENTITY_NOUNS, PROBLEM_STATUSES, EntityType, Job, JobStatus, SyncRecord
from qbcore.qbo.limiter import DEFAULT_POLICY, QuotaPolicy
from qbcore.settings import load_settings

# A job shorter than this spent one minute's fresh quota at once, which no long sync can keep up.
MIN_MEASURED_SECONDS = 60.0


def quota_ceiling_per_minute(policy: QuotaPolicy = DEFAULT_POLICY) -> int:
    """Records a minute the quotas allow at most: every batch call full, the rest of the minute on single writes."""
    batches = policy.batch_per_minute.count
    return batches * QBO_BATCH + max(policy.per_minute.count - batches, 0)


@dataclass(frozen=True)
class MeasuredRate:
    """Records a minute a finished sync job reached, and which job."""

    job_id: int
    records: int
    seconds: float

    @property
    def per_minute(self) -> float:
        """Records it settled a minute."""
        return self.records * 60.0 / self.seconds


@dataclass(frozen=True)
class SyncProjection:
    """The records a full sync still has to send, per type in plan order, and how long that takes."""

    counts: dict[EntityType, int]
    ceiling_per_minute: int
    measured: MeasuredRate | None = None

    @property
    def total(self) -> int:
        """Records to send."""
        return sum(self.counts.values())

    @property
    def minimum_seconds(self) -> float:
        """The quota-bound minimum: every record at the ceiling."""
        return self.total * 60.0 / self.ceiling_per_minute

    @property
    def rate_per_minute(self) -> float:
        """The rate the projection uses: the measured one, never above what the quotas allow."""
        if self.measured is None:
            return float(self.ceiling_per_minute)
        return min(self.measured.per_minute, float(self.ceiling_per_minute))

    @property
    def projected_seconds(self) -> float:
        """Wall time at that rate."""
        return self.total * 60.0 / self.rate_per_minute


def count_unsent(session: Session, company_id: int | None = None) -> dict[EntityType, int]:
    """Records of the enabled types not in QuickBooks yet (new, edited, failed, blocked), per type in plan order.

    Of one company (with that company's settings) when given; of the whole book otherwise.
    """
    settings = load_settings(session, company_id)
    enabled = [spec.entity_type for spec in ENTITIES if spec.is_enabled(settings)]
    query = (select(SyncRecord.entity_type, func.count())
             .where(SyncRecord.status.in_([s.value for s in PROBLEM_STATUSES]),
                    SyncRecord.entity_type.in_([e.value for e in enabled]))
             .group_by(SyncRecord.entity_type))
    if company_id is not None:
        query = query.where(SyncRecord.company_id == company_id)
    rows = session.execute(query).all()
    found = {str(entity): int(count) for entity, count in rows}
    return {entity: found.get(entity.value, 0) for entity in enabled}


def get_measured_rate(session: Session, *, min_seconds: float = MIN_MEASURED_SECONDS,
                      company_id: int | None = None) -> MeasuredRate | None:
    """The newest finished sync job that ran at least `min_seconds`: the records it settled and how long it took.

    With `company_id`, only that company's own jobs: a job spanning companies ran several quotas at once.
    """
    query = (select(Job).where(Job.kind == "sync", Job.status == JobStatus.DONE.value, Job.started_at.is_not(None),
                               Job.finished_at.is_not(None), Job.done > 0)
             .order_by(Job.finished_at.desc()).limit(20))
    if company_id is not None:
        query = query.where(Job.params["company_id"].as_integer() == company_id)
    jobs = session.scalars(query)
    for job in jobs:
        assert job.started_at is not None and job.finished_at is not None  # the query asked for both
        seconds = (job.finished_at - job.started_at).total_seconds()
        if seconds >= min_seconds:
            return MeasuredRate(job_id=job.id, records=job.done, seconds=seconds)
    return None


def project_first_sync(session: Session, policy: QuotaPolicy = DEFAULT_POLICY) -> SyncProjection:
    """What a full sync of the book sends now, its quota-bound minimum and its time at the measured rate."""
    return SyncProjection(counts=count_unsent(session), ceiling_per_minute=quota_ceiling_per_minute(policy),
                          measured=get_measured_rate(session))


@dataclass(frozen=True)
class CompanyProjection:
    """One QuickBooks company's share of a full sync: each company syncs at once, within its own quotas."""

    name: str
    projection: SyncProjection


def project_each_company(session: Session, policy: QuotaPolicy = DEFAULT_POLICY) -> list[CompanyProjection]:
    """The full sync per company (one entry, the whole book, when there is one company)."""
    companies = list_companies(session)
    if len(companies) < 2:
        return [CompanyProjection(companies[0].name if companies else "", project_first_sync(session, policy))]
    ceiling = quota_ceiling_per_minute(policy)
    return [CompanyProjection(c.name, SyncProjection(counts=count_unsent(session, c.id), ceiling_per_minute=ceiling,
                                                     measured=get_measured_rate(session, company_id=c.id)))
            for c in companies]


def format_duration(seconds: float) -> str:
    """'45 s', '3 min 20 s', '1 h 02 min' — how long, as a person reads it."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def describe_projection(projection: SyncProjection) -> list[str]:
    """The projection in three sentences: what goes, the quota-bound minimum, and the projected wall time."""
    if projection.total == 0:
        return ["Nothing to send: every record of the enabled types is in QuickBooks already."]
    parts = ", ".join(plural(count, *ENTITY_NOUNS[entity]) for entity, count in projection.counts.items() if count)
    ceiling = projection.ceiling_per_minute
    lines = [f"A full sync sends {plural(projection.total, 'record')}: {parts}.",
             f"Quota-bound minimum: {format_duration(projection.minimum_seconds)} at {ceiling:,} records a minute, "
             "the most QuickBooks' quotas allow (every batch call of the minute full, its other requests single "
             "writes)."]
    measured = projection.measured
    if measured is None:
        lines.append("Projected: the same, as no sync of a minute or more has been measured here yet.")
    else:
        capped = " (capped at the quota ceiling)" if measured.per_minute > ceiling else ""
        lines.append(f"Projected: {format_duration(projection.projected_seconds)} at the "
                     f"{projection.rate_per_minute:,.0f} records a minute job #{measured.job_id} reached{capped}.")
    return lines


def describe_each_company(projections: Sequence[CompanyProjection]) -> list[str]:
    """One company: its three sentences. Several: each company's, then the book's wall time (the longest company)."""
    if len(projections) == 1:
        return describe_projection(projections[0].projection)
    lines: list[str] = []
    for each in projections:
        lines.append(f"{each.name}:")
        lines.extend(f"  {line}" for line in describe_projection(each.projection))
    longest = max(projections, key=lambda each: each.projection.projected_seconds if each.projection.total else 0.0)
    if longest.projection.total == 0:
        lines.append("Nothing to send in any company.")
    else:
        lines.append(f"The companies sync at once, each within its own QuickBooks quotas: the whole book takes about "
                     f"{format_duration(longest.projection.projected_seconds)}, as long as {longest.name}.")
    return lines
