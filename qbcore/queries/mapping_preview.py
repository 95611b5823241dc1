"""The mapping preview: an invoice as QuickBooks would receive it, built from what we know, never calling QuickBooks."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from qbcore.chunks import chunked
from qbcore.company_directory import resolve_company_id
from qbcore.customer_names import NAME_CLASH_CODE
from qbcore.errors import MappingError
from qbcore.labels import plural
from qbcore.mapping.common import to_cents
from qbcore.mapping.customer import display_name
from qbcore.mapping.description import (
    DESCRIPTION_MAX,
    charge_set_texts,
    invoice_descriptions,
    render_description,
)
from qbcore.mapping.invoice import CUSTOM_FIELD_MAX, build_invoice_payload
from qbcore.mapping.refs import CustomFieldSpec, QboRefs
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    Customer,
    CustomFieldMapping,
    EntityType,
    Invoice,
    ItemMapping,
    Load,
    SyncRecord,
    SyncStatus,
)
from qbcore.pull.bookmark import get_book_close_date
from qbcore.settings import DESCRIPTION_FIELDS, DescriptionTemplate, SyncSettings


@dataclass(frozen=True)
class InvoiceChoice:
    """An invoice to pick for the preview."""

    invoice_id: int
    number: str
    customer: str
    invoice_date: date
    total: Decimal
    charge_sets: int

    @property
    def label(self) -> str:
        """How the invoice is offered in a picker."""
        combined = f" · {self.charge_sets} loads" if self.charge_sets > 1 else ""
        return f"{self.number} · {self.customer} · ${self.total:,.2f}{combined}"


@dataclass(frozen=True)
class PreviewLine:
    """One line as QuickBooks shows it on the invoice."""

    product: str
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ChargeSetPreview:
    """One load's charges: its rendered load text, its lines, and the template fields it lacks."""

    position: int
    load_number: str
    load_text: str
    lines: tuple[PreviewLine, ...]
    missing_fields: tuple[str, ...]


@dataclass(frozen=True)
class InvoicePreview:
    """The whole preview: per charge set, the JSON that would be sent, the invoice table, and warnings."""

    invoice_number: str
    customer: str
    charge_sets: tuple[ChargeSetPreview, ...]
    payload: dict[str, Any] | None
    total: Decimal
    warnings: tuple[str, ...]
    error: str | None


class _Placeholders(Mapping[Any, str]):
    """Known QuickBooks ids, and a readable placeholder for anything not known yet."""

    def __init__(self, kind: str, known: Mapping[Any, str] | None = None) -> None:
        self.kind = kind
        self.known: dict[Any, str] = dict(known or {})

    def __getitem__(self, key: Any) -> str:
        # Terms, classes and locations are looked up by name at sync time; the preview never asks QuickBooks.
        return self.known.get(key, f"(QuickBooks {self.kind} {key})")

    def __iter__(self) -> Iterator[Any]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


def find_invoices(session: Session, text: str, *, limit: int = 20) -> list[InvoiceChoice]:
    """Invoices whose number (or customer) contains the text, newest first."""
    sets = (select(ChargeSet.invoice_id, func.count().label("n")).group_by(ChargeSet.invoice_id).subquery())
    query = (select(Invoice.id, Invoice.number, Customer.name, Invoice.invoice_date, Invoice.total,
                    func.coalesce(sets.c.n, 0))
             .join(Customer, Customer.id == Invoice.customer_id)
             .outerjoin(sets, sets.c.invoice_id == Invoice.id))
    needle = text.strip().lower()
    if needle:
        query = query.where(or_(func.lower(Invoice.number).like(f"%{needle}%"),
                                func.lower(Customer.name).like(f"%{needle}%")))
    rows = session.execute(query.order_by(Invoice.invoice_date.desc(), Invoice.id.desc()).limit(limit)).all()
    return [InvoiceChoice(i, n, c, d, Decimal(str(t)), int(s)) for i, n, c, d, t, s in rows]


def pick_random_combined_invoice(session: Session, *, rng: random.Random | None = None) -> int | None:
    """A random invoice billing several loads (a combined invoice); None when the book has none."""
    several = (select(ChargeSet.invoice_id).group_by(ChargeSet.invoice_id).having(func.count() > 1))
    ids = list(session.scalars(select(Invoice.id).where(or_(Invoice.is_combined.is_(True),
                                                            Invoice.id.in_(several))).order_by(Invoice.id)))
    if not ids:
        return None
    return (rng or random.Random()).choice(ids)


