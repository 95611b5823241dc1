"""Payables: our settlements and carrier bills against QuickBooks' Bills, per vendor and per bill, differences named."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore import labels
from qbcore.companies import has_several_companies
from qbcore.company_directory import pay_company_id
from qbcore.entities.registry import spec_for
from qbcore.export import safe_csv_bytes
from qbcore.models import CarrierBill, Company, EntityType, Settlement, SettlementShare, SyncRecord, Vendor, utcnow
from qbcore.pull.apply import money
from qbcore.qbo.gateway import QboGateway
from qbcore.reconcile.aging import ZERO, AgingRow, aging_rows, qbo_date
from qbcore.settings import SyncSettings, load_settings


class BillIssue(StrEnum):
    """How one bill differs between the two systems."""

    MATCH = "match"
    NOT_SYNCED = "not synced yet"
    MISSING_IN_QBO = "missing in QuickBooks"
    NOT_OURS = "not ours"
    VENDOR_DIFFERS = "vendor differs"
    AMOUNT_DIFFERS = "amount differs"
    PAID_IN_QBO = "paid in QuickBooks, open here"
    OPEN_IN_QBO = "open in QuickBooks, paid here"
    BALANCE_DIFFERS = "open balance differs"


@dataclass(frozen=True)
class _Kind:
    """One kind of our bills: which billing rows, the pay function whose company holds them, its payment's record."""

    entity_type: EntityType
    payment_type: EntityType
    function: str  # "driver_pay" or "carrier_pay" (qbcore.company_directory.pay_company_id)
    noun: str  # how one row is named on screens and in files


KINDS = (_Kind(EntityType.SETTLEMENT, EntityType.SETTLEMENT_PAYMENT, "driver_pay", "Settlement"),
         _Kind(EntityType.CARRIER_BILL, EntityType.CARRIER_PAYMENT, "carrier_pay", "Carrier bill"))


@dataclass(frozen=True)
class BillComparison:
    """One bill in both systems (either side may be missing)."""

    number: str
    kind: str  # "Settlement", "Carrier bill", or "" for a QuickBooks bill nothing here is linked to
    vendor: str
    entity_type: str | None
    entity_id: int | None
    qbo_id: str | None
    due_date: date | None
    ours_amount: Decimal | None
    qbo_amount: Decimal | None
    ours_open: Decimal
    qbo_open: Decimal
    ours_status: str  # in words ("Finalized", "Accepted", "Paid"); "" when it is not ours
    qbo_status: str  # in words ("Open", "Partly paid", "Paid"); "" when QuickBooks does not have it
    issue: BillIssue
    explanation: str

    @property
    def difference(self) -> Decimal:
        """Our open amount minus QuickBooks' (what this bill adds to the payables difference)."""
        return self.ours_open - self.qbo_open


@dataclass(frozen=True)
class VendorComparison:
    """One vendor's payables in both systems."""

    vendor: str
    bills: int
    ours_open: Decimal
    qbo_open: Decimal
    issues: int

    @property
    def difference(self) -> Decimal:
        """Ours minus QuickBooks'."""
        return self.ours_open - self.qbo_open


@dataclass(frozen=True)
class PayablesReconciliation:
    """The result of one payables comparison (cached by the page, with when it was computed)."""

    computed_at: datetime
    as_of: date
    bills: list[BillComparison]
    vendors: list[VendorComparison]
    aging: list[AgingRow]
    requests: int
    seconds: float
    # What was compared, as Settings → What syncs names it ("Driver settlements", "Carrier bills"); empty: nothing.
    compared: tuple[str, ...] = ()
    # QuickBooks bills to vendors the billing system does not have (rent, fuel cards): outside this comparison.
    other_bills: int = 0
    other_open: Decimal = ZERO
    company: str | None = None  # the QuickBooks company compared, named when there are several

    @property
    def ours_open(self) -> Decimal:
        """Our accounts payable: finalized settlements and accepted carrier bills not paid yet."""
        return sum((r.ours_open for r in self.bills), ZERO)

    @property
    def qbo_open(self) -> Decimal:
        """QuickBooks' accounts payable for the same vendors (its bills' open balances)."""
        return sum((r.qbo_open for r in self.bills), ZERO)

    @property
    def differences(self) -> list[BillComparison]:
        """The bills that explain the payables difference (and every other mismatch)."""
        return [r for r in self.bills if r.issue is not BillIssue.MATCH]

    def issue_counts(self) -> dict[str, int]:
        """How many bills per issue."""
        counts: dict[str, int] = defaultdict(int)
        for row in self.bills:
            counts[row.issue.value] += 1
        return dict(counts)


