"""Split bills: bill 2, 3… of a settlement whose loads ran on several fleet owners' trucks, and their payments.

Share 1 of every settlement is the settlement's own bill (qbcore.entities.payables.SETTLEMENT); the shares here
are the rest, each a QuickBooks Bill to its fleet owner with its own sync record, number and payment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, and_, cast, delete, null, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import pay_company_id
from qbcore.entities.common import NO_TEXT, TEXT, chunked_scalars, synced_at
from qbcore.entities.payables import (
    PAID,
    SETTLEMENT_LINES,
    doc_number_key,
    load_settlement_extras,
    payee_of,
    settlement_shares,
)
from qbcore.entities.routes import to_driver_pay, where_it_went
from qbcore.entities.spec import EntitySpec, ProblemTab, Voidable, Watched
from qbcore.errors import MappingError
from qbcore.mapping.payables import build_bill_payment_payload, build_settlement_payload
from qbcore.mapping.refs import QboRefs
from qbcore.mapping.routing import Share, routed_payees, share_number, split_settlement
from qbcore.models import (
    EntityType,
    Settlement,
    SettlementDeduction,
    SettlementShare,
    SyncRecord,
    SyncStatus,
    Vendor,
)
from qbcore.settings import SyncSettings, load_settings

BILLED = ("finalized", "paid")  # settlements that are bills in QuickBooks (a draft waits)
_BILL_TYPES = (EntityType.SETTLEMENT.value, EntityType.SETTLEMENT_SHARE.value)
_SET_ASIDE = (SyncStatus.CLEARED.value, SyncStatus.PAID_OUTSIDE.value)


def _may_be_in_quickbooks() -> Any:
    """Records whose bill is, or may be, in QuickBooks (sent once, linked, or set aside by someone)."""
    return or_(SyncRecord.qbo_id.is_not(None), SyncRecord.request_id.is_not(None), SyncRecord.status.in_(_SET_ASIDE))


def frozen_settlements(session: Session, settlement_ids: Sequence[int]) -> set[int]:
    """Settlements any of whose bills may be in QuickBooks: their payees never change again."""
    frozen: set[int] = set()
    for chunk in chunked(list(settlement_ids), SQL_IN_CHUNK):
        frozen.update(session.scalars(select(SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, SyncRecord.entity_id.in_(chunk),
            _may_be_in_quickbooks())))
        frozen.update(session.scalars(select(SettlementShare.settlement_id).join(SyncRecord, and_(
            SyncRecord.entity_type == EntityType.SETTLEMENT_SHARE.value, SyncRecord.entity_id == SettlementShare.id))
            .where(SettlementShare.settlement_id.in_(chunk), _may_be_in_quickbooks())))
    return frozen


def _to_route(session: Session) -> list[int]:
    """Billed settlements whose shares may need writing: never routed, edited since, or not in QuickBooks yet."""
    share = SettlementShare
    unrouted = ~select(share.id).where(share.settlement_id == Settlement.id).exists()
    edited = select(share.id).where(share.settlement_id == Settlement.id,
                                    share.updated_at < Settlement.updated_at).exists()
    in_quickbooks = select(SyncRecord.id).where(SyncRecord.entity_type == EntityType.SETTLEMENT.value,
                                                SyncRecord.entity_id == Settlement.id, _may_be_in_quickbooks()).exists()
    return list(session.scalars(select(Settlement.id).where(
        Settlement.status.in_(BILLED), or_(unrouted, edited, ~in_quickbooks)).order_by(Settlement.id)))


def derive_shares(session: Session) -> int:
    """Write each billed settlement's shares as Settings' vendor routing bills it; returns how many rows changed.

    Routing follows the driver-pay company's settings until any of a settlement's bills may be in QuickBooks;
    from then on its payees stay, and only the figures follow billing's edits. Shares that routing no longer
    wants (never sent, so safe) go with their records.
    """
    settings = load_settings(session, pay_company_id(session, "driver_pay"))
    if not settings.sync_settlements:
        return 0  # driver pay is off: nothing is billed, and routing every settlement would cost each sync
    routing = settings.settlement_vendor
    ids = _to_route(session)
    changed = 0
    for chunk in chunked(ids, SQL_IN_CHUNK):
        frozen = frozen_settlements(session, chunk)
        rows = session.scalars(select(Settlement).where(Settlement.id.in_(chunk)).options(
            selectinload(Settlement.deductions), *SETTLEMENT_LINES)).all()
        existing: dict[int, list[SettlementShare]] = {}
        for share in session.scalars(select(SettlementShare).where(SettlementShare.settlement_id.in_(chunk))
                                     .order_by(SettlementShare.position)):
            existing.setdefault(share.settlement_id, []).append(share)
        for settlement in rows:
            had = existing.get(settlement.id, [])
            if settlement.id in frozen:
                # Billed before routing existed, a settlement went whole to its driver.
                payees = [share.payee_id for share in had] or [settlement.driver_id]
            else:
                payees = routed_payees(settlement, routing)
            changed += _write_shares(session, settlement, split_settlement(settlement, payees), had)
    session.flush()
    return changed


def _write_shares(session: Session, settlement: Settlement, shares: list[Share], had: list[SettlementShare]) -> int:
    wanted = [(share.position, share.payee_id) for share in shares]
    if [(row.position, row.payee_id) for row in had] != wanted:
        gone = [row.id for row in had]
        if gone:
            # Never sent (the settlement is not frozen): their records go too, and nothing can be lost.
            session.execute(delete(SyncRecord).where(
                SyncRecord.entity_type.in_((EntityType.SETTLEMENT_SHARE.value, EntityType.SHARE_PAYMENT.value)),
                SyncRecord.entity_id.in_(gone)).execution_options(synchronize_session=False))
            session.execute(delete(SettlementShare).where(SettlementShare.id.in_(gone))
                            .execution_options(synchronize_session=False))
            session.flush()
        had = []
        for share in shares:
            row = SettlementShare(settlement_id=settlement.id, position=share.position, payee_id=share.payee_id,
                                  doc_number=_number(settlement.number, share.position),
                                  bill_date=settlement.settlement_date, pay_total=Decimal(0),
                                  deduction_total=Decimal(0), net_pay=Decimal(0))
            session.add(row)
            had.append(row)
    for row, share in zip(had, shares, strict=True):
        row.pay_total, row.deduction_total, row.net_pay = share.pay_total, share.deduction_total, share.net_pay
        row.bill_date = settlement.settlement_date
        row.updated_at = max(settlement.updated_at, row.updated_at or settlement.updated_at)
    return len(shares)


def _number(number: str, position: int) -> str:
    try:
        return share_number(number, position)
    except MappingError:
        return f"{number}-{position}"[-21:]  # shown only; the share's payload names the problem


def _share_of(row: Any, settings: SyncSettings, extras: Mapping[str, Any]) -> tuple[Share, int]:
    """The routed share this row is, and how many bills its settlement makes; MappingError when routing moved on."""
    shares = settlement_shares(row.settlement, settings, extras)
    for share in shares:
        if share.position == row.position and share.payee_id == row.payee_id:
            return share, len(shares)
    raise MappingError(f"Settlement {row.settlement.number} is no longer billed to {row.payee.name} as bill "
                       f"{row.position}; run a sync to route it again.")


def _build_share(row: Any, settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]) -> dict[str, Any]:
    share, bills = _share_of(row, settings, extras)
    return build_settlement_payload(row.settlement, settings, refs, extras.get("accounts", {}), share=share,
                                    payee=row.payee, bills=bills)


def _build_share_payment(row: Any, settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]
                         ) -> dict[str, Any]:
    share, _ = _share_of(row, settings, extras)
    return build_bill_payment_payload(number=row.doc_number, vendor_id=row.payee_id,
                                      vendor=payee_of(share, row.settlement, extras) or row.payee, bill_id=row.id,
                                      bill_qbo_ids=refs.settlement_shares, amount=share.net_pay,
                                      paid_on=row.settlement.paid_on, what="Settlement", settings=settings, refs=refs,
                                      blocker=EntityType.SETTLEMENT_SHARE.value)


def _share_view(entity_type: EntityType) -> Any:
    def view(record: Sequence[Any]) -> Select[Any]:
        query = (select(*record, cast(SettlementShare.doc_number, TEXT).label("number_or_name"),
                        cast(Vendor.name, TEXT).label("customer"),  # the party column: the fleet owner it pays
                        cast(null(), Integer).label("customer_id"),
                        SettlementShare.net_pay.label("amount"),
                        (SettlementShare.bill_date if entity_type is EntityType.SETTLEMENT_SHARE
                         else Settlement.paid_on).label("date"), NO_TEXT.label("email"))
                 .join(SettlementShare, and_(SyncRecord.entity_type == entity_type.value,
                                             SyncRecord.entity_id == SettlementShare.id)))
        return query.join(Settlement, Settlement.id == SettlementShare.settlement_id) \
            .join(Vendor, Vendor.id == SettlementShare.payee_id)
    return view


def _payees(session: Session, ids: list[int]) -> set[int]:
    return chunked_scalars(session, ids, lambda c: select(SettlementShare.payee_id).where(SettlementShare.id.in_(c)))


_SHARE_LOADS = (
    joinedload(SettlementShare.payee),
    joinedload(SettlementShare.settlement).joinedload(Settlement.driver),
    joinedload(SettlementShare.settlement).selectinload(Settlement.deductions)
    .joinedload(SettlementDeduction.deduction_code),
    *(joinedload(SettlementShare.settlement).options(option) for option in SETTLEMENT_LINES),
)


def _settlement_void(row: Any) -> bool:
    return str(row.settlement.status) == "void"


# A settlement voided in billing takes every one of its bills out of QuickBooks, split ones too.
SHARE_VOID = Voidable(is_void=_settlement_void, vendor_id=lambda row: int(row.payee_id))


def _billed(statuses: tuple[str, ...]) -> tuple[Any, ...]:
    return (SettlementShare.position >= 2,
            SettlementShare.settlement_id.in_(select(Settlement.id).where(Settlement.status.in_(statuses))))


SETTLEMENT_SHARE = EntitySpec(
    entity_type=EntityType.SETTLEMENT_SHARE, model=SettlementShare, request_code="ssh",
    build_payload=_build_share, natural_key=doc_number_key, record_name=lambda row: str(row.doc_number),
    switched_by=("sync_settlements",), ids_view=_share_view(EntityType.SETTLEMENT_SHARE),
    load_options=_SHARE_LOADS, load_extras=load_settlement_extras, extras_from_rows=True,
    depends_on=(EntityType.VENDOR, EntityType.SETTLEMENT),
    needs=lambda session, ids: {EntityType.VENDOR: _payees(session, ids)},
    fixed_at=lambda session, number, company_id: synced_at(
        session, EntityType.SETTLEMENT_SHARE, select(SettlementShare.id).where(SettlementShare.doc_number == number),
        company_id),
    searched_by=("number", "amount"), refs_field="settlement_shares",
    # In the file its settlement's own bill went to: every bill of one settlement is in one company.
    company_route=lambda: where_it_went(EntityType.SETTLEMENT, SettlementShare.settlement_id, to_driver_pay()),
    syncs_only=_billed(BILLED), voidable=SHARE_VOID,
    watched=Watched(amount=SettlementShare.net_pay, number=SettlementShare.doc_number, party=SettlementShare.payee_id),
    problems=ProblemTab(position=9, reference=SettlementShare.doc_number, amount=SettlementShare.net_pay,
                        record_date=SettlementShare.bill_date, joins=None, vendor_key=SettlementShare.payee_id,
                        payee=True, changed_at=SettlementShare.updated_at, named_by=SettlementShare.doc_number,
                        set_aside=True),
    derive_rows=derive_shares, rows_deleted=True,  # a settlement routed anew drops the shares it no longer has
)

SHARE_PAYMENT = EntitySpec(
    entity_type=EntityType.SHARE_PAYMENT, model=SettlementShare, request_code="shp",
    build_payload=_build_share_payment, natural_key=doc_number_key, record_name=lambda row: str(row.doc_number),
    switched_by=("sync_settlements",), ids_view=_share_view(EntityType.SHARE_PAYMENT),
    load_options=_SHARE_LOADS, load_extras=load_settlement_extras, extras_from_rows=True,
    depends_on=(EntityType.VENDOR, EntityType.SETTLEMENT_SHARE),
    needs=lambda session, ids: {EntityType.VENDOR: _payees(session, ids), EntityType.SETTLEMENT_SHARE: set(ids)},
    searched_by=("amount",), syncs_only=_billed(PAID), pulled_payments=True, rows_deleted=True,
    voidable=Voidable(is_void=_settlement_void, vendor_id=lambda row: int(row.payee_id), removes_twin=False),
    company_route=lambda: where_it_went(EntityType.SETTLEMENT_SHARE, SettlementShare.id, to_driver_pay()),
    problems=ProblemTab(position=12, reference=SettlementShare.doc_number, amount=SettlementShare.net_pay,
                        record_date=SettlementShare.bill_date, joins=None, vendor_key=SettlementShare.payee_id,
                        payee=True, changed_at=SettlementShare.updated_at, set_aside=True),
)
