"""The demo book split between two QuickBooks companies: an asset carrier's file and a brokerage's file."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from qbcore.models import CarrierBill, Company, Customer, Load, PayablesAccountMapping

CARRIER = "Carrier"
BROKERAGE = "Brokerage"


def split_demo_companies(session: Session) -> dict[str, int]:
    """Rename the first company Carrier, add Brokerage, and give it the customers whose freight was brokered.

    The third of the customers whose loads went most often to outside carriers (carrier bills) are brokerage
    customers, with their sub-customers; carrier pay goes to the Brokerage file, driver pay stays with the
    Carrier. The Brokerage maps every pay and deduction code to the account of the same name in its own chart of
    accounts (the one the Carrier leaves unmapped stays unmapped there too). Returns customers per company name.
    Call before sync records are made, on a fresh demo book.
    """
    first = session.scalars(select(Company).order_by(Company.id)).first()
    assert first is not None
    first.name = CARRIER
    brokerage = Company(name=BROKERAGE, is_default=False, driver_pay=False, carrier_pay=True,
                        created_by="qbsync demo")
    session.add(brokerage)
    session.flush()
    first.carrier_pay = False
    columns = (PayablesAccountMapping.pay_code_id, PayablesAccountMapping.deduction_code_id,
               PayablesAccountMapping.qbo_account_name)
    copied = [dict(zip(("pay_code_id", "deduction_code_id", "qbo_account_name"), row, strict=True))
              for row in session.execute(select(*columns).where(PayablesAccountMapping.company_id == first.id))]
    if copied:
        session.execute(insert(PayablesAccountMapping), [{**row, "company_id": brokerage.id} for row in copied])
    # The third of the (top-level) customers whose loads most often went to outside carriers.
    loads = dict(session.execute(select(Load.customer_id, func.count()).group_by(Load.customer_id)).all())
    brokered = dict(session.execute(select(Load.customer_id, func.count()).join(
        CarrierBill, CarrierBill.load_id == Load.id).group_by(Load.customer_id)).all())
    every = list(session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)))
    ranked = sorted(every, key=lambda c: (-brokered.get(c, 0) / max(loads.get(c, 0), 1), c))
    tops = set(ranked[:max(1, len(every) // 3)]) if len(every) > 1 else set()
    family, frontier = set(tops), set(tops)
    while frontier:
        frontier = set(session.scalars(select(Customer.id).where(Customer.parent_id.in_(frontier)))) - family
        family |= frontier
    session.execute(update(Customer).where(Customer.id.in_(family)).values(company_id=brokerage.id)
                    .execution_options(synchronize_session=False))
    count = session.scalar(select(func.count()).select_from(Customer)) or 0
    return {CARRIER: count - len(family), BROKERAGE: len(family)}
