"""What the sync sends QuickBooks, as admins map it: charge code → item, custom fields, description settings."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.config import ConfigError
from qbcore.errors import MappingError, QboCallError
from qbcore.mapping.item import build_item_payload, item_name
from qbcore.mapping.refs import QboRefs
from qbcore.models import (
    ChargeCode,
    Customer,
    CustomFieldMapping,
    EntityType,
    Invoice,
    ItemMapping,
    Role,
    SyncRecord,
    SyncStatus,
)
from qbcore.qbo.gateway import QboGateway, is_qbo_id, quote
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.queries.mapping_preview import synced_invoices_changed_by
from qbcore.refusals import Refusal
from qbcore.settings import DESCRIPTION_FIELDS, SyncSettings, load_settings, save_settings

# What may fill a QuickBooks custom field: the invoice number or any load field of the description template.
CUSTOM_FIELD_SOURCES: dict[str, str] = {"number": "Invoice #", **DESCRIPTION_FIELDS}
CUSTOM_FIELD_SLOTS = (1, 2, 3)  # QuickBooks' API exposes three string custom fields

class MappingChangeRefused(Refusal, ValueError):
    """A mapping change is invalid; the message says which value and why, and nothing was changed."""


@dataclass(frozen=True)
class ChargeCodeMapping:
    """A charge code and the QuickBooks item it posts to (if mapped)."""

    charge_code_id: int
    code: str
    name: str
    active: bool
    qbo_item_id: str | None
    qbo_item_name: str | None
    income_account_id: str | None
    # The item the sync itself created or matched by name for this code (no mapping saved by a person).
    auto_item_id: str | None = None
    auto_item_name: str | None = None

    @property
    def is_mapped(self) -> bool:
        """True when a person mapped the code to a QuickBooks item."""
        return bool(self.qbo_item_id)

    @property
    def is_auto_mapped(self) -> bool:
        """True when nobody mapped the code but its charges post to an item the sync created or matched."""
        return not self.is_mapped and bool(self.auto_item_id)

    @property
    def posts_to(self) -> str | None:
        """The QuickBooks item id its charges post to: the mapping, else the synced item, else none."""
        return self.qbo_item_id or self.auto_item_id


@dataclass(frozen=True)
class CustomFieldChoice:
    """One custom field slot: QuickBooks' definition id and name, and the billing field that fills it."""

    slot: int
    qbo_definition_id: str
    qbo_name: str
    source_field: str


def _check_admin(actor: Actor, action: str, audit_factory: sessionmaker[Session] | None, target: str,
                 session: Session | None = None) -> None:
    # Refusals are audited through audit_factory, or a sibling of the caller's session.
    require_role(actor, Role.ADMIN, action, session=session, audit_factory=audit_factory, target_type="settings",
                 target_id=target)


