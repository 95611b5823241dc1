"""Every status, kind, role and action word the console stores, as a person reads it: one map for pages, charts, CSVs.

Entity nouns ("invoice", "credit memos") are not here: they belong to the entity descriptions in qbcore.models.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from qbcore.errors import ErrorKind
from qbcore.models import (
    ENTITY_NOUNS,
    CarrierBillStatus,
    ConnectionStatus,
    EntityType,
    InvoiceStatus,
    JobStatus,
    PaymentMethod,
    Role,
    SettlementStatus,
    SyncStatus,
)
from qbcore.models.pull import DriftKind, PulledPaymentStatus

SYNC_STATUS: dict[str, str] = {
    SyncStatus.SYNCED: "Synced",
    SyncStatus.PENDING: "Pending",
    SyncStatus.NEVER_SYNCED: "Never synced",
    SyncStatus.OUT_OF_DATE: "Out of date",
    SyncStatus.BLOCKED: "Blocked",
    SyncStatus.FAILED: "Failed",
    SyncStatus.CLEARED: "Cleared",
    SyncStatus.PAID_OUTSIDE: "Paid outside QuickBooks sync",
    SyncStatus.REMOVED: "Removed from QuickBooks (void)",
}

# One colour per sync status, the same in every chart (QuickBooks green for synced, red for failed).
SYNC_STATUS_COLOURS: dict[str, str] = {
    SyncStatus.SYNCED: "#2CA01C",
    SyncStatus.PENDING: "#8FD19E",
    SyncStatus.NEVER_SYNCED: "#C8C8C8",
    SyncStatus.OUT_OF_DATE: "#F2C14E",
    SyncStatus.BLOCKED: "#F28E2B",
    SyncStatus.FAILED: "#D62728",
    SyncStatus.CLEARED: "#9E9E9E",
    SyncStatus.PAID_OUTSIDE: "#5B8DEF",
    SyncStatus.REMOVED: "#6B6B6B",
}

ERROR_KIND: dict[str, str] = {
    ErrorKind.AUTH: "Connection",
    ErrorKind.VALIDATION: "Rejected by QuickBooks",
    ErrorKind.DUPLICATE: "Duplicate or name taken",
    ErrorKind.NOT_FOUND: "Missing or inactive in QuickBooks",
    ErrorKind.STALE: "Changed in QuickBooks meanwhile",
    ErrorKind.THROTTLED: "QuickBooks busy",
    ErrorKind.SERVER: "QuickBooks error",
    ErrorKind.TIMEOUT: "Timed out",
    ErrorKind.DEPENDENCY: "Waiting for another record",
    ErrorKind.CLOSED_PERIOD: "Closed period",
    ErrorKind.MAPPING: "Mapping missing",
    ErrorKind.MALFORMED: "Unreadable answer from QuickBooks",
    ErrorKind.PAID_IN_QBO: "Voided here, paid in QuickBooks",
}

JOB_STATUS: dict[str, str] = {
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.DONE: "Done",
    JobStatus.FAILED: "Failed",
    JobStatus.PAUSED: "Paused (reconnect needed)",
    JobStatus.CANCELLED: "Cancelled",
}

CONNECTION_STATUS: dict[str, str] = {
    ConnectionStatus.CONNECTED: "Connected",
    ConnectionStatus.RECONNECT_REQUIRED: "Reconnect needed",
    ConnectionStatus.DISCONNECTED: "Not connected",
}

ENVIRONMENT: dict[str, str] = {"local": "Local sandbox", "sandbox": "Intuit sandbox", "production": "Production"}

ROLE: dict[str, str] = {Role.VIEWER: "Viewer", Role.OPERATOR: "Operator", Role.ADMIN: "Admin"}

INVOICE_STATUS: dict[str, str] = {
    InvoiceStatus.DRAFT: "Draft",
    InvoiceStatus.APPROVED: "Approved",
    InvoiceStatus.PARTIALLY_PAID: "Partially paid",
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.VOID: "Void",
}

SETTLEMENT_STATUS: dict[str, str] = {
    SettlementStatus.DRAFT: "Draft",
    SettlementStatus.FINALIZED: "Finalized",
    SettlementStatus.PAID: "Paid",
    SettlementStatus.VOID: "Void",
}

CARRIER_BILL_STATUS: dict[str, str] = {
    CarrierBillStatus.RECEIVED: "Received, not reviewed",
    CarrierBillStatus.ACCEPTED: "Accepted",
    CarrierBillStatus.DISPUTED: "Disputed",
    CarrierBillStatus.PAID: "Paid",
    CarrierBillStatus.VOID: "Void",
}

PAYMENT_METHOD: dict[str, str] = {PaymentMethod.CHECK: "Check", PaymentMethod.ACH: "ACH", PaymentMethod.WIRE: "Wire",
                                  PaymentMethod.CARD: "Card"}

PULLED_PAYMENT_STATUS: dict[str, str] = {
    PulledPaymentStatus.APPLIED: "Applied",
    PulledPaymentStatus.PROPOSED: "Waiting for a decision",
    PulledPaymentStatus.REJECTED: "Rejected",
    PulledPaymentStatus.REVERSED: "Reversed in QuickBooks",
}

DRIFT_KIND: dict[str, str] = {DriftKind.VOID: "Voided in QuickBooks", DriftKind.DELETE: "Deleted in QuickBooks",
                              DriftKind.EDIT: "Edited in QuickBooks"}

OUTCOME: dict[str, str] = {"ok": "Done", "refused": "Refused"}

# What each audit action is called on the Audit log and in its CSV.
AUDIT_ACTION: dict[str, str] = {
    "accept_pulled_payment": "Accepted a payment entered in QuickBooks",
    "add_company": "Added a QuickBooks company",
    "add_user": "Added a user",
    "bootstrap_admin": "Became the first admin on signing in",
    "apply_pulled_payment": "Applied a payment entered in QuickBooks",
    "cascade_retry": "Retried records whose blocker was fixed",
    "change_alert_channel": "Changed an alert channel",
    "change_alert_rules": "Changed alert rules",
    "change_custom_fields": "Changed custom fields",
    "change_settings": "Changed settings",
    "change_user_role": "Changed a user's role",
    "set_user_active": "Switched a user on or off",
    "clear_invoice": "Cleared an invoice",
    "move_customer": "Moved a customer to another QuickBooks company",
    "rename_company": "Renamed a QuickBooks company",
    "set_company_roles": "Chose the default company and the pay functions' companies",
    "clear_invoices": "Cleared invoices",
    "connect_quickbooks": "Connected QuickBooks",
    "create_qbo_item": "Created a QuickBooks item",
    "delete_alert_channel": "Deleted an alert channel",
    "deactivate_user": "Switched a user off",
    "detect_drift": "Found a change made in QuickBooks",
    "disconnect_quickbooks": "Disconnected QuickBooks",
    "enqueue_pull": "Queued a read from QuickBooks",
    "import_book": "Imported a billing book",
    "invoice_status_from_quickbooks": "Invoice status taken from QuickBooks",
    "map_charge_code": "Mapped a charge code",
    "mark_invoice_paid_outside": "Marked an invoice paid without sync",
    "mark_invoices_paid": "Marked invoices paid without sync",
    "mark_out_of_date": "Marked synced invoices out of date",
    "undo_mark_paid_outside": "Undid Mark paid without sync",
    "override_qbo_id": "Overrode a QuickBooks id",
    "reactivate_user": "Switched a user back on",
    "reject_pulled_payment": "Rejected a payment entered in QuickBooks",
    "remove_qbo_id": "Removed a QuickBooks id",
    "resolve_drift": "Resolved a change made in QuickBooks",
    "restore_invoice": "Restored a cleared invoice",
    "restore_invoices": "Restored invoices",
    "resync": "Queued a sync",
    "pull": "Read changes from QuickBooks",
    "reverse_pulled_payment": "Reversed a payment entered in QuickBooks",
    "send_alert_test": "Sent a test alert",
    "set_qbo_display_name": "Set a customer's QuickBooks name",
    "set_vendor_qbo_name": "Set a vendor's QuickBooks name",
    "unmap_charge_code": "Removed a charge code mapping",
    "update_pulled_payment": "Updated a payment entered in QuickBooks",
    "map_pay_code": "Mapped a pay code to an account",
    "map_deduction_code": "Mapped a deduction code to an account",
    "mark_bills_out_of_date": "Marked synced bills out of date",
    "apply_pulled_bill_payment": "Recorded a bill payment entered in QuickBooks",
    "update_pulled_bill_payment": "Updated a bill payment entered in QuickBooks",
    "reverse_pulled_bill_payment": "Reversed a bill payment entered in QuickBooks",
    "settlement_paid_from_quickbooks": "Settlement paid in QuickBooks",
    "settlement_unpaid_from_quickbooks": "Settlement owed again (its payment was voided in QuickBooks)",
    "carrier_bill_paid_from_quickbooks": "Carrier bill paid in QuickBooks",
    "carrier_bill_unpaid_from_quickbooks": "Carrier bill owed again (its payment was voided in QuickBooks)",
    "mark_settlement_paid_outside": "Marked a settlement paid without sync",
    "mark_settlements_paid": "Marked settlements paid without sync",
    "mark_carrier_bill_paid_outside": "Marked a carrier bill paid without sync",
    "mark_carrier_bills_paid": "Marked carrier bills paid without sync",
    # Payables records a person can clear and restore (settlements, carrier bills and their payments).
    **{action: text for entity in (EntityType.SETTLEMENT, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT,
                                   EntityType.CARRIER_PAYMENT)
       for action, text in ((f"clear_{entity.value}", f"Cleared a {ENTITY_NOUNS[entity][0]}"),
                            (f"clear_{entity.value}s", f"Cleared {ENTITY_NOUNS[entity][1]}"),
                            (f"restore_{entity.value}", f"Restored a cleared {ENTITY_NOUNS[entity][0]}"),
                            (f"restore_{entity.value}s", f"Restored {ENTITY_NOUNS[entity][1]}"))},
}


def label(table: dict[str, str], value: str | StrEnum | None, *, empty: str = "") -> str:
    """The words for a stored value; an unknown word is shown capitalised with spaces, never raw."""
    if value is None or str(value) == "":
        return empty
    text = str(value)
    return table.get(text) or (text.replace("_", " ")[:1].upper() + text.replace("_", " ")[1:])


# Failure kinds in charts: warm colours only, so the one green always means synced.
FAILURE_COLOURS = ("#D62728", "#F28E2B", "#9467BD", "#8C564B", "#E377C2", "#BCBD22", "#7F7F7F", "#F2C14E",
                   "#17BECF", "#FF9896", "#C49C94", "#DBDB8D")


def attempt_outcome(kind: str | None) -> str:
    """A sync attempt's outcome for charts: 'Synced', or the failure kind in words."""
    if kind == SyncStatus.SYNCED.value:
        return SYNC_STATUS[SyncStatus.SYNCED]
    if not kind or kind == "OTHER":
        return "Other failure"
    return label(ERROR_KIND, kind)


