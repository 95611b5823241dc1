"""Payables: vendors, settlements and carrier bills as QuickBooks Bills, and their payments as BillPayments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, Select, and_, case, cast, func, null, select
from sqlalchemy.orm import Session, joinedload, selectinload

from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.entities.common import NO_AMOUNT, NO_DATE, NO_TEXT, TEXT, chunked_scalars, synced_at
from qbcore.entities.routes import to_carrier_pay, to_driver_pay, vendor_route, where_it_went
from qbcore.entities.spec import EntitySpec, ImportFile, ProblemTab, Switch, Voidable, Watched
from qbcore.mapping.payables import (
    build_bill_payment_payload,
    build_carrier_bill_payload,
    build_settlement_payload,
    build_vendor_payload,
)
from qbcore.mapping.refs import QboRefs
from qbcore.mapping.routing import Share, routed_payees, split_settlement
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    EntityType,
    PayablesAccountMapping,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SettlementShare,
    SyncRecord,
    Truck,
    Vendor,
)
from qbcore.settings import SyncSettings

PAID = ("paid",)
VOID = "void"


def _is_void(row: Any) -> bool:
    return str(row.status) == VOID


def _first_share(column: Any) -> Any:
    """A column of the settlement's own bill as routed (share 1), for what a pull compares with QuickBooks."""
    return (select(column).where(SettlementShare.settlement_id == Settlement.id, SettlementShare.position == 1)
            .correlate(Settlement).scalar_subquery())


def routed_payee() -> Any:
    """Whom a settlement's own bill goes to, as SQL: its first share's payee as routed, else its driver."""
    return func.coalesce(_first_share(SettlementShare.payee_id), Settlement.driver_id)


def own_bill_amount() -> Any:
    """What a settlement's own bill owes, as SQL: its first share's net pay when routed, else its net pay."""
    return func.coalesce(_first_share(SettlementShare.net_pay), Settlement.net_pay)


def bill_payee(row: Any) -> int:
    """Whom a settlement's own bill went to: its first share's payee as routed, else its driver."""
    return int(row.shares[0].payee_id) if row.shares else int(row.driver_id)


SETTLEMENT_VOID = Voidable(is_void=_is_void, vendor_id=bill_payee)
CARRIER_BILL_VOID = Voidable(is_void=_is_void, vendor_id=lambda row: int(row.carrier_id))


def vendor_kind() -> Any:
    """What a vendor is, in words: driver, fleet owner (a fleet owner who also drives is both), or carrier."""
    return case((and_(Vendor.is_driver, Vendor.is_fleet_owner), "Driver and fleet owner"),
                (Vendor.is_driver, "Driver"), (Vendor.is_fleet_owner, "Fleet owner"), (Vendor.is_carrier, "Carrier"),
                else_="")


def open_bills_total() -> Any:
    """A vendor's stake (its Problem Sync amount): its finalized settlements and accepted carrier bills not yet paid."""
    settlements = (select(func.coalesce(func.sum(Settlement.net_pay), 0))
                   .where(Settlement.driver_id == Vendor.id, Settlement.status == "finalized")
                   .correlate(Vendor).scalar_subquery())
    bills = (select(func.coalesce(func.sum(CarrierBill.total), 0))
             .where(CarrierBill.carrier_id == Vendor.id, CarrierBill.status == "accepted")
             .correlate(Vendor).scalar_subquery())
    return settlements + bills


def doc_number_key(payload: dict[str, Any], _matching: str) -> tuple[str, str] | None:
    """DocNumber: bills and bill payments carry our number; a look-up keeps only the same vendor's (per vendor)."""
    return "DocNumber", payload["DocNumber"]


