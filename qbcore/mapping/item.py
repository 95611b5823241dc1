"""Charge code → QuickBooks Service item JSON."""

from __future__ import annotations

from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.names import ITEM_NAME_MAX, clean_name
from qbcore.mapping.refs import QboRefs


def item_name(charge_code: Any, mapped_name: str | None = None) -> str:
    """The QuickBooks item name: the mapped name, else the charge code itself."""
    return clean_name(mapped_name or charge_code.code, ITEM_NAME_MAX)


def build_item_payload(charge_code: Any, refs: QboRefs, mapped_name: str | None = None,
                       income_account_id: str | None = None) -> dict[str, Any]:
    """A Service item booked to the mapped (or default) income account."""
    account = income_account_id or refs.income_account_id
    if account is None:
        raise MappingError("No income account is set for new items. Choose a default income account in Settings.",
                           blocked_by="account:income")
    payload: dict[str, Any] = {
        "Name": item_name(charge_code, mapped_name),
        "Type": "Service",
        "IncomeAccountRef": {"value": account},
    }
    if charge_code.name:
        payload["Description"] = charge_code.name[:4000]
    return payload
