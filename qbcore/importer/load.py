"""Importing a book: validate the whole file set, compare it with the book, write it in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.importer.book import chunks, read_book
from qbcore.importer.layout import LOAD_COLUMNS, FileKind
from qbcore.importer.parse import ParsedFile, RowError, parse_csv
from qbcore.importer.records import BookSnapshot, ImportBatch
from qbcore.importer.validate import check_batch, read_batch
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    EntityType,
    Invoice,
    InvoiceStatus,
    Load,
    Payment,
    PaymentApplication,
    Role,
    SyncRecord,
    SyncStatus,
    utcnow,
)
from qbcore.sync.records import ensure_sync_records

MAX_ERRORS = 200
CENT = Decimal("0.01")
KINDS = ("customers", "charge_codes", "loads", "invoices", "payments", "credit_memos")


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


@dataclass
class _Plan:
    """Keys to create and to update, per kind, after comparing the batch with the book."""

    batch: ImportBatch
    book: BookSnapshot
    create: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    update: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    replace_content: set[str] = field(default_factory=set)  # invoices whose charge sets change
    replace_lines: set[str] = field(default_factory=set)  # credit memos whose lines change
    touched_invoices: set[str] = field(default_factory=set)  # invoices whose loads changed


def parse_files(files: Mapping[FileKind, bytes]) -> dict[FileKind, ParsedFile]:
    """Parse each uploaded file (in the order customers, invoices, payments, credit memos)."""
    return {kind: parse_csv(kind, files[kind]) for kind in FileKind if kind in files}


def _cap(result: ImportResult, errors: list[RowError]) -> None:
    order = {kind: i for i, kind in enumerate(FileKind)}
    errors = sorted(errors, key=lambda e: (order[e.file], e.row))
    result.error_count = len(errors)
    result.errors = errors[:MAX_ERRORS]


def _validate(files: Mapping[FileKind, bytes], session: Session) -> tuple[ImportResult, _Plan | None]:
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
    plan = _plan(batch, book)
    _summarise(plan, result, session)
    return result, plan


def validate_files(files: Mapping[FileKind, bytes], *, session: Session) -> ImportResult:
    """Check a file set against the book and say what an import would do; writes nothing."""
    result, _ = _validate(files, session)
    return result


def import_files(
    files: Mapping[FileKind, bytes], *, session: Session, actor: Actor, dry_run: bool = False
) -> ImportResult:
    """Validate everything, then write it all in the caller's transaction (or nothing, on any error)."""
    if not dry_run:
        require_role(actor, Role.OPERATOR, "import_book", session=session, target_type="import")
    result, plan = _validate(files, session)
    if plan is None or dry_run:
        return result
    if not any(result.rows.values()):
        return result  # header rows only: nothing imported, so nothing to audit
    _apply(plan, session)
    _settle_statuses(plan, session)
    ensure_sync_records(session)
    _mark_out_of_date(plan, session)
    result.written = True
    write_audit(session, actor, "import_book", target_type="import",
                after={"files": sorted(k.value for k in files), "rows": result.rows, "counts": result.counts(),
                       "created_charge_codes": result.created_charge_codes})
    return result


def _plan(batch: ImportBatch, book: BookSnapshot) -> _Plan:
    plan = _Plan(batch, book)
    for code, record in batch.customers.items():
        existing = book.customers.get(code)
        if existing is None:
            plan.create["customers"].append(code)
        elif existing.fields != record.fields or existing.parent_code != record.parent_code:
            plan.update["customers"].append(code)
    plan.create["charge_codes"] = sorted(c for c in batch.charge_codes if c not in book.charge_codes)
    for number, load in batch.loads.items():
        existing_load = book.loads.get(number)
        if existing_load is None:
            plan.create["loads"].append(number)
        elif existing_load.fields != load.fields:
            plan.update["loads"].append(number)
    changed_loads = set(plan.update["loads"])
    for number, invoice in batch.invoices.items():
        invoice.fields["terms"] = invoice.fields["terms"] or _customer_terms(batch, book, invoice.customer_code)
        existing_inv = book.invoices.get(number)
        if existing_inv is None:
            plan.create["invoices"].append(number)
            continue
        content_changed = existing_inv.content != invoice.content()
        if content_changed:
            plan.replace_content.add(number)
        if content_changed or existing_inv.fields != invoice.fields \
                or existing_inv.customer_code != invoice.customer_code:
            plan.update["invoices"].append(number)
        elif changed_loads.intersection(invoice.sets):
            plan.touched_invoices.add(number)
    for number, payment in batch.payments.items():
        existing_pay = book.payments.get(number)
        if existing_pay is None:
            plan.create["payments"].append(number)
        elif (existing_pay.fields != payment.fields or existing_pay.customer_code != payment.customer_code
              or existing_pay.applications != payment.applications):
            plan.update["payments"].append(number)
    for number, memo in batch.credit_memos.items():
        existing_cm = book.credit_memos.get(number)
        wanted_apps = {memo.applied_invoice: memo.applied_amount} if memo.applied_invoice else {}
        lines = tuple(line.signature() for line in memo.lines)
        if existing_cm is None:
            plan.create["credit_memos"].append(number)
            continue
        if existing_cm.lines != lines:
            plan.replace_lines.add(number)
        if (existing_cm.lines != lines or existing_cm.customer_code != memo.customer_code
                or existing_cm.fields != {**memo.fields, "total": memo.total}
                or existing_cm.applications != wanted_apps):
            plan.update["credit_memos"].append(number)
    return plan


