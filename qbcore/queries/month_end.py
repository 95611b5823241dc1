"""Month-end readiness: per month, what is not in QuickBooks yet, what drifted, what the closing date blocks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from qbcore.companies import list_companies
from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.labels import money, plural
from qbcore.models import (
    Drift,
    EntityType,
    Invoice,
    PulledPayment,
    PulledPaymentStatus,
    SyncRecord,
    SyncStatus,
)
from qbcore.pull.bookmark import get_book_close_date
from qbcore.settings import load_settings

ZERO = Decimal("0.00")
UNSYNCED = (SyncStatus.NEVER_SYNCED.value, SyncStatus.PENDING.value, SyncStatus.OUT_OF_DATE.value)
PROBLEM = {"unsynced": UNSYNCED, "failed": (SyncStatus.FAILED.value,), "blocked": (SyncStatus.BLOCKED.value,)}
WAITING = (*UNSYNCED, SyncStatus.FAILED.value, SyncStatus.BLOCKED.value)


@dataclass(frozen=True)
class _Source:
    entity_type: EntityType
    model: Any
    day: Any
    amount: Any
    number: Any
    in_books: tuple[Any, ...]


# Every dated money record counts in a month's close.
SOURCES = tuple(_Source(spec.entity_type, spec.model, spec.ledger.day, spec.ledger.amount, spec.ledger.number,
                        spec.ledger.in_books) for spec in ENTITIES if spec.ledger is not None)


def _bill_source(entity_type: EntityType) -> _Source:
    """A kind of bill as its Problem Sync tab dates, totals and names it; in the books once it may sync."""
    spec = spec_for(entity_type)
    assert spec.problems is not None
    tab = spec.problems
    return _Source(entity_type, spec.model, tab.record_date, tab.amount, tab.reference, spec.syncs_only)


# Payables close too, once a company syncs them: settlements by settlement date, carrier bills by bill date (the
# TxnDate QuickBooks' closing date is checked against).
BILL_SOURCES = (_bill_source(EntityType.SETTLEMENT), _bill_source(EntityType.CARRIER_BILL))


@dataclass(frozen=True)
class Tally:
    """A count and a dollar total."""

    count: int = 0
    amount: Decimal = ZERO

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.count + other.count, self.amount + other.amount)


@dataclass(frozen=True)
class ChecklistItem:
    """One line of a month's close checklist."""

    label: str
    done: bool
    detail: str


@dataclass(frozen=True)
class MonthReadiness:
    """One accounting month."""

    month: str  # YYYY-MM
    records: int
    unsynced: Tally
    failed: Tally
    blocked: Tally
    drifted: Tally
    proposals: Tally
    closed_conflicts: Tally
    checklist: list[ChecklistItem] = field(default_factory=list)
    company: str = ""  # the QuickBooks company, when the months are listed per company
    # Payables, counted only when the company syncs driver settlements or carrier bills (payables is then True).
    payables: bool = False
    bills: int = 0
    bills_unsynced: Tally = Tally()
    bills_failed: Tally = Tally()
    bills_blocked: Tally = Tally()
    bills_closed: Tally = Tally()
    waiting_bill_types: tuple[str, ...] = ()  # the kinds of bill with some waiting this month ("settlement", …)

    @property
    def is_clean(self) -> bool:
        """All synced, no drift, no proposals pending, nothing the closing date would refuse."""
        return all(item.done for item in self.checklist)


@dataclass(frozen=True)
class ClosedPeriodRecord:
    """A record QuickBooks' closing date will refuse (6200) when it is sent: fix the date or reopen the period."""

    entity_type: str
    entity_id: int
    number: str
    day: date
    amount: Decimal
    status: str
    sync_record_id: int
    company: str = ""
    close_date: date | None = None  # the closing date of the record's company, which refuses it


