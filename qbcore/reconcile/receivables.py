"""Receivables: our invoices against QuickBooks', per customer and per invoice, with every difference named."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore import labels
from qbcore.companies import has_several_companies
from qbcore.export import safe_csv_bytes
from qbcore.models import (
    Company,
    CreditMemoApplication,
    Customer,
    EntityType,
    Invoice,
    InvoiceStatus,
    PaymentApplication,
    PulledPayment,
    PulledPaymentStatus,
    SyncRecord,
    utcnow,
)
from qbcore.pull.apply import is_voided, money
from qbcore.qbo.gateway import QboGateway
from qbcore.reconcile.aging import ZERO, AgingRow, aging_rows, qbo_date

# Drafts and voids never go to QuickBooks, so they are not part of receivables on either side.
IN_BOOKS = (InvoiceStatus.APPROVED.value, InvoiceStatus.PARTIALLY_PAID.value, InvoiceStatus.PAID.value)


class Issue(StrEnum):
    """How one invoice differs between the two systems."""

    MATCH = "match"
    NOT_SYNCED = "not synced yet"
    MISSING_IN_QBO = "missing in QuickBooks"
    MISSING_HERE = "missing here"
    VOIDED_IN_QBO = "voided in QuickBooks"
    AMOUNT_DIFFERS = "amount differs"
    BALANCE_DIFFERS = "balance differs"


@dataclass(frozen=True)
class InvoiceComparison:
    """One invoice in both systems (either side may be missing)."""

    number: str
    customer: str
    invoice_id: int | None
    qbo_id: str | None
    due_date: date | None
    ours_amount: Decimal | None
    qbo_amount: Decimal | None
    ours_balance: Decimal
    qbo_balance: Decimal
    ours_status: str | None
    qbo_status: str | None
    issue: Issue
    explanation: str

    @property
    def difference(self) -> Decimal:
        """Our open balance minus QuickBooks' (what this record adds to the receivables difference)."""
        return self.ours_balance - self.qbo_balance


@dataclass(frozen=True)
class CustomerComparison:
    """One customer's receivables in both systems."""

    customer: str
    invoices: int
    ours_open: Decimal
    qbo_open: Decimal
    issues: int

    @property
    def difference(self) -> Decimal:
        """Ours minus QuickBooks'."""
        return self.ours_open - self.qbo_open


@dataclass(frozen=True)
class Reconciliation:
    """The result of one comparison run (cached by the page, with when it was computed)."""

    computed_at: datetime
    as_of: date
    invoices: list[InvoiceComparison]
    customers: list[CustomerComparison]
    aging: list[AgingRow]
    requests: int
    seconds: float
    # The QuickBooks company compared, named when there are several (screens and files then say which).
    company: str | None = None

    @property
    def ours_open(self) -> Decimal:
        """Our accounts receivable."""
        return sum((r.ours_balance for r in self.invoices), ZERO)

    @property
    def qbo_open(self) -> Decimal:
        """QuickBooks' accounts receivable (its invoices' open balances)."""
        return sum((r.qbo_balance for r in self.invoices), ZERO)

    @property
    def differences(self) -> list[InvoiceComparison]:
        """The records that explain the receivables difference (and every other mismatch)."""
        return [r for r in self.invoices if r.issue is not Issue.MATCH]

    def issue_counts(self) -> dict[str, int]:
        """How many records per issue."""
        counts: dict[str, int] = defaultdict(int)
        for row in self.invoices:
            counts[row.issue.value] += 1
        return dict(counts)


def _sums(session: Session, column: Any, key: Any, where: Iterable[Any] = ()) -> dict[int, Decimal]:
    rows = session.execute(select(key, func.sum(column)).where(key.is_not(None), *where).group_by(key)).all()
    return {int(k): money(v) for k, v in rows}