def load_accounts(session: Session, _rows: Mapping[int, Any], company_id: int) -> dict[str, Any]:
    """The account each pay and deduction code posts to in a company, by name (its own chart of accounts)."""
    accounts: dict[tuple[str, int], str] = {}
    for mapping in session.scalars(select(PayablesAccountMapping).where(
            PayablesAccountMapping.company_id == company_id)):
        name = mapping.qbo_account_name
        if not name:
            continue
        if mapping.pay_code_id is not None:
            accounts[("pay", mapping.pay_code_id)] = name
        elif mapping.deduction_code_id is not None:
            accounts[("deduction", mapping.deduction_code_id)] = name
    return {"accounts": accounts}


def load_settlement_extras(session: Session, rows: Mapping[int, Any], company_id: int) -> dict[str, Any]:
    """Accounts, and each settlement's payees as routed (share 1 first) with their vendors."""
    settlement_ids = sorted({getattr(row, "settlement_id", key) for key, row in rows.items()})
    payees: dict[int, list[int]] = {}
    for chunk in chunked(settlement_ids, SQL_IN_CHUNK):
        for settlement_id, payee_id in session.execute(
                select(SettlementShare.settlement_id, SettlementShare.payee_id)
                .where(SettlementShare.settlement_id.in_(chunk))
                .order_by(SettlementShare.settlement_id, SettlementShare.position)):
            payees.setdefault(settlement_id, []).append(payee_id)
    wanted = sorted({payee for ids in payees.values() for payee in ids})
    vendors = {vendor.id: vendor for chunk in chunked(wanted, SQL_IN_CHUNK)
               for vendor in session.scalars(select(Vendor).where(Vendor.id.in_(chunk)))}
    return {**load_accounts(session, rows, company_id), "payees": payees, "vendors": vendors}


def settlement_shares(settlement: Any, settings: SyncSettings, extras: Mapping[str, Any]) -> list[Share]:
    """The settlement's bills: to the payees it was routed to, or as Settings routes it when never routed yet."""
    payees = extras.get("payees", {}).get(settlement.id) or routed_payees(settlement, settings.settlement_vendor)
    return split_settlement(settlement, payees)


def payee_of(share: Share, settlement: Any, extras: Mapping[str, Any]) -> Any:
    """The vendor a share is billed to (its driver, or a fleet owner whose trucks ran its loads)."""
    if share.payee_id == settlement.driver_id:
        return settlement.driver
    known = extras.get("vendors", {}).get(share.payee_id)
    if known is not None:
        return known
    return next((load.truck.owner for load in share.loads if load.truck.owner_id == share.payee_id), None)


def _vendor_view(record: Sequence[Any]) -> Select[Any]:
    return (select(*record, cast(Vendor.name, TEXT).label("number_or_name"), NO_TEXT.label("customer"),
                   cast(null(), Integer).label("customer_id"), NO_AMOUNT.label("amount"), NO_DATE.label("date"),
                   cast(Vendor.email, TEXT).label("email"))
            .join(Vendor, and_(SyncRecord.entity_type == EntityType.VENDOR.value, SyncRecord.entity_id == Vendor.id)))


def _settlement_view(entity_type: EntityType) -> Any:
    def view(record: Sequence[Any]) -> Select[Any]:
        return (select(*record, cast(Settlement.number, TEXT).label("number_or_name"),
                       cast(Vendor.name, TEXT).label("customer"),  # the party column: whom its bill pays
                       cast(null(), Integer).label("customer_id"), own_bill_amount().label("amount"),
                       (Settlement.settlement_date if entity_type is EntityType.SETTLEMENT else Settlement.paid_on)
                       .label("date"), NO_TEXT.label("email"))
                .join(Settlement, and_(SyncRecord.entity_type == entity_type.value,
                                       SyncRecord.entity_id == Settlement.id))
                .join(Vendor, Vendor.id == routed_payee()))
    return view