def _check_qbo_id(value: str | None, what: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not is_qbo_id(text):
        raise MappingChangeRefused(f"{text!r} is not a QuickBooks {what} id (ids are positive whole numbers).")
    return text


# -- charge codes → items ---------------------------------------------------------------------------------------
def list_charge_code_mappings(session: Session, company_id: int | None = None) -> list[ChargeCodeMapping]:
    """Every charge code with its item mapping in a company and the item the sync made there (if any), by code."""
    company_id = resolve_company_id(session, company_id)
    rows = session.execute(
        select(ChargeCode, ItemMapping, SyncRecord.qbo_id)
        .outerjoin(ItemMapping, (ItemMapping.charge_code_id == ChargeCode.id) & (ItemMapping.company_id == company_id))
        .outerjoin(SyncRecord, (SyncRecord.company_id == company_id) & (SyncRecord.entity_type == EntityType.ITEM.value)
                   & (SyncRecord.entity_id == ChargeCode.id) & SyncRecord.qbo_id.is_not(None))
        .order_by(ChargeCode.code)).all()
    # The sync names the item it creates (or matches) item_name(code), so that is the item's name in QuickBooks.
    return [ChargeCodeMapping(code.id, code.code, code.name, code.active,
                              mapping.qbo_item_id if mapping else None, mapping.qbo_item_name if mapping else None,
                              mapping.income_account_id if mapping else None, auto_item_id=synced_id,
                              auto_item_name=item_name(code) if synced_id else None)
            for code, mapping, synced_id in rows]


def suggest_item(mapping: ChargeCodeMapping, items: dict[str, str]) -> str | None:
    """The QuickBooks item to offer first for a code: its own, else one of the same name, else none (never a guess)."""
    if mapping.posts_to in items:
        return mapping.posts_to
    wanted = {mapping.code.strip().lower(), item_name(mapping).strip().lower(), mapping.name.strip().lower()}
    return next((item_id for item_id, name in items.items() if name.strip().lower() in wanted), None)


def _mapping_of(session: Session, charge_code_id: int, company_id: int) -> ChargeCodeMapping:
    found = [m for m in list_charge_code_mappings(session, company_id) if m.charge_code_id == charge_code_id]
    if not found:
        raise MappingChangeRefused(f"Charge code {charge_code_id} does not exist.")
    return found[0]


def save_item_mapping(session: Session, actor: Actor, charge_code_id: int, *, qbo_item_id: str | None,
                      qbo_item_name: str | None, income_account_id: str | None = None,
                      audit_factory: sessionmaker[Session] | None = None,
                      company_id: int | None = None) -> ChargeCodeMapping:
    """Map a charge code to a QuickBooks item of a company (admin only), audited before/after."""
    _check_admin(actor, "map_charge_code", audit_factory, f"charge_code:{charge_code_id}", session)
    company_id = resolve_company_id(session, company_id)
    item_id = _check_qbo_id(qbo_item_id, "item")
    account_id = _check_qbo_id(income_account_id, "account")
    if item_id is None:
        raise MappingChangeRefused("Choose the QuickBooks item this charge code posts to.")
    before = _mapping_of(session, charge_code_id, company_id)
    row = session.scalar(select(ItemMapping).where(ItemMapping.company_id == company_id,
                                                   ItemMapping.charge_code_id == charge_code_id))
    if row is None:
        row = ItemMapping(company_id=company_id, charge_code_id=charge_code_id)
        session.add(row)
    row.qbo_item_id, row.qbo_item_name, row.income_account_id = item_id, (qbo_item_name or None), account_id
    session.flush()
    after = _mapping_of(session, charge_code_id, company_id)
    write_audit(session, actor, "map_charge_code", target_type="charge_code", target_id=before.code,
                before={"qbo_item_id": before.qbo_item_id, "qbo_item_name": before.qbo_item_name,
                        "income_account_id": before.income_account_id},
                after={"qbo_item_id": after.qbo_item_id, "qbo_item_name": after.qbo_item_name,
                       "income_account_id": after.income_account_id}, company_id=company_id)
    return after


def clear_item_mapping(session: Session, actor: Actor, charge_code_id: int, *,
                       audit_factory: sessionmaker[Session] | None = None,
                       company_id: int | None = None) -> ChargeCodeMapping:
    """Forget a charge code's item in a company (admin only); its charges block or create a new item next sync."""
    _check_admin(actor, "unmap_charge_code", audit_factory, f"charge_code:{charge_code_id}", session)
    company_id = resolve_company_id(session, company_id)
    before = _mapping_of(session, charge_code_id, company_id)
    row = session.scalar(select(ItemMapping).where(ItemMapping.company_id == company_id,
                                                   ItemMapping.charge_code_id == charge_code_id))
    if row is None:
        raise MappingChangeRefused(f"Charge code {before.code} is not mapped; nothing to clear.")
    session.delete(row)
    session.flush()
    write_audit(session, actor, "unmap_charge_code", target_type="charge_code", target_id=before.code,
                before={"qbo_item_id": before.qbo_item_id, "qbo_item_name": before.qbo_item_name}, after=None,
                company_id=company_id)
    return _mapping_of(session, charge_code_id, company_id)


def create_missing_item(factory: sessionmaker[Session], gateway: QboGateway, actor: Actor, charge_code_id: int, *,
                        name: str | None, income_account_id: str | None) -> ChargeCodeMapping:
    """Create the charge code's item in QuickBooks (or re-link one of that name) and map it; admin only."""
    _check_admin(actor, "create_qbo_item", factory, f"charge_code:{charge_code_id}")
    account_id = _check_qbo_id(income_account_id, "income account")
    if account_id is None:
        raise MappingChangeRefused("Choose the income account the new item books to.")
    with factory() as session:
        code = session.get(ChargeCode, charge_code_id)
        if code is None:
            raise MappingChangeRefused(f"Charge code {charge_code_id} does not exist.")
        wanted = item_name(code, name)
        try:
            payload = build_item_payload(code, QboRefs(income_account_id=account_id), name, account_id)
        except MappingError as exc:
            raise MappingChangeRefused(exc.message) from None
    try:
        # An item of that name may exist already (made by hand or by an earlier click): link it, never a twin.
        existing = gateway.query(f"SELECT * FROM Item WHERE Name = {quote(wanted)} MAXRESULTS 1")
        if existing:
            item = existing[0]
        else:
            digest = hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()[:16]
            item = gateway.write("Item", payload, request_id=f"item-{charge_code_id}-{digest}", name=wanted)
    except QboCallError as exc:
        raise MappingChangeRefused(f"QuickBooks did not create the item: {exc.error.message}") from None
    except (NotConnected, ReconnectRequired, ConfigError) as exc:
        raise MappingChangeRefused(f"QuickBooks is not reachable: {exc}") from None
    with factory() as session, session.begin():
        mapping = save_item_mapping(session, actor, charge_code_id, qbo_item_id=str(item["Id"]),
                                    qbo_item_name=str(item.get("Name") or wanted), income_account_id=account_id,
                                    company_id=gateway.company_id)
        write_audit(session, actor, "create_qbo_item", target_type="charge_code", target_id=mapping.code,
                    after={"qbo_item_id": str(item["Id"]), "name": item.get("Name"), "linked_existing": bool(existing)},
                    company_id=gateway.company_id)
    return mapping


@dataclass(frozen=True)
class TemplateChange:
    """Saved settings and how many synced invoices their new description template marked out of date."""

    settings: SyncSettings
    marked: int


def save_settings_and_mark(session: Session, actor: Actor, changes: Mapping[str, Any], *,
                           reason: str | None = None,
                           audit_factory: sessionmaker[Session] | None = None,
                           company_id: int | None = None) -> TemplateChange:
    """Save a company's settings (admin only); mark its synced invoices whose line text changes out of date."""
    _check_admin(actor, "change_settings", audit_factory, "settings", session)
    company_id = resolve_company_id(session, company_id)
    before = load_settings(session, company_id)
    after = save_settings(session, actor, dict(changes), reason=reason, company_id=company_id)
    # One transaction with the save: QuickBooks keeps the old text until these are re-sent, so say so at once.
    stale = synced_invoices_changed_by(session, before, after)
    for chunk in chunked(stale, SQL_IN_CHUNK):
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(chunk), SyncRecord.company_id == company_id,
                                                 SyncRecord.status == SyncStatus.SYNCED.value)
                        .values(status=SyncStatus.OUT_OF_DATE.value))
    if stale:
        numbers = list(session.scalars(select(Invoice.number).join(SyncRecord, SyncRecord.entity_id == Invoice.id)
                                       .where(SyncRecord.id.in_(stale[:20])).order_by(Invoice.number)))
        write_audit(session, actor, "mark_out_of_date", target_type="settings", target_id="description",
                    before={"status": SyncStatus.SYNCED.value, "invoices": len(stale)},
                    after={"status": SyncStatus.OUT_OF_DATE.value, "invoices": len(stale), "first": numbers},
                    reason="the description template changed their line descriptions; the next sync re-sends them")
    return TemplateChange(after, len(stale))


