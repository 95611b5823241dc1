"""The QuickBooks ids a payload may reference, resolved before mapping (mapping itself never looks up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CustomFieldSpec:
    """One of QuickBooks' three string custom fields and the billing field that fills it."""

    definition_id: str
    name: str
    source_field: str


@dataclass(frozen=True)
class QboRefs:
    """Billing id / name → QuickBooks id, for everything a payload points at."""

    customers: Mapping[int, str] = field(default_factory=dict)  # customer id → QBO Customer Id
    items: Mapping[int, str] = field(default_factory=dict)  # charge code id → QBO Item Id
    invoices: Mapping[int, str] = field(default_factory=dict)  # invoice id → QBO Invoice Id
    credit_memos: Mapping[int, str] = field(default_factory=dict)  # credit memo id → QBO CreditMemo Id
    vendors: Mapping[int, str] = field(default_factory=dict)  # vendor id → QBO Vendor Id
    settlements: Mapping[int, str] = field(default_factory=dict)  # settlement id → QBO Bill Id
    settlement_shares: Mapping[int, str] = field(default_factory=dict)  # share id → QBO Bill Id (bill 2, 3… of one)
    carrier_bills: Mapping[int, str] = field(default_factory=dict)  # carrier bill id → QBO Bill Id
    accounts: Mapping[str, str] = field(default_factory=dict)  # QBO Account name → Id
    terms: Mapping[str, str] = field(default_factory=dict)  # QBO Term name → Id
    classes: Mapping[str, str] = field(default_factory=dict)  # QBO Class name → Id
    departments: Mapping[str, str] = field(default_factory=dict)  # QBO Department (Location) name → Id
    payment_methods: Mapping[str, str] = field(default_factory=dict)  # QBO PaymentMethod name → Id
    income_account_id: str | None = None
    custom_fields: tuple[CustomFieldSpec, ...] = ()
