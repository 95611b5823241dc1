"""Moving a customer to another QuickBooks company: what stays in the old file, what goes to the new one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.company_directory import CompanyRefused, resolve_company_id
from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.entities.spec import EntitySpec
from qbcore.models import Company, Customer, EntityType, Role, SyncRecord, SyncStatus
from qbcore.refusals import Refusal, require_reason
from qbcore.sync.records import FRESH_IN_NEW_COMPANY, ensure_sync_records, may_change_company

ACTION = "move_customer"


class MoveRefused(Refusal, ValueError):
    """The move was declined (same company, unknown customer); nothing changed."""

    correctable = True


@dataclass(frozen=True)
class StayingRecord:
    """A record already in the old company's QuickBooks: it stays there, linked as it is."""

    entity_type: EntityType
    name: str
    qbo_id: str | None  # None: sent once with no answer, so it may be there; the old file's next sync settles it


@dataclass(frozen=True)
class MovePlan:
    """What moving a customer does, stated before it is done (the confirmation shows it) and after (the result)."""

    customer_id: int
    customer_name: str
    from_company: str
    to_company: str
    staying: tuple[StayingRecord, ...]
    moving: dict[EntityType, int] = field(default_factory=dict)
    # True when the customer is already linked in the new company (matched there), False when it will be created.
    already_in_new_company: bool = False
    sub_customers: int = 0

    def sentences(self) -> list[str]:
        """The plan in plain words, one sentence per consequence."""
        out = []
        if self.sub_customers == 1:
            out.append("Its sub-customer moves with it.")
        elif self.sub_customers:
            out.append(f"Its {self.sub_customers:,} sub-customers move with it.")
        if self.staying:
            out.append(f"{_count(len(self.staying), ('record', 'records'))} already in {self.from_company}'s "
                       "QuickBooks stay there, linked as they are (listed below); to move one as well, void it there "
                       "and remove its QuickBooks id on the QuickBooks IDs page.")
        else:
            out.append(f"Nothing of {self.customer_name} is in {self.from_company}'s QuickBooks yet.")
        if self.moving:
            parts = ", ".join(_count(n, spec_for(t).nouns) for t, n in self.moving.items())
            out.append(f"Not yet synced, and going to {self.to_company} instead: {parts}.")
        else:
            out.append("No open records need to go to the new company.")
        if self.already_in_new_company:
            out.append(f"{self.customer_name} is already linked in {self.to_company}; new records post to it there.")
        else:
            family = " and its sub-customers" if self.sub_customers > 1 else \
                " and its sub-customer" if self.sub_customers else ""
            out.append(f"{self.customer_name}{family} will be created in {self.to_company}'s QuickBooks at the next "
                       "sync (or matched to a customer of the same name already there).")
        return out


def _count(n: int, nouns: tuple[str, str]) -> str:
    return f"{n:,} {nouns[0] if n == 1 else nouns[1]}"


def family_of(session: Session, customer_id: int) -> list[int]:
    """The customer and every sub-customer below it (QuickBooks keeps a family in one file)."""
    family, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(session.scalars(select(Customer.id).where(Customer.parent_id.in_(frontier))))
        family.extend(frontier)
    return family


def _documents_of(spec: EntitySpec, customer_ids: list[int]) -> ColumnElement[bool] | None:
    """'This record is one of these customers' documents of this entity' (None: the entity is not a document)."""
    tab = spec.problems
    if spec.entity_type is EntityType.CUSTOMER or tab is None or tab.customer_key is None:
        return None
    model: Any = spec.model
    documents = select(model.id).select_from(model)
    for target, on in tab.joins or ():
        documents = documents.join(target, on)
    return and_(SyncRecord.entity_type == spec.entity_type.value,
                SyncRecord.entity_id.in_(documents.where(tab.customer_key.in_(customer_ids))))


def _family_records(customer_ids: list[int], company_id: int) -> ColumnElement[bool]:
    """The family's customer records and document records in one company."""
    documents = [c for spec in ENTITIES if (c := _documents_of(spec, customer_ids)) is not None]
    customers = and_(SyncRecord.entity_type == EntityType.CUSTOMER.value, SyncRecord.entity_id.in_(customer_ids))
    return and_(SyncRecord.company_id == company_id, or_(customers, *documents))


