"""Writing a planned import: bulk inserts and updates of the billing rows, then the invoices' paid statuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from qbcore.importer.book import chunks
from qbcore.importer.layout import LOAD_COLUMNS
from qbcore.importer.plan import Plan
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoApplication,
    CreditMemoLine,
    Customer,
    Invoice,
    InvoiceStatus,
    Load,
    Payment,
    PaymentApplication,
    utcnow,
)

CENT = Decimal("0.01")


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


def apply_plan(plan: Plan, session: Session) -> None:
    """Write the planned creates and updates, kind by kind, in bulk."""
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


def settle_statuses(plan: Plan, session: Session) -> None:
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


def _write_charge_sets(plan: Plan, session: Session, invoice_ids: dict[str, int], load_ids: dict[str, int],
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
