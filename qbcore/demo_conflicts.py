"""What the demo plants in a fresh local QuickBooks so its first sync meets real-world problems."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.models import Customer, Invoice, Settlement, Vendor

# The customer the demo's QuickBooks company already knows as a vendor (a 6240 name clash).
CLASHING_VENDOR = "ACME Logistics"
# The charge code whose QuickBooks item someone made inactive.
INACTIVE_CHARGE_CODE = "HAZMAT"
# The pay code the demo book leaves without a QuickBooks expense account (Settings → Pay codes maps it).
UNMAPPED_PAY_CODE = "PERDIEM"


def demo_closing_date(first_invoice_day: date) -> date:
    """The closing date the demo's QuickBooks gets: the last day of the book's first month."""
    return (first_invoice_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def first_invoice_day(session: Session) -> date | None:
    """The day of the book's first invoice (the demo's closed month is that one)."""
    return session.scalar(select(func.min(Invoice.invoice_date)))


def clashing_driver(session: Session) -> str | None:
    """The driver the demo's QuickBooks already knows as a customer: the first with a settlement that syncs."""
    return session.scalar(
        select(Vendor.name).join(Settlement, Settlement.driver_id == Vendor.id)
        .where(Vendor.is_driver, ~Vendor.is_fleet_owner, Settlement.status.in_(("finalized", "paid")))
        .order_by(Vendor.id).limit(1))


def plan_demo_conflicts(session: Session) -> dict[str, Any]:
    """What to plant in a fresh local QuickBooks so the demo's first sync meets real-world problems."""
    first_day = first_invoice_day(session)
    if first_day is None:
        return {}
    # A recent invoice someone already keyed into QuickBooks by hand, for another customer and amount.
    keyed = session.execute(
        select(Invoice.number, Invoice.invoice_date).join(Customer, Customer.id == Invoice.customer_id)
        .where(Customer.name != CLASHING_VENDOR)
        .order_by(Invoice.invoice_date.desc(), Invoice.id.desc()).offset(5).limit(1)
    ).first()
    month_end = demo_closing_date(first_day)
    plan: dict[str, Any] = {
        "vendors": [CLASHING_VENDOR],
        "items": [INACTIVE_CHARGE_CODE],
        "inactive_items": [INACTIVE_CHARGE_CODE],
        "closing_date": month_end.isoformat(),
    }
    driver = clashing_driver(session)
    if driver is not None:
        # Someone keyed this driver into QuickBooks as a customer (to bill him a damage claim): the vendor clashes.
        plan["customers"] = [driver]
    if keyed is not None:
        plan["invoices"] = [{"DocNumber": keyed.number, "CustomerName": "Walk-in Customer", "Amount": 125.0,
                             "TxnDate": keyed.invoice_date.isoformat()}]
    return plan