def plan_move(session: Session, customer_id: int, to_company_id: int) -> MovePlan:
    """What moving the customer to that company would do (nothing is changed)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise MoveRefused(f"There is no customer #{customer_id}. Nothing was changed.", action=ACTION)
    target = session.get(Company, resolve_company_id(session, to_company_id))
    source = session.get(Company, customer.company_id)
    assert target is not None and source is not None
    if target.id == source.id:
        raise MoveRefused(f"{customer.name} already belongs to {target.name}. Nothing was changed.", action=ACTION)
    if customer.parent is not None:
        # QuickBooks keeps a sub-customer in its parent's file: the family moves together.
        raise MoveRefused(f"{customer.name} is a sub-customer of {customer.parent.name}; move {customer.parent.name} "
                          "and its sub-customers move with it. Nothing was changed.", action=ACTION)
    family = family_of(session, customer.id)
    records = session.scalars(select(SyncRecord).where(_family_records(family, source.id))).all()
    free = set(session.scalars(select(SyncRecord.id).where(_family_records(family, source.id),
                                                           may_change_company())))
    staying, moving = [], Counter[EntityType]()
    for record in records:
        entity_type = EntityType(record.entity_type)
        if record.qbo_id or (record.id not in free and record.status not in _SET_ASIDE):
            staying.append(StayingRecord(entity_type, _record_name(session, record), record.qbo_id))
        elif entity_type is not EntityType.CUSTOMER and record.status not in _SET_ASIDE:
            moving[entity_type] += 1
    linked_there = session.scalar(select(SyncRecord.id).where(
        SyncRecord.company_id == target.id, SyncRecord.entity_type == EntityType.CUSTOMER.value,
        SyncRecord.entity_id == customer.id, SyncRecord.qbo_id.is_not(None)))
    order = {spec.entity_type: i for i, spec in enumerate(ENTITIES)}
    return MovePlan(customer_id=customer.id, customer_name=customer.name, from_company=source.name,
                    to_company=target.name,
                    staying=tuple(sorted(staying, key=lambda r: (order[r.entity_type], r.name))),
                    moving=dict(sorted(moving.items(), key=lambda kv: order[kv[0]])),
                    already_in_new_company=linked_there is not None, sub_customers=len(family) - 1)


# Cleared and paid-outside records were set aside by someone: they move with the customer but are not counted as
# going to QuickBooks.
_SET_ASIDE = (SyncStatus.CLEARED.value, SyncStatus.PAID_OUTSIDE.value)


def _record_name(session: Session, record: SyncRecord) -> str:
    spec = next(s for s in ENTITIES if s.entity_type.value == record.entity_type)
    row = session.get(spec.model, record.entity_id)
    return spec.record_name(row) if row is not None else f"#{record.entity_id}"


def move_customer(session: Session, actor: Actor, customer_id: int, to_company_id: int, *,
                  reason: str | None) -> MovePlan:
    """Move a customer to another company (admin only, reasoned, audited); returns what was done.

    Records already in the old company's QuickBooks stay there, linked. Records not yet synced there go to the new
    company, and the customer gets a record in the new company (created or matched at the next sync).
    """
    require_role(actor, Role.ADMIN, ACTION, session=session, target_type="customer", target_id=str(customer_id))
    text = require_reason(reason, "move a customer to another company")
    plan = plan_move(session, customer_id, to_company_id)
    customer = session.get(Customer, customer_id)
    assert customer is not None
    source_id = customer.company_id
    target_id = resolve_company_id(session, to_company_id)
    if session.get(Company, target_id) is None:
        raise CompanyRefused(f"There is no QuickBooks company #{to_company_id}. Nothing was changed.")
    family = family_of(session, customer.id)
    open_documents = and_(_family_records(family, source_id), may_change_company(),
                          SyncRecord.entity_type != EntityType.CUSTOMER.value)
    # Open documents (not in the old file, and surely not created there) are re-pointed; their attempts there are
    # history. Cleared ones keep their decision and go along.
    session.execute(update(SyncRecord).where(open_documents).values(company_id=target_id, **FRESH_IN_NEW_COMPANY)
                    .execution_options(synchronize_session=False))
    session.execute(update(SyncRecord).where(
        _family_records(family, source_id), SyncRecord.qbo_id.is_(None), SyncRecord.status.in_(_SET_ASIDE),
        SyncRecord.entity_type != EntityType.CUSTOMER.value).values(company_id=target_id)
        .execution_options(synchronize_session=False))
    # The old file's customer records without a QuickBooks id link nothing: they go (the move is audited).
    session.execute(delete(SyncRecord).where(
        SyncRecord.company_id == source_id, SyncRecord.entity_type == EntityType.CUSTOMER.value,
        SyncRecord.entity_id.in_(family), SyncRecord.qbo_id.is_(None)).execution_options(synchronize_session=False))
    session.execute(update(Customer).where(Customer.id.in_(family)).values(company_id=target_id)
                    .execution_options(synchronize_session=False))
    session.expire(customer)
    session.flush()
    ensure_sync_records(session)  # the customer's record in the new company
    write_audit(session, actor, ACTION, target_type="customer", target_id=customer.id, reason=text,
                before={"company": plan.from_company},
                after={"company": plan.to_company, "customers": len(family), "staying": len(plan.staying),
                       "moving": {t.value: n for t, n in plan.moving.items()}},
                company_id=target_id)
    return plan