def compared_kinds(settings: SyncSettings) -> list[_Kind]:
    """The kinds of bill a company syncs (its Settings → What syncs switches)."""
    return [kind for kind in KINDS if all(getattr(settings, s) for s in spec_for(kind.entity_type).switches)]


def _switch_labels(kinds: list[_Kind] | tuple[_Kind, ...]) -> tuple[str, ...]:
    return tuple(switch.label for kind in kinds if (switch := spec_for(kind.entity_type).switch) is not None)


def payables_switches() -> tuple[str, ...]:
    """The Settings → What syncs checkboxes that bring payables in ("Driver settlements", "Carrier bills")."""
    return _switch_labels(KINDS)


def _records(session: Session, entity_type: EntityType, company_id: int) -> dict[int, tuple[str | None, str]]:
    rows = session.execute(select(SyncRecord.entity_id, SyncRecord.qbo_id, SyncRecord.status).where(
        SyncRecord.entity_type == entity_type.value, SyncRecord.company_id == company_id)).all()
    return {int(entity_id): (str(qbo_id) if qbo_id else None, str(status)) for entity_id, qbo_id, status in rows}


def _our_bills(session: Session, kind: _Kind, company_id: int) -> list[dict[str, Any]]:
    """One kind's bills in the books of this company: synced there, or waiting and routed there."""
    columns: tuple[Any, ...]
    if kind.entity_type is EntityType.SETTLEMENT:
        model: Any = Settlement
        columns = (Settlement.id, Settlement.number, Settlement.net_pay, Settlement.status,
                   Settlement.settlement_date, Settlement.paid_on, Settlement.driver_id)
        vendor_key, statuses = Settlement.driver_id, labels.SETTLEMENT_STATUS
    else:
        model = CarrierBill
        columns = (CarrierBill.id, CarrierBill.carrier_invoice_number, CarrierBill.total, CarrierBill.status,
                   CarrierBill.due_date, CarrierBill.paid_on, CarrierBill.carrier_id)
        vendor_key, statuses = CarrierBill.carrier_id, labels.CARRIER_BILL_STATUS
    # A bill stays in the company it went to; one not sent yet goes to the company holding its pay function.
    holder = pay_company_id(session, kind.function)
    rows = session.execute(
        select(*columns, Vendor.name, SyncRecord.qbo_id, SyncRecord.status)
        .join(Vendor, Vendor.id == vendor_key)
        .outerjoin(SyncRecord, and_(SyncRecord.entity_id == model.id,
                                    SyncRecord.entity_type == kind.entity_type.value))
        .where(*spec_for(kind.entity_type).syncs_only, func.coalesce(SyncRecord.company_id, holder) == company_id)
        .order_by(model.id)).all()
    payments = _records(session, kind.payment_type, company_id)
    out = []
    for row_id, number, total, status, due, paid_on, vendor_id, vendor, qbo_id, sync_status in rows:
        amount = money(total)
        out.append({"entity_type": kind.entity_type.value, "id": row_id, "kind": kind.noun, "number": str(number),
                    "vendor": vendor, "vendor_id": vendor_id, "total": amount, "due": due, "paid_on": paid_on,
                    "open": ZERO if paid_on is not None else amount, "status": labels.label(statuses, status),
                    "qbo_id": str(qbo_id) if qbo_id else None, "sync_status": sync_status,
                    "payment_sync_status": payments.get(row_id, (None, None))[1]})
    if kind.entity_type is EntityType.SETTLEMENT:
        out = _with_split_bills(session, out, company_id)
    return out


