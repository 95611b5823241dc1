"""Changing the QuickBooks companies: adding and renaming one, the default company and the pay functions."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.company_directory import (
    NAME_MAX,
    CompanyChoice,
    CompanyRefused,
    company_choices,
    company_named,
    default_company,
    has_several_companies,
    list_companies,
    pay_company_id,
    realm_owner,
    resolve_company_id,
)
from qbcore.models import Company, Role
from qbcore.sync.records import ensure_sync_records, reroute_open_records

__all__ = [
    "NAME_MAX",
    "CompanyChoice",
    "CompanyRefused",
    "add_company",
    "company_choices",
    "company_named",
    "default_company",
    "has_several_companies",
    "list_companies",
    "pay_company_id",
    "realm_owner",
    "rename_company",
    "resolve_company_id",
    "set_company_roles",
]


def _clean_name(session: Session, name: str, *, except_id: int | None = None) -> str:
    text = " ".join((name or "").split())[:NAME_MAX]
    if not text:
        raise CompanyRefused("Give the company a name (for example Carrier or Brokerage). Nothing was changed.")
    taken = session.scalar(select(Company.id).where(func.lower(Company.name) == text.lower()))
    if taken is not None and taken != except_id:
        raise CompanyRefused(f"A company is already called {text!r}; choose another name. Nothing was changed.")
    return text


def add_company(session: Session, actor: Actor, name: str) -> Company:
    """Add a QuickBooks company (admin only, audited); connect it in Settings afterwards."""
    require_role(actor, Role.ADMIN, "add_company", session=session, target_type="company")
    company = Company(name=_clean_name(session, name), is_default=False, driver_pay=False, carrier_pay=False,
                      created_by=actor.email)
    session.add(company)
    session.flush()
    write_audit(session, actor, "add_company", target_type="company", target_id=company.id,
                after={"name": company.name}, company_id=company.id)
    ensure_sync_records(session)  # its charge codes, as items to create or match there
    return company


def rename_company(session: Session, actor: Actor, company_id: int, name: str) -> Company:
    """Rename a company as the console shows it (admin only, audited); QuickBooks' own name is not changed."""
    require_role(actor, Role.ADMIN, "rename_company", session=session, target_type="company",
                 target_id=str(company_id))
    company = session.get(Company, resolve_company_id(session, company_id))
    assert company is not None
    before = company.name
    company.name = _clean_name(session, name, except_id=company.id)
    write_audit(session, actor, "rename_company", target_type="company", target_id=company.id,
                before={"name": before}, after={"name": company.name}, company_id=company.id)
    return company


def set_company_roles(session: Session, actor: Actor, *, default_id: int | None = None,
                      driver_pay_id: int | None = None, carrier_pay_id: int | None = None) -> None:
    """Choose the default company for new customers and the company of each pay function (admin only, audited)."""
    require_role(actor, Role.ADMIN, "set_company_roles", session=session, target_type="company")
    changes = {"is_default": default_id, "driver_pay": driver_pay_id, "carrier_pay": carrier_pay_id}
    before = {role: _holder(session, role) for role in changes}
    for role, company_id in changes.items():
        if company_id is None:
            continue
        resolve_company_id(session, company_id)
        column = getattr(Company, role)
        session.execute(update(Company).values({column: Company.id == company_id}))
    after = {role: _holder(session, role) for role in changes}
    if after != before:
        write_audit(session, actor, "set_company_roles", target_type="company", before=before, after=after)
        # Open settlements and bills (and their vendors) go to the pay function's new company; what is in
        # QuickBooks already, or may be, stays where it is.
        reroute_open_records(session)
        ensure_sync_records(session)


def _holder(session: Session, role: str) -> int | None:
    return session.scalar(select(Company.id).where(getattr(Company, role).is_(True)).order_by(Company.id).limit(1))
