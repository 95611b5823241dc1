"""What the demo plants in a fresh local QuickBooks so its first sync meets real-world problems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.models import Customer, Invoice

# The customer the demo's QuickBooks company already knows as a vendor (a 6240 name clash).
CLASHING_VENDOR = "ACME Logistics"
# The charge code whose QuickBooks item someone made inactive.
INACTIVE_CHARGE_CODE = "HAZMAT"


def plan_demo_conflicts(session: Session) -> dict[str, Any]:
    """What to plant in a fresh local QuickBooks so the demo's first sync meets real-world problems."""
    first_day = session.scalar(select(func.min(Invoice.invoice_date)))
    if first_day is None:
        return {}
    # A recent invoice someone already keyed into QuickBooks by hand, for another customer and amount.
    keyed = session.execute(
        select(Invoice.number, Invoice.invoice_date).join(Customer, Customer.id == Invoice.customer_id)
        .where(Customer.name != CLASHING_VENDOR)
        .order_by(Invoice.invoice_date.desc(), Invoice.id.desc()).offset(5).limit(1)
    ).first()
    month_end = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    plan: dict[str, Any] = {
        "vendors": [CLASHING_VENDOR],
        "items": [INACTIVE_CHARGE_CODE],
        "inactive_items": [INACTIVE_CHARGE_CODE],
        "closing_date": month_end.isoformat(),
    }
    if keyed is not None:
        plan["invoices"] = [{"DocNumber": keyed.number, "CustomerName": "Walk-in Customer", "Amount": 125.0,
                             "TxnDate": keyed.invoice_date.isoformat()}]
    return plan