def load_invoice(session: Session, invoice_id: int) -> Invoice | None:
    """One invoice with its customer, charge sets, loads, lines and charge codes loaded."""
    return session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).options(
            selectinload(Invoice.customer),
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.load),
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.lines).selectinload(ChargeLine.charge_code),
        )
    )


def list_custom_field_specs(session: Session, company_id: int | None = None) -> tuple[CustomFieldSpec, ...]:
    """A company's saved custom field mappings, by slot."""
    rows = session.scalars(select(CustomFieldMapping).where(
        CustomFieldMapping.company_id == resolve_company_id(session, company_id)).order_by(CustomFieldMapping.slot))
    return tuple(CustomFieldSpec(r.qbo_definition_id, r.qbo_name, r.source_field) for r in rows)


def invoice_company_id(session: Session, invoice_id: int) -> int:
    """The company an invoice posts to: its sync record's, else its customer's."""
    recorded = session.scalar(select(SyncRecord.company_id).where(
        SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id == invoice_id).limit(1))
    if recorded is not None:
        return recorded
    owner = session.scalar(select(Customer.company_id).join(Invoice, Invoice.customer_id == Customer.id)
                           .where(Invoice.id == invoice_id))
    return owner if owner is not None else resolve_company_id(session, None)


def _known_items(session: Session, code_ids: list[int], company_id: int) -> dict[int, tuple[str, str | None]]:
    """Charge code id → (QuickBooks item id, item name) in a company: its mapping, else its synced item."""
    known: dict[int, tuple[str, str | None]] = {}
    for mapping in session.scalars(select(ItemMapping).where(ItemMapping.company_id == company_id,
                                                             ItemMapping.charge_code_id.in_(code_ids))):
        if mapping.qbo_item_id:
            known[mapping.charge_code_id] = (mapping.qbo_item_id, mapping.qbo_item_name)
    for entity_id, qbo_id in session.execute(select(SyncRecord.entity_id, SyncRecord.qbo_id).where(
            SyncRecord.company_id == company_id,
            SyncRecord.entity_type == EntityType.ITEM.value, SyncRecord.entity_id.in_(code_ids),
            SyncRecord.qbo_id.is_not(None))):
        if qbo_id is not None:
            known.setdefault(entity_id, (qbo_id, None))
    return known


def _refused_items(session: Session, code_ids: list[int], company_id: int) -> dict[str, str]:
    """Charge code → why QuickBooks refused the item the sync tried to create for it in a company."""
    rows = session.execute(select(ChargeCode.code, SyncRecord.error_message).join(
        SyncRecord, (SyncRecord.entity_type == EntityType.ITEM.value) & (SyncRecord.entity_id == ChargeCode.id)
        & (SyncRecord.company_id == company_id))
        .where(ChargeCode.id.in_(code_ids), SyncRecord.status.in_((SyncStatus.FAILED.value,
                                                                    SyncStatus.BLOCKED.value))))
    return {code: (message or "").strip().rstrip(".") or "no reason was given" for code, message in rows}


def _customer_record(session: Session, customer_id: int, company_id: int) -> SyncRecord | None:
    return session.scalar(select(SyncRecord).where(SyncRecord.company_id == company_id,
                                                   SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                   SyncRecord.entity_id == customer_id))


def _customer_warning(customer: Customer, record: SyncRecord | None, settings: SyncSettings) -> str | None:
    """What happens to the customer the invoice needs: nothing, created first, or a create known to fail."""
    if record is not None and record.qbo_id is not None:
        return None
    name = display_name(customer)
    if record is None or record.status not in (SyncStatus.FAILED.value, SyncStatus.BLOCKED.value):
        return f"The customer {customer.name!r} is not in QuickBooks yet; the sync creates it first."
    if record.error_code == NAME_CLASH_CODE:
        if customer.qbo_display_name is None and settings.name_clash_suffix:
            return (f"The sync creates the customer {customer.name!r} first. QuickBooks refused the name "
                    f"{name!r} last time (code {NAME_CLASH_CODE}: a vendor, employee or another customer has it); "
                    "the name-clash rule on Settings → Customer names sends it as "
                    f"{name + settings.name_clash_suffix!r} on the next sync, and this invoice follows.")
        return (f"The sync would create the customer {customer.name!r} first, but QuickBooks refused the name {name!r} "
                f"(code {NAME_CLASH_CODE}: a vendor, employee or another customer has it), so this invoice waits. Give "
                "the customer its own QuickBooks name on Settings → Customer names (or set the name-clash rule "
                "there); this invoice then follows on its own.")
    why = (record.error_message or "").strip().rstrip(".") or "no reason was given"
    return (f"The sync would create the customer {customer.name!r} first, but that failed last time ({why}), so this "
            "invoice waits. The customer's problem and what to do about it are on the Problem Sync page.")


