"""Reconciliation: our book against QuickBooks', record by record — receivables (invoices) and payables (bills)."""

from qbcore.reconcile.aging import AGING_BUCKETS, ZERO, AgingRow, aging_bucket
from qbcore.reconcile.payables import (
    BillComparison,
    BillIssue,
    PayablesReconciliation,
    VendorComparison,
    compare_bill,
    compare_payables,
    list_compared_payables,
    payables_csv,
    payables_switches,
    reconcile_payables,
)
from qbcore.reconcile.receivables import (
    CSV_HEADER,
    IN_BOOKS,
    CustomerComparison,
    InvoiceComparison,
    Issue,
    Reconciliation,
    compare,
    compare_invoice,
    reconcile,
    reconciliation_csv,
)

__all__ = [
    "AGING_BUCKETS",
    "CSV_HEADER",
    "IN_BOOKS",
    "ZERO",
    "AgingRow",
    "BillComparison",
    "BillIssue",
    "CustomerComparison",
    "InvoiceComparison",
    "Issue",
    "PayablesReconciliation",
    "Reconciliation",
    "VendorComparison",
    "aging_bucket",
    "compare",
    "compare_bill",
    "compare_invoice",
    "compare_payables",
    "list_compared_payables",
    "payables_csv",
    "payables_switches",
    "reconcile",
    "reconcile_payables",
    "reconciliation_csv",
]
