"""The payables side of the mapping preview: a settlement or carrier bill as the QuickBooks Bill the sync would send."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from qbcore.company_directory import pay_company_id
from qbcore.customer_names import NAME_CLASH_CODE
from qbcore.entities.payables import load_accounts, load_settlement_extras, payee_of, settlement_shares
from qbcore.entities.settlement_shares import frozen_settlements
from qbcore.errors import MappingError
from qbcore.labels import plural
from qbcore.mapping.description import DESCRIPTION_MAX, compose_line_description, render_description
from qbcore.mapping.payables import build_carrier_bill_payload, build_settlement_payload
from qbcore.mapping.refs import QboRefs
from qbcore.mapping.routing import Share, share_number
from qbcore.models import (
    CarrierBill,
    EntityType,
    Load,
    PayablesAccountMapping,
    Settlement,
    SettlementLoad,
    SyncRecord,
    SyncStatus,
    Vendor,
)
from qbcore.problems.causes import VENDOR_NAMES_TAB
from qbcore.pull.bookmark import get_book_close_date
from qbcore.queries.mapping_preview import _Placeholders
from qbcore.settings import SyncSettings, load_settings, settings_from_dict, settings_to_dict
from qbcore.sync.context import linked_ids, load_billing_rows

BillKind = Literal["settlement", "carrier_bill"]
KIND_WORDS: dict[str, str] = {"settlement": "Settlement", "carrier_bill": "Carrier bill"}
_ENTITY = {"settlement": EntityType.SETTLEMENT, "carrier_bill": EntityType.CARRIER_BILL}
_FUNCTION = {"settlement": "driver_pay", "carrier_bill": "carrier_pay"}
_SWITCH = {"settlement": "sync_settlements", "carrier_bill": "sync_carrier_bills"}
_SYNCS = {"settlement": ("finalized", "paid"), "carrier_bill": ("accepted", "paid")}


@dataclass(frozen=True)
class BillChoice:
    """A settlement or carrier bill to pick for the preview."""

    bill_id: int
    label: str


@dataclass(frozen=True)
class BillLinePreview:
    """One Bill line: which load, what it pays (or takes off), the account it posts to, its Description."""

    load_number: str
    container_number: str
    what: str
    account: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class BillPreview:
    """The bill as QuickBooks would receive it: lines, the exact JSON (None when the sync would stop), warnings."""

    kind: str
    number: str
    vendor: str
    lines: tuple[BillLinePreview, ...]
    payload: dict[str, Any] | None
    total: Decimal
    warnings: tuple[str, ...]
    error: str | None
    # A settlement split per fleet owner: its other bills, each previewed the same way (bill 2, 3…).
    other_bills: tuple[BillPreview, ...] = ()


def bill_company_id(session: Session, kind: BillKind) -> int:
    """The company a kind of bill posts to: the one holding driver pay (or carrier pay), else the default."""
    return pay_company_id(session, _FUNCTION[kind])


def payables_kinds(session: Session) -> tuple[BillKind, ...]:
    """Which bill kinds sync (each switched on in the settings of the company it posts to)."""
    kinds: list[BillKind] = ["settlement", "carrier_bill"]
    return tuple(k for k in kinds if getattr(load_settings(session, bill_company_id(session, k)), _SWITCH[k]))


def find_bills(session: Session, kind: BillKind, text: str, *, limit: int = 20) -> list[BillChoice]:
    """Settlements or carrier bills the sync sends whose number (or vendor) contains the text, newest first."""
    needle = text.strip().lower()
    if kind == "settlement":
        loads = (select(SettlementLoad.settlement_id, func.count().label("n"))
                 .group_by(SettlementLoad.settlement_id).subquery())
        query: Any = (select(Settlement.id, Settlement.number, Vendor.name, Settlement.period_start,
                             Settlement.net_pay, func.coalesce(loads.c.n, 0))
                      .join(Vendor, Vendor.id == Settlement.driver_id)
                      .outerjoin(loads, loads.c.settlement_id == Settlement.id)
                      .where(Settlement.status.in_(_SYNCS[kind])))
        number: Any = Settlement.number
        order = (Settlement.settlement_date.desc(), Settlement.id.desc())
    else:
        query = (select(CarrierBill.id, CarrierBill.carrier_invoice_number, Vendor.name, Load.load_number,
                        CarrierBill.total)
                 .join(Vendor, Vendor.id == CarrierBill.carrier_id).join(Load, Load.id == CarrierBill.load_id)
                 .where(CarrierBill.status.in_(_SYNCS[kind])))
        number = CarrierBill.carrier_invoice_number
        order = (CarrierBill.bill_date.desc(), CarrierBill.id.desc())
    if needle:
        query = query.where(or_(func.lower(number).like(f"%{needle}%"), func.lower(Vendor.name).like(f"%{needle}%")))
    rows = session.execute(query.order_by(*order).limit(limit)).all()
    if kind == "settlement":
        return [BillChoice(i, f"{n} · {driver} · week of {start.isoformat()} · ${Decimal(str(net)):,.2f} · "
                              f"{plural(int(count), 'load')}") for i, n, driver, start, net, count in rows]
    return [BillChoice(i, f"{n} · {carrier} · load {load} · ${Decimal(str(total)):,.2f}")
            for i, n, carrier, load, total in rows]


def pick_random_bill(session: Session, kind: BillKind, *, rng: random.Random | None = None
                     ) -> tuple[int, str] | None:
    """A random settlement paying several loads (or a random carrier bill) as (id, number); None when there is none."""
    if kind == "settlement":
        several = (select(SettlementLoad.settlement_id).group_by(SettlementLoad.settlement_id)
                   .having(func.count() > 1))
        query: Any = select(Settlement.id, Settlement.number).where(Settlement.status.in_(_SYNCS[kind]),
                                                                    Settlement.id.in_(several)).order_by(Settlement.id)
    else:
        query = (select(CarrierBill.id, CarrierBill.carrier_invoice_number)
                 .where(CarrierBill.status.in_(_SYNCS[kind])).order_by(CarrierBill.id))
    rows = [(int(i), str(n)) for i, n in session.execute(query)]
    return (rng or random.Random()).choice(rows) if rows else None


def _account_ids(session: Session, company_id: int) -> dict[str, str]:
    """Account name → QuickBooks id in a company, as Settings → Pay codes saved them when mapping a code there."""
    rows = session.execute(select(PayablesAccountMapping.qbo_account_name, PayablesAccountMapping.qbo_account_id)
                           .where(PayablesAccountMapping.company_id == company_id,
                                  PayablesAccountMapping.qbo_account_id.is_not(None)))
    return {name: qbo_id for name, qbo_id in rows if name and qbo_id}


def _code_lines(row: Any, kind: BillKind, share: Share | None = None) -> list[tuple[Any, str, Any, Any]]:
    """(load, code kind, code, line) per Bill line, in the order the mapping writes them."""
    out: list[tuple[Any, str, Any, Any]] = []
    if kind == "settlement":
        for settlement_load in (share.loads if share else row.loads):
            out.extend((settlement_load.load, "pay", pay.pay_code, pay) for pay in settlement_load.lines)
        out.extend((None, "deduction", d.deduction_code, d) for d in (share.deductions if share else row.deductions))
    else:
        out.extend((row.load, "pay", charge.pay_code, charge) for charge in row.lines)
    return out


def _vendor_warning(session: Session, vendor: Vendor, company_id: int, word: str) -> str:
    """What happens to a vendor not in QuickBooks yet: created first, or a create known to fail (the bill waits)."""
    record = session.scalar(select(SyncRecord).where(SyncRecord.company_id == company_id,
                                                     SyncRecord.entity_type == EntityType.VENDOR.value,
                                                     SyncRecord.entity_id == vendor.id))
    if record is None or record.status not in (SyncStatus.FAILED.value, SyncStatus.BLOCKED.value):
        return f"The vendor {vendor.name!r} is not in QuickBooks yet; the sync creates it first."
    if record.error_code == NAME_CLASH_CODE:
        return (f"The vendor {vendor.name!r} is not in QuickBooks yet, and QuickBooks refused its name last time "
                f"(code {NAME_CLASH_CODE}: a customer, employee or another vendor has it), so this {word} waits. Give "
                f"the vendor its own QuickBooks name on {VENDOR_NAMES_TAB}; this {word} then follows.")
    why = (record.error_message or "").strip().rstrip(".") or "no reason was given"
    return (f"The vendor {vendor.name!r} is not in QuickBooks yet, and creating it failed last time ({why}), so this "
            f"{word} waits. The vendor's problem and what to do about it are on the Problem Sync page.")


def preview_bill(session: Session, kind: BillKind, bill_id: int, changes: dict[str, Any] | None = None
                 ) -> BillPreview | None:
    """What the sync would send for this bill with its company's settings and the template changes on screen."""
    # Changes that are not a valid template raise SettingsError (a Refusal) before anything is read.
    company_id = bill_company_id(session, kind)
    settings: SyncSettings = settings_from_dict({**settings_to_dict(load_settings(session, company_id)),
                                                 **(changes or {})})
    row = load_billing_rows(session, _ENTITY[kind], [bill_id]).get(bill_id)
    if row is None:
        return None
    if kind != "settlement":
        return _preview_one(session, kind, row, settings, company_id, row.carrier, None, 1)
    # As vendor routing bills it: to the driver, or one bill per fleet owner whose trucks ran its loads.
    extras = load_settlement_extras(session, {row.id: row}, company_id)
    if row.id not in frozen_settlements(session, [row.id]):
        extras["payees"] = {}  # not in QuickBooks yet: the next sync routes it as these settings say
    shares = settlement_shares(row, settings, extras)
    previews = [_preview_one(session, kind, row, settings, company_id, payee_of(share, row, extras) or row.driver,
                             share, len(shares)) for share in shares]
    return dataclasses.replace(previews[0], other_bills=tuple(previews[1:]))


