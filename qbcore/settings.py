"""Typed sync settings stored in the settings table; changes are validated, role-checked and audited."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.company_directory import resolve_company_id
from qbcore.models import CompanySetting, Role, Setting
from qbcore.refusals import Refusal

# Load fields that may go into a charge set's line Description (key → label shown to users).
DESCRIPTION_FIELDS: dict[str, str] = {
    "load_number": "Load #",
    "container_number": "Container #",
    "size_type": "Size/Type",
    "reference_number": "Reference #",
    "bol": "BOL",
    "pickup_location": "Pickup",
    "pickup_date": "Pickup date",
    "delivery_location": "Delivery",
    "delivery_date": "Delivery date",
    "chassis_number": "Chassis #",
}


@dataclass(frozen=True)
class DescriptionTemplate:
    """Which load fields go into the Description of a charge set's lines, in what order."""

    fields: tuple[str, ...] = ("load_number", "container_number", "reference_number")
    separator: str = " | "
    show_labels: bool = True
    # Where the load text goes: on the first line of each charge set, or on every line.
    placement: Literal["first_line", "every_line"] = "first_line"


@dataclass(frozen=True)
class SyncSettings:
    """What syncs and how; defaults suit a typical drayage company."""

    sync_customers: bool = True
    sync_invoices: bool = True
    sync_credit_memos: bool = True
    sync_payments: bool = True
    paused: bool = False
    trigger: Literal["on_approval", "on_demand"] = "on_approval"
    invoice_numbering: Literal["billing", "quickbooks"] = "billing"
    customer_matching: Literal["name", "email", "existing_id"] = "name"
    create_missing_items: bool = True
    default_income_account: str = "Services"
    terms_mapping: dict[str, str] = field(default_factory=dict)
    branch_tracking: Literal["none", "class", "location"] = "class"
    branch_map: dict[str, str] = field(default_factory=dict)
    description: DescriptionTemplate = field(default_factory=DescriptionTemplate)
    description_overflow: Literal["truncate", "fail"] = "truncate"
    pulled_payments: Literal["apply", "propose"] = "apply"
    # When QuickBooks refuses a customer's name because a vendor or employee has it (6240), sync it as name +
    # this suffix, e.g. " (C)"; empty = off, a person gives the customer its QuickBooks name.
    name_clash_suffix: str = ""
    # Payables (PortPro's Driver Pay and Carrier Pay): off until finance has checked the pay-code accounts, since
    # each bill posts expenses and A/P in their books; vendors sync when either is on, payments with their bills.
    sync_settlements: bool = False
    sync_carrier_bills: bool = False
    bill_payment_account: str = "Checking"  # the bank account paid settlements and carrier bills are paid from
    # The expense account a pay code with no mapping of its own posts to; empty: such a code's bills wait, named.
    default_expense_account: str = ""
    # Vendor routing (PortPro's Account Payable → Vendor): whom a settlement is billed to. "fleet_owner" bills each
    # owner whose trucks ran its loads, one bill per owner; "both" bills the fleet owner when one owner's trucks ran
    # every load, the driver otherwise. Settlements already in QuickBooks keep the routing they were billed with.
    settlement_vendor: Literal["driver", "fleet_owner", "both"] = "driver"


class SettingsError(Refusal, ValueError):
    """A settings change is invalid; the message says which setting and why."""


SYNC_SETTINGS_KEY = "sync_settings"


def settings_to_dict(settings: SyncSettings) -> dict[str, Any]:
    """Plain JSON-able form (tuples become lists)."""
    data = dataclasses.asdict(settings)
    data["description"]["fields"] = list(settings.description.fields)
    return data


def settings_from_dict(data: dict[str, Any]) -> SyncSettings:
    """Validate and build settings; unknown keys are rejected by name."""
    known = {f.name for f in dataclasses.fields(SyncSettings)}
    unknown = set(data) - known
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = dict(data)
    if "description" in values:
        if not isinstance(values["description"], dict):
            raise SettingsError("the description template must be an object of fields, separator, labels, placement")
        desc = dict(values["description"])
        fields = desc.get("fields", [])
        if not isinstance(fields, list | tuple) or not all(isinstance(f, str) for f in fields):
            raise SettingsError("description fields must be a list of load field names")
        bad = [f for f in fields if f not in DESCRIPTION_FIELDS]
        if bad:
            raise SettingsError(f"description fields not known: {', '.join(repr(f) for f in bad)}")
        if "fields" in desc:
            desc["fields"] = tuple(fields)
        separator = desc.get("separator", " | ")
        if not isinstance(separator, str) or len(separator) > 10:
            raise SettingsError("the description separator is text of at most 10 characters")
        if not isinstance(desc.get("show_labels", True), bool):
            raise SettingsError("description show_labels must be true or false")
        try:
            values["description"] = DescriptionTemplate(**desc)
        except TypeError as exc:
            raise SettingsError(f"description template: {exc}") from None
    settings = SyncSettings(**values)
    _check_choices(settings)
    return settings


