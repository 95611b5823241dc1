"""A customer's QuickBooks name, kept apart from its billing name: set by hand (checked live) or by the clash rule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM, Actor, require_role, write_audit
from qbcore.errors import QboCallError
from qbcore.jobs.queue import enqueue_sync
from qbcore.mapping.customer import display_name
from qbcore.mapping.names import DISPLAY_NAME_MAX, clean_name
from qbcore.models import Customer, EntityType, Job, Role, SyncRecord, SyncStatus
from qbcore.qbo.gateway import QboGateway, quote
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.refusals import Refusal, require_reason
from qbcore.settings import load_settings

NAME_CLASH_CODE = "6240"
_FORBIDDEN = re.compile(r"[:\t\r\n]")
# QuickBooks keeps one name list for customers, vendors and employees (the 6240 rule).
_PEOPLE = ("Customer", "Vendor", "Employee")


class NameRefused(Refusal, ValueError):
    """A QuickBooks name cannot be used; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class CustomerName:
    """One customer's billing name, the name QuickBooks knows it by, and where its sync stands."""

    customer_id: int
    code: str
    name: str
    qbo_display_name: str | None
    effective_name: str
    status: str | None
    error_code: str | None
    qbo_id: str | None

    @property
    def clashed(self) -> bool:
        """True when QuickBooks refused the name it was sent under because someone else has it."""
        return self.status == SyncStatus.FAILED.value and self.error_code == NAME_CLASH_CODE


@dataclass(frozen=True)
class NameChange:
    """What setting a QuickBooks name did: the names before and after, and the job that resyncs the customer."""

    customer_id: int
    name: str
    before: str
    after: str
    job_id: int | None
    records: int
    links_to: str | None = None  # an existing QuickBooks customer the next sync links to


def list_customer_names(session: Session, *, search: str = "", clashed_only: bool = False,
                        limit: int = 200) -> list[CustomerName]:
    """Customers with their QuickBooks names, clashes first, then by name."""
    query = (select(Customer, SyncRecord.status, SyncRecord.error_code, SyncRecord.qbo_id)
             .outerjoin(SyncRecord, (SyncRecord.entity_type == EntityType.CUSTOMER.value)
                        & (SyncRecord.entity_id == Customer.id)))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Customer.name).like(pattern), func.lower(Customer.code).like(pattern),
                                func.lower(Customer.qbo_display_name).like(pattern)))
    if clashed_only:
        query = query.where(SyncRecord.status == SyncStatus.FAILED.value, SyncRecord.error_code == NAME_CLASH_CODE)
    clash_first = (SyncRecord.error_code == NAME_CLASH_CODE) & (SyncRecord.status == SyncStatus.FAILED.value)
    query = query.order_by(clash_first.desc(), Customer.name, Customer.id).limit(limit)
    return [CustomerName(customer_id=c.id, code=c.code, name=c.name, qbo_display_name=c.qbo_display_name,
                         effective_name=display_name(c), status=status, error_code=code, qbo_id=qbo_id)
            for c, status, code, qbo_id in session.execute(query)]


def check_name(text: str | None) -> str:
    """A QuickBooks display name typed by a person, checked: not empty, no ':' or line breaks, ≤ 500 characters."""
    value = " ".join((text or "").split())
    if not value:
        raise NameRefused("Type the name QuickBooks should know this customer by. Nothing was changed.")
    if _FORBIDDEN.search(text or ""):
        raise NameRefused("QuickBooks names cannot hold ':' (it joins parent and sub-customer names) or line "
                          "breaks. Nothing was changed.")
    if len(value) > DISPLAY_NAME_MAX:
        raise NameRefused(f"QuickBooks names are at most {DISPLAY_NAME_MAX} characters; this one has "
                          f"{len(value):,}. Nothing was changed.")
    return value


def _taken_by_ours(session: Session, customer_id: int, name: str) -> Customer | None:
    """Another of our customers that QuickBooks already knows (or will know) by this name."""
    lowered = name.lower()
    others = session.scalars(select(Customer).where(Customer.id != customer_id, or_(
        func.lower(Customer.qbo_display_name) == lowered,
        (Customer.qbo_display_name.is_(None)) & (func.lower(Customer.name) == lowered))))
    return next(iter(others), None)


def _people_named(gateway: QboGateway, name: str) -> list[tuple[str, str]]:
    """(entity, id) of every QuickBooks customer, vendor or employee with exactly this display name."""
    found = []
    for entity in _PEOPLE:
        for row in gateway.query(f"SELECT * FROM {entity} WHERE DisplayName = {quote(name)}"):
            found.append((entity, str(row.get("Id"))))
    return found


def _linked_elsewhere(session: Session, customer_id: int, qbo_id: str) -> bool:
    return session.scalar(select(SyncRecord.id).where(
        SyncRecord.entity_type == EntityType.CUSTOMER.value, SyncRecord.qbo_id == qbo_id,
        SyncRecord.entity_id != customer_id)) is not None


def _resync(session: Session, actor: Actor, customers: Sequence[Customer], label: str) -> tuple[Job | None, int]:
    """Queue each customer (a synced one is marked out of date first) with the records its failure blocked."""
    records = list(session.scalars(select(SyncRecord).where(
        SyncRecord.entity_type == EntityType.CUSTOMER.value, SyncRecord.entity_id.in_([c.id for c in customers]))))
    for record in records:
        if record.status == SyncStatus.SYNCED.value:
            record.status = SyncStatus.OUT_OF_DATE  # QuickBooks gets the new name on the next sync
    session.flush()
    blocked = select(SyncRecord.id).where(SyncRecord.status == SyncStatus.BLOCKED.value,
                                          SyncRecord.blocked_by.in_([f"customer:{c.name}" for c in customers]))
    ids = [r.id for r in records] + list(session.scalars(blocked))
    if not ids:
        return None, 0
    job = enqueue_sync(session, actor, record_ids=ids, label=label)
    return job, job.total


