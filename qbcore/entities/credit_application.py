"""Credit applications: a credit memo applied to an invoice, pushed as a zero-amount QuickBooks Payment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, literal, select
from sqlalchemy.orm import Session, aliased, joinedload

from qbcore.entities.common import NO_TEXT, TEXT, chunked_scalars
from qbcore.entities.payment import reference_key
from qbcore.entities.routes import where_it_went
from qbcore.entities.spec import EntitySpec, ProblemTab
from qbcore.mapping.credit_application import build_credit_application_payload, credit_application_ref
from qbcore.mapping.refs import QboRefs
from qbcore.models import Company, CreditMemo, CreditMemoApplication, Customer, EntityType, Invoice, SyncRecord
from qbcore.settings import SyncSettings


def needs(session: Session, application_ids: list[int]) -> Mapping[EntityType, set[int]]:
    """The invoice and the credit memo it links."""
    return {
        EntityType.INVOICE: chunked_scalars(session, application_ids, lambda c: select(
            CreditMemoApplication.invoice_id).where(CreditMemoApplication.id.in_(c))),
        EntityType.CREDIT_MEMO: chunked_scalars(session, application_ids, lambda c: select(
            CreditMemoApplication.credit_memo_id).where(CreditMemoApplication.id.in_(c))),
    }


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row, named by the PaymentRefNum it carries in QuickBooks ("CMA-<id>")."""
    return (select(*record, (literal("CMA-", TEXT) + cast(CreditMemoApplication.id, TEXT)).label("number_or_name"),
                   cast(Customer.name, TEXT).label("customer"), Customer.id.label("customer_id"),
                   CreditMemoApplication.amount.label("amount"),
                   CreditMemo.memo_date.label("date"), NO_TEXT.label("email"))
            .join(CreditMemoApplication, and_(SyncRecord.entity_type == EntityType.CREDIT_APPLICATION.value,
                                              SyncRecord.entity_id == CreditMemoApplication.id))
            .join(CreditMemo, CreditMemo.id == CreditMemoApplication.credit_memo_id)
            .join(Customer, Customer.id == CreditMemo.customer_id))


def build_payload(row: Any, _settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]) -> dict[str, Any]:
    """A zero-amount QuickBooks Payment linking the invoice and the credit memo."""
    return build_credit_application_payload(row, refs)


def _to_memo_customers_company() -> ColumnElement[bool]:
    """A credit application goes to the company of its credit memo's customer."""
    owner, memo = aliased(Customer), aliased(CreditMemo)
    # One subquery, correlated by name: nested ones lose their correlation inside an UPDATE on PostgreSQL.
    company = (select(owner.company_id).join(memo, memo.customer_id == owner.id)
               .where(memo.id == CreditMemoApplication.credit_memo_id)
               .correlate(CreditMemoApplication).scalar_subquery())
    return Company.id == company


SPEC = EntitySpec(
    entity_type=EntityType.CREDIT_APPLICATION, model=CreditMemoApplication,
    request_code="cma", build_payload=build_payload, natural_key=reference_key,
    record_name=lambda row: credit_application_ref(row.id),
    # The link syncs only when both its sides may.
    switched_by=("sync_credit_memos", "sync_invoices"), ids_view=ids_view,
    load_options=(joinedload(CreditMemoApplication.credit_memo).joinedload(CreditMemo.customer),
                  joinedload(CreditMemoApplication.invoice)),
    depends_on=(EntityType.INVOICE, EntityType.CREDIT_MEMO), needs=needs, searched_by=("amount",),
    rows_deleted=True,  # a credit memo file restates the memo's applications
    # Named by its memo and the invoice it is applied to: "CM-1004 → INV-100231"; it changes with its memo.
    problems=ProblemTab(
        position=5, reference=CreditMemo.number + " → " + Invoice.number, amount=CreditMemoApplication.amount,
        record_date=CreditMemo.memo_date,
        joins=((CreditMemo, CreditMemo.id == CreditMemoApplication.credit_memo_id),
               (Invoice, Invoice.id == CreditMemoApplication.invoice_id)),
        customer_key=CreditMemo.customer_id, changed_at=CreditMemo.updated_at),
    # The application goes where its credit memo went (before that, to the memo's customer's company).
    company_route=lambda: where_it_went(EntityType.CREDIT_MEMO, CreditMemoApplication.credit_memo_id,
                                        _to_memo_customers_company()),
)