def _customer_terms(batch: ImportBatch, book: BookSnapshot, code: str) -> str:
    if code in batch.customers:
        return str(batch.customers[code].fields["terms"])
    return str(book.customers[code].fields["terms"])


_ENTITY_OF = {"customers": EntityType.CUSTOMER, "invoices": EntityType.INVOICE, "payments": EntityType.PAYMENT,
              "credit_memos": EntityType.CREDIT_MEMO}


def _stale_ids(plan: _Plan) -> dict[EntityType, list[int]]:
    book = plan.book
    existing: dict[str, Mapping[str, Any]] = {"customers": book.customers, "invoices": book.invoices,
                                              "payments": book.payments, "credit_memos": book.credit_memos}
    ids: dict[EntityType, list[int]] = {}
    for kind, entity_type in _ENTITY_OF.items():
        keys = list(plan.update[kind])
        if kind == "invoices":
            keys += sorted(plan.touched_invoices)
        ids[entity_type] = [existing[kind][key].id for key in keys]
    return ids


def _synced(entity_type: EntityType, ids: list[int]):  # type: ignore[no-untyped-def]
    return (SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id.in_(ids),
            SyncRecord.status == SyncStatus.SYNCED.value, SyncRecord.qbo_id.is_not(None))


def _summarise(plan: _Plan, result: ImportResult, session: Session) -> None:
    batch = plan.batch
    sizes = {"customers": len(batch.customers), "charge_codes": len(batch.charge_codes),
             "loads": len(batch.loads), "invoices": len(batch.invoices), "payments": len(batch.payments),
             "credit_memos": len(batch.credit_memos)}
    for kind in KINDS:
        s = result.summary[kind]
        s.created, s.updated = len(plan.create[kind]), len(plan.update[kind])
        s.unchanged = sizes[kind] - s.created - s.updated
    result.created_charge_codes = list(plan.create["charge_codes"])
    for entity_type, ids in _stale_ids(plan).items():
        kind = next(k for k, t in _ENTITY_OF.items() if t is entity_type)
        for part in chunks(ids):
            result.summary[kind].out_of_date += session.scalar(
                select(func.count()).select_from(SyncRecord).where(*_synced(entity_type, part))) or 0


def _mark_out_of_date(plan: _Plan, session: Session) -> None:
    for entity_type, ids in _stale_ids(plan).items():
        for part in chunks(ids):
            session.execute(update(SyncRecord).where(*_synced(entity_type, part))
                            .values(status=SyncStatus.OUT_OF_DATE.value, updated_at=utcnow()))


_WRITTEN_TABLES = (Customer, ChargeCode, Load, Invoice, ChargeSet, ChargeLine, Payment, PaymentApplication,
                   CreditMemo, CreditMemoLine, CreditMemoApplication)


