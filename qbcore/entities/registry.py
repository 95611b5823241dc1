"""The registry: every synced entity in plan order (each pushed after everything it depends on)."""

from __future__ import annotations

from enum import StrEnum

from qbcore.entities import credit_application, credit_memo, customer, invoice, item, payables, payment
from qbcore.entities import settlement_shares as shares
from qbcore.entities.spec import EntitySpec, ImportFile, Switch
from qbcore.mapping.refs import QboRefs
from qbcore.models import EntityType
from qbcore.settings import SyncSettings

# Customers before items (independent) before transactions; payments and credit applications (zero-amount
# payments) link invoices and credit memos, so they go last. Payables follow: vendors, their bills, bill payments.
ENTITIES: tuple[EntitySpec, ...] = (
    customer.SPEC, item.SPEC, invoice.SPEC, credit_memo.SPEC, payment.SPEC, credit_application.SPEC,
    payables.VENDOR, payables.SETTLEMENT, shares.SETTLEMENT_SHARE, payables.CARRIER_BILL, payables.SETTLEMENT_PAYMENT,
    shares.SHARE_PAYMENT, payables.CARRIER_PAYMENT,
)
_BY_TYPE = {spec.entity_type: spec for spec in ENTITIES}


def spec_for(entity_type: EntityType | str) -> EntitySpec:
    """The description of one entity type ('invoice' or EntityType.INVOICE)."""
    return _BY_TYPE[EntityType(entity_type)]


# The entities with a Problem Sync tab, in tab order.
PROBLEM_TABS: tuple[EntitySpec, ...] = tuple(sorted((spec for spec in ENTITIES if spec.problems is not None),
                                                    key=lambda spec: spec.problems.position if spec.problems else 0))


# The files of a book import, in the order they are applied.
_IMPORTED = sorted(((spec.import_file, spec.entity_type) for spec in ENTITIES if spec.import_file),
                   key=lambda pair: pair[0].position)
IMPORT_FILES: tuple[ImportFile, ...] = tuple(f for f, _ in _IMPORTED)
# The entity each file's records are, by file kind ("customers" → customer), in file order.
IMPORT_ENTITY: dict[str, EntityType] = {f.kind: entity_type for f, entity_type in _IMPORTED}


class FileKind(StrEnum):
    """The files of a book import, in the order they are applied: the kinds the entities' ImportFiles name."""

    CUSTOMERS = "customers"
    INVOICES = "invoices"
    PAYMENTS = "payments"
    CREDIT_MEMOS = "credit_memos"
    VENDORS = "vendors"
    SETTLEMENTS = "settlements"
    CARRIER_BILLS = "carrier_bills"


def what_syncs() -> list[Switch]:
    """The checkboxes of Settings → What syncs, in plan order."""
    return [spec.switch for spec in ENTITIES if spec.switch is not None]


def _check_order() -> None:
    seen: set[EntityType] = set()
    for spec in ENTITIES:
        missing = [d for d in spec.depends_on if d not in seen]
        if missing or spec.entity_type in seen:
            raise RuntimeError(f"{spec.entity_type} is listed before {missing} it depends on (or twice)")
        if spec.refs_field is not None and spec.refs_field not in QboRefs.__dataclass_fields__:
            raise RuntimeError(f"{spec.entity_type}: QboRefs has no field {spec.refs_field!r}")
        unknown = [name for name in spec.switches + spec.any_of
                   if not isinstance(getattr(SyncSettings(), name, None), bool)]
        if unknown:
            raise RuntimeError(f"{spec.entity_type}: SyncSettings has no on/off setting {unknown}")
        seen.add(spec.entity_type)
    if seen != set(EntityType):
        raise RuntimeError(f"entity types without a description: {set(EntityType) - seen}")
    if [f.kind for f in IMPORT_FILES] != [kind.value for kind in FileKind]:
        raise RuntimeError(f"the entities' import files {[f.kind for f in IMPORT_FILES]} are not the FileKinds")


_check_order()  # a wrong order is a programming error: fail at import, not in a sync run