def _closed_period_warning(invoice: Invoice, close_date: date | None) -> str | None:
    if close_date is None or invoice.invoice_date > close_date:
        return None
    return (f"The invoice date {invoice.invoice_date.isoformat()} is on or before QuickBooks' closing date "
            f"{close_date.isoformat()}: QuickBooks refuses it (error 6200), so the sync cannot send it. Change its "
            "date in billing, or have an admin reopen the period in QuickBooks; the Month End page lists every "
            "record the closing date holds back.")


def preview_invoice(session: Session, invoice_id: int, settings: SyncSettings,
                    custom_fields: tuple[CustomFieldSpec, ...] = ()) -> InvoicePreview | None:
    """What the sync would send for this invoice with these settings; placeholders where ids are unknown."""
    invoice = load_invoice(session, invoice_id)
    if invoice is None:
        return None
    codes: dict[int, ChargeCode] = {line.charge_code.id: line.charge_code
                                    for cs in invoice.charge_sets for line in cs.lines}
    company_id = invoice_company_id(session, invoice_id)
    known = _known_items(session, list(codes), company_id)
    warnings: list[str] = []
    unmapped = sorted(codes[c].code for c in codes if c not in known)
    refused = _refused_items(session, [c for c in codes if c not in known], company_id)
    creatable = [code for code in unmapped if code not in refused]
    if creatable:
        one = len(creatable) == 1
        consequence = (f"the sync creates {'it' if one else 'them'} as new {'item' if one else 'items'}"
                       if settings.create_missing_items else
                       f"this invoice waits until {'it is' if one else 'they are'} mapped on Settings → Charge codes")
        warnings.append(f"{plural(len(creatable), 'charge code')} not mapped to a QuickBooks item: "
                        f"{', '.join(creatable)} — {consequence}.")
    for refused_code, why in sorted(refused.items()):
        warnings.append(f"Charge code {refused_code} has no QuickBooks item, and creating one failed last time "
                        f"({why}), so this invoice waits. Map it to an item on Settings → Charge codes (or create the "
                        "item there).")
    customer_record = _customer_record(session, invoice.customer_id, company_id)
    customer_qbo = customer_record.qbo_id if customer_record is not None else None
    closed = _closed_period_warning(invoice, get_book_close_date(session, company_id))
    if closed:
        warnings.append(closed)
    customer_warning = _customer_warning(invoice.customer, customer_record, settings)
    if customer_warning:
        warnings.append(customer_warning)
    refs = QboRefs(
        customers=_Placeholders("customer", {
            invoice.customer_id: customer_qbo or f"(new customer {invoice.customer.name})"}),
        items=_Placeholders("item", {c: known[c][0] if c in known else f"(new item {codes[c].code})"
                                     for c in codes}),
        terms=_Placeholders("term"), classes=_Placeholders("class"), departments=_Placeholders("location"),
        custom_fields=custom_fields,
    )
    template = settings.description
    previews = []
    for charge_set in invoice.charge_sets:
        load = charge_set.load
        load_text = render_description(load, template)
        missing = tuple(DESCRIPTION_FIELDS[f] for f in template.fields if getattr(load, f, None) in (None, ""))
        if missing:
            warnings.append(f"Load {load.load_number} has no {', '.join(missing)}; those fields are left out.")
        lines = []
        for charge, text in zip(charge_set.lines, charge_set_texts(charge_set, template), strict=True):
            if len(text) > DESCRIPTION_MAX:
                what = ("it will be cut with a visible marker" if settings.description_overflow == "truncate"
                        else "the sync will fail until fields are removed")
                warnings.append(f"A description on load {load.load_number} is {len(text):,} characters; QuickBooks "
                                f"allows {DESCRIPTION_MAX:,}, so {what}.")
            code = charge.charge_code
            product = ((known[code.id][1] or code.name) if code.id in known else
                       f"(no item: {code.code})" if code.code in refused else f"(new item {code.code})")
            lines.append(PreviewLine(product, text, Decimal(charge.quantity), Decimal(charge.rate),
                                     to_cents(charge.quantity * charge.rate)))
        previews.append(ChargeSetPreview(charge_set.position, load.load_number, load_text, tuple(lines), missing))
    for spec in custom_fields:
        values = ([getattr(invoice, spec.source_field)] if hasattr(invoice, spec.source_field)
                  else [getattr(cs.load, spec.source_field, None) for cs in invoice.charge_sets])
        joined = ", ".join(dict.fromkeys(str(v) for v in values if v not in (None, "")))
        if len(joined) > CUSTOM_FIELD_MAX:
            warnings.append(f"Custom field {spec.name!r} holds {len(joined)} characters; QuickBooks keeps the first "
                            f"{CUSTOM_FIELD_MAX}.")
    try:
        payload: dict[str, Any] | None = build_invoice_payload(invoice, settings, refs)
        error = None
    except MappingError as exc:
        payload, error = None, exc.message
    total = sum((line.amount for p in previews for line in p.lines), Decimal("0.00"))
    if total != to_cents(invoice.total):
        warnings.append(f"The lines add up to ${total:,.2f} but the invoice total is ${invoice.total:,.2f}; "
                        "QuickBooks computes the total from the lines.")
    return InvoicePreview(invoice.number, invoice.customer.name, tuple(previews), payload, total,
                          tuple(dict.fromkeys(warnings)), error)


