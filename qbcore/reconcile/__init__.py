"""Reconciliation: our book against QuickBooks', record by record — receivables (invoices) and payables (bills)."""

from qbcore.reconcile.aging import AGING_BUCKETS, ZERO, AgingRow, aging_bucket
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
    "CustomerComparison",
    "InvoiceComparison",
    "Issue",
    "Reconciliation",
    "aging_bucket",
    "compare",
    "compare_invoice",
    "reconcile",
    "reconciliation_csv",
]
