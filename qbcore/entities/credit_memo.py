"""Credit memos: a QuickBooks CreditMemo found by DocNumber, after its customer and the items of its lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, and_, cast, select
from sqlalchemy.orm import Session, joinedload, selectinload

from qbcore.entities.common import NO_TEXT, TEXT, chunked_scalars, synced_at
from qbcore.entities.invoice import doc_number_key
from qbcore.entities.routes import to_customers_company
from qbcore.entities.spec import EntitySpec, ImportFile, Ledger, ProblemTab, Switch
from qbcore.mapping.credit_memo import build_credit_memo_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import CreditMemo, CreditMemoLine, Customer, EntityType, SyncRecord
from qbcore.settings import SyncSettings


def needs(session: Session, memo_ids: list[int]) -> Mapping[EntityType, set[int]]:
    """The credit memo's customer and the charge codes of its lines."""
    return {
        EntityType.CUSTOMER: chunked_scalars(session, memo_ids, lambda c: select(CreditMemo.customer_id).where(
            CreditMemo.id.in_(c))),
        EntityType.ITEM: chunked_scalars(session, memo_ids, lambda c: select(CreditMemoLine.charge_code_id).where(
            CreditMemoLine.credit_memo_id.in_(c))),
    }


def ids_view(record: Sequence[Any]) -> Select[Any]:
    """The QuickBooks IDs row: number, customer, total, memo date."""
    return (select(*record, cast(CreditMemo.number, TEXT).label("number_or_name"),
                   cast(Customer.name, TEXT).label("customer"), Customer.id.label("customer_id"),
                   CreditMemo.total.label("amount"), CreditMemo.memo_date.label("date"), NO_TEXT.label("email"))
            .join(CreditMemo, and_(SyncRecord.entity_type == EntityType.CREDIT_MEMO.value,
                                   SyncRecord.entity_id == CreditMemo.id))
            .join(Customer, Customer.id == CreditMemo.customer_id))


def build_payload(row: Any, settings: SyncSettings, refs: QboRefs, _extras: Mapping[str, Any]) -> dict[str, Any]:
    """QuickBooks CreditMemo JSON."""
    return build_credit_memo_payload(row, settings, refs)


SPEC = EntitySpec(
    entity_type=EntityType.CREDIT_MEMO, model=CreditMemo, request_code="crm",
    build_payload=build_payload, natural_key=doc_number_key, record_name=lambda row: str(row.number),
    switch=Switch("sync_credit_memos", "Credit memos"), ids_view=ids_view,
    load_options=(joinedload(CreditMemo.customer),
                  selectinload(CreditMemo.lines).joinedload(CreditMemoLine.charge_code)),
    depends_on=(EntityType.CUSTOMER, EntityType.ITEM), needs=needs,
    fixed_at=lambda session, number, company_id: synced_at(
        session, EntityType.CREDIT_MEMO, select(CreditMemo.id).where(CreditMemo.number == number), company_id),
    sales_form=True, searched_by=("number", "amount"),
    ledger=Ledger(day=CreditMemo.memo_date, amount=CreditMemo.total, number=CreditMemo.number),
    refs_field="credit_memos",
    company_route=lambda: to_customers_company(CreditMemo.customer_id),
    problems=ProblemTab(position=4, customer_key=CreditMemo.customer_id, changed_at=CreditMemo.updated_at,
                        named_by=CreditMemo.number),
    import_file=ImportFile("credit_memos", 4, "credit_memos.csv", "Credit memo lines",
                           "One row per credited line; the application columns repeat on every row."),
)
