"""The problem list as spreadsheet-safe CSV, in the grid's words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from qbcore import labels
from qbcore.companies import has_several_companies
from qbcore.export import safe_csv_bytes, write_safe_csv
from qbcore.models import (
    EntityType,
)
from qbcore.problems.filters import (
    ProblemFilter,
)
from qbcore.problems.listing import ProblemRow, iter_problems

# The grid's headers, in its order, then what only the file holds; values in the grid's words, amounts plain.
EXPORT_HEADER = (
    "Reference #", "Customer", "Amount", "Date", "Status", "Error kind", "Message", "How to fix", "QuickBooks code",
    "Attempts", "Open (days)", "Last attempt", "QuickBooks id", "Type", "Record id", "Blocked by", "First failed",
)
# With several QuickBooks companies the file says which one each row goes to, next to its customer (as the grid).
COMPANY_HEADER = "Company"
_COMPANY_AT = EXPORT_HEADER.index("Customer") + 1


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


def _with_company(cells: tuple[Any, ...], company: str) -> tuple[Any, ...]:
    return (*cells[:_COMPANY_AT], company, *cells[_COMPANY_AT:])


def export_header(session: Session) -> tuple[str, ...]:
    """The export's header: EXPORT_HEADER, with a Company column after Customer when there are several companies."""
    return _with_company(EXPORT_HEADER, COMPANY_HEADER) if has_several_companies(session) else EXPORT_HEADER


def _rows(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> Iterator[tuple[Any, ...]]:
    several = has_several_companies(session)
    for row in iter_problems(session, entity_type, problem_filter):
        cells = _export_cells(entity_type, row)
        yield _with_company(cells, row.company) if several else cells


def export_problems_csv(session: Session, entity_type: EntityType, problem_filter: ProblemFilter, out: IO[str]) -> int:
    """Write every row matching the filter as spreadsheet-safe CSV to `out`; returns the row count."""
    return write_safe_csv(out, export_header(session), _rows(session, entity_type, problem_filter))


def problems_csv_bytes(session: Session, entity_type: EntityType, problem_filter: ProblemFilter) -> bytes:
    """The same export as UTF-8 bytes (with a BOM), for a download button."""
    return safe_csv_bytes(export_header(session), _rows(session, entity_type, problem_filter))