def _our_invoices(session: Session, company_id: int) -> list[dict[str, Any]]:
    paid = _sums(session, PaymentApplication.amount, PaymentApplication.invoice_id)
    credited = _sums(session, CreditMemoApplication.amount, CreditMemoApplication.invoice_id)
    pulled = _sums(session, PulledPayment.amount, PulledPayment.invoice_id,
                   [PulledPayment.status == PulledPaymentStatus.APPLIED.value])
    rows = session.execute(
        select(Invoice.id, Invoice.number, Invoice.total, Invoice.status, Invoice.due_date, Customer.name,
               SyncRecord.qbo_id, SyncRecord.status)
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(SyncRecord, (SyncRecord.entity_id == Invoice.id)
                   & (SyncRecord.entity_type == EntityType.INVOICE.value))
        # A company's invoices: linked there, or not yet synced and belonging to a customer of that company.
        .where(Invoice.status.in_(IN_BOOKS), func.coalesce(SyncRecord.company_id, Customer.company_id) == company_id)
    ).all()
    out = []
    for invoice_id, number, total, status, due, customer, qbo_id, sync_status in rows:
        applied = paid.get(invoice_id, ZERO) + credited.get(invoice_id, ZERO) + pulled.get(invoice_id, ZERO)
        # Marked paid without a payment here (paid directly in QuickBooks): nothing is open on our side.
        balance = ZERO if status == InvoiceStatus.PAID.value else max(money(total) - applied, ZERO)
        out.append({"id": invoice_id, "number": number, "total": money(total), "status": str(status), "due": due,
                    "customer": customer, "qbo_id": str(qbo_id) if qbo_id else None, "sync_status": sync_status,
                    "balance": balance, "credited": credited.get(invoice_id, ZERO)})
    return out


def _qbo_status(row: dict[str, Any]) -> str:
    if is_voided(row):
        return "voided"
    balance = money(row.get("Balance"))
    if balance == 0:
        return "paid"
    return "open" if balance >= money(row.get("TotalAmt")) else "partially paid"


