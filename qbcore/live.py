"""What pages ask of QuickBooks live: the gateway is opened here, never in a page, and failures become Refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore import id_changes
from qbcore.access import Actor
from qbcore.config import Config, ConfigError
from qbcore.customer_names import NameChange, set_qbo_display_name
from qbcore.errors import QboCallError
from qbcore.item_mappings import ChargeCodeMapping, create_missing_item
from qbcore.models import Customer, SyncRecord
from qbcore.payables_accounts import CodeAccountChange, map_code_account
from qbcore.pull.runner import refresh_book_close_date
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.lookup import QboLists, open_gateway, read_qbo_lists
from qbcore.qbo.oauth import AuthorizationError, complete_authorization, disconnect, start_authorization
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.reconcile import PayablesReconciliation, Reconciliation, reconcile, reconcile_payables
from qbcore.refusals import QuickBooksUnavailable
from qbcore.vendor_names import VendorNameChange, set_vendor_qbo_name

__all__ = [
    "AuthorizationError",
    "QboLists",
    "check_override",
    "compare_payables",
    "compare_receivables",
    "complete_authorization",
    "create_item",
    "disconnect",
    "find_relink_candidates",
    "map_code_to_account",
    "override_qbo_id",
    "read_close_date",
    "read_lists",
    "rename_customer_in_quickbooks",
    "start_authorization",
]

T = TypeVar("T")


def _ask(factory: sessionmaker[Session], config: Config, call: Callable[[QboGateway], T], *, doing: str,
         refused: str | None = None, company_id: int | None = None) -> T:
    """Run one call against a company's QuickBooks; no connection or a QuickBooks error is QuickBooksUnavailable."""
    try:
        return call(open_gateway(factory, config, company_id))
    except (NotConnected, ReconnectRequired, ConfigError) as exc:
        raise QuickBooksUnavailable(f"{doing}: {exc}", action=doing) from None
    except QboCallError as exc:
        raise QuickBooksUnavailable(f"{refused or doing}: {exc.error.message}", action=doing) from None


def read_lists(factory: sessionmaker[Session], config: Config, company_id: int | None = None) -> QboLists:
    """A company's items, income accounts, classes, locations, terms and custom fields for the Settings pickers."""
    return _ask(factory, config, read_qbo_lists, doing="Could not read lists from QuickBooks", company_id=company_id)


def create_item(factory: sessionmaker[Session], config: Config, actor: Actor, charge_code_id: int, *,
                name: str | None, income_account_id: str | None, company_id: int | None = None
                ) -> ChargeCodeMapping:
    """Create (or re-link) the charge code's QuickBooks item in a company and map it; admin only."""
    return create_missing_item(factory, open_gateway(factory, config, company_id), actor, charge_code_id, name=name,
                               income_account_id=income_account_id)


def map_code_to_account(factory: sessionmaker[Session], config: Config, actor: Actor, kind: str, code_id: int,
                        account_id: str | None, company_id: int | None = None) -> CodeAccountChange:
    """Map a pay or deduction code to an expense account of a company, checked in its QuickBooks first; admin only."""
    return map_code_account(factory, open_gateway(factory, config, company_id), actor, kind, code_id, account_id,
                            company_id)


def rename_customer_in_quickbooks(factory: sessionmaker[Session], config: Config, actor: Actor, customer_id: int,
                                  name: str | None, *, reason: str | None) -> NameChange:
    """Give a customer its own QuickBooks display name, checked live for clashes; admin only, audited."""
    with factory() as session:
        company_id = session.scalar(select(Customer.company_id).where(Customer.id == customer_id))
    return set_qbo_display_name(factory, open_gateway(factory, config, company_id), actor, customer_id, name,
                                reason=reason)


def rename_vendor_in_quickbooks(factory: sessionmaker[Session], config: Config, actor: Actor, vendor_id: int,
                                name: str | None, *, reason: str | None) -> VendorNameChange:
    """Give a vendor its own QuickBooks display name, checked live in each company it is in; admin only, audited."""
    return set_vendor_qbo_name(factory, lambda company_id: open_gateway(factory, config, company_id), actor,
                               vendor_id, name, reason=reason)


def _record_gateway(factory: sessionmaker[Session], config: Config, record_id: int) -> QboGateway:
    """A gateway to the company a sync record belongs to: its QuickBooks id means something only there."""
    with factory() as session:
        company_id = session.scalar(select(SyncRecord.company_id).where(SyncRecord.id == record_id))
    return open_gateway(factory, config, company_id)


def check_override(factory: sessionmaker[Session], config: Config, record_id: int,
                   new_qbo_id: str | None) -> id_changes.OverrideCheck:
    """Our record beside the QuickBooks record a typed id points at (IdChangeRefused when it cannot be ours)."""
    with factory() as session:
        return id_changes.check_override(session, _record_gateway(factory, config, record_id), record_id, new_qbo_id)


def override_qbo_id(factory: sessionmaker[Session], config: Config, actor: Actor, record_id: int,
                    new_qbo_id: str | None, *, reason: str | None,
                    confirmation: str | None = None) -> id_changes.IdChange:
    """Point a record at another QuickBooks record of its company, checked live again; admin only, audited."""
    return id_changes.override_qbo_id(factory, _record_gateway(factory, config, record_id), actor, record_id,
                                      new_qbo_id, reason=reason, confirmation=confirmation)


def find_relink_candidates(factory: sessionmaker[Session], config: Config, record_id: int
                           ) -> list[id_changes.RelinkCandidate]:
    """QuickBooks records of the record's company that may be its twin, best first."""
    with factory() as session:
        return id_changes.find_relink_candidates(session, _record_gateway(factory, config, record_id), record_id)


def compare_receivables(factory: sessionmaker[Session], config: Config,
                        company_id: int | None = None) -> Reconciliation:
    """Every QuickBooks invoice of a company against ours, record by record."""
    return _ask(factory, config, lambda gateway: reconcile(factory, gateway), doing="QuickBooks is not connected",
                refused="QuickBooks refused the comparison", company_id=company_id)


def compare_payables(factory: sessionmaker[Session], config: Config,
                     company_id: int | None = None) -> PayablesReconciliation:
    """Every QuickBooks bill of a company against our settlements and carrier bills, bill by bill."""
    return _ask(factory, config, lambda gateway: reconcile_payables(factory, gateway),
                doing="QuickBooks is not connected", refused="QuickBooks refused the comparison", company_id=company_id)


def read_close_date(factory: sessionmaker[Session], config: Config, company_id: int | None = None) -> date | None:
    """A company's QuickBooks closing date, read now and remembered."""
    doing = "Could not read the closing date from QuickBooks"
    return _ask(factory, config, lambda gateway: refresh_book_close_date(factory, gateway), doing=doing,
                company_id=company_id)