def _with_split_bills(session: Session, settlements: list[dict[str, Any]], company_id: int) -> list[dict[str, Any]]:
    """A settlement split per fleet owner is several bills: its own for share 1's payee and amount, then the rest."""
    by_id = {row["id"]: row for row in settlements}
    shares = session.execute(select(SettlementShare, Vendor.name).join(Vendor, Vendor.id == SettlementShare.payee_id)
                             .where(SettlementShare.settlement_id.in_(select(Settlement.id).where(
                                 *spec_for(EntityType.SETTLEMENT).syncs_only)))
                             .order_by(SettlementShare.settlement_id, SettlementShare.position)).all()
    records = _records(session, EntityType.SETTLEMENT_SHARE, company_id)
    payments = _records(session, EntityType.SHARE_PAYMENT, company_id)
    out = list(settlements)
    for share, vendor in shares:
        settlement = by_id.get(share.settlement_id)
        if settlement is None:
            continue  # in another company's books
        amount = money(share.net_pay)
        if share.position == 1:
            settlement.update(vendor=vendor, vendor_id=share.payee_id, total=amount,
                              open=ZERO if settlement["paid_on"] is not None else amount)
            continue
        qbo_id, sync_status = records.get(share.id, (None, None))
        out.append({**settlement, "entity_type": EntityType.SETTLEMENT_SHARE.value, "id": share.id,
                    "number": share.doc_number, "vendor": vendor, "vendor_id": share.payee_id, "total": amount,
                    "open": ZERO if settlement["paid_on"] is not None else amount, "qbo_id": qbo_id,
                    "sync_status": sync_status, "payment_sync_status": payments.get(share.id, (None, None))[1]})
    return out


def _qbo_status(row: dict[str, Any]) -> str:
    balance = money(row.get("Balance"))
    if balance == 0:
        return "Paid"
    return "Open" if balance >= money(row.get("TotalAmt")) else "Partly paid"


def _status_words(status: str | None, empty: str) -> str:
    return labels.label(labels.SYNC_STATUS, status, empty=empty).lower()


def compare_bill(ours: dict[str, Any] | None, theirs: dict[str, Any] | None, vendor_names: dict[str, str]
                 ) -> tuple[BillIssue, str]:
    """The issue and a plain explanation for one pair; vendor_names: QuickBooks vendor id → our vendor (pure)."""
    if ours is None:
        assert theirs is not None
        name = _their_vendor(theirs, vendor_names)
        return BillIssue.NOT_OURS, (f"QuickBooks has bill {theirs.get('DocNumber') or theirs.get('Id')} for {name} "
                                    "that no settlement or carrier bill is linked to (keyed in QuickBooks, or its "
                                    "link removed)")
    noun = ours["kind"].lower()
    if theirs is None:
        if not ours["qbo_id"]:
            return BillIssue.NOT_SYNCED, (f"The {noun} is not in QuickBooks yet (sync status: "
                                          f"{_status_words(ours['sync_status'], 'never synced')})")
        return BillIssue.MISSING_IN_QBO, (f"Linked to QuickBooks bill {ours['qbo_id']}, which QuickBooks no longer "
                                          "has (deleted there)")
    expected = ours.get("vendor_qbo_id")
    their_vendor = str((theirs.get("VendorRef") or {}).get("value") or "")
    if expected and their_vendor != expected:
        return BillIssue.VENDOR_DIFFERS, (f"Billed to {ours['vendor']} here, to {_their_vendor(theirs, vendor_names)} "
                                          "in QuickBooks")
    their_total, their_open = money(theirs.get("TotalAmt")), money(theirs.get("Balance"))
    if their_total != ours["total"]:
        return BillIssue.AMOUNT_DIFFERS, (f"Amount {labels.money(ours['total'])} here, {labels.money(their_total)} "
                                          "in QuickBooks")
    if their_open == ours["open"]:
        return BillIssue.MATCH, ""
    if ours["open"] and their_open == 0:
        return BillIssue.PAID_IN_QBO, (f"Paid in QuickBooks; still open here for {labels.money(ours['open'])} "
                                       "(a payment made in QuickBooks that billing has not recorded)")
    if not ours["open"]:
        paid = ours["paid_on"].isoformat() if ours.get("paid_on") else "here"
        payment = ours.get("payment_sync_status")
        why = ("its payment is in QuickBooks but no longer pays this bill (voided or deleted there)"
               if payment == "synced" else
               f"its payment is not in QuickBooks yet (sync status: {_status_words(payment, 'never synced')})")
        return BillIssue.OPEN_IN_QBO, (f"Paid on {paid}; QuickBooks still shows {labels.money(their_open)} open: "
                                       f"{why}")
    return BillIssue.BALANCE_DIFFERS, (f"Open {labels.money(ours['open'])} here, {labels.money(their_open)} in "
                                       "QuickBooks (partly paid in QuickBooks)")


