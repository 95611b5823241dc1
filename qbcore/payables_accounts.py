"""Pay codes and deduction codes → the QuickBooks expense account each posts to, as admins map them in Settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, require_role, write_audit
from qbcore.chunks import SQL_IN_CHUNK, chunked
from qbcore.company_directory import resolve_company_id
from qbcore.config import ConfigError
from qbcore.errors import QboCallError
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    DeductionCode,
    EntityType,
    PayablesAccountMapping,
    PayCode,
    Role,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    SyncRecord,
    SyncStatus,
)
from qbcore.qbo.gateway import QboGateway, is_qbo_id, quote
from qbcore.qbo.lookup import EXPENSE_ACCOUNT_TYPES, NamedRef
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.refusals import Refusal

CODE_KINDS = {"pay": "pay code", "deduction": "deduction code"}


class AccountMappingRefused(Refusal, ValueError):
    """A pay or deduction code cannot post to that account; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class CodeAccount:
    """A pay or deduction code and the QuickBooks expense account its bill lines post to (if mapped)."""

    kind: str  # "pay" or "deduction"
    code_id: int
    code: str
    name: str
    active: bool
    account_name: str | None
    account_id: str | None

    @property
    def noun(self) -> str:
        """"pay code" or "deduction code"."""
        return CODE_KINDS[self.kind]

    @property
    def is_mapped(self) -> bool:
        """True when its lines have an account to post to."""
        return bool(self.account_name)


@dataclass(frozen=True)
class CodeAccountChange:
    """A saved mapping and how many synced bills it marked out of date (QuickBooks has them on the old account)."""

    mapping: CodeAccount
    marked: int


def _model(kind: str) -> Any:
    if kind not in CODE_KINDS:
        raise AccountMappingRefused(f"{kind!r} is not a kind of code: choose a pay code or a deduction code.")
    return PayCode if kind == "pay" else DeductionCode


def _column(kind: str) -> Any:
    return PayablesAccountMapping.pay_code_id if kind == "pay" else PayablesAccountMapping.deduction_code_id


def list_code_accounts(session: Session, company_id: int | None = None) -> list[CodeAccount]:
    """Every pay code, then every deduction code, with the account each posts to in a company, by code."""
    company_id = resolve_company_id(session, company_id)
    out: list[CodeAccount] = []
    for kind in CODE_KINDS:
        model = _model(kind)
        rows = session.execute(select(model, PayablesAccountMapping).outerjoin(
            PayablesAccountMapping, (_column(kind) == model.id) & (PayablesAccountMapping.company_id == company_id))
            .order_by(model.code)).all()
        out.extend(CodeAccount(kind, code.id, code.code, code.name, code.active,
                               mapping.qbo_account_name if mapping else None,
                               mapping.qbo_account_id if mapping else None) for code, mapping in rows)
    return out


def _mapping_of(session: Session, kind: str, code_id: int, company_id: int) -> CodeAccount:
    found = [m for m in list_code_accounts(session, company_id) if m.kind == kind and m.code_id == code_id]
    if not found:
        raise AccountMappingRefused(f"{CODE_KINDS[kind].capitalize()} {code_id} does not exist.")
    return found[0]


def _check_admin(actor: Actor, kind: str, code_id: int, session: Session | None,
                 audit_factory: sessionmaker[Session] | None) -> None:
    require_role(actor, Role.ADMIN, f"map_{kind}_code", session=session, audit_factory=audit_factory,
                 target_type="settings", target_id=f"{kind}_code:{code_id}")


def _synced_bills_using(session: Session, kind: str, code_id: int, company_id: int) -> list[int]:
    """Sync records of a company's bills in QuickBooks with a line of this code (they post to its old account)."""
    if kind == "pay":
        settlements = (select(SettlementLoad.settlement_id).join(SettlementLine,
                                                                 SettlementLine.settlement_load_id == SettlementLoad.id)
                       .where(SettlementLine.pay_code_id == code_id))
        bills = select(CarrierBillLine.carrier_bill_id).where(CarrierBillLine.pay_code_id == code_id)
    else:
        settlements = select(SettlementDeduction.settlement_id).where(SettlementDeduction.deduction_code_id == code_id)
        bills = select(CarrierBill.id).where(false())  # carrier bills have no deductions
    synced = (SyncRecord.status == SyncStatus.SYNCED.value) & (SyncRecord.company_id == company_id)
    return sorted({
        *session.scalars(select(SyncRecord.id).join(Settlement, Settlement.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.SETTLEMENT.value, synced, Settlement.id.in_(settlements))),
        *session.scalars(select(SyncRecord.id).join(CarrierBill, CarrierBill.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.CARRIER_BILL.value, synced, CarrierBill.id.in_(bills))),
    })


