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
# (session, name after 'entity:' in blocked_by, company or None for any) → when that blocker was last fixed, or None.
FixedAt = Callable[[Session, str, "int | None"], "datetime | None"]
# The columns of sync_records the QuickBooks IDs view selects beside the entity's own.
IdsView = Callable[[Sequence[Any]], Select[Any]]
# () → a condition over `companies` and the entity's table: true for the companies a billing row posts to.
CompanyRoute = Callable[[], ColumnElement[bool]]


@dataclass(frozen=True)
class Ledger:
    """Where a dated money record keeps its day, amount and number (month end, drift checks, pulls)."""

    day: Any
    amount: Any
    number: Any
    in_books: tuple[ColumnElement[bool], ...] = ()  # rows that count in the books (drafts and voids do not)


@dataclass(frozen=True)
class Voidable:
    """A bill that can be voided in billing: how to tell, and its vendor (to find a bill whose answer was lost).

    A voided bill's QuickBooks twin is deleted (QuickBooks cannot void a bill); its payment (removes_twin False) is
    never deleted by us: its record closes once the payment is gone from QuickBooks.
    """

    is_void: Callable[[Any], bool]
    vendor_id: Callable[[Any], int]
    removes_twin: bool = True


@dataclass(frozen=True)
class Watched:
    """What a pull compares of a bill we pushed (drift): its amount, its number and the column of its vendor's id."""

    amount: Any
    number: Any
    party: Any


@dataclass(frozen=True)
class ProblemTab:
    """Its Problem Sync tab: where a row's reference, customer or vendor, amount and date come from, and its actions.

    Reference, amount and date default to the entity's ledger (number, amount, day).
    """

    position: int  # tab order on Problem Sync
    reference: Any = None
    amount: Any = None
    record_date: Any = None
    date_is_timestamp: bool = False
    # The billing rows between the entity and its customer, as (model, ON clause); None: it has no customer.
    joins: tuple[tuple[Any, Any], ...] | None = ()
    customer_key: Any = None  # the column holding its customer's id (None: it is the customer)
    changed_at: Any = None  # when its billing row last changed: a failure whose input changed may pass on a retry
    named_by: Any = None  # the column a blocked_by "<entity>:<name>" names it by; None: never named as a blocker
    set_aside: bool = False  # Clear and Restore apply (and the set-aside statuses are shown)
    mark_paid: bool = False  # Mark paid without sync applies too (it sets the billing row paid)
    nouns: tuple[str, str] | None = None  # the cause sentences' words when not its own (a charge code, not an item)
    # Payables: the column holding its vendor's id (the row names a vendor, not a customer); None with payee set:
    # it is the vendor.
    vendor_key: Any = None
    payee: bool = False  # its party is a vendor (a driver, fleet owner or carrier), not a customer
    period: tuple[Any, Any] | None = None  # the first and last day it covers (a settlement's week)


@dataclass(frozen=True)
class ImportFile:
    """Its file in a book import: the file kind (also `qbsync import --<kind>`), its template, and its words."""

    kind: str  # "invoices": the importer's file kind, its upload and its command-line option (--invoices)
    position: int  # files are read and applied in this order (customers before what names them)
    template: str  # "invoice_lines.csv": the template's name, the file the command line expects
    label: str  # "Invoice lines": how the page and the error lines name the file
    rows: str  # what one row of the file is, said under its layout table

    @property
    def option(self) -> str:
        """Its command-line option: "--invoices" (underscores become dashes)."""
        return "--" + self.kind.replace("_", "-")


@dataclass(frozen=True)
class Switch:
    """Its checkbox under Settings → What syncs: the SyncSettings field that turns it on, and the words beside it."""

    setting: str
    label: str


