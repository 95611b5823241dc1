"""Read-only views of customers by QuickBooks company, for choosing the customer to move to another company."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from qbcore.models import Company, Customer


@dataclass(frozen=True)
class CustomerCompany:
    """A top-level customer and the company it belongs to (its sub-customers move with it)."""

    customer_id: int
    code: str
    name: str
    company_id: int
    company: str
    sub_customers: int


def list_movable_customers(session: Session, *, search: str = "", limit: int = 500) -> list[CustomerCompany]:
    """Top-level customers (a sub-customer moves with its parent) matching a name or code, by name."""
    child = aliased(Customer)
    children = select(func.count(child.id)).where(child.parent_id == Customer.id).scalar_subquery()
    query = (select(Customer.id, Customer.code, Customer.name, Company.id, Company.name, children)
             .join(Company, Company.id == Customer.company_id)
             .where(Customer.parent_id.is_(None)).order_by(Customer.name, Customer.id).limit(limit))
    text = search.strip().lower()
    if text:
        pattern = f"%{text}%"
        query = query.where(func.lower(Customer.name).like(pattern) | func.lower(Customer.code).like(pattern))
    return [CustomerCompany(cid, code, name, company_id, company, int(subs or 0))
            for cid, code, name, company_id, company, subs in session.execute(query)]
