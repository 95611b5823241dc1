"""Read-only views of QuickBooks links: every synced record with its QuickBooks id, searchable in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from qbcore.entities.registry import ENTITIES
from qbcore.labels import label_entity as label_entity  # pages import it from here
from qbcore.models import EntityType, SyncRecord, SyncStatus
from qbcore.pull.bill_payments import paid_on_rows

GRID_LIMIT = 5000


# The grid also gets "paid_in_qbo": what bill payments entered in QuickBooks paid on a bill row.
GRID_COLUMNS = ["record_id", "entity_type", "number_or_name", "customer", "amount", "date", "qbo_id", "status",
                "last_synced_at", "company_id", "customer_id", "entity_id"]


# Records whose party column names the vendor a bill pays (settlements, carrier bills, their payments).
PAID_TO_VENDOR = frozenset(spec.entity_type for spec in ENTITIES
                           if spec.problems is not None and spec.problems.vendor_key is not None)


def party_heading(entity_types: Iterable[str | EntityType]) -> str:
    """"Customer", "Vendor" or "Customer or vendor": what the party column names on rows of these types."""
    kinds = {EntityType(e) in PAID_TO_VENDOR for e in entity_types}
    return "Customer or vendor" if kinds == {True, False} else "Vendor" if kinds == {True} else "Customer"


@dataclass(frozen=True)
class IdFilter:
    """What the QuickBooks IDs grid shows: entity type, a search text, statuses, last-sync window."""

    entity_type: EntityType | None = None
    search: str = ""
    statuses: tuple[SyncStatus, ...] = ()
    synced_from: date | None = None
    synced_to: date | None = None
    linked_only: bool = True
    company_id: int | None = None  # None: every company


@dataclass(frozen=True)
class LinkedRecord:
    """One of our records and its QuickBooks link, as shown next to the QuickBooks side before a change."""

    record_id: int
    entity_type: EntityType
    entity_id: int
    number_or_name: str
    customer: str | None
    customer_id: int | None
    amount: Decimal | None
    date: date | None
    email: str | None
    qbo_id: str | None
    qbo_sync_token: str | None
    status: SyncStatus
    last_synced_at: datetime | None
    company_id: int = 1


def _per_entity() -> list[Select[*tuple[Any, ...]]]:
    """One SELECT per entity type with the same columns, so a UNION ALL lists them all."""
    record = (SyncRecord.id.label("record_id"), SyncRecord.entity_type.label("entity_type"),
              SyncRecord.entity_id.label("entity_id"), SyncRecord.qbo_id.label("qbo_id"),
              SyncRecord.qbo_sync_token.label("qbo_sync_token"), SyncRecord.status.label("status"),
              SyncRecord.last_synced_at.label("last_synced_at"), SyncRecord.company_id.label("company_id"))
    # The first SELECT gives the union's columns their types (amount, date): a dated money record goes first.
    return [spec.ids_view(record) for spec in sorted(ENTITIES, key=lambda spec: spec.ledger is None)]


def record_names() -> Subquery:
    """Every sync record with what people call it (number or name) and its customer: one row per record."""
    return union_all(*_per_entity()).subquery("record_names")


def _record_conditions(flt: IdFilter) -> list[Any]:
    """The filter's conditions on the sync record itself (all but the search)."""
    conditions: list[Any] = []
    if flt.entity_type is not None:
        conditions.append(SyncRecord.entity_type == flt.entity_type.value)
    if flt.linked_only:
        conditions.append(SyncRecord.qbo_id.is_not(None))
    if flt.company_id is not None:
        conditions.append(SyncRecord.company_id == flt.company_id)
    if flt.statuses:
        conditions.append(SyncRecord.status.in_([st.value for st in flt.statuses]))
    if flt.synced_from is not None:
        conditions.append(SyncRecord.last_synced_at >= datetime.combine(flt.synced_from, datetime.min.time()))
    if flt.synced_to is not None:
        conditions.append(SyncRecord.last_synced_at < datetime.combine(flt.synced_to, datetime.max.time()))
    return conditions


def _filtered(flt: IdFilter, *, newest: int | None = None):  # type: ignore[no-untyped-def]
    """The union of every entity's rows matching the filter; with `newest`, only each entity's newest syncs.

    Without a search, no entity can give the grid more rows than it shows, so each part takes its own newest
    `newest` by an index walk instead of the whole book being sorted (a million invoices: 1.4 s).
    """
    conditions = _record_conditions(flt)
    selects = [s.where(*conditions) for s in _per_entity()]
    search = flt.search.strip().lower()
    if newest is not None and not search:
        selects = [part for s in selects for part in _newest_parts(s, newest)]
    rows = union_all(*selects).subquery("linked")
    query = select(rows)
    if search:
        pattern = f"%{search}%"
        query = query.where(or_(func.lower(rows.c.number_or_name).like(pattern),
                                func.lower(func.coalesce(rows.c.customer, "")).like(pattern),
                                rows.c.qbo_id == flt.search.strip()))
    return rows, query


