"""Problem data for tests: turns a demo book's sync records into a realistic problem list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, cast, select, update
from sqlalchemy.orm import Session

from qbcore.models import EntityType, SyncAttempt, SyncRecord, SyncStatus

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SECRET_REQUEST = ('POST /v3/company/1/invoice?requestid=r-1\nAuthorization: Bearer eyJhbGciOi.abcDEFghi.jkl123\n'
                  '{"DocNumber": "INV-1", "access_token": "tok-secret-123"}')

# (how many, status, kind, code, blocked_by, message), applied to invoice sync records in id order.
INVOICE_PROBLEMS = [
    (10, SyncStatus.FAILED, "mapping", None, "charge_code:CHASSIS", "Charge code CHASSIS has no QuickBooks item"),
    (4, SyncStatus.FAILED, "duplicate", "6240", "customer:ACME Logistics", "Duplicate Name Exists Error"),
    (3, SyncStatus.FAILED, "closed_period", "6200", None, "Closed period: the date is before the closing date"),
    (3, SyncStatus.BLOCKED, "dependency", None, "customer:Atlas Import Group", "Waiting for the customer"),
    (2, SyncStatus.OUT_OF_DATE, None, None, None, None),
    (2, SyncStatus.PENDING, None, None, None, None),
]


@dataclass(frozen=True)
class ProblemBook:
    """Which sync-record ids were made into problems, by entity."""

    invoices: list[int]
    chassis: list[int]
    payments: list[int]
    customers: list[int]
    credit_memos: list[int]


def _ids(session: Session, entity: EntityType) -> list[int]:
    return list(session.scalars(select(SyncRecord.id).where(SyncRecord.entity_type == entity.value)
                                .order_by(SyncRecord.id)))


def _mark(session: Session, ids: list[int], status: SyncStatus, kind: str | None, code: str | None,
          blocked_by: str | None, message: str | None, age_days: int = 5) -> None:
    failed = status in (SyncStatus.FAILED, SyncStatus.BLOCKED)
    for offset, record_id in enumerate(ids):
        session.execute(update(SyncRecord).where(SyncRecord.id == record_id).values(
            status=status.value, error_kind=kind, error_code=code, blocked_by=blocked_by, error_message=message,
            attempts=2 if failed else 0,
            first_failed_at=NOW - timedelta(days=age_days + offset) if failed else None,
            last_attempt_at=NOW - timedelta(hours=offset + 1) if failed else None,
        ))


def seed_problems(session: Session) -> ProblemBook:
    """Mark a fixed set of records as problems and every other record as synced."""
    session.execute(update(SyncRecord).values(
        status=SyncStatus.SYNCED.value, qbo_id=cast(SyncRecord.id, String), last_synced_at=NOW - timedelta(days=1)))
    invoices = _ids(session, EntityType.INVOICE)
    position, made = 0, []
    for count, status, kind, code, blocked_by, message in INVOICE_PROBLEMS:
        ids = invoices[position:position + count]
        _mark(session, ids, status, kind, code, blocked_by, message)
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids)).values(qbo_id=None))
        made.extend(ids)
        position += count
    first = invoices[0]
    session.execute(update(SyncRecord).where(SyncRecord.id == first).values(
        last_request=SECRET_REQUEST, last_response='{"Fault": {"Error": [{"code": "2500"}]}}', request_id="r-1"))
    session.add_all([
        SyncAttempt(sync_record_id=first, at=NOW - timedelta(days=5), outcome="failed", error_kind="mapping",
                    message="Charge code CHASSIS has no QuickBooks item", request_id="r-1"),
        SyncAttempt(sync_record_id=first, at=NOW - timedelta(hours=1), outcome="failed", error_kind="mapping",
                    message="Charge code CHASSIS has no QuickBooks item", request_id="r-1"),
    ])
    payments = _ids(session, EntityType.PAYMENT)[:3]
    _mark(session, payments, SyncStatus.FAILED, "validation", "6000", None, "A business validation error occurred")
    customers = _ids(session, EntityType.CUSTOMER)[:2]
    _mark(session, customers, SyncStatus.FAILED, "duplicate", "6240", None, "Duplicate Name Exists Error")
    credit_memos = _ids(session, EntityType.CREDIT_MEMO)[:1]
    _mark(session, credit_memos, SyncStatus.FAILED, "not_found", "610", "item:DETENTION", "Object Not Found")
    session.flush()
    return ProblemBook(invoices=made, chassis=invoices[:10], payments=payments, customers=customers,
                       credit_memos=credit_memos)


@dataclass(frozen=True)
class EveryEntityBook:
    """The problem book plus failed and blocked credit applications and charge codes (items)."""

    book: ProblemBook
    credit_applications: list[int]
    items: list[int]


def seed_every_entity(session: Session) -> EveryEntityBook:
    """seed_problems, then problems on the two entities without a tab before: credit applications and items."""
    book = seed_problems(session)
    applications = _ids(session, EntityType.CREDIT_APPLICATION)[:3]
    assert len(applications) == 3, "the demo book has credit applications"
    _mark(session, applications[:2], SyncStatus.BLOCKED, "dependency", None, "invoice:INV-100001",
          "The invoice is not in QuickBooks yet")
    _mark(session, applications[2:], SyncStatus.FAILED, "validation", "6000", None,
          "A business validation error occurred")
    items = _ids(session, EntityType.ITEM)[:1]
    _mark(session, items, SyncStatus.BLOCKED, "mapping", None, "account:income", "No income account chosen")
    session.execute(update(SyncRecord).where(SyncRecord.id.in_(applications + items)).values(qbo_id=None))
    session.flush()
    return EveryEntityBook(book=book, credit_applications=applications, items=items)


@dataclass(frozen=True)
class PayablesBook:
    """Payables problems on top of the problem book (payables switched on): sync-record ids by what went wrong."""

    book: ProblemBook
    clashing_vendor: int  # a driver QuickBooks refuses (6240: a customer has the name)
    clashing_name: str
    waiting_for_vendor: list[int]  # that driver's settlements, blocked by him
    unmapped: list[int]  # settlements blocked by an unmapped pay code
    missing_account: list[int]  # carrier bills blocked by an account QuickBooks does not have
    no_bank: list[int]  # settlement payments blocked by the bank account to pay from


def seed_payables(session: Session) -> PayablesBook:
    """seed_problems, payables switched on, and a vendor clash, an unmapped pay code and missing accounts planted."""
    from sqlalchemy import delete

    from qbcore.access import LOCAL_ADMIN
    from qbcore.models import CarrierBill, PayablesAccountMapping, PayCode, Settlement, Vendor
    from qbcore.settings import save_settings

    book = seed_problems(session)
    # Detention pay is left unmapped, as a new pay code is until someone maps it.
    session.execute(delete(PayablesAccountMapping).where(PayablesAccountMapping.pay_code_id == select(PayCode.id).where(
        PayCode.code == "DET").scalar_subquery()))
    save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
    records = {entity: dict(session.execute(select(SyncRecord.entity_id, SyncRecord.id).where(
        SyncRecord.entity_type == entity.value)).all()) for entity in
        (EntityType.VENDOR, EntityType.SETTLEMENT, EntityType.CARRIER_BILL, EntityType.SETTLEMENT_PAYMENT)}
    driver_id, name = session.execute(select(Vendor.id, Vendor.name).where(Vendor.is_driver).order_by(Vendor.id)
                                      .limit(1)).one()
    vendor = records[EntityType.VENDOR][driver_id]
    _mark(session, [vendor], SyncStatus.FAILED, "duplicate", "6240", None,
          "Duplicate Name Exists Error: The name supplied already exists.")
    theirs = list(session.scalars(select(Settlement.id).where(Settlement.driver_id == driver_id,
                                                               Settlement.status != "draft").order_by(Settlement.id)))
    waiting = [records[EntityType.SETTLEMENT][i] for i in theirs[:2]]
    _mark(session, waiting, SyncStatus.BLOCKED, "dependency", None, f"vendor:{name}",
          f"The vendor {name!r} is not in QuickBooks yet.")
    others = list(session.scalars(select(Settlement.id).where(Settlement.driver_id != driver_id,
                                                               Settlement.status != "draft").order_by(Settlement.id)))
    unmapped = [records[EntityType.SETTLEMENT][i] for i in others[:3]]
    _mark(session, unmapped, SyncStatus.BLOCKED, "mapping", None, "pay_code:DET",
          "Pay code DET has no QuickBooks expense account.")
    bills = list(session.scalars(select(CarrierBill.id).where(CarrierBill.status.in_(("accepted", "paid")))
                                 .order_by(CarrierBill.id)))
    missing = [records[EntityType.CARRIER_BILL][i] for i in bills[:2]]
    _mark(session, missing, SyncStatus.BLOCKED, "mapping", None, "account:Fuel Cards",
          "QuickBooks has no account named 'Fuel Cards'.")
    paid = [records[EntityType.SETTLEMENT_PAYMENT][i] for i in sorted(records[EntityType.SETTLEMENT_PAYMENT])[:1]]
    _mark(session, paid, SyncStatus.BLOCKED, "mapping", None, "account:Checking",
          "QuickBooks has no bank account named 'Checking' to pay bills from.")
    session.execute(update(SyncRecord).where(SyncRecord.id.in_([vendor, *waiting, *unmapped, *missing, *paid]))
                    .values(qbo_id=None))
    session.flush()
    return PayablesBook(book=book, clashing_vendor=vendor, clashing_name=name, waiting_for_vendor=waiting,
                        unmapped=unmapped, missing_account=missing, no_bank=paid)