def _month(year: Any, month: Any) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def _by_month(session: Session, source: _Source, where: list[Any]) -> dict[str, Tally]:
    year, month = extract("year", source.day), extract("month", source.day)
    rows = session.execute(
        select(year, month, func.count(), func.coalesce(func.sum(source.amount), 0))
        .select_from(source.model)
        .join(SyncRecord, (SyncRecord.entity_id == source.model.id)
              & (SyncRecord.entity_type == source.entity_type.value))
        .where(*where).group_by(year, month)).all()
    return {_month(y, m): Tally(int(n), Decimal(str(total)).quantize(Decimal("0.01"))) for y, m, n, total in rows}


def first_day_shown(session: Session, sources: list[_Source], months: int | None) -> date | None:
    """The first day of the oldest of the `months` months up to the book's newest record (None: every month).

    Counting only those months in SQL keeps the page quick on a ten-year book; older months were never shown.
    """
    if months is None:
        return None
    newest = [day for source in sources if (day := session.scalar(select(func.max(source.day)))) is not None]
    if not newest:
        return None
    top = max(newest)
    month = top.year * 12 + top.month - 1 - (months - 1)
    return date(month // 12, month % 12 + 1, 1)


def _since(source: _Source, since: date | None) -> list[Any]:
    return [] if since is None else [source.day >= since]


def _in_books(source: _Source) -> list[Any]:
    return list(source.in_books)


def _company_of(model: Any, company_id: int | None) -> list[Any]:
    return [] if company_id is None else [model.company_id == company_id]


def bill_sources(session: Session, company_id: int | None) -> list[_Source]:
    """The kinds of bill a company syncs (Settings → What syncs); none while payables are switched off."""
    settings = load_settings(session, company_id)
    return [s for s in BILL_SOURCES if all(getattr(settings, f) for f in spec_for(s.entity_type).switches)]


def _count_bills(session: Session, sources: list[_Source], company_id: int | None, close_date: date | None,
                 counted: dict[str, dict[str, Tally]], bills: dict[str, int], kinds: dict[str, list[str]],
                 since: date | None) -> None:
    for source in sources:
        base = [*_in_books(source), SyncRecord.status != SyncStatus.CLEARED.value, *_company_of(SyncRecord, company_id),
                *_since(source, since)]
        for month, tally in _by_month(session, source, base).items():
            bills[month] += tally.count
        for name, statuses in PROBLEM.items():
            for month, tally in _by_month(session, source, [*base, SyncRecord.status.in_(statuses)]).items():
                counted[month]["bills_" + name] += tally
                if source.entity_type.value not in kinds[month]:
                    kinds[month].append(source.entity_type.value)
        if close_date is not None:
            for month, tally in _by_month(session, source, [*base, SyncRecord.status.in_(WAITING),
                                                            source.day <= close_date]).items():
                counted[month]["bills_closed"] += tally


def list_month_readiness(session: Session, *, close_date: date | None = None, months: int | None = None,
                         company_id: int | None = None) -> list[MonthReadiness]:
    """Per month (newest first): count and total of unsynced, failed, blocked, drifted records; a checklist.

    Of one company (with its closing date) when company_id is given; of the whole book when None.
    """
    close_date = close_date if close_date is not None else get_book_close_date(session, company_id)
    counted: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    records: dict[str, int] = defaultdict(int)
    payables = bill_sources(session, company_id)
    since = first_day_shown(session, [*SOURCES, *payables], months)
    for source in SOURCES:
        base = [*_in_books(source), SyncRecord.status != SyncStatus.CLEARED.value, *_company_of(SyncRecord, company_id),
                *_since(source, since)]
        for month, tally in _by_month(session, source, base).items():
            records[month] += tally.count
        for name, statuses in PROBLEM.items():
            for month, tally in _by_month(session, source, [*base, SyncRecord.status.in_(statuses)]).items():
                counted[month][name] += tally
        if close_date is not None:
            for month, tally in _by_month(session, source, [*base, SyncRecord.status.in_(WAITING),
                                                            source.day <= close_date]).items():
                counted[month]["closed"] += tally
        drift_rows = session.execute(
            select(extract("year", source.day), extract("month", source.day), func.count(Drift.id),
                   func.coalesce(func.sum(source.amount), 0))
            .select_from(Drift).join(source.model, source.model.id == Drift.entity_id)
            .where(Drift.entity_type == source.entity_type.value, Drift.resolved_at.is_(None),
                   *_company_of(Drift, company_id), *_since(source, since))
            .group_by(extract("year", source.day), extract("month", source.day))).all()
        for y, m, n, total in drift_rows:
            counted[_month(y, m)]["drifted"] += Tally(int(n), Decimal(str(total)).quantize(Decimal("0.01")))
    bills: dict[str, int] = defaultdict(int)
    kinds: dict[str, list[str]] = defaultdict(list)
    _count_bills(session, payables, company_id, close_date, counted, bills, kinds, since)
    proposal_rows = session.execute(
        select(extract("year", Invoice.invoice_date), extract("month", Invoice.invoice_date), func.count(),
               func.coalesce(func.sum(PulledPayment.amount), 0))
        .select_from(PulledPayment).join(Invoice, Invoice.id == PulledPayment.invoice_id)
        .where(PulledPayment.status == PulledPaymentStatus.PROPOSED.value, *_company_of(PulledPayment, company_id),
               *([] if since is None else [Invoice.invoice_date >= since]))
        .group_by(extract("year", Invoice.invoice_date), extract("month", Invoice.invoice_date))).all()
    for y, m, n, total in proposal_rows:
        counted[_month(y, m)]["proposals"] += Tally(int(n), Decimal(str(total)).quantize(Decimal("0.01")))
    result = []
    for month in sorted(set(records) | set(counted) | set(bills), reverse=True)[:months]:
        c = counted[month]
        result.append(MonthReadiness(
            month=month, records=records.get(month, 0), unsynced=c["unsynced"], failed=c["failed"],
            blocked=c["blocked"], drifted=c["drifted"], proposals=c["proposals"], closed_conflicts=c["closed"],
            checklist=checklist(c, close_date, payables=bool(payables)), payables=bool(payables),
            bills=bills.get(month, 0), bills_unsynced=c["bills_unsynced"], bills_failed=c["bills_failed"],
            bills_blocked=c["bills_blocked"], bills_closed=c["bills_closed"],
            waiting_bill_types=tuple(kinds.get(month, ()))))
    return result


def checklist(c: dict[str, Tally], close_date: date | None, *, payables: bool = False) -> list[ChecklistItem]:
    """The close checklist of one month from its tallies, with the bills' items when payables sync (pure)."""
    waiting = c["unsynced"] + c["failed"] + c["blocked"]
    return [*_receivables_checklist(c, close_date, waiting), *(_payables_checklist(c, close_date) if payables else [])]


def _payables_checklist(c: dict[str, Tally], close_date: date | None) -> list[ChecklistItem]:
    waiting = c["bills_unsynced"] + c["bills_failed"] + c["bills_blocked"]
    closed = c["bills_closed"]
    return [
        ChecklistItem("Every bill is in QuickBooks (settlements and carrier bills)", waiting.count == 0,
                      f"{c['bills_unsynced'].count:,} unsynced, {c['bills_failed'].count:,} failed, "
                      f"{c['bills_blocked'].count:,} blocked: {money(waiting.amount)} in all"
                      if waiting.count else "all synced"),
        ChecklistItem("No bill waiting falls inside QuickBooks' closed period", closed.count == 0,
                      f"{plural(closed.count, 'bill')} dated on or before {close_date} will be refused "
                      f"(QuickBooks error 6200): {money(closed.amount)} in all"
                      if closed.count else ("books not closed" if close_date is None
                                            else f"closed through {close_date}")),
    ]


def _receivables_checklist(c: dict[str, Tally], close_date: date | None, waiting: Tally) -> list[ChecklistItem]:
    return [
        ChecklistItem("Every record is in QuickBooks", waiting.count == 0,
                      f"{c['unsynced'].count:,} unsynced, {c['failed'].count:,} failed, "
                      f"{c['blocked'].count:,} blocked: {money(waiting.amount)} in all"
                      if waiting.count else "all synced"),
        ChecklistItem("No drift from QuickBooks", c["drifted"].count == 0,
                      f"{plural(c['drifted'].count, 'record')} voided, deleted or edited in QuickBooks: "
                      f"{money(c['drifted'].amount)} in all" if c["drifted"].count else "none"),
        ChecklistItem("No pulled payment waiting for a decision", c["proposals"].count == 0,
                      f"{plural(c['proposals'].count, 'payment')} to accept or reject on Reconciliation: "
                      f"{money(c['proposals'].amount)} in all" if c["proposals"].count else "none"),
        ChecklistItem("Nothing waiting falls inside QuickBooks' closed period", c["closed"].count == 0,
                      f"{plural(c['closed'].count, 'record')} dated on or before {close_date} will be refused "
                      f"(QuickBooks error 6200): {money(c['closed'].amount)} in all"
                      if c["closed"].count else ("books not closed" if close_date is None
                                                 else f"closed through {close_date}")),
    ]


def list_closed_period_records(session: Session, *, close_date: date | None = None, limit: int = 5000,
                               company_id: int | None = None) -> list[ClosedPeriodRecord]:
    """Waiting records dated on or before the closing date: QuickBooks will refuse them, so flag them before sending."""
    close_date = close_date if close_date is not None else get_book_close_date(session, company_id)
    if close_date is None:
        return []
    out: list[ClosedPeriodRecord] = []
    for source in (*SOURCES, *bill_sources(session, company_id)):
        rows = session.execute(
            select(source.model.id, source.number, source.day, source.amount, SyncRecord.status, SyncRecord.id)
            .join(SyncRecord, (SyncRecord.entity_id == source.model.id)
                  & (SyncRecord.entity_type == source.entity_type.value))
            .where(*_in_books(source), SyncRecord.status.in_(WAITING), source.day <= close_date,
                   *_company_of(SyncRecord, company_id))
            .order_by(source.day).limit(limit)).all()
        out.extend(ClosedPeriodRecord(source.entity_type.value, rid, number, day, Decimal(str(amount)), str(status),
                                      record_id, close_date=close_date)
                   for rid, number, day, amount, status, record_id in rows)
    return out


def list_readiness_by_company(session: Session, *, months: int | None = None) -> list[MonthReadiness]:
    """Every company's months, each with its own closing date: newest month first, companies in list order."""
    out: list[MonthReadiness] = []
    for company in list_companies(session):
        out += [replace(m, company=company.name)
                for m in list_month_readiness(session, months=months, company_id=company.id)]
    order = {c.name: i for i, c in enumerate(list_companies(session))}
    return sorted(out, key=lambda m: (_descending(m.month), order[m.company]))


def list_closed_by_company(session: Session, *, limit: int = 5000) -> list[ClosedPeriodRecord]:
    """Every company's waiting records its own closing date will refuse, named with their company."""
    return [replace(r, company=company.name) for company in list_companies(session)
            for r in list_closed_period_records(session, limit=limit, company_id=company.id)]


@dataclass(frozen=True)
class MonthEndView:
    """What Month End shows: the closing dates, the months, and the waiting records a closing date will refuse."""

    close_date: date | None  # the chosen company's (None over every company: each has its own)
    close_dates: dict[str, date | None]  # every company's, by name, when every company is shown
    months: list[MonthReadiness]
    closed: list[ClosedPeriodRecord]


def read_month_end(session: Session, company_id: int | None, *, every_company: bool = False, months: int = 24,
                   limit: int = 2000) -> MonthEndView:
    """One company's months against its closing date, or every company's, each against its own."""
    if every_company:
        return MonthEndView(None, {c.name: get_book_close_date(session, c.id) for c in list_companies(session)},
                            list_readiness_by_company(session, months=months),
                            list_closed_by_company(session, limit=limit))
    close_date = get_book_close_date(session, company_id)
    return MonthEndView(close_date, {},
                        list_month_readiness(session, close_date=close_date, months=months, company_id=company_id),
                        list_closed_period_records(session, close_date=close_date, limit=limit,
                                                   company_id=company_id))


def _descending(month: str) -> int:
    year, number = month.split("-")
    return -(int(year) * 12 + int(number))
