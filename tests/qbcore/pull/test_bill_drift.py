"""Bills deleted or edited in QuickBooks behind our back show as drift, like invoices (over HTTP, the sandbox)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quickbooks import QuickBooks
from quickbooks.objects.bill import Bill as QbBill
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import Drift, EntityType, Settlement, SettlementStatus
from qbcore.pull import run_pull
from qbcore.pull.runner import PULL_ENTITIES
from qbcore.sync.runner import sync_now
from tests.qbcore.pull.conftest import gateway_for
from tests.qbcore.pull.test_bill_payments import bills_synced, open_bill  # noqa: F401
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.test_payables import payables_on


def drifts(factory: sessionmaker[Session]) -> list[Drift]:
    with factory() as session:
        return list(session.scalars(select(Drift).order_by(Drift.id)))


def test_a_settlement_bill_deleted_and_a_carrier_bill_edited_in_quickbooks_show_as_drift_once(
    bills_synced: sessionmaker[Session], connected: Config, qb: QuickBooks  # noqa: F811
) -> None:
    assert "Bill" in PULL_ENTITIES
    first = run_pull(bills_synced, connected)
    assert first.drifts == 0, "our own bills, as we pushed them, are no drift"
    settlement_id, deleted_qbo, _ = open_bill(bills_synced, EntityType.SETTLEMENT)
    bill_id, edited_qbo, total = open_bill(bills_synced, EntityType.CARRIER_BILL)
    QbBill.get(deleted_qbo, qb=qb).delete(qb=qb)
    edited = QbBill.get(edited_qbo, qb=qb)
    edited.Line[0].Amount = float(edited.Line[0].Amount) + 10
    edited.save(qb=qb)

    summary = run_pull(bills_synced, connected)
    again = run_pull(bills_synced, connected)
    assert (summary.drifts, again.drifts) == (2, 0)
    by_type = {d.entity_type: d for d in drifts(bills_synced)}
    deleted, changed = by_type[EntityType.SETTLEMENT.value], by_type[EntityType.CARRIER_BILL.value]
    assert (deleted.entity_id, deleted.kind, deleted.qbo_id) == (settlement_id, "delete", deleted_qbo)
    assert deleted.summary == "Settlement deleted in QuickBooks"
    assert (changed.entity_id, changed.kind) == (bill_id, "edit")
    assert f"amount ${total:,.2f} → ${total + Decimal(10):,.2f}" in changed.summary


def test_our_own_delete_of_a_voided_bill_is_no_drift(
    bills_synced: sessionmaker[Session], connected: Config, sandbox: SandboxClient  # noqa: F811
) -> None:
    run_pull(bills_synced, connected)
    settlement_id, _, _ = open_bill(bills_synced, EntityType.SETTLEMENT)
    with transaction(bills_synced) as session:
        session.get(Settlement, settlement_id).status = SettlementStatus.VOID
    bills = sandbox.count("Bill")
    assert sync_now(bills_synced, connected, gateway=gateway_for(bills_synced, connected)).synced == 1
    assert sandbox.count("Bill") == bills - 1
    summary = run_pull(bills_synced, connected)
    assert summary.drifts == 0 and drifts(bills_synced) == []


def test_bills_are_pulled_only_while_settlements_or_carrier_bills_sync(
    synced: sessionmaker[Session], connected: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qbcore.pull import runner
    from qbcore.qbo import cdc

    asked: list[str] = []

    def recording(gateway, entity, since):
        asked.append(entity)
        return cdc.fetch_changes(gateway, entity, since)

    monkeypatch.setattr(runner, "fetch_changes", recording)
    run_pull(synced, connected)
    assert "Bill" not in asked and "Invoice" in asked
    payables_on(synced)
    asked.clear()
    run_pull(synced, connected)
    assert "Bill" in asked
