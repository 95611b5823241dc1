"""The mapping preview: an invoice as QuickBooks would receive it, built from what we know, never calling QuickBooks."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from qbcore.errors import MappingError
from qbcore.mapping.common import to_cents
from qbcore.mapping.description import (
    DESCRIPTION_MAX,
    compose_line_description,
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
    SyncRecord,
)
from qbcore.settings import DESCRIPTION_FIELDS, SyncSettings


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


def list_custom_field_specs(session: Session) -> tuple[CustomFieldSpec, ...]:
    """The saved custom field mappings, by slot."""
    rows = session.scalars(select(CustomFieldMapping).order_by(CustomFieldMapping.slot))
    return tuple(CustomFieldSpec(r.qbo_definition_id, r.qbo_name, r.source_field) for r in rows)


def _known_items(session: Session, code_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """Charge code id → (QuickBooks item id, item name) from the mapping table, else from a synced item."""
    known: dict[int, tuple[str, str | None]] = {}
    for mapping in session.scalars(select(ItemMapping).where(ItemMapping.charge_code_id.in_(code_ids))):
        if mapping.qbo_item_id:
            known[mapping.charge_code_id] = (mapping.qbo_item_id, mapping.qbo_item_name)
    for entity_id, qbo_id in session.execute(select(SyncRecord.entity_id, SyncRecord.qbo_id).where(
            SyncRecord.entity_type == EntityType.ITEM.value, SyncRecord.entity_id.in_(code_ids),
            SyncRecord.qbo_id.is_not(None))):
        if qbo_id is not None:
            known.setdefault(entity_id, (qbo_id, None))
    return known


def _customer_qbo_id(session: Session, customer_id: int) -> str | None:
    return session.scalar(select(SyncRecord.qbo_id).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                          SyncRecord.entity_id == customer_id))


def preview_invoice(session: Session, invoice_id: int, settings: SyncSettings,
                    custom_fields: tuple[CustomFieldSpec, ...] = ()) -> InvoicePreview | None:
    """What the sync would send for this invoice with these settings; placeholders where ids are unknown."""
    invoice = load_invoice(session, invoice_id)
    if invoice is None:
        return None
    codes: dict[int, ChargeCode] = {line.charge_code.id: line.charge_code
                                    for cs in invoice.charge_sets for line in cs.lines}
    known = _known_items(session, list(codes))
    warnings: list[str] = []
    unmapped = sorted(codes[c].code for c in codes if c not in known)
    if unmapped:
        consequence = ("the sync creates them as new items" if settings.create_missing_items
                       else "the sync will block until they are mapped (Settings → Charge codes)")
        codes_word = "Charge codes" if len(unmapped) > 1 else "Charge code"
        warnings.append(f"{codes_word} not mapped to a QuickBooks item: {', '.join(unmapped)} — {consequence}.")
    customer_qbo = _customer_qbo_id(session, invoice.customer_id)
    if customer_qbo is None:
        warnings.append(f"The customer {invoice.customer.name!r} is not in QuickBooks yet; the sync creates it first.")
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
        for index, charge in enumerate(charge_set.lines):
            with_load = template.placement == "every_line" or index == 0
            text = compose_line_description(charge.description or charge.charge_code.name,
                                            load_text if with_load else "")
            if len(text) > DESCRIPTION_MAX:
                what = ("it will be cut with a visible marker" if settings.description_overflow == "truncate"
                        else "the sync will fail until fields are removed")
                warnings.append(f"A description on load {load.load_number} is {len(text):,} characters; QuickBooks "
                                f"allows {DESCRIPTION_MAX:,}, so {what}.")
            code = charge.charge_code
            product = (known[code.id][1] or code.name) if code.id in known else f"(new item {code.code})"
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
