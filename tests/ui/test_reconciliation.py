"""Reconciliation page (AppTest): compare on demand against the sandbox, proposals accepted and rejected, drift."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select

from qbcore.config import load_config
from qbcore.db import transaction
from qbcore.models import AuditEvent, Drift, DriftKind, Invoice, Job, PulledPayment, PulledPaymentStatus
from qbcore.qbo import limiter
from qbcore.sync.runner import sync_now
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.ui.conftest import open_page

PAGE = "7_Reconciliation.py"
OPERATOR = {"email": "ops@example.com", "role": "operator", "name": "Olga Ops"}
VIEWER = {"email": "viewer@example.com", "role": "viewer", "name": "Vic Viewer"}


@pytest.fixture
def sandbox_env(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(limiter, "DEFAULT_POLICY", limiter.UNLIMITED)
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        monkeypatch.setenv("QBSYNC_QBO_BASE_URL", running.url)
        yield running.url


def _proposals(factory, count: int = 2) -> list[int]:
    with transaction(factory) as session:
        invoices = session.scalars(select(Invoice).where(Invoice.status == "approved").order_by(Invoice.id)
                                   .limit(count)).all()
        rows = [PulledPayment(qbo_payment_id=f"90{i}", qbo_invoice_id=f"80{i}", invoice_id=inv.id, amount=inv.total,
                              status=PulledPaymentStatus.PROPOSED, reference=f"CHK-{i}")
                for i, inv in enumerate(invoices)]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def test_the_page_asks_for_an_explicit_comparison_and_shows_nothing_pending(home, demo_factory) -> None:
    at = open_page(home, PAGE)
    assert not at.exception
    assert any("Compare with QuickBooks" in str(i.value) for i in at.info)
    captions = " ".join(str(c.value) for c in at.caption)
    assert "No payment is waiting" in captions
    # The hint names the setting as Settings shows it, not its stored value.
    assert "pulled payments: apply" not in captions and '"Payments applied directly in QuickBooks"' in captions


def test_compare_reads_quickbooks_once_and_caches_the_result_with_when_it_was_computed(
    home, demo_factory, sandbox_env: str
) -> None:
    config = load_config(os.environ, {})
    sync_now(demo_factory, config)
    at = open_page(home, PAGE)
    at.button(key="recon_run").click().run()
    assert not at.exception
    result = at.session_state["recon_result"]
    assert result.qbo_open > 0 and any("Computed" in str(c.value) for c in at.caption)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Receivables here", "Receivables in QuickBooks", "Difference"]
    # Aging, differences, per customer: an amount QuickBooks lacks shows a dash in the differences, not "None".
    assert [d.proto.placeholder for d in at.dataframe] == ["", "—", ""]
    at.run()  # a rerun reuses the cached result (no new comparison)
    assert at.session_state["recon_result"] is result


def test_an_operator_accepts_one_proposal_and_rejects_another_audited(home, demo_factory) -> None:
    first, second = _proposals(demo_factory)
    at = open_page(home, PAGE, OPERATOR)
    at.multiselect(key="recon_proposals").select(first).run()
    at.button(key="recon_accept").click().run()
    assert not at.exception and "accepted" in at.success[0].value
    at.multiselect(key="recon_proposals").select(second).run()
    at.text_input(key="recon_reason").input("customer says it was for another invoice").run()
    at.button(key="recon_reject").click().run()
    with demo_factory() as session:
        statuses = {p.id: p.status for p in session.scalars(select(PulledPayment))}
        assert statuses == {first: "applied", second: "rejected"}
        paid = session.get(Invoice, session.get(PulledPayment, first).invoice_id)
        assert paid.status == "paid"
        actors = set(session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action.in_(["accept_pulled_payment", "reject_pulled_payment"]))))
        assert actors == {OPERATOR["email"]}


def test_a_viewer_sees_proposals_and_drift_but_cannot_decide(home, demo_factory) -> None:
    _proposals(demo_factory, 1)
    with transaction(demo_factory) as session:
        session.add(Drift(entity_type="invoice", entity_id=1, qbo_id="77", kind=DriftKind.VOID,
                          summary="Invoice voided in QuickBooks (was 1,200.00)"))
    at = open_page(home, PAGE, VIEWER)
    assert not at.exception
    assert at.button(key="recon_accept").disabled and at.button(key="recon_pull").disabled
    assert at.button(key="recon_resolve").disabled
    assert "voided" in at.dataframe[0].value["What changed"][0]


def test_pull_now_queues_a_pull_job_and_resolving_drift_closes_it(home, demo_factory) -> None:
    with transaction(demo_factory) as session:
        drift = Drift(entity_type="invoice", entity_id=1, qbo_id="77", kind=DriftKind.DELETE,
                      summary="Invoice deleted in QuickBooks", before={"amount": str(Decimal("5"))})
        session.add(drift)
        session.flush()
        drift_id = drift.id
    at = open_page(home, PAGE, OPERATOR)
    at.button(key="recon_pull").click().run()
    at.multiselect(key="recon_drift_pick").select(drift_id).run()
    at.button(key="recon_resolve").click().run()
    assert not at.exception
    with demo_factory() as session:
        assert session.scalars(select(Job.kind)).all() == ["pull"]
        assert session.get(Drift, drift_id).resolved_by == OPERATOR["email"]


def test_payables_say_how_to_switch_them_on_when_neither_kind_syncs(home, demo_factory) -> None:
    at = open_page(home, PAGE)
    at.radio(key="recon_side").set_value("Payables").run()
    assert not at.exception
    infos = " ".join(str(i.value) for i in at.info)
    assert "Switch on Driver settlements or Carrier bills on Settings → What syncs" in infos
    assert not [b for b in at.button if b.key == "recon_ap_run"]
    assert not [m for m in at.multiselect if m.key == "recon_proposals"]  # receivables' decisions stay there


def test_payables_compare_on_demand_and_name_each_bill_that_differs(home, demo_factory, sandbox_env: str) -> None:
    from datetime import date

    from qbcore.access import LOCAL_ADMIN
    from qbcore.models import Settlement, SettlementStatus
    from qbcore.settings import save_settings
    from tests.qbcore.sync.state import map_demo_pay_code

    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"sync_settlements": True, "sync_carrier_bills": True})
    map_demo_pay_code(demo_factory)  # the demo leaves one pay code unmapped (a planted conflict)
    summary = sync_now(demo_factory, load_config(os.environ, {}))
    assert (summary.failed, summary.blocked) == (0, 0)
    with transaction(demo_factory) as session:
        settlement = session.scalars(select(Settlement).where(Settlement.status == "finalized")
                                     .order_by(Settlement.id).limit(1)).one()
        # Paid here; its check not sent yet.
        settlement.status, settlement.paid_on = SettlementStatus.PAID, date(2026, 11, 28)
        number, net_pay = settlement.number, settlement.net_pay
    at = open_page(home, PAGE)
    at.radio(key="recon_side").set_value("Payables").run()
    assert any("Compare bills with QuickBooks" in str(i.value) for i in at.info)
    at.button(key="recon_ap_run").click().run()
    assert not at.exception
    result = at.session_state["recon_ap_result"]
    assert result.compared == ("Driver settlements", "Carrier bills")
    assert [m.label for m in at.metric] == ["Payables here", "Payables in QuickBooks", "Difference",
                                            "Bills that differ"]
    assert at.metric[2].value.replace("\\", "") == f"-${net_pay:,.2f}" and at.metric[3].value == "1"
    aging, differences, vendors = at.dataframe
    assert list(aging.value["Bucket"]) == ["Current", "1–30", "31–60", "61–90", "90+"]
    row = differences.value.iloc[0]
    assert (row["Bill"], row["Type"], row["Issue"]) == (number, "Settlement", "Open in QuickBooks, paid here")
    assert "its payment is not in QuickBooks yet" in row["Explanation"]
    config = json.loads(differences.proto.columns)
    assert config["Open in QB"]["type_config"]["format"] == "dollar"
    assert "Vendor" in vendors.value.columns and "Bills that differ" in vendors.value.columns
    at.run()  # a rerun reuses the cached result
    assert at.session_state["recon_ap_result"] is result
