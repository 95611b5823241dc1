"""EntitySpec: everything the sync layers need to know about one synced entity, in one frozen record."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from qbcore.mapping.refs import QboRefs
from qbcore.models import ENTITY_NOUNS, QBO_OBJECTS, EntityType
from qbcore.models.base import Base
from qbcore.settings import SyncSettings

# (billing row, settings, QuickBooks ids, extras) → QuickBooks JSON; raises MappingError when it cannot be built.
PayloadBuilder = Callable[[Any, SyncSettings, QboRefs, Mapping[str, Any]], dict[str, Any]]
# (payload, customer matching rule) → (QuickBooks field, value) to look a record up by before creating it.
NaturalKey = Callable[[dict[str, Any], str], "tuple[str, str] | None"]
# (session, billing ids of this entity chosen for a run) → billing ids of other entities they need first.
Needs = Callable[[Session, list[int]], Mapping[EntityType, set[int]]]
# (session, name after 'entity:' in blocked_by) → when that blocker was last fixed, or None.
FixedAt = Callable[[Session, str], "datetime | None"]
# The columns of sync_records the QuickBooks IDs view selects beside the entity's own.
IdsView = Callable[[Sequence[Any]], Select[Any]]


@dataclass(frozen=True)
class Ledger:
    """Where a dated money record keeps its day, amount and number (month end, drift checks, pulls)."""

    day: Any
    amount: Any
    number: Any
    in_books: tuple[ColumnElement[bool], ...] = ()  # rows that count in the books (drafts and voids do not)


@dataclass(frozen=True)
class EntitySpec:
    """One synced entity: its billing model, QuickBooks object, look-up key, dependencies and payload builder."""

    entity_type: EntityType
    model: type[Base]
    request_code: str  # three letters in request ids ("inv")
    build_payload: PayloadBuilder
    natural_key: NaturalKey
    record_name: Callable[[Any], str]  # what a person calls one billing row (number, name, code)
    is_enabled: Callable[[SyncSettings], bool]
    ids_view: IdsView
    load_options: tuple[Any, ...] = ()  # eager loads the payload needs
    load_extras: Callable[[Session, Mapping[int, Any]], dict[str, Any]] | None = None
    extras_from_rows: bool = False  # extras depend on the rows loaded, so are read again per chunk
    depends_on: tuple[EntityType, ...] = ()  # pushed after these (plan order)
    needs: Needs | None = None
    fixed_at: FixedAt | None = None  # None: this entity never names itself in blocked_by
    sales_form: bool = False  # DocNumber form: branch class/location, look-up by number, drift watched on pull
    linked_by_name: bool = False  # a QuickBooks record with the same key is ours (no total to compare)
    searched_by: tuple[str, ...] = ()  # how the QuickBooks IDs page finds candidate twins: "number", "name", "amount"
    ledger: Ledger | None = None
    refs_field: str | None = None  # the QboRefs field of its QuickBooks ids, when other payloads point at it
    pulled_payments: bool = False  # a pull applies QuickBooks' payments to our invoices
    syncs_only: tuple[ColumnElement[bool], ...] = ()  # billing rows that get a sync record (a draft waits)

    @property
    def nouns(self) -> tuple[str, str]:
        """How people name it: (one, many)."""
        return ENTITY_NOUNS[self.entity_type]

    @property
    def qbo_object(self) -> str:
        """QuickBooks' entity name: "Invoice", "CreditMemo"."""
        return QBO_OBJECTS[self.entity_type]

    @property
    def blocker_word(self) -> str:
        """The prefix of blocked_by ('customer:ACME') that names this entity."""
        return self.entity_type.value
