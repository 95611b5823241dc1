"""The registry: every synced entity in plan order (each pushed after everything it depends on)."""

from __future__ import annotations

from qbcore.entities import credit_application, credit_memo, customer, invoice, item, payables, payment
from qbcore.entities.spec import EntitySpec
from qbcore.mapping.refs import QboRefs
from qbcore.models import EntityType

# Customers before items (independent) before transactions; payments and credit applications (zero-amount
# payments) link invoices and credit memos, so they go last. Payables follow: vendors, their bills, bill payments.
ENTITIES: tuple[EntitySpec, ...] = (
    customer.SPEC, item.SPEC, invoice.SPEC, credit_memo.SPEC, payment.SPEC, credit_application.SPEC,
    payables.VENDOR, payables.SETTLEMENT, payables.CARRIER_BILL, payables.SETTLEMENT_PAYMENT, payables.CARRIER_PAYMENT,
)
_BY_TYPE = {spec.entity_type: spec for spec in ENTITIES}


def spec_for(entity_type: EntityType | str) -> EntitySpec:
    """The description of one entity type ('invoice' or EntityType.INVOICE)."""
    return _BY_TYPE[EntityType(entity_type)]


def _check_order() -> None:
    seen: set[EntityType] = set()
    for spec in ENTITIES:
        missing = [d for d in spec.depends_on if d not in seen]
        if missing or spec.entity_type in seen:
            raise RuntimeError(f"{spec.entity_type} is listed before {missing} it depends on (or twice)")
        if spec.refs_field is not None and spec.refs_field not in QboRefs.__dataclass_fields__:
            raise RuntimeError(f"{spec.entity_type}: QboRefs has no field {spec.refs_field!r}")
        seen.add(spec.entity_type)
    if seen != set(EntityType):
        raise RuntimeError(f"entity types without a description: {set(EntityType) - seen}")


_check_order()  # a wrong order is a programming error: fail at import, not in a sync run