def _their_vendor(theirs: dict[str, Any], vendor_names: dict[str, str]) -> str:
    ref = theirs.get("VendorRef") or {}
    return vendor_names.get(str(ref.get("value") or "")) or str(ref.get("name") or f"QuickBooks vendor "
                                                                                    f"{ref.get('value')}")


def compare_payables(ours_rows: list[dict[str, Any]], qbo_rows: list[dict[str, Any]], *,
                     vendor_names: dict[str, str], elsewhere: set[str], as_of: date
                     ) -> tuple[list[BillComparison], list[VendorComparison], list[AgingRow], int, Decimal]:
    """Pair our bills with QuickBooks' by linked id and compare them (pure).

    vendor_names: our vendors by their QuickBooks id in this company; a QuickBooks bill nothing links to is "not
    ours" when its vendor is one of them, and counted apart (other_bills, other_open) when not. elsewhere: QuickBooks
    ids linked to bills not compared (a kind switched off), which are left out.
    """
    by_id = {str(r.get("Id")): r for r in qbo_rows}
    linked: set[str] = set()
    result: list[BillComparison] = []
    for ours in ours_rows:
        theirs = by_id.get(ours["qbo_id"]) if ours["qbo_id"] else None
        if theirs is not None:
            linked.add(ours["qbo_id"])
        issue, text = compare_bill(ours, theirs, vendor_names)
        result.append(BillComparison(
            number=ours["number"], kind=ours["kind"], vendor=ours["vendor"], entity_type=ours["entity_type"],
            entity_id=ours["id"], qbo_id=ours["qbo_id"], due_date=ours["due"], ours_amount=ours["total"],
            qbo_amount=money(theirs.get("TotalAmt")) if theirs else None, ours_open=ours["open"],
            qbo_open=money(theirs.get("Balance")) if theirs else ZERO, ours_status=ours["status"],
            qbo_status=_qbo_status(theirs) if theirs else "", issue=issue, explanation=text))
    other_bills, other_open = 0, ZERO
    for qbo_id, theirs in by_id.items():
        if qbo_id in linked or qbo_id in elsewhere:
            continue
        if str((theirs.get("VendorRef") or {}).get("value") or "") not in vendor_names:
            other_bills, other_open = other_bills + 1, other_open + money(theirs.get("Balance"))
            continue
        issue, text = compare_bill(None, theirs, vendor_names)
        result.append(BillComparison(
            number=str(theirs.get("DocNumber") or f"(QB id {qbo_id})"), kind="",
            vendor=_their_vendor(theirs, vendor_names), entity_type=None, entity_id=None, qbo_id=qbo_id,
            due_date=qbo_date(theirs.get("DueDate") or theirs.get("TxnDate")), ours_amount=None,
            qbo_amount=money(theirs.get("TotalAmt")), ours_open=ZERO, qbo_open=money(theirs.get("Balance")),
            ours_status="", qbo_status=_qbo_status(theirs), issue=issue, explanation=text))
    per_vendor: dict[str, list[BillComparison]] = defaultdict(list)
    for row in result:
        per_vendor[row.vendor].append(row)
    vendors = sorted(
        (VendorComparison(vendor=name, bills=len(rows), ours_open=sum((r.ours_open for r in rows), ZERO),
                          qbo_open=sum((r.qbo_open for r in rows), ZERO),
                          issues=sum(1 for r in rows if r.issue is not BillIssue.MATCH))
         for name, rows in per_vendor.items()),
        key=lambda v: (-abs(v.difference), -v.issues, v.vendor))
    aging = aging_rows(((row.due_date, row.ours_open,
                         qbo_date(by_id[row.qbo_id].get("DueDate")) if row.qbo_id in by_id else None, row.qbo_open)
                        for row in result), as_of)
    order = {issue: i for i, issue in enumerate(BillIssue)}
    result.sort(key=lambda r: (r.issue is BillIssue.MATCH, order[r.issue], r.vendor, r.number))
    return result, vendors, aging, other_bills, other_open