def _check_choices(settings: SyncSettings) -> None:
    choices = {
        "trigger": ("on_approval", "on_demand"),
        "invoice_numbering": ("billing", "quickbooks"),
        "customer_matching": ("name", "email", "existing_id"),
        "branch_tracking": ("none", "class", "location"),
        "description_overflow": ("truncate", "fail"),
        "pulled_payments": ("apply", "propose"),
        "settlement_vendor": ("driver", "fleet_owner", "both"),
    }
    for name, allowed in choices.items():
        value = getattr(settings, name)
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    suffix = settings.name_clash_suffix
    if not isinstance(suffix, str) or len(suffix) > 20 or any(ch in suffix for ch in ":\t\r\n"):
        raise SettingsError("the name-clash suffix is text of at most 20 characters, without ':' or line breaks")
    if suffix and not suffix.strip():
        raise SettingsError("the name-clash suffix needs at least one visible character, such as ' (C)'")
    for name in ("bill_payment_account", "default_expense_account"):
        value = getattr(settings, name)
        if not isinstance(value, str) or len(value) > 100 or any(ch in value for ch in "\r\n\t"):
            raise SettingsError(f"{name} is an account name of at most 100 characters on one line")
    if not settings.bill_payment_account.strip():
        raise SettingsError("bill_payment_account needs the name of the bank account bills are paid from")
    if settings.description.placement not in ("first_line", "every_line"):
        raise SettingsError("description placement must be first_line or every_line")


def load_settings(session: Session, company_id: int | None = None) -> SyncSettings:
    """A company's settings (the default company's when None; defaults where nothing was saved)."""
    row = company_setting_row(session, SYNC_SETTINGS_KEY, company_id)
    if row is None or not row.value:
        return SyncSettings()
    return settings_from_dict(row.value)


def save_settings(
    session: Session, actor: Actor, changes: dict[str, Any], *, reason: str | None = None,
    company_id: int | None = None,
) -> SyncSettings:
    """Apply changes to a company's settings (admin only), validated as a whole, audited with before and after."""
    require_role(actor, Role.ADMIN, "change_settings", session=session)
    company_id = resolve_company_id(session, company_id)
    before = settings_to_dict(load_settings(session, company_id))
    merged = {**before, **changes}
    new = settings_from_dict(merged)
    after = settings_to_dict(new)
    if after == before:
        return new
    store_company_setting(session, SYNC_SETTINGS_KEY, after, updated_by=actor.email, company_id=company_id)
    changed = sorted(k for k in after if after[k] != before.get(k))
    write_audit(
        session, actor, "change_settings", target_type="settings", target_id=SYNC_SETTINGS_KEY,
        before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed}, reason=reason,
        company_id=company_id,
    )
    return new


def get_setting_row(session: Session, company_id: int | None = None) -> CompanySetting | None:
    """A company's raw stored settings row (for 'last changed by')."""
    return company_setting_row(session, SYNC_SETTINGS_KEY, company_id)


def company_setting_row(session: Session, key: str, company_id: int | None = None) -> CompanySetting | None:
    """One company's stored setting (the default company's when None), if saved."""
    return session.get(CompanySetting, (resolve_company_id(session, company_id), key))


def store_company_setting(session: Session, key: str, value: Any, *, updated_by: str,
                          company_id: int | None = None) -> None:
    """Write one company's JSON setting, creating it the first time (the caller audits and commits)."""
    company_id = resolve_company_id(session, company_id)
    row = session.get(CompanySetting, (company_id, key))
    if row is None:
        session.add(CompanySetting(company_id=company_id, key=key, value=value, updated_by=updated_by))
    else:
        row.value = value
        row.updated_by = updated_by


def store_setting(session: Session, key: str, value: Any, *, updated_by: str) -> None:
    """Write one JSON setting row, creating it the first time (the caller audits and commits)."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_by=updated_by))
    else:
        row.value = value
        row.updated_by = updated_by