def _carrier_bill_view(entity_type: EntityType) -> Any:
    def view(record: Sequence[Any]) -> Select[Any]:
        return (select(*record, cast(CarrierBill.carrier_invoice_number, TEXT).label("number_or_name"),
                       cast(Vendor.name, TEXT).label("customer"),  # the party column: the carrier it pays
                       cast(null(), Integer).label("customer_id"),
                       CarrierBill.total.label("amount"),
                       (CarrierBill.bill_date if entity_type is EntityType.CARRIER_BILL else CarrierBill.paid_on)
                       .label("date"), NO_TEXT.label("email"))
                .join(CarrierBill, and_(SyncRecord.entity_type == entity_type.value,
                                        SyncRecord.entity_id == CarrierBill.id))
                .join(Vendor, Vendor.id == CarrierBill.carrier_id))
    return view


def _settlement_needs(session: Session, ids: list[int]) -> Mapping[EntityType, set[int]]:
    # Its driver, and every fleet owner whose trucks ran its loads (any of them may be a payee).
    return {EntityType.VENDOR: chunked_scalars(session, ids, lambda c: select(Settlement.driver_id).where(
        Settlement.id.in_(c))) | chunked_scalars(session, ids, lambda c: select(Truck.owner_id).join(
            SettlementLoad, SettlementLoad.truck_id == Truck.id).where(SettlementLoad.settlement_id.in_(c)))}


# The eager loads routing and the bill's lines need: each load's row, pay lines and truck (with its owner).
SETTLEMENT_LINES = (
    selectinload(Settlement.loads).joinedload(SettlementLoad.load),
    selectinload(Settlement.loads).joinedload(SettlementLoad.truck).joinedload(Truck.owner),
    selectinload(Settlement.loads).selectinload(SettlementLoad.lines).joinedload(SettlementLine.pay_code),
)


def _carrier_bill_needs(session: Session, ids: list[int]) -> Mapping[EntityType, set[int]]:
    return {EntityType.VENDOR: chunked_scalars(session, ids, lambda c: select(CarrierBill.carrier_id).where(
        CarrierBill.id.in_(c)))}


def _build_vendor(row: Any, settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]) -> dict[str, Any]:
    return build_vendor_payload(row, settings, refs)


def _build_settlement(row: Any, settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]) -> dict[str, Any]:
    shares = settlement_shares(row, settings, extras)
    return build_settlement_payload(row, settings, refs, extras.get("accounts", {}), share=shares[0],
                                    payee=payee_of(shares[0], row, extras), bills=len(shares))


def _build_carrier_bill(row: Any, settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]
                        ) -> dict[str, Any]:
    return build_carrier_bill_payload(row, settings, refs, extras.get("accounts", {}))


def _build_settlement_payment(row: Any, settings: SyncSettings, refs: QboRefs, extras: Mapping[str, Any]
                              ) -> dict[str, Any]:
    # A split settlement's own bill (share 1) is paid here; the other shares' bills by their own payments.
    share = settlement_shares(row, settings, extras)[0]
    return build_bill_payment_payload(number=row.number, vendor_id=share.payee_id, vendor=payee_of(share, row, extras),
                                      bill_id=row.id, bill_qbo_ids=refs.settlements, amount=share.net_pay,
                                      paid_on=row.paid_on, what="Settlement", settings=settings, refs=refs)


def _build_carrier_payment(row: Any, settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]
                           ) -> dict[str, Any]:
    return build_bill_payment_payload(number=row.carrier_invoice_number, vendor_id=row.carrier_id, vendor=row.carrier,
                                      bill_id=row.id, bill_qbo_ids=refs.carrier_bills, amount=row.total,
                                      paid_on=row.paid_on, what="Carrier bill", settings=settings, refs=refs)