def _preview_one(session: Session, kind: BillKind, row: Any, settings: SyncSettings, company_id: int, vendor: Vendor,
                 share: Share | None, bills: int) -> BillPreview:
    """One bill's preview: a carrier bill, or one share of a settlement (to its payee, with its loads)."""
    vendor_id = vendor.id
    number = row.carrier_invoice_number if kind != "settlement" else \
        share_number(row.number, share.position) if share is not None and share.position > 1 else row.number
    word = KIND_WORDS[kind].lower()
    accounts: dict[tuple[str, int], str] = load_accounts(session, {}, company_id)["accounts"]
    warnings: list[str] = []
    default = settings.default_expense_account.strip()
    unmapped = sorted({(code_kind, code.code, code.name) for _load, code_kind, code, _line
                       in _code_lines(row, kind, share)
                       if (code_kind, code.id) not in accounts and not (default and code_kind == "pay")})
    for code_kind, code, name in unmapped:
        noun = "Pay code" if code_kind == "pay" else "Deduction code"
        warnings.append(f"{noun} {code} ({name}) is not mapped to a QuickBooks expense account, so this {word} "
                        "waits. Map it to an account on Settings → Pay codes.")
    vendor_qbo = linked_ids(session, EntityType.VENDOR, company_id).get(vendor_id)
    if vendor_qbo is None:
        warnings.append(_vendor_warning(session, vendor, company_id, word))
    close_date = get_book_close_date(session, company_id)
    bill_date: date = row.settlement_date if kind == "settlement" else row.bill_date
    if close_date is not None and bill_date <= close_date:
        warnings.append(f"The {word} date {bill_date.isoformat()} is on or before QuickBooks' closing date "
                        f"{close_date.isoformat()}: QuickBooks refuses it (error 6200), so the sync cannot send it. "
                        "Change its date in billing, or have an admin reopen the period in QuickBooks; the Month End "
                        "page lists every record the closing date holds back.")
    template = settings.description
    lines: list[BillLinePreview] = []
    previous_load: Any = None
    for load, code_kind, code, line in _code_lines(row, kind, share):
        if code_kind == "pay":
            first = load is not previous_load
            previous_load = load
            load_text = render_description(load, template) if template.placement == "every_line" or first else ""
            text = compose_line_description(line.description or code.name, load_text)
            amount = Decimal(line.amount)
        else:
            text = line.description or code.name
            amount = -Decimal(line.amount)
        if len(text) > DESCRIPTION_MAX:
            what = ("it will be cut with a visible marker" if settings.description_overflow == "truncate"
                    else "the sync will fail until fields are removed")
            where = f"load {load.load_number}" if load is not None else f"deduction {code.code}"
            warnings.append(f"A description on {where} is {len(text):,} characters; QuickBooks allows "
                            f"{DESCRIPTION_MAX:,}, so {what}.")
        account = accounts.get((code_kind, code.id)) or \
            (f"{default} (the default expense account)" if default and code_kind == "pay" else "(not mapped)")
        lines.append(BillLinePreview("" if load is None else load.load_number,
                                     "" if load is None else (load.container_number or ""),
                                     f"{code.name} ({code.code})", account, text, amount))
    pay = sum((ln.amount for ln in lines if ln.amount > 0), Decimal(0))
    taken = -sum((ln.amount for ln in lines if ln.amount < 0), Decimal(0))
    if taken > pay:
        warnings.append(f"The deductions (${taken:,.2f}) are more than the pay (${pay:,.2f}): QuickBooks refuses a "
                        "bill owing less than $0, so this settlement waits. Move a deduction to the next settlement "
                        "in billing.")
    refs = QboRefs(vendors=_Placeholders("vendor", {vendor_id: vendor_qbo or f"(new vendor {vendor.name})"}),
                   accounts=_Placeholders("account", _account_ids(session, company_id)), terms=_Placeholders("term"))
    try:
        payload: dict[str, Any] | None = (
            build_settlement_payload(row, settings, refs, accounts, share=share, payee=vendor, bills=bills)
            if kind == "settlement" else build_carrier_bill_payload(row, settings, refs, accounts))
        error = None
    except MappingError as exc:
        payload, error = None, exc.message
    if payload is not None:
        # The Descriptions exactly as sent (cut at 4,000 characters when the template says so).
        lines = [BillLinePreview(ln.load_number, ln.container_number, ln.what, ln.account,
                                 sent.get("Description", ""), ln.amount)
                 for ln, sent in zip(lines, payload["Line"], strict=True)]
    total = sum((ln.amount for ln in lines), Decimal("0.00"))
    return BillPreview(KIND_WORDS[kind], number, vendor.name, tuple(lines), payload, total,
                       tuple(dict.fromkeys(warnings)), error)

