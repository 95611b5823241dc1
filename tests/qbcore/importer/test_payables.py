"""Importing payables: vendors, settlement lines and carrier bill lines, with the receivables' guarantees."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.importer import FileKind, import_files
from qbcore.models import (
    CarrierBill,
    DeductionCode,
    EntityType,
    PayCode,
    Settlement,
    SyncRecord,
    SyncStatus,
    Truck,
    Vendor,
)
from qbcore.qbo import limiter
from qbcore.sync.runner import sync_now
from tests.qbcore.importer.conftest import book_state, read_rows, sample_files, to_csv
from tests.qbcore.qbo.conftest import SandboxClient, config, connected, sandbox  # noqa: F401
from tests.qbcore.sync.state import record_of
from tests.qbcore.sync.test_payables import PAYABLES, gateway_for, payables_on

VEN, STL, CBL, INV = FileKind.VENDORS, FileKind.SETTLEMENTS, FileKind.CARRIER_BILLS, FileKind.INVOICES
Rows = list[dict[str, str]]


def _import(factory, files):
    with transaction(factory) as session:
        return import_files(files, session=session, actor=LOCAL_ADMIN)


def test_vendors_settlements_and_carrier_bills_are_written_with_totals_from_their_lines(demo_factory):
    result = _import(demo_factory, sample_files())
    assert result.is_valid and result.written, result.errors
    with demo_factory() as session:
        vendors = {v.code: v for v in session.scalars(select(Vendor).where(Vendor.code.like("V91%")))}
        assert {c: (v.is_driver, v.is_fleet_owner, v.is_carrier) for c, v in vendors.items()} == {
            "V9101": (True, False, False), "V9102": (False, True, False), "V9103": (True, False, False),
            "V9104": (False, False, True)}
        assert (vendors["V9104"].terms, vendors["V9104"].mc_number) == ("Net 30", "MC482211")  # blank: a carrier's
        assert (vendors["V9102"].terms, vendors["V9103"].is_1099, vendors["V9102"].country) == (
            "Due on receipt", True, "USA")
        trucks = {t.number: t.owner.code for t in session.scalars(select(Truck).where(Truck.number.like("T-91%")))}
        assert trucks == {"T-9101": "V9101", "T-9102": "V9102"}  # blank owner: the owner-operator driving it
        first = session.scalar(select(Settlement).where(Settlement.number == "STL-900001"))
        assert (first.pay_total, first.deduction_total, first.net_pay) == (
            Decimal("512.50"), Decimal("155.00"), Decimal("357.50"))
        assert first.status == "finalized" and first.finalized_at is not None and first.driver.code == "V9101"
        assert [(sl.load.load_number, sl.truck.number, [line.pay_code.code for line in sl.lines])
                for sl in first.loads] == [("L900001", "T-9101", ["LH", "FSC"])]
        assert [(d.deduction_code.code, d.truck_id is not None) for d in first.deductions] == [
            ("FUELADV", False), ("OCCACC", True)]
        paid = session.scalar(select(Settlement).where(Settlement.number == "STL-900002"))
        assert (paid.status, str(paid.paid_on), paid.net_pay, len(paid.loads)) == (
            "paid", "2026-11-12", Decimal("765.00"), 2)
        draft = session.scalar(select(Settlement).where(Settlement.number == "STL-900003"))
        assert draft.finalized_at is None and draft.deductions[0].deduction_code.code == "ELD"
        bills = {b.carrier_invoice_number: b for b in session.scalars(
            select(CarrierBill).where(CarrierBill.carrier_invoice_number.like("KC-%")))}
        assert {n: (b.total, b.status, b.terms, b.accepted_at is not None) for n, b in bills.items()} == {
            "KC-5512": (Decimal("1120.00"), "accepted", "Net 30", True),
            "KC-5513": (Decimal("60.00"), "received", "Net 30", False)}
        assert session.scalar(select(PayCode.name).where(PayCode.code == "TARP")) == "Tarp fee"
        assert session.scalar(select(DeductionCode.name).where(DeductionCode.code == "ELD")) == "ELD subscription"
        waiting = {r.entity_type for r in session.scalars(select(SyncRecord).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.entity_id == first.id))}
        assert waiting == {EntityType.SETTLEMENT.value}
    counts = result.counts()
    assert counts["pay_codes"] == {"created": 1, "updated": 0, "unchanged": 3, "out_of_date": 0}
    assert result.created_codes == {"pay_codes": ["TARP"], "deduction_codes": ["ELD"]}


def test_reimporting_the_payables_changes_nothing(demo_factory):
    files = sample_files()
    _import(demo_factory, files)
    with demo_factory() as session:
        before = book_state(session)
    again = _import(demo_factory, files)
    assert all(s.created == s.updated == 0 for s in again.summary.values()), again.counts()
    assert (again.counts()["settlements"]["unchanged"], again.counts()["carrier_bills"]["unchanged"]) == (3, 2)
    with demo_factory() as session:
        assert book_state(session) == {**before, "audit_events": before["audit_events"] + 1}


def test_payables_alone_pay_for_loads_the_book_already_bills(demo_factory):
    _import(demo_factory, sample_files())
    files = sample_files()
    rows = read_rows(STL)
    for row in rows:
        row["settlement_number"] = row["settlement_number"].replace("STL-9", "STL-8")
        row["period_start"], row["period_end"], row["settlement_date"] = "2026-11-09", "2026-11-15", "2026-11-17"
    rows = [r for r in rows if r["settlement_number"] != "STL-800003"]
    result = _import(demo_factory, {STL: to_csv(rows), CBL: files[CBL]})
    assert result.is_valid, result.errors
    assert result.counts()["settlements"]["created"] == 2 and result.counts()["trucks"]["unchanged"] == 2


def test_a_changed_pay_line_of_a_synced_settlement_rewrites_it_and_marks_it_out_of_date(demo_factory):
    files = sample_files()
    _import(demo_factory, files)
    with transaction(demo_factory) as session:
        settlement_id = session.scalar(select(Settlement.id).where(Settlement.number == "STL-900001"))
        session.execute(update(SyncRecord).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.entity_id == settlement_id
        ).values(status=SyncStatus.SYNCED.value, qbo_id="801"))
    rows = read_rows(STL)
    rows[1].update(rate="70.00", amount="70.00")
    files[STL] = to_csv(rows)
    result = _import(demo_factory, files)
    assert result.counts()["settlements"] == {"created": 0, "updated": 1, "unchanged": 2, "out_of_date": 1}
    with demo_factory() as session:
        settlement = session.get(Settlement, settlement_id)
        assert (settlement.pay_total, settlement.net_pay) == (Decimal("520.00"), Decimal("365.00"))
        assert [line.amount for line in settlement.loads[0].lines] == [Decimal("450.00"), Decimal("70.00")]
        assert len(settlement.deductions) == 2
        assert record_of(session, EntityType.SETTLEMENT, settlement_id).status == SyncStatus.OUT_OF_DATE.value


def _set(row: int, **cells: str) -> Callable[[Rows], None]:
    """Change cells of one data row (spreadsheet numbering: the first data row is 2)."""
    def edit(rows: Rows) -> None:
        rows[row - 2].update(cells)
    return edit


def _set_where(column: str, value: str, **cells: str) -> Callable[[Rows], None]:
    def edit(rows: Rows) -> None:
        for r in rows:
            if r[column] == value:
                r.update(cells)
    return edit


CASES = [
    # (id, file, edit, row, column, words)
    ("unknown role", VEN, _set(2, roles="dispatcher"), 2, "roles", "'dispatcher' is not a role"),
    ("no role", VEN, _set(2, roles=" ; "), 2, "roles", "names no role"),
    ("vendor code twice", VEN, _set(3, vendor_code="V9101"), 3, "vendor_code", "appears twice"),
    ("unknown driver", STL, _set_where("settlement_number", "STL-900001", driver_code="V7777"), 2, "driver_code",
     "unknown vendor code V7777: it is neither in the book nor in the vendors file; add a row for it"),
    ("driver without the driver role", STL, _set_where("settlement_number", "STL-900001", driver_code="V9104"), 2,
     "driver_code", "vendor V9104 is not a driver, so it cannot be paid on a settlement; add driver to its roles"),
    ("unknown load", STL, _set(2, load_number="L123"), 2, "load_number",
     "load L123 is neither in the book nor in the invoice lines file"),
    ("pay line is not quantity times rate", STL, _set(7, amount="50.00", rate="24.00"), 7, "amount",
     "amount $50.00 is not quantity × rate (2 × $24.00 = $48.00)"),
    ("pay line without a truck", STL, _set(2, truck_number=""), 2, "truck_number", "required on a pay line"),
    ("deduction with a load", STL, _set(4, load_number="L900001"), 4, "load_number", "a deduction has no load"),
    ("zero deduction", STL, _set(4, amount="0"), 4, "amount", "more than zero"),
    ("deduction written negative", STL, _set(4, amount="-120.00"), 4, "amount",
     "'-120.00' is negative; negative amounts are not allowed (write a deduction as a positive amount on a row "
     "whose line_type is deduction)"),
    ("unknown line type", STL, _set(4, line_type="bonus"), 4, "line_type", "'bonus' is not a line type"),
    ("unknown status", STL, _set_where("settlement_number", "STL-900001", status="approved"), 2, "status",
     "'approved' is not a settlement status"),
    ("paid without a date", STL, _set_where("settlement_number", "STL-900002", paid_on=""), 6, "paid_on",
     "a paid settlement needs the date it was paid"),
    ("a date but not paid", STL, _set_where("settlement_number", "STL-900001", paid_on="2026-11-04"), 2, "paid_on",
     "paid_on is given but the status is finalized"),
    ("period end before start", STL, _set_where("settlement_number", "STL-900001", period_end="2026-10-20"), 2,
     "period_end", "before the period start"),
    ("settled before the period ends", STL,
     _set_where("settlement_number", "STL-900001", settlement_date="2026-10-31"), 2, "settlement_date",
     "before the period end"),
    ("rows of one settlement disagree", STL, _set(3, memo="other"), 3, "memo", "every row of one settlement"),
    ("one load on two trucks", STL, _set(3, truck_number="T-9102"), 3, "truck_number", "one load is paid on one "
     "truck per settlement"),
    ("a truck with two owners", STL, _set(8, truck_owner_code="V9101"), 8, "truck_owner_code",
     "a truck has one owner"),
    ("truck owner who is a carrier", STL, _set_where("truck_number", "T-9102", truck_owner_code="V9104"), 9,
     "truck_owner_code", "vendor V9104 is not a fleet owner or driver"),
    ("deductions beyond pay", STL, _set(4, amount="900.00"), 2, "amount", "are more than its pay ($512.50)"),
    ("two settlements of one driver and period", STL,
     _set_where("settlement_number", "STL-900003", period_start="2026-10-26", period_end="2026-11-01"), 10,
     "period_start", "already has settlement STL-900001 for the period starting 2026-10-26 in this file"),
    ("carrier bill from a driver", CBL, _set_where("carrier_invoice_number", "KC-5512", carrier_code="V9101"), 2,
     "carrier_code", "vendor V9101 is not a carrier"),
    ("dispute without a reason", CBL, _set(4, status="disputed"), 4, "dispute_reason",
     "a disputed bill needs the reason"),
    ("bill due before it is billed", CBL, _set_where("carrier_invoice_number", "KC-5512", due_date="2026-11-01"), 2,
     "due_date", "before the bill date"),
    ("bill paid without a date", CBL, _set(4, status="paid"), 4, "paid_on", "a paid bill needs the date"),
    ("rows of one bill disagree", CBL, _set(3, load_number="L900001"), 3, "load_number",
     "every row of one carrier bill"),
    ("unknown carrier bill status", CBL, _set(4, status="approved"), 4, "status", "not a carrier bill status"),
]


@pytest.mark.parametrize(("file", "edit", "row", "column", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_payables_row_is_reported_in_plain_words_and_nothing_is_written(demo_factory, file, edit, row, column,
                                                                            words):
    files = sample_files()
    rows = read_rows(file)
    edit(rows)
    files[file] = to_csv(rows)
    with demo_factory() as session:
        before = book_state(session)
    result = _import(demo_factory, files)
    assert not result.is_valid and not result.written
    assert any(e.file is file and e.row == row and e.column == column and words in e.message
               for e in result.errors), result.errors
    with demo_factory() as session:
        assert book_state(session) == before


def test_a_settlement_of_the_book_keeps_its_driver_and_a_truck_its_owner(demo_factory):
    with demo_factory() as session:
        number, driver = session.execute(select(Settlement.number, Vendor.code).join(
            Vendor, Vendor.id == Settlement.driver_id).limit(1)).one()
        truck, owner = session.execute(select(Truck.number, Vendor.code).join(
            Vendor, Vendor.id == Truck.owner_id).limit(1)).one()
        before = book_state(session)
    rows = read_rows(STL)
    for row in rows:
        if row["settlement_number"] == "STL-900001":
            row["settlement_number"] = number
        if row["truck_number"] == "T-9102":
            row.update(truck_number=truck, truck_owner_code="V9102")
    files = {**sample_files(), STL: to_csv(rows)}
    result = _import(demo_factory, files)
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert f"settlement {number} pays driver {driver} in the book, not V9101" in messages[(2, "driver_code")]
    assert f"truck {truck} is owned by {owner} in the book, not by V9102" in messages[(9, "truck_owner_code")]
    with demo_factory() as session:
        assert book_state(session) == before


@pytest.fixture
def _no_client_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "DEFAULT_POLICY", limiter.UNLIMITED)


def test_imported_settlements_and_bills_sync_to_quickbooks_once_payables_are_on(
    demo_factory, connected, sandbox: SandboxClient, _no_client_quota  # noqa: F811
):
    assert _import(demo_factory, sample_files()).written
    payables_on(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:
        problems = session.execute(select(SyncRecord.entity_type, SyncRecord.entity_id, SyncRecord.status,
                                          SyncRecord.error_message, SyncRecord.blocked_by).where(
            SyncRecord.status.in_(("failed", "blocked")), SyncRecord.entity_type.in_(PAYABLES))).all()
    # The receivables sample's customer names clash with the demo book's; the payables owe nothing to them.
    assert problems == []
    with demo_factory() as session:
        ids = {row.number: row.id for row in session.execute(
            select(Settlement.number, Settlement.id).where(Settlement.number.like("STL-9%")))}
        finalized, paid = (record_of(session, EntityType.SETTLEMENT, ids[n]) for n in ("STL-900001", "STL-900002"))
        assert (finalized.status, paid.status) == (SyncStatus.SYNCED.value, SyncStatus.SYNCED.value)
        assert session.scalar(select(SyncRecord.id).where(  # a draft gets no sync record until it is finalized
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.entity_id == ids["STL-900003"])) is None
        assert record_of(session, EntityType.SETTLEMENT_PAYMENT, ids["STL-900002"]).status == SyncStatus.SYNCED.value
        driver_qbo = record_of(session, EntityType.VENDOR, session.scalar(
            select(Vendor.id).where(Vendor.code == "V9101"))).qbo_id
    bills = {b["DocNumber"]: b for b in gateway.query_all("Bill")}
    assert Decimal(str(bills["STL-900001"]["TotalAmt"])) == Decimal("357.50")
    assert bills["STL-900001"]["VendorRef"]["value"] == driver_qbo
    assert Decimal(str(bills["STL-900002"]["Balance"])) == 0  # paid: closed by its check
    assert Decimal(str(bills["KC-5512"]["TotalAmt"])) == Decimal("1120.00")
    assert "STL-900003" not in bills and "KC-5513" not in bills  # a draft and a received bill stay home
    assert sandbox.count("Vendor", DisplayName="Rosa Delgado") == 1


def test_a_settlement_and_a_carrier_bill_imported_again_as_void_have_their_bills_deleted_in_quickbooks(
    demo_factory, connected, sandbox: SandboxClient, _no_client_quota  # noqa: F811
):
    files = sample_files()
    assert _import(demo_factory, files).written
    payables_on(demo_factory)
    gateway = gateway_for(demo_factory, connected)
    sync_now(demo_factory, connected, gateway=gateway)
    numbers = {b["DocNumber"] for b in gateway.query_all("Bill")}
    assert {"STL-900001", "KC-5512"} <= numbers
    settlements, bills = read_rows(STL), read_rows(CBL)
    _set_where("settlement_number", "STL-900001", status="VOID")(settlements)
    _set_where("carrier_invoice_number", "KC-5512", status="void", paid_on="", dispute_reason="")(bills)
    result = _import(demo_factory, {**files, STL: to_csv(settlements), CBL: to_csv(bills)})
    assert result.is_valid, result.errors
    assert (result.counts()["settlements"]["out_of_date"], result.counts()["carrier_bills"]["out_of_date"]) == (1, 1)
    with demo_factory() as session:
        assert session.scalar(select(Settlement.status).where(Settlement.number == "STL-900001")) == "void"
        assert session.scalar(select(CarrierBill.status).where(CarrierBill.carrier_invoice_number == "KC-5512")) \
            == "void"

    sync_now(demo_factory, connected, gateway=gateway)
    with demo_factory() as session:  # the receivables sample's clashing customer names are not this test's
        assert session.execute(select(SyncRecord.entity_type).where(
            SyncRecord.status.in_(("failed", "blocked")), SyncRecord.entity_type.in_(PAYABLES))).all() == []
    left = {b["DocNumber"] for b in gateway.query_all("Bill")}
    assert left == numbers - {"STL-900001", "KC-5512"}
    with demo_factory() as session:
        removed = session.scalars(select(SyncRecord.status).where(SyncRecord.status == SyncStatus.REMOVED.value))
        assert len(list(removed)) == 2
