"""Reading back what a sync left behind, in our database and in the sandbox."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.db import transaction
from qbcore.demo_conflicts import UNMAPPED_PAY_CODE
from qbcore.models import Company, Customer, EntityType, Invoice, PayablesAccountMapping, PayCode, SyncRecord
from qbcore.qbo.gateway import RetryPolicy
from qbcore.settings import save_settings

PAYABLES_ON = {"sync_settlements": True, "sync_carrier_bills": True}  # off by default: finance turns them on


def turn_on_payables(factory: sessionmaker[Session], *, keep_planted_gap: bool = False) -> None:
    """Driver pay and carrier pay on, as a finance admin does once every pay code has its account.

    The demo leaves one pay code unmapped (a planted conflict); `keep_planted_gap` leaves it so.
    """
    with transaction(factory) as session:
        save_settings(session, LOCAL_ADMIN, PAYABLES_ON)
    if not keep_planted_gap:
        map_demo_pay_code(factory)


def map_demo_pay_code(factory: sessionmaker[Session], account: str = "Driver Pay",
                      company_id: int | None = None) -> None:
    """Give the pay code the demo leaves unmapped its account in a company, or in every company when None (once;
    nothing when the book has no such code)."""
    with transaction(factory) as session:
        code_id = session.scalar(select(PayCode.id).where(PayCode.code == UNMAPPED_PAY_CODE))
        if code_id is None:
            return
        mapped = set(session.scalars(select(PayablesAccountMapping.company_id).where(
            PayablesAccountMapping.pay_code_id == code_id)))
        wanted = [company_id] if company_id is not None else list(session.scalars(select(Company.id)))
        for company in wanted:
            if company not in mapped:
                session.add(PayablesAccountMapping(company_id=company, pay_code_id=code_id, qbo_account_name=account))


def copy_pay_code_accounts(factory: sessionmaker[Session], to_company: int, from_company: int = 1) -> None:
    """Map every code in a company to the account of the same name another company maps it to (each company has
    its own chart of accounts; the sandbox's share their names), as an admin does for a new pay company."""
    with transaction(factory) as session:
        rows = session.execute(select(PayablesAccountMapping.pay_code_id, PayablesAccountMapping.deduction_code_id,
                                      PayablesAccountMapping.qbo_account_name)
                               .where(PayablesAccountMapping.company_id == from_company)).all()
        session.add_all(PayablesAccountMapping(company_id=to_company, pay_code_id=pay, deduction_code_id=deduction,
                                               qbo_account_name=name) for pay, deduction, name in rows)


FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05, throttle_delay_s=0.05)


def statuses(factory: sessionmaker[Session], entity_type: EntityType | None = None) -> Counter[str]:
    """How many records per status."""
    with factory() as session:
        query = select(SyncRecord.status)
        if entity_type is not None:
            query = query.where(SyncRecord.entity_type == entity_type.value)
        return Counter(session.scalars(query))


def record_of(session: Session, entity_type: EntityType, entity_id: int) -> SyncRecord:
    """The sync record of one billing row."""
    return session.scalars(select(SyncRecord).where(
        SyncRecord.entity_type == entity_type.value, SyncRecord.entity_id == entity_id)).one()


def invoice_numbers(factory: sessionmaker[Session]) -> list[str]:
    """Every demo invoice number."""
    with factory() as session:
        return list(session.scalars(select(Invoice.number).order_by(Invoice.id)))


def customer_named(session: Session, name: str) -> Customer:
    """A demo customer by name."""
    return session.scalars(select(Customer).where(Customer.name == name)).one()