VENDOR = EntitySpec(
    entity_type=EntityType.VENDOR, model=Vendor, request_code="ven",
    build_payload=_build_vendor, natural_key=lambda payload, _m: ("DisplayName", payload["DisplayName"]),
    record_name=lambda row: str(row.name or row.code),
    any_of=("sync_settlements", "sync_carrier_bills"),  # vendors sync for driver pay or carrier pay
    ids_view=_vendor_view,
    fixed_at=lambda session, name, company_id: synced_at(
        session, EntityType.VENDOR, select(Vendor.id).where(Vendor.name == name), company_id),
    linked_by_name=True, searched_by=("name",), refs_field="vendors",
    company_route=vendor_route, linked_in_each_company=True,
    problems=ProblemTab(position=7, reference=Vendor.code, amount=open_bills_total(), record_date=Vendor.updated_at,
                        date_is_timestamp=True, joins=None, changed_at=Vendor.updated_at, named_by=Vendor.name,
                        payee=True),
    import_file=ImportFile("vendors", 5, "vendors.csv", "Vendors",
                           "One row per driver, fleet owner or carrier; matched by vendor_code."),
)

SETTLEMENT = EntitySpec(
    entity_type=EntityType.SETTLEMENT, model=Settlement, request_code="stl",
    build_payload=_build_settlement, natural_key=doc_number_key, record_name=lambda row: str(row.number),
    switch=Switch("sync_settlements", "Driver settlements"), ids_view=_settlement_view(EntityType.SETTLEMENT),
    load_options=(joinedload(Settlement.driver),
                  selectinload(Settlement.deductions).joinedload(SettlementDeduction.deduction_code),
                  *SETTLEMENT_LINES),
    load_extras=load_settlement_extras, extras_from_rows=True, depends_on=(EntityType.VENDOR,),
    needs=_settlement_needs,
    fixed_at=lambda session, number, company_id: synced_at(
        session, EntityType.SETTLEMENT, select(Settlement.id).where(Settlement.number == number), company_id),
    searched_by=("number", "amount"), refs_field="settlements", company_route=to_driver_pay,
    syncs_only=(Settlement.status.in_(("finalized", "paid")),),  # a draft waits until finalized; a void stays home
    voidable=SETTLEMENT_VOID,
    watched=Watched(amount=own_bill_amount(), number=Settlement.number, party=routed_payee()),
    # A bill entered by hand in QuickBooks can be cleared; one entered and paid there is marked paid without sync
    # (which sets its payment record aside too).
    problems=ProblemTab(position=8, reference=Settlement.number, amount=Settlement.net_pay,
                        record_date=Settlement.settlement_date, joins=None, vendor_key=routed_payee(),
                        payee=True, period=(Settlement.period_start, Settlement.period_end),
                        changed_at=Settlement.updated_at, named_by=Settlement.number, set_aside=True,
                        mark_paid=True),
    import_file=ImportFile("settlements", 6, "settlements.csv", "Settlement lines",
                           "One row per pay line or deduction; rows with the same settlement_number make one "
                           "settlement and repeat its header columns."),
)

CARRIER_BILL = EntitySpec(
    entity_type=EntityType.CARRIER_BILL, model=CarrierBill, request_code="cbl",
    build_payload=_build_carrier_bill, natural_key=doc_number_key,
    record_name=lambda row: str(row.carrier_invoice_number),
    switch=Switch("sync_carrier_bills", "Carrier bills"), ids_view=_carrier_bill_view(EntityType.CARRIER_BILL),
    load_options=(joinedload(CarrierBill.carrier), joinedload(CarrierBill.load),
                  selectinload(CarrierBill.lines).joinedload(CarrierBillLine.pay_code)),
    load_extras=load_accounts, depends_on=(EntityType.VENDOR,), needs=_carrier_bill_needs,
    fixed_at=lambda session, number, company_id: synced_at(
        session, EntityType.CARRIER_BILL, select(CarrierBill.id).where(CarrierBill.carrier_invoice_number == number),
        company_id),
    searched_by=("number", "amount"), refs_field="carrier_bills", company_route=to_carrier_pay,
    syncs_only=(CarrierBill.status.in_(("accepted", "paid")),),  # received and disputed bills wait, voids stay home
    voidable=CARRIER_BILL_VOID,
    watched=Watched(amount=CarrierBill.total, number=CarrierBill.carrier_invoice_number, party=CarrierBill.carrier_id),
    problems=ProblemTab(position=10, reference=CarrierBill.carrier_invoice_number, amount=CarrierBill.total,
                        record_date=CarrierBill.bill_date, joins=None, vendor_key=CarrierBill.carrier_id, payee=True,
                        changed_at=CarrierBill.updated_at, named_by=CarrierBill.carrier_invoice_number,
                        set_aside=True, mark_paid=True),
    import_file=ImportFile("carrier_bills", 7, "carrier_bills.csv", "Carrier bill lines",
                           "One row per charge line; rows with the same carrier_code and carrier_invoice_number "
                           "make one bill and repeat its header columns."),
)