def _catch_up_sequences(session: Session) -> None:
    """On PostgreSQL, move id sequences past rows written with explicit ids (the demo book's COPY does)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in _WRITTEN_TABLES:
        table = model.__tablename__
        # setval never moves a sequence backwards here: GREATEST with nextval keeps concurrent writers safe.
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST("
            f"COALESCE((SELECT MAX(id) FROM {table}), 0), nextval(pg_get_serial_sequence('{table}', 'id'))))"))


def _apply(plan: _Plan, session: Session) -> None:
    batch, book = plan.batch, plan.book
    _catch_up_sequences(session)
    now = utcnow()
    customer_ids = {code: c.id for code, c in book.customers.items()}
    # Customers first without parents (a parent may come later in the file), then the parent links.
    new = [{"code": code, "parent_id": None, **batch.customers[code].fields} for code in plan.create["customers"]]
    customer_ids.update(_insert_returning(session, Customer, Customer.code, new))
    _update_by_id(session, Customer, [
        {"id": customer_ids[code], **batch.customers[code].fields, "updated_at": now}
        for code in plan.update["customers"]])
    with_parent = [c for c in plan.create["customers"] if batch.customers[c].parent_code]
    _update_by_id(session, Customer, [
        {"id": customer_ids[code], "parent_id": customer_ids[p] if (p := batch.customers[code].parent_code) else None}
        for code in [*with_parent, *plan.update["customers"]]])

    code_ids = dict(book.charge_codes)
    code_ids.update(_insert_returning(session, ChargeCode, ChargeCode.code, [
        {"code": code, "name": batch.charge_codes[code][:100], "description": batch.charge_codes[code],
         "active": True} for code in plan.create["charge_codes"]]))

    load_ids = {number: load.id for number, load in book.loads.items()}
    load_ids.update(_insert_returning(session, Load, Load.load_number, [
        {"load_number": n, "customer_id": customer_ids[batch.loads[n].customer_code], **batch.loads[n].fields}
        for n in plan.create["loads"]]))
    _update_by_id(session, Load, [{"id": load_ids[n], **{c: batch.loads[n].fields[c] for c in LOAD_COLUMNS}}
                                  for n in plan.update["loads"]])

    invoice_ids = {number: inv.id for number, inv in book.invoices.items()}

    def invoice_row(number: str) -> dict[str, Any]:
        inv = batch.invoices[number]
        return {"customer_id": customer_ids[inv.customer_code], **inv.fields, "total": inv.total,
                "is_combined": len(inv.sets) > 1}

    invoice_ids.update(_insert_returning(session, Invoice, Invoice.number, [
        {"number": n, "status": InvoiceStatus.APPROVED.value, **invoice_row(n)} for n in plan.create["invoices"]]))
    _update_by_id(session, Invoice, [{"id": invoice_ids[n], **invoice_row(n), "updated_at": now}
                                     for n in plan.update["invoices"]])
    # Applications that the files restate go first, so the database guards only ever see the final sums.
    replaced_payments = [book.payments[n].id for n in plan.update["payments"]]
    replaced_memos = [book.credit_memos[n].id for n in plan.update["credit_memos"]]
    for part in chunks(replaced_payments):
        session.execute(delete(PaymentApplication).where(PaymentApplication.payment_id.in_(part),
                                                         PaymentApplication.invoice_id.is_not(None)))
    for part in chunks(replaced_memos):
        session.execute(delete(CreditMemoApplication).where(CreditMemoApplication.credit_memo_id.in_(part)))
    _write_charge_sets(plan, session, invoice_ids, load_ids, code_ids)

    payment_ids = {n: p.id for n, p in book.payments.items()}

    def payment_row(number: str) -> dict[str, Any]:
        pay = batch.payments[number]
        return {"customer_id": customer_ids[pay.customer_code], **pay.fields}

    payment_ids.update(_insert_returning(session, Payment, Payment.number, [
        {"number": n, **payment_row(n)} for n in plan.create["payments"]]))
    _update_by_id(session, Payment, [{"id": payment_ids[n], **payment_row(n), "updated_at": now}
                                     for n in plan.update["payments"]])
    _insert(session, PaymentApplication, [
        {"payment_id": payment_ids[n], "invoice_id": invoice_ids[inv], "credit_memo_id": None, "amount": amount}
        for n in [*plan.create["payments"], *plan.update["payments"]]
        for inv, amount in batch.payments[n].applications.items()])

    memo_ids = {n: m.id for n, m in book.credit_memos.items()}

    def memo_row(number: str) -> dict[str, Any]:
        memo = batch.credit_memos[number]
        return {"customer_id": customer_ids[memo.customer_code], **memo.fields, "total": memo.total}

    memo_ids.update(_insert_returning(session, CreditMemo, CreditMemo.number, [
        {"number": n, **memo_row(n)} for n in plan.create["credit_memos"]]))
    _update_by_id(session, CreditMemo, [{"id": memo_ids[n], **memo_row(n), "updated_at": now}
                                        for n in plan.update["credit_memos"]])
    for part in chunks([memo_ids[n] for n in plan.replace_lines]):
        session.execute(delete(CreditMemoLine).where(CreditMemoLine.credit_memo_id.in_(part)))
    _insert(session, CreditMemoLine, [
        {"credit_memo_id": memo_ids[n], "charge_code_id": code_ids[line.charge_code], "position": i,
         "description": line.description, "quantity": line.quantity, "rate": line.rate, "amount": line.amount}
        for n in [*plan.create["credit_memos"], *sorted(plan.replace_lines)]
        for i, line in enumerate(batch.credit_memos[n].lines, start=1)])
    _insert(session, CreditMemoApplication, [
        {"credit_memo_id": memo_ids[n], "invoice_id": invoice_ids[memo.applied_invoice],
         "amount": memo.applied_amount}
        for n in [*plan.create["credit_memos"], *plan.update["credit_memos"]]
        if (memo := batch.credit_memos[n]).applied_invoice])


_SETTLEABLE = (InvoiceStatus.APPROVED.value, InvoiceStatus.PARTIALLY_PAID.value, InvoiceStatus.PAID.value)


def _settle_statuses(plan: _Plan, session: Session) -> None:
    """Approved / partially paid / paid from the money now applied to every invoice the import touched."""
    batch, book = plan.batch, plan.book
    numbers = set(plan.create["invoices"]) | set(plan.update["invoices"])
    for n in [*plan.create["payments"], *plan.update["payments"]]:
        numbers.update(batch.payments[n].applications)
    for n in plan.update["payments"]:
        numbers.update(book.payments[n].applications)
    for n in [*plan.create["credit_memos"], *plan.update["credit_memos"]]:
        if batch.credit_memos[n].applied_invoice:
            numbers.add(str(batch.credit_memos[n].applied_invoice))
    for n in plan.update["credit_memos"]:
        numbers.update(book.credit_memos[n].applications)
    changes = []
    for part in chunks(sorted(numbers)):
        invoices = session.execute(select(Invoice.id, Invoice.total, Invoice.status).where(
            Invoice.number.in_(part), Invoice.status.in_(_SETTLEABLE))).all()
        ids = [row.id for row in invoices]
        applied: dict[int, Decimal] = {}
        for model in (PaymentApplication, CreditMemoApplication):
            for invoice_id, amount in session.execute(
                select(model.invoice_id, func.sum(model.amount)).where(model.invoice_id.in_(ids))
                .group_by(model.invoice_id)
            ):
                if invoice_id is not None:  # never: the query asks for these invoices
                    applied[invoice_id] = (applied.get(invoice_id, Decimal("0.00"))
                                           + Decimal(str(amount)).quantize(CENT))
        for invoice_id, total, status in invoices:
            total, paid = Decimal(str(total)).quantize(CENT), applied.get(invoice_id, Decimal("0.00"))
            wanted = (InvoiceStatus.PAID if total > 0 and paid >= total
                      else InvoiceStatus.PARTIALLY_PAID if paid > 0 else InvoiceStatus.APPROVED).value
            if wanted != status:
                changes.append({"id": invoice_id, "status": wanted})
    _update_by_id(session, Invoice, changes)


def _write_charge_sets(plan: _Plan, session: Session, invoice_ids: dict[str, int], load_ids: dict[str, int],
                       code_ids: dict[str, int]) -> None:
    batch = plan.batch
    replaced = [invoice_ids[n] for n in sorted(plan.replace_content)]
    for part in chunks(replaced):
        old_sets = select(ChargeSet.id).where(ChargeSet.invoice_id.in_(part)).scalar_subquery()
        session.execute(delete(ChargeLine).where(ChargeLine.charge_set_id.in_(old_sets)))
        session.execute(delete(ChargeSet).where(ChargeSet.invoice_id.in_(part)))
    numbers = [*plan.create["invoices"], *sorted(plan.replace_content)]
    set_rows = [{"invoice_id": invoice_ids[n], "load_id": load_ids[load], "position": pos}
                for n in numbers for pos, load in enumerate(batch.invoices[n].sets, start=1)]
    set_ids: dict[tuple[int, int], int] = {}
    for rows_part in chunks(set_rows, 2000):
        for row in session.execute(
            insert(ChargeSet).returning(ChargeSet.id, ChargeSet.invoice_id, ChargeSet.load_id), rows_part
        ):
            set_ids[(row.invoice_id, row.load_id)] = row.id
    _insert(session, ChargeLine, [
        {"charge_set_id": set_ids[(invoice_ids[n], load_ids[load])], "charge_code_id": code_ids[line.charge_code],
         "position": i, "description": line.description, "quantity": line.quantity, "rate": line.rate,
         "amount": line.amount}
        for n in numbers for load, lines in batch.invoices[n].sets.items()
        for i, line in enumerate(lines, start=1)])


def _insert_returning(session: Session, model: type, key: Any, rows: list[dict[str, Any]]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for part in chunks(rows, 2000):
        for row in session.execute(insert(model).returning(model.id, key), part):  # type: ignore[attr-defined]
            ids[row[1]] = row[0]
    return ids


def _insert(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    for part in chunks(rows, 5000):
        session.execute(insert(model), part)


def _update_by_id(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    # Rows of one executemany must share their keys; group them by key set.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        for part in chunks(group, 2000):
            session.execute(update(model), part)

