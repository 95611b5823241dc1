"""Wire values: amounts, dates, ids, references and dotted paths, as QBO parses and checks them."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from qbo_sandbox import faults
from qbo_sandbox.faults import invalid_property, now_pacific
from qbo_sandbox.schema import CENT
from qbo_sandbox.store import JsonDict


def money(value: object, field: str = "Amount") -> Decimal:
    """Parse an amount sent as a number or a numeric string (python-quickbooks use_decimal)."""
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise invalid_property(
            f"Property Name:Can not construct instance of java.math.BigDecimal from String value "
            f"'{value}' specified is unsupported or invalid",
            element=field,
        ) from None


def num(value: Decimal) -> float | int:
    return float(value)


def clean(value: object) -> object:
    """Drop "" and None recursively: python-quickbooks sends "" for every unset date, amount and name."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


def clean_body(body: JsonDict) -> JsonDict:
    """A request body cleaned as `clean` does, still a JSON object."""
    return {k: clean(v) for k, v in body.items() if v is not None and v != ""}


def get_path(body: JsonDict, path: str) -> object:
    current: object = body
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def check_lengths(body: JsonDict, limits: dict[str, int]) -> None:
    for path, limit in limits.items():
        value = get_path(body, path)
        if isinstance(value, str) and len(value) > limit:
            raise faults.string_length(path.split(".")[0], limit, len(value))


def ref_value(ref: object) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        return None if value in (None, "") else str(value)
    return None


def parse_date(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise invalid_property(
            f"Property Name:{field} specified is unsupported or invalid",
            element=field,
        ) from None


def row_content(row: JsonDict) -> JsonDict:
    """A row without its server bookkeeping, to tell a real change from a no-op write."""
    return {k: v for k, v in row.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}


def company_today() -> date:
    return now_pacific().date()


def as_int(value: object, field: str = "Id") -> int:
    try:
        return int(str(value))
    except ValueError:
        if field == "Id":
            raise faults.invalid_id(str(value)) from None
        raise invalid_property(
            f"Property Name:{field} specified is unsupported or invalid",
            element=field,
        ) from None
