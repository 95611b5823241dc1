"""What a sync run needs to know: billing rows of the records, and the QuickBooks ids they reference."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.errors import QboCallError
from qbcore.mapping.refs import CustomFieldSpec, QboRefs
from qbcore.models import CustomFieldMapping, EntityType, ItemMapping, SyncRecord
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import SyncSettings


@dataclass(frozen=True)
class NameLists:
    """QuickBooks name lists read once per run (name → Id)."""

    terms: dict[str, str]
    classes: dict[str, str]
    departments: dict[str, str]
    payment_methods: dict[str, str]
    accounts: dict[str, str]


def load_billing_rows(session: Session, entity_type: EntityType, ids: Iterable[int]) -> dict[int, Any]:
    """Billing rows by id, with everything their payloads need loaded eagerly."""
    spec = spec_for(entity_type)
    model: Any = spec.model
    ids = list(ids)
    options = spec.load_options
    rows: dict[int, Any] = {}
    for chunk in chunked(ids, SQL_IN_CHUNK):
        for row in session.scalars(select(model).where(model.id.in_(chunk)).options(*options)).unique():
            rows[row.id] = row
    return rows


def linked_ids(session: Session, entity_type: EntityType, company_id: int) -> dict[int, str]:
    """Billing id → QuickBooks id, in one company, of every record of a type that has one there."""
    query = select(SyncRecord.entity_id, SyncRecord.qbo_id).where(
        SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
        SyncRecord.qbo_id.is_not(None))
    return {entity_id: qbo_id for entity_id, qbo_id in session.execute(query) if qbo_id is not None}


NAME_LISTS_TTL_S = 300.0


def read_name_lists(gateway: QboGateway) -> NameLists:
    """Terms, classes, locations, payment methods and accounts of the company (memoised for 5 minutes)."""
    cached = gateway.memo.get("name_lists")
    if cached is not None and time.monotonic() - cached[0] < NAME_LISTS_TTL_S:
        cached_lists: NameLists = cached[1]
        return cached_lists

    def names(entity: str, key: str = "Name") -> dict[str, str]:
        return {row[key]: row["Id"] for row in gateway.query_all(entity) if row.get(key) and row.get("Id")}

    lists = NameLists(terms=names("Term"), classes=names("Class"), departments=names("Department"),
                      payment_methods=names("PaymentMethod"), accounts=names("Account"))
    gateway.memo["name_lists"] = (time.monotonic(), lists)
    return lists


def ensure_branch_refs(gateway: QboGateway, lists: NameLists, settings: SyncSettings, branches: Iterable[str]
                       ) -> list[str]:
    """Create the classes or locations the branches map to when missing (tracking lists, like new items)."""
    if settings.branch_tracking == "none" or not settings.create_missing_items:
        return []
    entity, table = ("Class", lists.classes) if settings.branch_tracking == "class" else \
        ("Department", lists.departments)
    created = []
    for branch in sorted(set(branches)):
        name = settings.branch_map.get(branch, branch)
        if name in table:
            continue
        request_id = f"qbs-{entity[:3].lower()}-{hashlib.sha256(name.encode()).hexdigest()[:20]}"
        try:
            row = gateway.write(entity, {"Name": name}, request_id=request_id, name=name)
        except QboCallError:
            continue  # invoices of that branch end up blocked by it, with the reason
        table[name] = row["Id"]
        created.append(name)
    return created


def build_refs(session: Session, lists: NameLists, settings: SyncSettings, company_id: int) -> QboRefs:
    """Every id a payload for one company may reference: its sync records, its mappings and its name lists.

    Only that company's ids: a payload for the broker file can never point at a carrier-file customer or item.
    """
    linked = {spec.refs_field: linked_ids(session, spec.entity_type, company_id)
              for spec in ENTITIES if spec.refs_field}
    items = linked["items"]  # a charge code mapped by hand in Settings points at that item
    for mapping in session.scalars(select(ItemMapping).where(ItemMapping.company_id == company_id)):
        if mapping.qbo_item_id:
            items[mapping.charge_code_id] = mapping.qbo_item_id
    specs = tuple(CustomFieldSpec(m.qbo_definition_id, m.qbo_name, m.source_field)
                  for m in session.scalars(select(CustomFieldMapping).where(CustomFieldMapping.company_id == company_id)
                                           .order_by(CustomFieldMapping.slot)))
    return QboRefs(
        **linked,
        terms=lists.terms, classes=lists.classes, departments=lists.departments,
        payment_methods=lists.payment_methods, accounts=lists.accounts,
        income_account_id=lists.accounts.get(settings.default_income_account),
        custom_fields=specs,
    )
