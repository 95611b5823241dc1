"""The problem list as spreadsheet-safe CSV, in the grid's words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any

from sqlalchemy.orm import Session

from qbcore import labels
from qbcore.companies import has_several_companies
from qbcore.export import safe_csv_bytes, write_safe_csv
from qbcore.models import (
    EntityType,
)
from qbcore.problems.filters import (
    SOURCES,
    ProblemFilter,
)
from qbcore.problems.listing import ProblemRow, has_paid_in_quickbooks, iter_problems

# The grid's headers, in its order, then what only the file holds; values in the grid's words, amounts plain.
EXPORT_HEADER = (
    "Reference #", "Customer", "Amount", "Date", "Status", "Error kind", "Message", "How to fix", "QuickBooks code",
    "Attempts", "Open (days)", "Last attempt", "QuickBooks id", "Type", "Record id", "Blocked by", "First failed",
)
# With several QuickBooks companies the file says which one each row goes to, next to its customer (as the grid).
COMPANY_HEADER = "Company"
# On a bill tab (settlements, carrier bills): what bill payments entered in QuickBooks paid, after its date or week.
PAID_HEADER = "Paid in QuickBooks"


def _tab_header(entity_type: EntityType) -> tuple[str, ...]:
    """The file's header on one tab: a payables tab names the vendor and its kind (and a settlement's week)."""
    source = SOURCES[entity_type]
    if not source.payee:
        return EXPORT_HEADER
    header = list(EXPORT_HEADER)
    at = header.index("Customer")
    header[at:at + 1] = ["Vendor", "Vendor kind"]
    if source.period is not None:
        header.insert(header.index("Date") + 1, "Period")
    if has_paid_in_quickbooks(entity_type):
        header.insert(header.index("Status"), PAID_HEADER)
    return tuple(header)


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _moment(value: datetime | None) -> str:
    # isoformat is several times faster than strftime, and an export formats two moments a row.
    return "" if value is None else value.isoformat(" ", "minutes")[:16]


# A queue of 200,000 problems holds a handful of statuses, kinds and blockers: each is put in words once.
_status_words = lru_cache(maxsize=64)(lambda status: labels.label(labels.SYNC_STATUS, status))
_kind_words = lru_cache(maxsize=64)(lambda kind: labels.label(labels.ERROR_KIND, kind))
_blocker_words = lru_cache(maxsize=4096)(labels.blocker)
_type_words = lru_cache(maxsize=64)(labels.label_entity)


def _export_cells(entity_type: EntityType, row: ProblemRow) -> tuple[Any, ...]:
    source = SOURCES[entity_type]
    party = (row.customer, row.vendor_kind) if source.payee else (row.customer,)
    period = (row.period,) if source.period is not None else ()
    paid = (_amount(row.paid_in_qbo),) if has_paid_in_quickbooks(entity_type) else ()
    return (
        row.reference, *party, _amount(row.amount), row.record_date.isoformat() if row.record_date else "", *period,
        *paid,
        _status_words(row.status),
        _kind_words(row.error_kind), row.error_message, row.fix_hint, row.error_code,
        row.attempts, row.open_days, _moment(row.last_attempt_at), row.qbo_id, _type_words(entity_type),
        row.record_id, _blocker_words(row.blocked_by), _moment(row.first_failed_at),
    )


def _with_company(cells: tuple[Any, ...], company: str, at: int) -> tuple[Any, ...]:
    return (*cells[:at], company, *cells[at:])


def _company_at(entity_type: EntityType) -> int:
    """Where the Company column goes: after the customer, or after the vendor and its kind on a payables tab."""
    header = _tab_header(entity_type)
    return header.index("Customer") + 1 if "Customer" in header else header.index("Vendor kind") + 1


def export_header(session: Session, entity_type: EntityType) -> tuple[str, ...]:
    """The export's header on one tab, with a Company column next to who it is for when there are several."""
    header = _tab_header(entity_type)
    return _with_company(header, COMPANY_HEADER, _company_at(entity_type)) if has_several_companies(session) \
        else header


def _rows(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> Iterator[tuple[Any, ...]]:
    several, at = has_several_companies(session), _company_at(entity_type)
    for row in iter_problems(session, entity_type, problem_filter):
        cells = _export_cells(entity_type, row)
        yield _with_company(cells, row.company, at) if several else cells


def export_problems_csv(session: Session, entity_type: EntityType, problem_filter: ProblemFilter, out: IO[str]) -> int:
    """Write every row matching the filter as spreadsheet-safe CSV to `out`; returns the row count."""
    return write_safe_csv(out, export_header(session, entity_type), _rows(session, entity_type, problem_filter))


def problems_csv_bytes(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> bytes:
    """The same export as UTF-8 bytes (with a BOM), for a download button."""
    return safe_csv_bytes(export_header(session, entity_type), _rows(session, entity_type, problem_filter))