def _newest_parts(part: Any, newest: int) -> list[Any]:
    """One entity's newest `newest` syncs, then as many never synced, each read by a walk of the type-and-sync index.

    Asked for in one ORDER BY last_synced_at DESC NULLS LAST, PostgreSQL (which sorts NULL last going up, so first
    coming down an index) sorted every linked record instead (4.7 s at a million invoices); SQLite walked the index.
    Ties go newest record first, as the index runs backwards: with the id ascending, PostgreSQL chose to walk the
    index of every type's syncs and skip the other types' (1.7 million rows at a million invoices).
    """
    synced = part.where(SyncRecord.last_synced_at.is_not(None)).order_by(SyncRecord.last_synced_at.desc(),
                                                                           SyncRecord.id.desc())
    never = part.where(SyncRecord.last_synced_at.is_(None)).order_by(SyncRecord.id.desc())
    return [select(synced.limit(newest).subquery()), select(never.limit(newest).subquery())]


def count_linked_records(session: Session, flt: IdFilter) -> int:
    """How many records match the filter."""
    if flt.search.strip():
        return count_joined(session, flt)
    # A record of an entity whose billing rows are never deleted (EntitySpec.rows_deleted) always has its row, and
    # its view's other joins follow required references: counted alone, it gives the joined count without a
    # million look-ups (1.3 s of the page at a million invoices).
    alone = session.scalar(select(func.count()).select_from(SyncRecord).where(
        SyncRecord.entity_type.in_([spec.entity_type.value for spec in ENTITIES if not spec.rows_deleted]),
        *_record_conditions(flt))) or 0
    return alone + count_joined(session, flt, only_rows_deleted=True)


def count_joined(session: Session, flt: IdFilter, *, only_rows_deleted: bool = False) -> int:
    """How many rows the grid's query matches, each joined to its billing row (of every entity, or of those whose
    rows get deleted)."""
    _rows, query = _filtered(flt)
    if only_rows_deleted:
        query = query.where(_rows.c.entity_type.in_(
            [spec.entity_type.value for spec in ENTITIES if spec.rows_deleted]))
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def list_linked_records(session: Session, flt: IdFilter, *, limit: int = GRID_LIMIT) -> pd.DataFrame:
    """The grid: records matching the filter, newest sync first (at most `limit` rows)."""
    rows, query = _filtered(flt, newest=limit)
    query = query.order_by(rows.c.last_synced_at.desc().nulls_last(), rows.c.record_id.desc()).limit(limit)
    result = session.execute(query).mappings().all()
    frame = pd.DataFrame([{c: r[c] for c in GRID_COLUMNS} for r in result], columns=GRID_COLUMNS)
    if not frame.empty:
        frame["amount"] = frame["amount"].map(lambda v: None if v is None else float(v))
    frame["paid_in_qbo"] = pd.Series(_paid_in_quickbooks(session, frame), index=frame.index, dtype=object)
    return frame


def _paid_in_quickbooks(session: Session, frame: pd.DataFrame) -> list[float | None]:
    """A bill row's payments entered in QuickBooks (a partial payment shows here); None on every other row."""
    rows = list(zip(frame["entity_type"], frame["company_id"], frame["entity_id"], strict=True))
    return [None if amount is None else float(amount) for amount in paid_on_rows(session, rows)]


def get_linked_record(session: Session, record_id: int) -> LinkedRecord | None:
    """One record with its billing details, or None."""
    _rows, query = _filtered(IdFilter(linked_only=False))
    rows = query.subquery()
    row = session.execute(select(rows).where(rows.c.record_id == record_id)).mappings().first()
    if row is None:
        return None
    day = row["date"]
    if isinstance(day, str):  # SQLite returns dates through a UNION as text
        day = date.fromisoformat(day[:10])
    amount = row["amount"]
    return LinkedRecord(
        record_id=row["record_id"], entity_type=EntityType(row["entity_type"]), entity_id=row["entity_id"],
        number_or_name=row["number_or_name"], customer=row["customer"], customer_id=row["customer_id"],
        amount=None if amount is None else Decimal(str(amount)).quantize(Decimal("0.01")),
        date=day, email=row["email"], qbo_id=row["qbo_id"], qbo_sync_token=row["qbo_sync_token"],
        status=SyncStatus(row["status"]), last_synced_at=row["last_synced_at"], company_id=row["company_id"],
    )


def find_record_linked_to(session: Session, entity_type: EntityType, qbo_id: str, company_id: int,
                          *, other_than: int | None = None) -> int | None:
    """The id of our record already linked to this QuickBooks id (of this entity type) in one company, if any."""
    # QuickBooks ids are unique only within one company: the broker file's invoice 130 is not the carrier file's.
    query = select(SyncRecord.id).where(SyncRecord.company_id == company_id,
                                        SyncRecord.entity_type == entity_type.value, SyncRecord.qbo_id == qbo_id)
    if other_than is not None:
        query = query.where(SyncRecord.id != other_than)
    return session.scalar(query.limit(1))


def list_linked_ids(session: Session, entity_type: EntityType, qbo_ids: list[str], company_id: int) -> dict[str, int]:
    """QuickBooks id → our record id, for the ids given that are already linked in one company."""
    if not qbo_ids:
        return {}
    rows = session.execute(select(SyncRecord.qbo_id, SyncRecord.id).where(
        SyncRecord.company_id == company_id, SyncRecord.entity_type == entity_type.value,
        SyncRecord.qbo_id.in_(qbo_ids))).all()
    return {str(q): int(i) for q, i in rows}