@dataclass(frozen=True)
class EntitySpec:
    """One synced entity: its billing model, QuickBooks object, look-up key, dependencies and payload builder."""

    entity_type: EntityType
    model: type[Base]
    request_code: str  # three letters in request ids ("inv")
    build_payload: PayloadBuilder
    natural_key: NaturalKey
    record_name: Callable[[Any], str]  # what a person calls one billing row (number, name, code)
    ids_view: IdsView
    switch: Switch | None = None  # None: no checkbox of its own (it syncs whenever what it follows does)
    switched_by: tuple[str, ...] = ()  # other SyncSettings fields that must be on too (its switch's own is implied)
    any_of: tuple[str, ...] = ()  # at least one of these must be on too (a vendor syncs for settlements or bills)
    load_options: tuple[Any, ...] = ()  # eager loads the payload needs
    load_extras: Callable[[Session, Mapping[int, Any], int], dict[str, Any]] | None = None  # (…, company id)
    extras_from_rows: bool = False  # extras depend on the rows loaded, so are read again per chunk
    depends_on: tuple[EntityType, ...] = ()  # pushed after these (plan order)
    needs: Needs | None = None
    fixed_at: FixedAt | None = None  # None: this entity never names itself in blocked_by
    sales_form: bool = False  # DocNumber form: branch class/location, look-up by number, drift watched on pull
    linked_by_name: bool = False  # a QuickBooks record with the same key is ours (no total to compare)
    searched_by: tuple[str, ...] = ()  # how the QuickBooks IDs page finds candidate twins: "number", "name", "amount"
    ledger: Ledger | None = None
    voidable: Voidable | None = None  # voided in billing, its QuickBooks twin is deleted (bills) or waited for
    watched: Watched | None = None  # a bill whose deletion or edit in QuickBooks a pull records as drift
    refs_field: str | None = None  # the QboRefs field of its QuickBooks ids, when other payloads point at it
    pulled_payments: bool = False  # a pull applies QuickBooks' payments to our invoices (bill payments to our bills)
    syncs_only: tuple[ColumnElement[bool], ...] = ()  # billing rows that get a sync record (a draft waits)
    problems: ProblemTab | None = None  # None: it has no Problem Sync tab
    import_file: ImportFile | None = None  # None: a book import has no file of it
    # Which QuickBooks companies a billing row goes to; None: every company (a charge code is an item in each).
    company_route: CompanyRoute | None = None
    # A name-list entity (customer, item, vendor) is linked once in every company it is routed to; a document
    # (invoice, payment, bill) gets one record, ever, and stays in the company it was first routed to.
    linked_in_each_company: bool = False
    # Rows the console derives from billing before their records are ensured (a settlement's bills per payee);
    # returns how many it wrote. None: its rows are billing's own.
    derive_rows: Callable[[Session], int] | None = None
    # The console deletes its billing rows (an import restates a credit memo's applications) and their sync records
    # may outlive them. Counts then check each record's row still exists; of every other entity none is ever
    # deleted, so they skip that look-up (a second of Home's at a million invoices).
    rows_deleted: bool = False

    @property
    def switches(self) -> tuple[str, ...]:
        """Every SyncSettings field that must be on for it to sync (none: it always syncs)."""
        return ((self.switch.setting,) if self.switch else ()) + self.switched_by

    def is_enabled(self, settings: SyncSettings) -> bool:
        """Whether the settings let it sync."""
        return all(getattr(settings, name) for name in self.switches) and \
            (not self.any_of or any(getattr(settings, name) for name in self.any_of))

    @property
    def nouns(self) -> tuple[str, str]:
        """How people name it: (one, many)."""
        return ENTITY_NOUNS[self.entity_type]

    @property
    def qbo_object(self) -> str:
        """QuickBooks' entity name: "Invoice", "CreditMemo"."""
        return QBO_OBJECTS[self.entity_type]

    @property
    def problem_nouns(self) -> tuple[str, str]:
        """How Problem Sync's cause sentences name it: (one, many)."""
        return (self.problems.nouns if self.problems and self.problems.nouns else None) or self.nouns

    @property
    def blocker_word(self) -> str:
        """The prefix of blocked_by ('customer:ACME') that names this entity."""
        return self.entity_type.value