SETTLEMENT_PAYMENT = EntitySpec(
    entity_type=EntityType.SETTLEMENT_PAYMENT, model=Settlement, request_code="spy",
    build_payload=_build_settlement_payment, natural_key=doc_number_key, record_name=lambda row: str(row.number),
    switched_by=("sync_settlements",),
    ids_view=_settlement_view(EntityType.SETTLEMENT_PAYMENT),
    load_options=(joinedload(Settlement.driver), selectinload(Settlement.deductions), *SETTLEMENT_LINES),
    load_extras=load_settlement_extras, extras_from_rows=True,
    depends_on=(EntityType.VENDOR, EntityType.SETTLEMENT),
    needs=lambda session, ids: {**_settlement_needs(session, ids), EntityType.SETTLEMENT: set(ids)},
    searched_by=("amount",), syncs_only=(Settlement.status.in_(PAID),),
    voidable=Voidable(is_void=_is_void, vendor_id=bill_payee, removes_twin=False),
    pulled_payments=True,  # a check or card payment entered in QuickBooks pays the settlement's bill
    # Paid in the file the bill is in, even after driver pay moved to another company.
    company_route=lambda: where_it_went(EntityType.SETTLEMENT, Settlement.id, to_driver_pay()),
    # Already paid in billing: a check written in QuickBooks by hand is cleared (with the reason), not "marked paid".
    problems=ProblemTab(position=11, reference=Settlement.number, amount=Settlement.net_pay,
                        record_date=Settlement.paid_on, joins=None, vendor_key=routed_payee(), payee=True,
                        changed_at=Settlement.updated_at, set_aside=True),
)

CARRIER_PAYMENT = EntitySpec(
    entity_type=EntityType.CARRIER_PAYMENT, model=CarrierBill, request_code="cbp",
    build_payload=_build_carrier_payment, natural_key=doc_number_key,
    record_name=lambda row: str(row.carrier_invoice_number),
    switched_by=("sync_carrier_bills",),
    ids_view=_carrier_bill_view(EntityType.CARRIER_PAYMENT), load_options=(joinedload(CarrierBill.carrier),),
    depends_on=(EntityType.VENDOR, EntityType.CARRIER_BILL),
    needs=lambda session, ids: {**_carrier_bill_needs(session, ids), EntityType.CARRIER_BILL: set(ids)},
    searched_by=("amount",), syncs_only=(CarrierBill.status.in_(PAID),),
    voidable=Voidable(is_void=_is_void, vendor_id=lambda row: int(row.carrier_id), removes_twin=False),
    pulled_payments=True,
    company_route=lambda: where_it_went(EntityType.CARRIER_BILL, CarrierBill.id, to_carrier_pay()),
    problems=ProblemTab(position=13, reference=CarrierBill.carrier_invoice_number, amount=CarrierBill.total,
                        record_date=CarrierBill.paid_on, joins=None, vendor_key=CarrierBill.carrier_id, payee=True,
                        changed_at=CarrierBill.updated_at, set_aside=True),
)
