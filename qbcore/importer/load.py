"""Importing a book: validate the whole file set, compare it with the book, write it in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.entities.registry import IMPORT_ENTITY
from qbcore.importer.book import read_book
from qbcore.importer.checks import check_batch
from qbcore.importer.files import FILES, KINDS, SLOTS
from qbcore.importer.files.customers import CUSTOMERS
from qbcore.importer.parse import parse_csv
from qbcore.importer.plan import make_plan
from qbcore.importer.records import CHARGE_CODES, Plan
from qbcore.importer.rows import FileKind, ParsedFile, RowError
from qbcore.importer.validate import read_batch
from qbcore.importer.write import apply_plan, settle_statuses
from qbcore.models import (
    Customer,
    EntityType,
    Role,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.sync.records import ensure_sync_records

MAX_ERRORS = 200


@dataclass
class KindSummary:
    """What an import does to one kind of record."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    out_of_date: int = 0  # updated records already in QuickBooks, now marked for the engine to update


@dataclass
class ImportResult:
    """The outcome of a validation or an import: the errors (capped) or what changed, per kind."""

    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    summary: dict[str, KindSummary] = field(default_factory=lambda: {k: KindSummary() for k in KINDS})
    created_charge_codes: list[str] = field(default_factory=list)
    created_codes: dict[str, list[str]] = field(default_factory=dict)  # other new codes that need mapping, by kind
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    written: bool = False

    @property
    def is_valid(self) -> bool:
        """True when the file set has no error at all."""
        return self.error_count == 0

    def counts(self) -> dict[str, dict[str, int]]:
        """The summary as plain numbers (for the audit log and the CLI)."""
        return {kind: vars(s).copy() for kind, s in self.summary.items()}


def parse_files(files: Mapping[FileKind, bytes]) -> dict[FileKind, ParsedFile]:
    """Parse each uploaded file, in file order."""
    return {kind: parse_csv(kind, files[kind]) for kind in FileKind if kind in files}


def _cap(result: ImportResult, errors: list[RowError]) -> None:
    order = {kind: i for i, kind in enumerate(FileKind)}
    errors = sorted(errors, key=lambda e: (order[e.file], e.row))
    result.error_count = len(errors)
    result.errors = errors[:MAX_ERRORS]


def _validate(files: Mapping[FileKind, bytes], session: Session) -> tuple[ImportResult, Plan | None]:
    result = ImportResult()
    parsed = parse_files(files)
    result.ignored_columns = {k.value: p.ignored_columns for k, p in parsed.items() if p.ignored_columns}
    batch, errors = read_batch(parsed)
    result.rows = dict(batch.row_counts)
    book = read_book(session, batch)
    errors.extend(check_batch(batch, book))
    if errors:
        _cap(result, errors)
        return result, None
    plan = make_plan(batch, book)
    _summarise(plan, result, session)
    return result, plan


def validate_files(files: Mapping[FileKind, bytes], *, session: Session) -> ImportResult:
    """Check a file set against the book and say what an import would do; writes nothing."""
    result, _ = _validate(files, session)
    return result


def import_files(
    files: Mapping[FileKind, bytes], *, session: Session, actor: Actor, dry_run: bool = False,
    company_id: int | None = None,
) -> ImportResult:
    """Validate everything, then write it all in the caller's transaction (or nothing, on any error).

    New customers go to `company_id` (the default company when None); customers already in the book stay in
    theirs (moving one is its own guarded action).
    """
    if not dry_run:
        require_role(actor, Role.OPERATOR, "import_book", session=session, target_type="import")
    company = resolve_company_id(session, company_id)
    result, plan = _validate(files, session)
    if plan is None or dry_run:
        return result
    if not any(result.rows.values()):
        return result  # header rows only: nothing imported, so nothing to audit
    apply_plan(plan, session)
    settle_statuses(plan, session)
    created = plan.create.get(CUSTOMERS.name, [])
    for chunk in chunked(created, SQL_IN_CHUNK):
        session.execute(update(Customer).where(Customer.code.in_(chunk)).values(company_id=company)
                        .execution_options(synchronize_session=False))
    ensure_sync_records(session)
    _mark_out_of_date(plan, session)
    result.written = True
    write_audit(session, actor, "import_book", target_type="import",
                after={"files": sorted(k.value for k in files), "rows": result.rows, "counts": result.counts(),
                       "created_charge_codes": result.created_charge_codes, "created_codes": result.created_codes},
                company_id=company)
    return result


def _stale_ids(plan: Plan) -> dict[EntityType, list[int]]:
    """Billing ids of the records the import updates (or whose parts it changes), by their entity."""
    ids: dict[EntityType, list[int]] = {}
    for rules in FILES:
        name, existing = rules.slot.name, plan.book.of(rules.slot)
        keys = [*plan.update[name], *sorted(plan.touched[name])]
        ids[IMPORT_ENTITY[rules.kind]] = [existing[key].id for key in keys]
    return ids


def _synced(entity_type: EntityType, ids: list[int]):  # type: ignore[no-untyped-def]
    return (SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(ids),
            SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None))


def _summarise(plan: Plan, result: ImportResult, session: Session) -> None:
    batch = plan.batch
    for slot in SLOTS:
        s = result.summary[slot.name]
        s.created, s.updated = len(plan.create[slot.name]), len(plan.update[slot.name])
        s.unchanged = len(batch.of(slot)) - s.created - s.updated
    result.created_charge_codes = list(plan.create[CHARGE_CODES.name])
    for rules in FILES:
        for slot, _ in rules.announces:
            if plan.create[slot.name]:
                result.created_codes[slot.name] = list(plan.create[slot.name])
    for entity_type, ids in _stale_ids(plan).items():
        kind = next(k for k, t in IMPORT_ENTITY.items() if t is entity_type)
        for part in chunked(ids, SQL_IN_CHUNK):
            result.summary[kind].out_of_date += session.scalar(
                select(func.count()).select_from(SyncRecord).where(*_synced(entity_type, part))) or 0


def _mark_out_of_date(plan: Plan, session: Session) -> None:
    for entity_type, ids in _stale_ids(plan).items():
        for part in chunked(ids, SQL_IN_CHUNK):
            session.execute(update(SyncRecord).where(*_synced(entity_type, part))
                            .values(status=SyncStatus.OUT_OF_DATE.value, updated_at=utcnow()))