def set_qbo_display_name(factory: sessionmaker[Session], gateway: QboGateway, actor: Actor, customer_id: int,
                         name: str | None, *, reason: str | None) -> NameChange:
    """Give a customer its own QuickBooks name (admin only, checked live, audited) and queue its resync.

    An empty name goes back to the billing name. The customer's blocked invoices and payments are queued with it.
    """
    require_role(actor, Role.ADMIN, "set_qbo_display_name", audit_factory=factory, target_type="customer",
                 target_id=str(customer_id))
    why = require_reason(reason, "give a customer its own QuickBooks name", refusal=NameRefused)
    with factory() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NameRefused("That customer no longer exists. Nothing was changed.")
        billing_name = customer.name
        wanted = check_name(name) if (name or "").strip() else None
        if wanted is not None and wanted == clean_name(billing_name, DISPLAY_NAME_MAX):
            wanted = None  # the billing name itself: no separate QuickBooks name needed
        effective = wanted or clean_name(billing_name, DISPLAY_NAME_MAX)
        twin = _taken_by_ours(session, customer_id, effective)
        if twin is not None:
            raise NameRefused(f"Customer {twin.name} ({twin.code}) already goes to QuickBooks as {effective!r}; "
                              "two customers cannot share a QuickBooks name. Nothing was changed.")
        own_qbo_id = session.scalar(select(SyncRecord.qbo_id).where(
            SyncRecord.entity_type == EntityType.CUSTOMER.value, SyncRecord.entity_id == customer_id))
    try:
        people = _people_named(gateway, effective)
    except (QboCallError, NotConnected, ReconnectRequired) as exc:
        raise NameRefused(f"QuickBooks could not be asked whether {effective!r} is free ({exc}). Connect QuickBooks "
                          "in Settings and try again. Nothing was changed.") from None
    links_to = None
    for entity, qbo_id in people:
        if entity == "Customer" and qbo_id == own_qbo_id:
            continue
        if entity != "Customer":
            raise NameRefused(f"QuickBooks already has a {entity.lower()} named {effective!r}, so it would refuse "
                              "this name too. Choose another, for example with ' (C)' at the end. Nothing was changed.")
        with factory() as session:
            if _linked_elsewhere(session, customer_id, qbo_id):
                raise NameRefused(f"QuickBooks customer {effective!r} (id {qbo_id}) is linked to another of our "
                                  "customers. Choose another name. Nothing was changed.")
        links_to = qbo_id
    with factory() as session, session.begin():
        customer = session.get(Customer, customer_id)
        assert customer is not None
        before = display_name(customer)
        customer.qbo_display_name = wanted
        job, records = _resync(session, actor, [customer], f"Resync customer {billing_name} as {effective!r}")
        write_audit(session, actor, "set_qbo_display_name", target_type="customer", target_id=customer_id,
                    before={"customer": billing_name, "qbo_display_name": before},
                    after={"customer": billing_name, "qbo_display_name": effective, "job": job.id if job else None},
                    reason=why)
        return NameChange(customer_id=customer_id, name=billing_name, before=before, after=effective,
                          job_id=job.id if job else None, records=records, links_to=links_to)


def apply_name_clash_rule(session: Session) -> Job | None:
    """With a clash suffix in Settings: rename every customer QuickBooks refused for a name clash, and resync it."""
    settings = load_settings(session)
    suffix = settings.name_clash_suffix
    if not suffix or settings.paused:
        return None
    clashed = list(session.scalars(
        select(Customer).join(SyncRecord, (SyncRecord.entity_type == EntityType.CUSTOMER.value)
                              & (SyncRecord.entity_id == Customer.id))
        .where(SyncRecord.status == SyncStatus.FAILED.value, SyncRecord.error_code == NAME_CLASH_CODE,
               Customer.qbo_display_name.is_(None))
        .order_by(Customer.id)))
    renamed = []
    for customer in clashed:
        new_name = clean_name(clean_name(customer.name, DISPLAY_NAME_MAX - len(suffix)) + suffix, DISPLAY_NAME_MAX)
        if _taken_by_ours(session, customer.id, new_name) is not None:
            continue  # a person chooses; the rule never gives two customers one QuickBooks name
        customer.qbo_display_name = new_name
        write_audit(session, SYSTEM, "set_qbo_display_name", target_type="customer", target_id=customer.id,
                    before={"customer": customer.name, "qbo_display_name": clean_name(customer.name, DISPLAY_NAME_MAX)},
                    after={"customer": customer.name, "qbo_display_name": new_name},
                    reason=f"Settings' name-clash rule: QuickBooks refused the name (code {NAME_CLASH_CODE}), "
                           f"so it syncs with {suffix.strip()!r} added")
        renamed.append(customer)
    if not renamed:
        return None
    names = renamed[0].name if len(renamed) == 1 else f"{renamed[0].name} and {len(renamed) - 1:,} more"
    job, _ = _resync(session, SYSTEM, renamed, f"Name-clash rule: {names}")
    return job