def compare_invoice(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> tuple[Issue, str]:
    """The issue and a plain explanation for one pair (pure)."""
    if ours is None:
        assert theirs is not None
        return Issue.MISSING_HERE, (f"QuickBooks has invoice {theirs.get('DocNumber') or theirs.get('Id')} "
                                    "that no billing invoice is linked to (keyed in QuickBooks, or its link removed)")
    if theirs is None:
        if not ours["qbo_id"]:
            status = labels.label(labels.SYNC_STATUS, ours["sync_status"], empty="never synced").lower()
            return Issue.NOT_SYNCED, f"Not in QuickBooks yet (sync status: {status})"
        return Issue.MISSING_IN_QBO, f"Linked to QuickBooks id {ours['qbo_id']}, which QuickBooks no longer has " \
                                     "(deleted there)"
    their_total, their_balance = money(theirs.get("TotalAmt")), money(theirs.get("Balance"))
    here, there, open_here = labels.money(ours["total"]), labels.money(their_total), labels.money(ours["balance"])
    if is_voided(theirs):
        return Issue.VOIDED_IN_QBO, f"Voided in QuickBooks; open here for {open_here}"
    if their_total != ours["total"]:
        return Issue.AMOUNT_DIFFERS, f"Amount {here} here, {there} in QuickBooks"
    credited = ours.get("credited") or ZERO
    if their_balance != ours["balance"] and credited and their_balance == min(ours["balance"] + credited,
                                                                              ours["total"]):
        return Issue.BALANCE_DIFFERS, (f"Credit memo of {labels.money(credited)} applied here but not in QuickBooks "
                                       f"(open {open_here} here, {labels.money(their_balance)} there)")
    if their_balance != ours["balance"]:
        return Issue.BALANCE_DIFFERS, (f"Open balance {open_here} here, {labels.money(their_balance)} in QuickBooks "
                                       "(a payment or credit recorded on one side only)")
    return Issue.MATCH, ""


def compare(ours_rows: list[dict[str, Any]], qbo_rows: list[dict[str, Any]], as_of: date
            ) -> tuple[list[InvoiceComparison], list[CustomerComparison], list[AgingRow]]:
    """Pair our invoices with QuickBooks' by linked id and compare them (pure)."""
    by_id = {str(r.get("Id")): r for r in qbo_rows}
    linked: set[str] = set()
    result: list[InvoiceComparison] = []
    for ours in ours_rows:
        theirs = by_id.get(ours["qbo_id"]) if ours["qbo_id"] else None
        if theirs is not None:
            linked.add(ours["qbo_id"])
        issue, text = compare_invoice(ours, theirs)
        result.append(InvoiceComparison(
            number=ours["number"], customer=ours["customer"], invoice_id=ours["id"], qbo_id=ours["qbo_id"],
            due_date=ours["due"], ours_amount=ours["total"],
            qbo_amount=money(theirs.get("TotalAmt")) if theirs else None, ours_balance=ours["balance"],
            qbo_balance=money(theirs.get("Balance")) if theirs else ZERO, ours_status=ours["status"],
            qbo_status=_qbo_status(theirs) if theirs else None, issue=issue, explanation=text))
    for qbo_id, theirs in by_id.items():
        if qbo_id in linked:
            continue
        issue, text = compare_invoice(None, theirs)
        ref = theirs.get("CustomerRef") or {}
        result.append(InvoiceComparison(
            number=str(theirs.get("DocNumber") or f"(QB id {qbo_id})"), customer=str(ref.get("name") or
                                                                                     ref.get("value") or ""),
            invoice_id=None, qbo_id=qbo_id, due_date=qbo_date(theirs.get("DueDate") or theirs.get("TxnDate")),
            ours_amount=None, qbo_amount=money(theirs.get("TotalAmt")), ours_balance=ZERO,
            qbo_balance=money(theirs.get("Balance")), ours_status=None, qbo_status=_qbo_status(theirs),
            issue=issue, explanation=text))
    customers: dict[str, list[InvoiceComparison]] = defaultdict(list)
    for row in result:
        customers[row.customer].append(row)
    aging = aging_rows(((row.due_date, row.ours_balance,
                         qbo_date(by_id[row.qbo_id].get("DueDate")) if row.qbo_id in by_id else None, row.qbo_balance)
                        for row in result), as_of)
    customer_rows = sorted(
        (CustomerComparison(customer=name, invoices=len(rows), ours_open=sum((r.ours_balance for r in rows), ZERO),
                            qbo_open=sum((r.qbo_balance for r in rows), ZERO),
                            issues=sum(1 for r in rows if r.issue is not Issue.MATCH))
         for name, rows in customers.items()),
        key=lambda c: (-abs(c.difference), -c.issues, c.customer))
    order = {issue: i for i, issue in enumerate(Issue)}
    result.sort(key=lambda r: (r.issue is Issue.MATCH, order[r.issue], r.customer, r.number))
    return result, customer_rows, aging


def reconcile(factory: sessionmaker[Session], gateway: QboGateway, *, as_of: date | None = None) -> Reconciliation:
    """Read every QuickBooks invoice in pages of 1,000 and compare with ours, record by record."""
    started = time.perf_counter()
    first_call = gateway.calls
    as_of = as_of or date.today()
    with factory() as session:
        ours = _our_invoices(session, gateway.company_id)
        company = session.get(Company, gateway.company_id)
        named = company.name if company is not None and has_several_companies(session) else None
    theirs = gateway.query_all("Invoice")
    invoices, customers, aging = compare(ours, theirs, as_of)
    return Reconciliation(computed_at=utcnow(), as_of=as_of, invoices=invoices, customers=customers, aging=aging,
                          requests=gateway.calls - first_call, seconds=time.perf_counter() - started, company=named)


CSV_HEADER = ("Invoice", "Customer", "QuickBooks id", "Due date", "Amount here", "Amount in QuickBooks",
              "Open here", "Open in QuickBooks", "Difference", "Status here", "Status in QuickBooks", "Issue",
              "Explanation")


def reconciliation_csv(result: Reconciliation, *, differences_only: bool = False) -> bytes:
    """The comparison as a spreadsheet-safe CSV (with the company's name after Customer when there are several)."""
    rows = result.differences if differences_only else result.invoices
    company = () if result.company is None else (result.company,)
    header = CSV_HEADER if result.company is None else (*CSV_HEADER[:2], "Company", *CSV_HEADER[2:])
    return safe_csv_bytes(header, (
        (r.number, r.customer, *company, r.qbo_id, r.due_date.isoformat() if r.due_date else "", r.ours_amount,
         r.qbo_amount, r.ours_balance, r.qbo_balance, r.difference, labels.label(labels.INVOICE_STATUS, r.ours_status),
         labels.label({}, r.qbo_status), labels.label({}, r.issue.value), r.explanation)
        for r in rows))