def list_billing_terms(session: Session) -> list[str]:
    """The payment terms the billing book uses (each needs a QuickBooks term of that name or a mapping)."""
    names = set(session.scalars(select(Customer.terms).distinct())) | set(session.scalars(select(Invoice.terms)
                                                                                          .distinct()))
    return sorted(n for n in names if n)


def list_branches(session: Session) -> list[str]:
    """The customers' branches (each becomes a QuickBooks class or location)."""
    return sorted(b for b in session.scalars(select(Customer.branch).distinct()) if b)


# -- custom fields -------------------------------------------------------------------------------------------
def list_custom_field_mappings(session: Session, company_id: int | None = None) -> list[CustomFieldChoice]:
    """A company's saved custom field slots, by slot."""
    company_id = resolve_company_id(session, company_id)
    rows = session.scalars(select(CustomFieldMapping).where(CustomFieldMapping.company_id == company_id)
                           .order_by(CustomFieldMapping.slot))
    return [CustomFieldChoice(r.slot, r.qbo_definition_id, r.qbo_name, r.source_field) for r in rows]


def _check_custom_fields(choices: Sequence[CustomFieldChoice]) -> None:
    slots = [c.slot for c in choices]
    if len(slots) != len(set(slots)):
        raise MappingChangeRefused("Each custom field slot can be used once.")
    definitions = [c.qbo_definition_id for c in choices]
    if len(definitions) != len(set(definitions)):
        raise MappingChangeRefused("Each QuickBooks custom field can be filled from one billing field only.")
    for choice in choices:
        if choice.slot not in CUSTOM_FIELD_SLOTS:
            raise MappingChangeRefused(f"Slot {choice.slot} does not exist: QuickBooks has custom fields 1, 2 and 3.")
        if not is_qbo_id(choice.qbo_definition_id or ""):
            raise MappingChangeRefused(f"Slot {choice.slot}: {choice.qbo_definition_id!r} is not a QuickBooks custom "
                                       "field definition id. Pick the field from the list read from QuickBooks.")
        if not choice.qbo_name.strip() or len(choice.qbo_name) > 40:
            raise MappingChangeRefused(f"Slot {choice.slot}: the QuickBooks name must be 1-40 characters.")
        if choice.source_field not in CUSTOM_FIELD_SOURCES:
            raise MappingChangeRefused(f"Slot {choice.slot}: {choice.source_field!r} is not a billing field; choose "
                                       f"one of {', '.join(CUSTOM_FIELD_SOURCES.values())}.")