def reconcile_payables(factory: sessionmaker[Session], gateway: QboGateway, *,
                       as_of: date | None = None) -> PayablesReconciliation:
    """Read every QuickBooks bill of the gateway's company in pages of 1,000 and compare with ours, bill by bill."""
    started = time.perf_counter()
    first_call = gateway.calls
    as_of = as_of or date.today()
    company_id = gateway.company_id
    with factory() as session:
        kinds = compared_kinds(load_settings(session, company_id))
        ours = [row for kind in kinds for row in _our_bills(session, kind, company_id)]
        vendor_links = {vendor_id: qbo_id for vendor_id, (qbo_id, _) in
                        _records(session, EntityType.VENDOR, company_id).items() if qbo_id}
        names: dict[int, str] = {int(i): str(n) for i, n in session.execute(select(Vendor.id, Vendor.name))}
        elsewhere = {qbo_id for kind in KINDS if kind not in kinds
                     for qbo_id, _ in _records(session, kind.entity_type, company_id).values() if qbo_id}
        company = session.get(Company, company_id)
        named = company.name if company is not None and has_several_companies(session) else None
    for row in ours:
        row["vendor_qbo_id"] = vendor_links.get(row["vendor_id"])
    if not kinds:
        return PayablesReconciliation(computed_at=utcnow(), as_of=as_of, bills=[], vendors=[], aging=aging_rows(
            (), as_of), requests=0, seconds=time.perf_counter() - started, company=named)
    theirs = gateway.query_all("Bill")
    bills, vendors, aging, other_bills, other_open = compare_payables(
        ours, theirs, vendor_names={qbo_id: names.get(vendor_id, "") for vendor_id, qbo_id in vendor_links.items()},
        elsewhere=elsewhere, as_of=as_of)
    compared = _switch_labels(kinds)
    return PayablesReconciliation(computed_at=utcnow(), as_of=as_of, bills=bills, vendors=vendors, aging=aging,
                                  requests=gateway.calls - first_call, seconds=time.perf_counter() - started,
                                  compared=compared, other_bills=other_bills, other_open=other_open, company=named)


CSV_HEADER = ("Bill", "Type", "Vendor", "QuickBooks id", "Due date", "Amount here", "Amount in QuickBooks",
              "Open here", "Open in QuickBooks", "Difference", "Status here", "Status in QuickBooks", "Issue",
              "Explanation")


def payables_csv(result: PayablesReconciliation, *, differences_only: bool = False) -> bytes:
    """The payables comparison as a spreadsheet-safe CSV (the company's name after Vendor when there are several)."""
    rows = result.differences if differences_only else result.bills
    company = () if result.company is None else (result.company,)
    header = CSV_HEADER if result.company is None else (*CSV_HEADER[:3], "Company", *CSV_HEADER[3:])
    return safe_csv_bytes(header, (
        (r.number, r.kind or "QuickBooks only", r.vendor, *company, r.qbo_id, r.due_date.isoformat() if r.due_date
         else "", r.ours_amount, r.qbo_amount, r.ours_open, r.qbo_open, r.difference, r.ours_status, r.qbo_status,
         labels.label({}, r.issue.value), r.explanation)
        for r in rows))


def list_compared_payables(session: Session, company_id: int | None) -> tuple[str, ...]:
    """What a payables comparison of this company would cover, as Settings → What syncs names it (empty: off)."""
    return _switch_labels(compared_kinds(load_settings(session, company_id)))
