"""Company routes: which QuickBooks company each billing row posts to, as conditions over `companies`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased

from qbcore.models import Company, Customer, EntityType, SyncRecord, Vendor


def _holder(flag: str) -> ColumnElement[Any]:
    """The company holding a pay function, or the default company when none does (as SQL)."""
    holder = aliased(Company)
    fallback = aliased(Company)
    chosen = select(holder.id).where(getattr(holder, flag).is_(True)).order_by(holder.id).limit(1).scalar_subquery()
    default = select(fallback.id).where(fallback.is_default.is_(True)).order_by(fallback.id).limit(1) \
        .scalar_subquery()
    return func.coalesce(chosen, default)


def to_customers_company(customer_id: Any) -> ColumnElement[bool]:
    """A document of a customer goes to the company the customer belongs to."""
    owner = aliased(Customer)
    return Company.id == select(owner.company_id).where(owner.id == customer_id).correlate_except(owner) \
        .scalar_subquery()


def to_own_company() -> ColumnElement[bool]:
    """A customer goes to its own company."""
    return Company.id == Customer.company_id


def to_driver_pay() -> ColumnElement[bool]:
    """Driver settlements (and their payments) go to the company that holds driver pay."""
    return Company.id == _holder("driver_pay")


def to_carrier_pay() -> ColumnElement[bool]:
    """Carrier bills (and their payments) go to the company that holds carrier pay."""
    return Company.id == _holder("carrier_pay")


def vendor_route() -> ColumnElement[bool]:
    """A vendor is in the driver-pay company when it drives or owns trucks, in the carrier-pay company if a carrier."""
    return or_(and_(or_(Vendor.is_driver.is_(True), Vendor.is_fleet_owner.is_(True)), to_driver_pay()),
               and_(Vendor.is_carrier.is_(True), to_carrier_pay()))


def where_it_went(entity_type: EntityType, entity_id: Any, otherwise: ColumnElement[bool]) -> ColumnElement[bool]:
    """A payment goes to the company its bill (or credit memo) went to; before that has a record, as `otherwise`."""
    linked = aliased(SyncRecord)
    went = select(linked.company_id).where(linked.entity_type == entity_type.value, linked.entity_id == entity_id) \
        .order_by(linked.id).limit(1).correlate_except(linked).scalar_subquery()
    return or_(Company.id == went, and_(went.is_(None), otherwise))