def save_custom_field_mappings(session: Session, actor: Actor, choices: Sequence[CustomFieldChoice], *,
                               audit_factory: sessionmaker[Session] | None = None,
                               company_id: int | None = None) -> list[CustomFieldChoice]:
    """Replace a company's custom field slots (at most three; admin only), validated, audited before/after."""
    _check_admin(actor, "change_custom_fields", audit_factory, "custom_fields", session)
    _check_custom_fields(choices)
    company_id = resolve_company_id(session, company_id)
    before = list_custom_field_mappings(session, company_id)
    if sorted(before, key=lambda c: c.slot) == sorted(choices, key=lambda c: c.slot):
        return before
    for row in session.scalars(select(CustomFieldMapping).where(CustomFieldMapping.company_id == company_id)):
        session.delete(row)
    session.flush()
    for choice in choices:
        session.add(CustomFieldMapping(company_id=company_id, slot=choice.slot,
                                       qbo_definition_id=choice.qbo_definition_id,
                                       qbo_name=choice.qbo_name.strip(), source_field=choice.source_field))
    session.flush()
    after = list_custom_field_mappings(session, company_id)
    write_audit(session, actor, "change_custom_fields", target_type="settings", target_id="custom_fields",
                before=[c.__dict__ for c in before], after=[c.__dict__ for c in after], company_id=company_id)
    return after
