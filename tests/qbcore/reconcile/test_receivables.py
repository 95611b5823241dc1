"""Reconciliation against the sandbox: receivables agree with QuickBooks' own balances; every difference is named."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from quickbooks import QuickBooks
from quickbooks.objects.invoice import Invoice as QbInvoice
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.pull import run_pull
from qbcore.reconcile import AGING_BUCKETS, Issue, aging_bucket, compare_invoice, reconcile, reconciliation_csv
from tests.conftest import DEMO_AS_OF
from tests.qbcore.pull.arrange import open_synced_invoices, pay_in_quickbooks
from tests.qbcore.pull.conftest import _no_client_quota, config, connected, gateway_for, qb, sandbox, synced  # noqa: F401


def test_a_synced_book_reconciles_exactly_with_quickbooks_own_balances(
    synced: sessionmaker[Session], connected: Config  # noqa: F811
) -> None:
    gateway = gateway_for(synced, connected)
    result = reconcile(synced, gateway, as_of=DEMO_AS_OF)
    theirs = gateway.query_all("Invoice")
    linked = {r.qbo_id for r in result.invoices if r.invoice_id is not None}
    sandbox_open = sum((Decimal(str(r["Balance"])) for r in theirs if str(r["Id"]) in linked), Decimal(0))
    assert result.qbo_open == sandbox_open
    # Credit memos applied to invoices here are applied in QuickBooks too (zero-amount payments): no difference.
    assert result.differences == []
    assert result.ours_open == result.qbo_open
    assert sum((a.ours for a in result.aging), Decimal(0)) == result.ours_open
    assert [a.bucket for a in result.aging] == list(AGING_BUCKETS)
    assert sum((c.ours_open for c in result.customers), Decimal(0)) == result.ours_open
    # Bulk reads: a handful of queries, never one per invoice.
    assert result.requests <= len(theirs) // 1000 + 1


def test_every_difference_is_explained_record_by_record_and_sums_to_the_receivables_gap(
    synced: sessionmaker[Session], connected: Config, qb: QuickBooks  # noqa: F811
) -> None:
    (paid_id, paid_qbo, paid_total), (void_id, void_qbo, _), (del_id, del_qbo, _) = open_synced_invoices(synced, 3)
    pay_in_quickbooks(qb, paid_qbo, paid_total)
    QbInvoice.get(void_qbo, qb=qb).void(qb=qb)
    QbInvoice.get(del_qbo, qb=qb).delete(qb=qb)

    result = reconcile(synced, gateway_for(synced, connected), as_of=DEMO_AS_OF)
    issues = {r.invoice_id: r for r in result.differences}
    assert issues[paid_id].issue is Issue.BALANCE_DIFFERS and issues[paid_id].difference == paid_total
    assert issues[void_id].issue is Issue.VOIDED_IN_QBO
    assert issues[del_id].issue is Issue.MISSING_IN_QBO
    assert len([r for r in result.differences if not r.explanation.startswith("Credit memo")]) == 3
    assert sum((r.difference for r in result.differences), Decimal(0)) == result.ours_open - result.qbo_open
    assert sum((a.difference for a in result.aging), Decimal(0)) == result.ours_open - result.qbo_open

    run_pull(synced, connected)  # the payment comes back: that difference is gone
    after = reconcile(synced, gateway_for(synced, connected), as_of=DEMO_AS_OF)
    assert paid_id not in {r.invoice_id for r in after.differences}

    rows = list(csv.reader(io.StringIO(reconciliation_csv(after, differences_only=True).decode("utf-8-sig"))))
    assert rows[0][0] == "Invoice" and len(rows) == len(after.differences) + 1


def test_an_invoice_keyed_only_in_quickbooks_shows_as_missing_here(
    synced: sessionmaker[Session], connected: Config, sandbox  # noqa: F811
) -> None:
    planted = sandbox.plant(invoices=[{"DocNumber": "QB-ONLY-1", "CustomerName": "Walk-in Customer",
                                       "Amount": 250.0, "TxnDate": "2026-11-01"}])
    assert planted["errors"] == []
    result = reconcile(synced, gateway_for(synced, connected), as_of=DEMO_AS_OF)
    (only,) = [r for r in result.differences if r.number == "QB-ONLY-1"]
    assert (only.issue, only.qbo_balance, only.ours_balance) == (Issue.MISSING_HERE, Decimal("250.00"), Decimal(0))


def test_aging_buckets_and_pure_comparisons() -> None:
    as_of = date(2026, 11, 30)
    assert [aging_bucket(date(2026, 11, d), as_of) for d in (30, 29)] == ["Current", "1–30"]
    assert aging_bucket(date(2026, 9, 30), as_of) == "61–90" and aging_bucket(date(2026, 1, 1), as_of) == "90+"
    ours = {"qbo_id": None, "sync_status": "failed", "total": Decimal(5), "balance": Decimal(5)}
    assert compare_invoice(ours, None)[0] is Issue.NOT_SYNCED
    assert compare_invoice({**ours, "qbo_id": "9"}, {"Id": "9", "TotalAmt": 6, "Balance": 6})[0] is Issue.AMOUNT_DIFFERS
