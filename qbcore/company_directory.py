"""The company directory: which QuickBooks companies there are, the default one, who holds each pay function."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qbcore.models import Company, QboConnection
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


def realm_owner(session: Session, realm_id: str) -> Company | None:
    """The company already connected to this QuickBooks realm, if any (a realm belongs to one company)."""
    return session.scalar(select(Company).join(QboConnection, QboConnection.company_id == Company.id)
                          .where(QboConnection.realm_id == realm_id))
