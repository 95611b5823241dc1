"""QuickBooks companies: which ones there are, which is the default, which holds each pay function, adding one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.models import Company, QboConnection, Role
from qbcore.refusals import Refusal

NAME_MAX = 100


class CompanyRefused(Refusal, ValueError):
    """A company change the console declined (unknown company, a name taken or blank); nothing changed."""

    correctable = True


@dataclass(frozen=True)
class CompanyChoice:
    """A company as a selector lists it."""

    id: int
    name: str
    is_default: bool


def list_companies(session: Session) -> list[Company]:
    """Every company, the default first, then in the order they were added."""
    return list(session.scalars(select(Company).order_by(Company.is_default.desc(), Company.id)))


def company_choices(session: Session) -> list[CompanyChoice]:
    """The companies a selector offers (id, name, default)."""
    return [CompanyChoice(c.id, c.name, c.is_default) for c in list_companies(session)]


def has_several_companies(session: Session) -> bool:
    """True when more than one company exists (pages then show company columns and selectors)."""
    return (session.scalar(select(func.count()).select_from(Company)) or 0) > 1


def default_company(session: Session) -> Company:
    """The company new customers go to (every database has one: the upgrade and a fresh schema make it)."""
    company = session.scalar(select(Company).where(Company.is_default.is_(True)).order_by(Company.id).limit(1))
    if company is None:
        company = session.scalar(select(Company).order_by(Company.id).limit(1))
    if company is None:
        raise CompanyRefused("No QuickBooks company is set up; run `qbsync init`.")
    return company


def resolve_company_id(session: Session, company_id: int | None) -> int:
    """`company_id` when it names a company; the default company's id when None; CompanyRefused when unknown."""
    if company_id is None:
        return default_company(session).id
    if session.get(Company, company_id) is None:
        raise CompanyRefused(f"There is no QuickBooks company #{company_id}. Nothing was changed.")
    return company_id


def company_named(session: Session, name_or_id: str) -> Company:
    """A company by its id or its name (as typed on a command line); CompanyRefused when none matches."""
    text = name_or_id.strip()
    if text.isdigit() and (company := session.get(Company, int(text))) is not None:
        return company
    company = session.scalar(select(Company).where(func.lower(Company.name) == text.lower()))
    if company is None:
        names = ", ".join(f"{c.id} ({c.name})" for c in list_companies(session))
        raise CompanyRefused(f"No QuickBooks company is called {text!r}; the companies are {names}.")
    return company


def pay_company_id(session: Session, function: str) -> int:
    """The company that holds a pay function ("driver_pay" or "carrier_pay"); the default company if none does."""
    column = Company.driver_pay if function == "driver_pay" else Company.carrier_pay
    found = session.scalar(select(Company.id).where(column.is_(True)).order_by(Company.id).limit(1))
    return found if found is not None else default_company(session).id


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


def _holder(session: Session, role: str) -> int | None:
    return session.scalar(select(Company.id).where(getattr(Company, role).is_(True)).order_by(Company.id).limit(1))


def realm_owner(session: Session, realm_id: str) -> Company | None:
    """The company already connected to this QuickBooks realm, if any (a realm belongs to one company)."""
    return session.scalar(select(Company).join(QboConnection, QboConnection.company_id == Company.id)
                          .where(QboConnection.realm_id == realm_id))