def check_expense_account(account: NamedRef | None, wanted: str) -> NamedRef:
    """The account, if QuickBooks has it active and bill lines may post to it; AccountMappingRefused says why not."""
    if account is None:
        raise AccountMappingRefused(f"QuickBooks has no active account with id {wanted}. Pick one from the list "
                                    "read from QuickBooks.")
    if account.detail not in EXPENSE_ACCOUNT_TYPES:
        kind = account.detail or "an account of another kind"
        raise AccountMappingRefused(f"{account.name} is a {kind} account in QuickBooks; pay and deduction codes post "
                                    "to an expense or cost of goods sold account.")
    return account


def save_code_account(session: Session, actor: Actor, kind: str, code_id: int, account: NamedRef, *,
                      audit_factory: sessionmaker[Session] | None = None,
                      company_id: int | None = None) -> CodeAccountChange:
    """Map a code to an expense account of a company (admin only, audited); its synced bills there go out of date."""
    _check_admin(actor, kind, code_id, session, audit_factory)
    _model(kind)
    check_expense_account(account, account.qbo_id)
    company_id = resolve_company_id(session, company_id)
    before = _mapping_of(session, kind, code_id, company_id)
    row = session.scalar(select(PayablesAccountMapping).where(PayablesAccountMapping.company_id == company_id,
                                                              _column(kind) == code_id))
    if row is None:
        row = PayablesAccountMapping(company_id=company_id, **{_column(kind).key: code_id})
        session.add(row)
    row.qbo_account_name, row.qbo_account_id = account.name, account.qbo_id
    session.flush()
    after = _mapping_of(session, kind, code_id, company_id)
    write_audit(session, actor, f"map_{kind}_code", target_type=f"{kind}_code", target_id=before.code,
                before={"account": before.account_name, "account_id": before.account_id},
                after={"account": after.account_name, "account_id": after.account_id}, company_id=company_id)
    stale: list[int] = []
    if before.account_name and before.account_name != after.account_name:
        # One transaction with the save: QuickBooks keeps the old account on these until they are re-sent.
        stale = _synced_bills_using(session, kind, code_id, company_id)
        for chunk in chunked(stale, SQL_IN_CHUNK):
            session.execute(update(SyncRecord).where(SyncRecord.id.in_(chunk),
                                                     SyncRecord.status == SyncStatus.SYNCED.value)
                            .values(status=SyncStatus.OUT_OF_DATE.value))
        if stale:
            write_audit(session, actor, "mark_bills_out_of_date", target_type=f"{kind}_code", target_id=before.code,
                        before={"status": SyncStatus.SYNCED.value, "bills": len(stale),
                                "account": before.account_name},
                        after={"status": SyncStatus.OUT_OF_DATE.value, "bills": len(stale),
                               "account": after.account_name},
                        reason=f"{before.noun} {before.code} now posts to {after.account_name}; the next sync "
                               "re-sends its bills", company_id=company_id)
    return CodeAccountChange(after, len(stale))


def map_code_account(factory: sessionmaker[Session], gateway: QboGateway, actor: Actor, kind: str, code_id: int,
                     account_id: str | None, company_id: int | None = None) -> CodeAccountChange:
    """Check the account in the company's QuickBooks (it exists, is active, takes expenses), then map the code to it
    there; admin only. `gateway` is that company's (the default company's when company_id is None)."""
    _check_admin(actor, kind, code_id, None, factory)
    wanted = (account_id or "").strip()
    if not wanted:
        raise AccountMappingRefused("Choose the QuickBooks account this code posts to.")
    if not is_qbo_id(wanted):
        raise AccountMappingRefused(f"{wanted!r} is not a QuickBooks account id (ids are positive whole numbers).")
    try:
        found = gateway.query(f"SELECT * FROM Account WHERE Id = {quote(wanted)} MAXRESULTS 1")
    except QboCallError as exc:
        raise AccountMappingRefused(f"QuickBooks did not answer about the account: {exc.error.message}") from None
    except (NotConnected, ReconnectRequired, ConfigError) as exc:
        raise AccountMappingRefused(f"QuickBooks is not reachable: {exc}") from None
    row = found[0] if found and found[0].get("Active", True) is not False else None
    account = None if row is None else NamedRef(qbo_id=str(row.get("Id")), name=str(row.get("Name") or ""),
                                                detail=str(row.get("AccountType") or ""))
    checked = check_expense_account(account, wanted)
    with factory() as session, session.begin():
        return save_code_account(session, actor, kind, code_id, checked, company_id=company_id)
