"""Importing a valid file set: what is created, totals from lines, idempotent re-import, updates of synced records."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.db import transaction
from qbcore.importer import FileKind, import_files, validate_files
from qbcore.models import (
    AuditEvent,
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    Customer,
    EntityType,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
    Role,
    SyncRecord,
    SyncStatus,
)
from tests.qbcore.importer.conftest import book_state, read_rows, sample_files, to_csv

OPERATOR = Actor(email="ops@example.com", role=Role.OPERATOR, name="Olga Ops")
VIEWER = Actor(email="viewer@example.com", role=Role.VIEWER)


def _import(factory, files, actor=OPERATOR, dry_run=False):
    with transaction(factory) as session:
        return import_files(files, session=session, actor=actor, dry_run=dry_run)


def test_a_valid_file_set_creates_every_record_with_totals_from_its_lines(demo_factory, files):
    result = _import(demo_factory, files)
    assert result.is_valid and result.written
    counts = result.counts()
    assert {k: v["created"] for k, v in counts.items()} == {
        "customers": 3, "charge_codes": 1, "loads": 4, "invoices": 3, "payments": 2, "credit_memos": 1,
        "vendors": 4, "pay_codes": 1, "deduction_codes": 1, "trucks": 2, "settlements": 3, "carrier_bills": 2}
    assert counts["charge_codes"]["unchanged"] == 4
    assert result.created_charge_codes == ["PIERPASS2"]
    with demo_factory() as session:
        totals = {n: t for n, t in session.execute(
            select(Invoice.number, Invoice.total).where(Invoice.number.like("INV-9%")))}
        assert totals == {"INV-900001": Decimal("1005.00"), "INV-900002": Decimal("1512.50"),
                          "INV-900003": Decimal("955.00")}
        combined = session.scalar(select(Invoice).where(Invoice.number == "INV-900002"))
        assert combined.is_combined and [s.load.load_number for s in combined.charge_sets] == ["L900002", "L900003"]
        assert combined.terms == "Net 30"  # blank: the customer's terms
        sub = session.scalar(select(Customer).where(Customer.code == "C9002"))
        assert sub.parent.code == "C9001"
        payment = session.scalar(select(Payment).where(Payment.number == "PMT-900001"))
        assert sorted(a.amount for a in payment.applications) == [Decimal("400.00"), Decimal("1005.00")]
        memo = session.scalar(select(CreditMemo).where(CreditMemo.number == "CM-900001"))
        assert memo.total == Decimal("155.00") and memo.applications[0].amount == Decimal("90.00")
        assert session.scalar(select(ChargeCode.name).where(ChargeCode.code == "PIERPASS2")) == "Terminal gate fee"
        new_ids = session.scalars(select(Invoice.id).where(Invoice.number.like("INV-9%"))).all()
        statuses = session.scalars(select(SyncRecord.status).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id.in_(new_ids))).all()
        assert statuses == [SyncStatus.NEVER_SYNCED.value] * 3
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "import_book")).one()
        assert audit.actor == OPERATOR.email and audit.after["counts"]["invoices"]["created"] == 3


def test_reimporting_the_same_files_changes_nothing(demo_factory, files):
    _import(demo_factory, files)
    with demo_factory() as session:
        before = book_state(session)
    again = _import(demo_factory, files)
    assert {k: (v["created"], v["updated"]) for k, v in again.counts().items()} == {
        k: (0, 0) for k in again.counts()}
    assert again.counts()["invoices"]["unchanged"] == 3
    with demo_factory() as session:
        after = book_state(session)
    assert after == {**before, "audit_events": before["audit_events"] + 1}


def test_an_edited_line_of_a_synced_invoice_updates_it_and_marks_it_out_of_date(demo_factory, files):
    _import(demo_factory, files)
    with transaction(demo_factory) as session:
        invoice_id = session.scalar(select(Invoice.id).where(Invoice.number == "INV-900001"))
        session.execute(update(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == invoice_id
        ).values(status=SyncStatus.SYNCED.value, qbo_id="901"))
    rows = read_rows(FileKind.INVOICES)
    rows[2].update(quantity="4", amount="180.00")  # one more chassis day
    files[FileKind.INVOICES] = to_csv(rows)
    result = _import(demo_factory, files)
    assert result.counts()["invoices"] == {"created": 0, "updated": 1, "unchanged": 2, "out_of_date": 1}
    with demo_factory() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice.total == Decimal("1050.00")
        assert [line.amount for line in invoice.charge_sets[0].lines] == [
            Decimal("725.00"), Decimal("145.00"), Decimal("180.00")]
        record = session.scalar(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == invoice_id))
        assert record.status == SyncStatus.OUT_OF_DATE.value and record.qbo_id == "901"
        assert session.scalar(select(ChargeSet.id).where(ChargeSet.invoice_id == invoice_id).limit(1)) is not None


def test_a_changed_payment_replaces_its_applications_without_duplicating_it(demo_factory, files):
    _import(demo_factory, files)
    rows = read_rows(FileKind.PAYMENTS)
    rows[1]["applied_amount"] = "500.00"
    files[FileKind.PAYMENTS] = to_csv(rows)
    result = _import(demo_factory, files)
    assert result.counts()["payments"] == {"created": 0, "updated": 1, "unchanged": 1, "out_of_date": 0}
    with demo_factory() as session:
        payments = session.scalars(select(Payment).where(Payment.number == "PMT-900001")).all()
        assert len(payments) == 1
        amounts = session.scalars(select(PaymentApplication.amount).where(
            PaymentApplication.payment_id == payments[0].id)).all()
        assert sorted(amounts) == [Decimal("500.00"), Decimal("1005.00")]


def test_a_changed_customer_is_updated_in_place(demo_factory, files):
    _import(demo_factory, files)
    rows = read_rows(FileKind.CUSTOMERS)
    rows[2]["terms"] = "Net 45"
    files = {FileKind.CUSTOMERS: to_csv(rows)}
    result = _import(demo_factory, files)
    assert result.counts()["customers"]["updated"] == 1
    with demo_factory() as session:
        assert session.scalars(select(Customer.terms).where(Customer.code == "C9003")).all() == ["Net 45"]


def test_formula_looking_cells_are_stored_as_plain_text(factory):
    rows = read_rows(FileKind.CUSTOMERS)
    rows[0]["name"] = '=HYPERLINK("http://evil.example","Atlas")'
    rows[1]["phone"] = "+1 201 555 0147"
    result = _import(factory, {FileKind.CUSTOMERS: to_csv(rows)})
    assert result.written
    with factory() as session:
        names = {c: n for c, n in session.execute(select(Customer.code, Customer.name))}
        assert names["C9001"] == '=HYPERLINK("http://evil.example","Atlas")'
        assert session.scalar(select(Customer.phone).where(Customer.code == "C9002")) == "+1 201 555 0147"


def test_a_dry_run_reports_the_counts_and_writes_nothing(demo_factory, files):
    with demo_factory() as session:
        before = book_state(session)
    result = _import(demo_factory, files, actor=VIEWER, dry_run=True)
    assert result.is_valid and not result.written
    assert result.counts()["invoices"]["created"] == 3
    with demo_factory() as session:
        assert book_state(session) == before


def test_validation_alone_writes_nothing(demo_factory, files):
    with transaction(demo_factory) as session:
        result = validate_files(files, session=session)
    assert result.is_valid and result.counts()["payments"]["created"] == 2
    with demo_factory() as session:
        assert session.scalar(select(Invoice.id).where(Invoice.number == "INV-900001")) is None


def test_a_viewer_may_not_import_and_the_refusal_is_audited(demo_factory, files):
    with pytest.raises(PermissionDenied), transaction(demo_factory) as session:
        import_files(files, session=session, actor=VIEWER)
    with demo_factory() as session:
        assert session.scalar(select(Invoice.id).where(Invoice.number == "INV-900001")) is None
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "import_book")).one()
        assert refused.outcome == "refused" and refused.actor == VIEWER.email


def test_an_invoice_already_in_the_book_can_be_paid_by_an_import(demo_factory):
    with demo_factory() as session:
        number, code, total = session.execute(
            select(Invoice.number, Customer.code, Invoice.total).join(Customer, Customer.id == Invoice.customer_id)
            .where(~select(PaymentApplication.id).where(PaymentApplication.invoice_id == Invoice.id).exists())
            .order_by(Invoice.id.desc()).limit(1)).one()
    payments = [{"payment_number": "PMT-777", "customer_code": code, "payment_date": "2026-11-28",
                 "method": "wire", "reference_number": "", "amount": str(total), "memo": "",
                 "invoice_number": number, "applied_amount": str(total)}]
    result = _import(demo_factory, {FileKind.PAYMENTS: to_csv(payments)}, actor=LOCAL_ADMIN)
    assert result.is_valid, result.errors
    assert result.counts()["payments"]["created"] == 1


def test_the_whole_sample_set_is_also_valid_one_file_at_a_time_in_order(demo_factory):
    files = sample_files()
    for kind in FileKind:
        result = _import(demo_factory, {kind: files[kind]})
        assert result.is_valid, result.errors


def test_ten_thousand_invoice_lines_import_in_one_go_and_a_second_run_changes_nothing(factory):
    from tests.qbcore.importer.bookfiles import make_book_files

    files = make_book_files(10_000)
    first = _import(factory, files)
    assert first.is_valid, first.errors[:3]
    assert first.rows["invoices"] >= 10_000
    with factory() as session:
        lines = session.scalar(select(func.count()).select_from(ChargeLine))
        total = session.scalar(select(func.sum(Invoice.total)))
    assert lines == first.rows["invoices"]
    second = _import(factory, files)
    assert sum(s.created + s.updated for s in second.summary.values()) == 0
    with factory() as session:
        assert session.scalar(select(func.sum(Invoice.total))) == total


def test_imported_money_settles_each_invoice_status(demo_factory, files):
    _import(demo_factory, files)
    with demo_factory() as session:
        statuses = {n: s for n, s in session.execute(
            select(Invoice.number, Invoice.status).where(Invoice.number.like("INV-9%")))}
    assert statuses == {"INV-900001": "paid", "INV-900002": "partially_paid", "INV-900003": "partially_paid"}
    rows = read_rows(FileKind.PAYMENTS)
    files[FileKind.PAYMENTS] = to_csv([r for r in rows if r["invoice_number"] != "INV-900001"]
                                      + [{**rows[0], "invoice_number": "", "applied_amount": ""}])
    _import(demo_factory, files)
    with demo_factory() as session:
        assert session.scalar(select(Invoice.status).where(Invoice.number == "INV-900001")) == "approved"


def test_a_corrected_container_updates_the_load_and_marks_its_synced_invoice_out_of_date(demo_factory, files):
    _import(demo_factory, files)
    with transaction(demo_factory) as session:
        invoice_id = session.scalar(select(Invoice.id).where(Invoice.number == "INV-900003"))
        session.execute(update(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == invoice_id
        ).values(status=SyncStatus.SYNCED.value, qbo_id="903"))
    rows = read_rows(FileKind.INVOICES)
    for row in rows:
        if row["load_number"] == "L900004":
            row["container_number"] = "TGHU8811228"
    files[FileKind.INVOICES] = to_csv(rows)
    result = _import(demo_factory, files)
    assert result.counts()["loads"]["updated"] == 1
    assert result.counts()["invoices"] == {"created": 0, "updated": 0, "unchanged": 3, "out_of_date": 1}
    with demo_factory() as session:
        assert session.scalar(select(SyncRecord.status).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == invoice_id)) == "out_of_date"


def test_a_load_already_billed_to_another_customer_is_refused(demo_factory, files):
    with demo_factory() as session:
        load_number, owner = session.execute(
            select(Load.load_number, Customer.code).join(Customer, Customer.id == Load.customer_id).limit(1)).one()
    rows = read_rows(FileKind.INVOICES)
    for row in rows:
        if row["load_number"] == "L900004":
            row["load_number"] = load_number
    files[FileKind.INVOICES] = to_csv(rows)
    result = _import(demo_factory, files)
    assert any(e.column == "load_number" and f"belongs to customer {owner}" in e.message for e in result.errors)
