"""A vendor's QuickBooks name, kept apart from its billing name: set by hand when QuickBooks refuses it (6240)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.customer_names import NAME_CLASH_CODE, NameRefused, check_name
from qbcore.entities.registry import ENTITIES
from qbcore.errors import QboCallError
from qbcore.jobs.queue import enqueue_sync
from qbcore.labels import count_words
from qbcore.mapping.customer import display_name
from qbcore.mapping.names import DISPLAY_NAME_MAX, clean_name
from qbcore.mapping.payables import vendor_display_name
from qbcore.models import Customer, EntityType, Role, SyncRecord, SyncStatus, Vendor
from qbcore.qbo.gateway import QboGateway, quote
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.refusals import require_reason

# QuickBooks keeps one name list for customers, vendors and employees (the 6240 rule).
_PEOPLE = ("Customer", "Vendor", "Employee")
# (company id, or None for the default company) → a gateway to that QuickBooks company.
GatewayFor = Callable[[int | None], QboGateway]


@dataclass(frozen=True)
class VendorName:
    """One vendor's billing name, the name QuickBooks knows it by, and where its sync stands."""

    vendor_id: int
    code: str
    name: str
    kind: str
    qbo_display_name: str | None
    effective_name: str
    status: str | None
    error_code: str | None

    @property
    def clashed(self) -> bool:
        """True when QuickBooks refused the name it was sent under because a customer or employee has it."""
        return self.status == SyncStatus.FAILED.value and self.error_code == NAME_CLASH_CODE


@dataclass(frozen=True)
class VendorNameChange:
    """What setting a vendor's QuickBooks name did: the names before and after, and the job that resyncs it."""

    vendor_id: int
    name: str
    before: str
    after: str
    job_id: int | None
    records: int  # the vendor's own records and the bills and payments that waited for it
    links_to: str | None = None  # an existing QuickBooks vendor of that name the next sync links to
    waiting: tuple[tuple[EntityType, int], ...] = ()  # what waited for it and is queued too, by type in plan order

    def describe_waiting(self) -> str:
        """"3 settlements and 1 carrier bill": the records waiting on the vendor that resync with it ("" if none)."""
        return count_words(self.waiting)


def _kind(vendor: Vendor) -> str:
    if vendor.is_driver and vendor.is_fleet_owner:
        return "Driver and fleet owner"
    return "Driver" if vendor.is_driver else "Fleet owner" if vendor.is_fleet_owner else "Carrier"


def list_vendor_names(session: Session, *, search: str = "", limit: int = 200) -> list[VendorName]:
    """Vendors with their QuickBooks names, those QuickBooks refused for a name clash first, then by name."""
    clash = (SyncRecord.status == SyncStatus.FAILED.value) & (SyncRecord.error_code == NAME_CLASH_CODE)
    # A vendor has a record in each company it pays from; the one QuickBooks refused speaks for it.
    record = (select(SyncRecord.entity_id, func.max(SyncRecord.status).label("status"),
                     func.max(SyncRecord.error_code).label("error_code"),
                     func.max(case((clash, 1), else_=0)).label("clashed"))
              .where(SyncRecord.entity_type == EntityType.VENDOR.value).group_by(SyncRecord.entity_id).subquery())
    query = select(Vendor, record.c.status, record.c.error_code, record.c.clashed).outerjoin(
        record, record.c.entity_id == Vendor.id)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Vendor.name).like(pattern), func.lower(Vendor.code).like(pattern),
                                func.lower(Vendor.qbo_display_name).like(pattern)))
    query = query.order_by(func.coalesce(record.c.clashed, 0).desc(), Vendor.name, Vendor.id).limit(limit)
    out = []
    for vendor, status, code, clashed in session.execute(query):
        if clashed:
            status, code = SyncStatus.FAILED.value, NAME_CLASH_CODE
        out.append(VendorName(vendor_id=vendor.id, code=vendor.code, name=vendor.name, kind=_kind(vendor),
                              qbo_display_name=vendor.qbo_display_name, effective_name=vendor_display_name(vendor),
                              status=status, error_code=code))
    return out


def _taken_locally(session: Session, vendor_id: int, name: str) -> str | None:
    """Which of our own vendors or customers already goes to QuickBooks under this name, in words; None if free."""
    lowered = name.lower()
    twin = session.scalars(select(Vendor).where(Vendor.id != vendor_id, or_(
        func.lower(Vendor.qbo_display_name) == lowered,
        Vendor.qbo_display_name.is_(None) & (func.lower(Vendor.name) == lowered))).limit(1)).first()
    if twin is not None:
        return f"Vendor {twin.name} ({twin.code}) already goes to QuickBooks as {name!r}"
    for customer in session.scalars(select(Customer).where(or_(
            func.lower(Customer.qbo_display_name) == lowered,
            Customer.qbo_display_name.is_(None) & (func.lower(Customer.name) == lowered)))):
        if display_name(customer).lower() == lowered:
            return f"Customer {customer.name} ({customer.code}) goes to QuickBooks as {name!r}"
    return None


def _companies_of(session: Session, vendor_id: int) -> list[int | None]:
    """The companies the vendor has records in (the default one when it has none yet)."""
    found = sorted(set(session.scalars(select(SyncRecord.company_id).where(
        SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.entity_id == vendor_id))))
    return list(found) or [None]


def _own_qbo_ids(session: Session, vendor_id: int) -> set[str]:
    return {i for i in session.scalars(select(SyncRecord.qbo_id).where(
        SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.entity_id == vendor_id)) if i}