def outcome_colours(outcomes: list[str]) -> tuple[list[str], list[str]]:
    """(domain, range) for a chart of attempt outcomes: Synced in the synced green, failures in warm colours."""
    synced = SYNC_STATUS[SyncStatus.SYNCED]
    failures = sorted(o for o in set(outcomes) if o != synced)
    domain = [synced, *failures]
    colours = [SYNC_STATUS_COLOURS[SyncStatus.SYNCED]]
    colours += [FAILURE_COLOURS[i % len(FAILURE_COLOURS)] for i in range(len(failures))]
    return domain, colours


def money(amount: Decimal | float | int | None) -> str:
    """$1,234.56, -$7,483.00 for a negative amount, an em dash for none: how the console writes every amount."""
    if amount is None:
        return "—"
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """"1 record", "2 records", "1,204 records" (`many` for irregular nouns)."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def count_words(counts: Iterable[tuple[str | StrEnum, int]]) -> str:
    """"3 settlements and 1 carrier bill": counts of records by entity type, in the order given ("" for none)."""
    parts = [plural(n, *ENTITY_NOUNS[EntityType(e)]) for e, n in counts if n]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}" if parts else ""


def label_entity(entity_type: str | StrEnum) -> str:
    """"Invoice", "Credit memo": an entity type as a page or CSV names it."""
    one, _ = ENTITY_NOUNS[EntityType(entity_type)]
    return one[:1].upper() + one[1:]


def blocker(blocked_by: str | None) -> str:
    """'customer:ACME Logistics' (the engine's form) → 'Customer ACME Logistics'."""
    if not blocked_by:
        return ""
    what, _, name = blocked_by.partition(":")
    return f"{label({}, what.strip().lower())} {name.strip()}".strip()
