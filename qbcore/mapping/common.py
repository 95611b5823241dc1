"""Pieces every payload shares: money, term and branch references, payload hashing."""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.refs import QboRefs
from qbcore.settings import SyncSettings

CENT = Decimal("0.01")


def to_cents(value: Decimal | int | float) -> Decimal:
    """Round half-up to the cent, as QuickBooks does."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def to_number(value: Decimal) -> float:
    """A JSON number for QuickBooks (floats are exact enough for 2-4 decimals)."""
    return float(value)


def term_ref(terms_name: str | None, settings: SyncSettings, refs: QboRefs) -> dict[str, str] | None:
    """SalesTermRef by the terms mapping (default: same name); MappingError when QuickBooks lacks it."""
    if not terms_name:
        return None
    qbo_name = settings.terms_mapping.get(terms_name, terms_name)
    term_id = refs.terms.get(qbo_name)
    if term_id is None:
        raise MappingError(f"QuickBooks has no term named {qbo_name!r}. Add it in QuickBooks or map "
                           f"{terms_name!r} to an existing term in Settings.", blocked_by=f"term:{qbo_name}")
    return {"value": term_id}


def branch_refs(branch: str | None, settings: SyncSettings, refs: QboRefs) -> dict[str, dict[str, str]]:
    """ClassRef or DepartmentRef for the customer's branch, per settings.branch_tracking."""
    if settings.branch_tracking == "none" or not branch:
        return {}
    name = settings.branch_map.get(branch, branch)
    if settings.branch_tracking == "class":
        key, table, label = "ClassRef", refs.classes, "class"
    else:
        key, table, label = "DepartmentRef", refs.departments, "location"
    ref_id = table.get(name)
    if ref_id is None:
        raise MappingError(f"QuickBooks has no {label} named {name!r} for branch {branch!r}.",
                           blocked_by=f"{label}:{name}")
    return {key: {"value": ref_id}}


def hash_payload(payload: dict[str, Any]) -> str:
    """A stable fingerprint of a payload: a changed hash means the billing record changed."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