def _may_overflow(template: DescriptionTemplate) -> Any:
    """Ids of invoices with a line whose Description could pass the limit: an upper bound on its length, in SQL."""
    # A date is written as 2026-11-29 (PostgreSQL has no length() of a date); every label and separator counted.
    dates = [name for name in template.fields if isinstance(getattr(Load, name).type, Date)]
    fixed = 1 + sum(len(DESCRIPTION_FIELDS[name]) + 2 + len(template.separator) for name in template.fields)
    fixed += 10 * len(dates)
    load_text = sum((func.coalesce(func.length(getattr(Load, name)), 0) for name in template.fields
                     if name not in dates), literal(fixed))
    line_text = (func.coalesce(func.length(ChargeLine.description), 0) + func.coalesce(func.length(ChargeCode.name), 0)
                 + load_text)
    return (select(ChargeSet.invoice_id).join(Load, Load.id == ChargeSet.load_id)
            .join(ChargeLine, ChargeLine.charge_set_id == ChargeSet.id)
            .join(ChargeCode, ChargeCode.id == ChargeLine.charge_code_id)
            .where(line_text > DESCRIPTION_MAX))


def synced_invoices_changed_by(session: Session, before: SyncSettings, after: SyncSettings, *,
                               chunk: int = 500, company_id: int | None = None) -> list[int]:
    """Sync record ids of invoices already in QuickBooks (of one company, or all) whose Descriptions would differ."""
    if (before.description, before.description_overflow) == (after.description, after.description_overflow):
        return []
    of_company = [] if company_id is None else [SyncRecord.company_id == company_id]
    if before.description == after.description:
        # Only the overflow choice differs: it changes nothing but a line over the limit, so read only invoices that
        # could have one (rendering every synced invoice took minutes at a million invoices).
        of_company.append(SyncRecord.entity_id.in_(_may_overflow(before.description)))
    synced = session.execute(select(SyncRecord.id, SyncRecord.entity_id).where(
        SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.status == SyncStatus.SYNCED.value,
        SyncRecord.qbo_id.is_not(None), *of_company).order_by(SyncRecord.id)).all()
    changed: list[int] = []
    for piece in chunked(synced, chunk):
        part = dict((entity_id, record_id) for record_id, entity_id in piece)
        invoices = session.scalars(select(Invoice).where(Invoice.id.in_(list(part))).options(
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.load),
            selectinload(Invoice.charge_sets).selectinload(ChargeSet.lines).selectinload(ChargeLine.charge_code)))
        for invoice in invoices:
            old = invoice_descriptions(invoice, before.description, before.description_overflow)
            new = invoice_descriptions(invoice, after.description, after.description_overflow)
            if old != new:
                changed.append(part[invoice.id])
    return sorted(changed)
