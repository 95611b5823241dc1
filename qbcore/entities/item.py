"""Items: a charge code becomes a QuickBooks Item found by Name, or is mapped by hand in Settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Numeric, Select, and_, cast, func, null, select
from sqlalchemy.orm import Session

from qbcore.entities.common import NO_AMOUNT, NO_DATE, NO_TEXT, TEXT, synced_at
from qbcore.entities.spec import EntitySpec, ProblemTab
from qbcore.mapping.item import build_item_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import ChargeCode, EntityType, ItemMapping, SyncRecord
from qbcore.settings import SyncSettings


def build_payload(row: Any, _settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]) -> dict[str, Any]:
    """QuickBooks Item JSON, named as mapped in Settings when it is."""
    mapping: ItemMapping | None = extras.get("item_mappings", {}).get(row.id)
    return build_item_payload(row, refs, mapped_name=mapping.qbo_item_name if mapping else None,
                              income_account_id=mapping.income_account_id if mapping else None)


def load_extras(session: Session, _rows: Mapping[int, Any], company_id: int) -> dict[str, Any]:
    """The company's item mappings of Settings, by charge code id."""
    return {"item_mappings": {m.charge_code_id: m for m in session.scalars(
        select(ItemMapping).where(ItemMapping.company_id == company_id))}}


def fixed_at(session: Session, code: str, company_id: int | None = None) -> datetime | None:
    """When the charge code was synced or mapped to a QuickBooks item (in one company, or any), whichever is later."""
    ids = select(ChargeCode.id).where(ChargeCode.code == code)
    synced = synced_at(session, EntityType.ITEM, ids, company_id)
    mapped_query = select(func.max(ItemMapping.updated_at)).where(
        ItemMapping.charge_code_id.in_(ids), ItemMapping.qbo_item_id.is_not(None))
    if company_id is not None:
        mapped_query = mapped_query.where(ItemMapping.company_id == company_id)
    mapped = session.scalar(mapped_query)
    return max((m for m in (synced, mapped) if m is not None), default=None)


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row: named by its charge code."""
    return (select(*record, cast(ChargeCode.code, TEXT).label("number_or_name"), NO_TEXT.label("customer"),
                   cast(null(), Integer).label("customer_id"), NO_AMOUNT.label("amount"), NO_DATE.label("date"),
                   NO_TEXT.label("email"))
            .join(ChargeCode, and_(SyncRecord.entity_type == EntityType.ITEM.value,
                                   SyncRecord.entity_id == ChargeCode.id)))


SPEC = EntitySpec(
    entity_type=EntityType.ITEM, model=ChargeCode, request_code="itm",
    build_payload=build_payload, natural_key=lambda payload, _matching: ("Name", payload["Name"]),
    record_name=lambda row: str(row.name or row.code),  # no switch: invoices need their items
    ids_view=ids_view,
    load_extras=load_extras, fixed_at=fixed_at, linked_by_name=True, searched_by=("name",),
    refs_field="items",
    linked_in_each_company=True,  # no route: a charge code is an item in every company
    # A charge code belongs to no customer and carries no amount (a typed NULL: PostgreSQL cannot choose a sum() for
    # an untyped bind parameter); people call it a charge code here.
    problems=ProblemTab(position=6, reference=ChargeCode.code, amount=cast(null(), Numeric(14, 2)),
                        record_date=ChargeCode.updated_at, date_is_timestamp=True, joins=None,
                        changed_at=ChargeCode.updated_at, nouns=("charge code", "charge codes")),
)