def _linked_elsewhere(session: Session, vendor_id: int, qbo_id: str, company_id: int | None) -> bool:
    same_company = [] if company_id is None else [SyncRecord.company_id == company_id]
    return session.scalar(select(SyncRecord.id).where(
        SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.qbo_id == qbo_id,
        SyncRecord.entity_id != vendor_id, *same_company).limit(1)) is not None


def _check_quickbooks(factory: sessionmaker[Session], gateway_for: GatewayFor, vendor_id: int, name: str
                      ) -> str | None:
    """Refuse a name a QuickBooks customer or employee (or a vendor linked to another of ours) has; the id to link."""
    with factory() as session:
        companies = _companies_of(session, vendor_id)
        own = _own_qbo_ids(session, vendor_id)
    links_to = None
    for company_id in companies:
        gateway = gateway_for(company_id)
        try:
            people = [(entity, str(row.get("Id"))) for entity in _PEOPLE
                      for row in gateway.query(f"SELECT * FROM {entity} WHERE DisplayName = {quote(name)}")]
        except (QboCallError, NotConnected, ReconnectRequired) as exc:
            raise NameRefused(f"QuickBooks could not be asked whether {name!r} is free ({exc}). Connect QuickBooks "
                              "in Settings and try again. Nothing was changed.") from None
        for entity, qbo_id in people:
            if entity == "Vendor" and qbo_id in own:
                continue
            if entity != "Vendor":
                raise NameRefused(f"QuickBooks already has a {entity.lower()} named {name!r}, so it would refuse "
                                  "this vendor too. Choose another, for example with ' (V)' at the end. Nothing "
                                  "was changed.")
            with factory() as session:
                if _linked_elsewhere(session, vendor_id, qbo_id, company_id):
                    raise NameRefused(f"QuickBooks vendor {name!r} (id {qbo_id}) is linked to another of our "
                                      "vendors. Choose another name. Nothing was changed.")
            links_to = qbo_id
    return links_to


def _resync(session: Session, actor: Actor, vendor: Vendor, label: str
            ) -> tuple[int | None, int, tuple[tuple[EntityType, int], ...]]:
    """Queue the vendor (a synced one is marked out of date first) with the bills and payments waiting for it."""
    records = list(session.scalars(select(SyncRecord).where(
        SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.entity_id == vendor.id)))
    for record in records:
        if record.status == SyncStatus.SYNCED.value:
            record.status = SyncStatus.OUT_OF_DATE  # QuickBooks gets the new name on the next sync
    session.flush()
    blocked = session.execute(select(SyncRecord.id, SyncRecord.entity_type).where(
        SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.blocked_by == f"vendor:{vendor.name}")).all()
    ids = [r.id for r in records] + [record_id for record_id, _ in blocked]
    if not ids:
        return None, 0, ()
    by_type = Counter(EntityType(entity_type) for _, entity_type in blocked)
    waiting = tuple((spec.entity_type, by_type[spec.entity_type]) for spec in ENTITIES if by_type[spec.entity_type])
    job = enqueue_sync(session, actor, record_ids=ids, label=label)
    return job.id, job.total, waiting


def set_vendor_qbo_name(factory: sessionmaker[Session], gateway_for: GatewayFor, actor: Actor, vendor_id: int,
                        name: str | None, *, reason: str | None) -> VendorNameChange:
    """Give a vendor its own QuickBooks name (admin only, checked live, audited) and queue it with what it blocked.

    Typing the billing name itself goes back to it. An empty name, one QuickBooks would refuse, or one another of
    our vendors or customers goes to QuickBooks under is refused, and nothing changes.
    """
    require_role(actor, Role.ADMIN, "set_vendor_qbo_name", audit_factory=factory, target_type="vendor",
                 target_id=str(vendor_id))
    why = require_reason(reason, "give a vendor its own QuickBooks name", refusal=NameRefused)
    if not (name or "").strip():
        raise NameRefused("Type the name QuickBooks should know this vendor by (its billing name to go back to "
                          "it). Nothing was changed.")
    wanted: str | None = check_name(name)
    with factory() as session:
        vendor = session.get(Vendor, vendor_id)
        if vendor is None:
            raise NameRefused("That vendor no longer exists. Nothing was changed.")
        billing_name = vendor.name
        if wanted == clean_name(billing_name, DISPLAY_NAME_MAX):
            wanted = None  # the billing name itself: no separate QuickBooks name needed
        effective = wanted or clean_name(billing_name, DISPLAY_NAME_MAX)
        taken = _taken_locally(session, vendor_id, effective)
        if taken is not None:
            raise NameRefused(f"{taken}; QuickBooks keeps one list of names, so two of them cannot share it. Nothing "
                              "was changed.")
    links_to = _check_quickbooks(factory, gateway_for, vendor_id, effective)
    with factory() as session, session.begin():
        vendor = session.get(Vendor, vendor_id)
        assert vendor is not None
        before = vendor_display_name(vendor)
        vendor.qbo_display_name = wanted
        job_id, records, waiting = _resync(session, actor, vendor, f"Resync vendor {billing_name} as {effective!r}")
        write_audit(session, actor, "set_vendor_qbo_name", target_type="vendor", target_id=vendor_id,
                    before={"vendor": billing_name, "qbo_display_name": before},
                    after={"vendor": billing_name, "qbo_display_name": effective, "job": job_id}, reason=why)
        return VendorNameChange(vendor_id=vendor_id, name=billing_name, before=before, after=effective,
                                job_id=job_id, records=records, links_to=links_to, waiting=waiting)
