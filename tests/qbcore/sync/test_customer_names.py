"""A customer QuickBooks refuses for a name clash gets its own QuickBooks name; it and what it blocked then sync."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN, Actor
from qbcore.config import Config
from qbcore.customer_names import NameRefused, apply_name_clash_rule, list_customer_names, set_qbo_display_name
from qbcore.db import transaction
from qbcore.jobs.schedule import run_schedule_tick
from qbcore.jobs.worker import run_worker
from qbcore.models import AuditEvent, Customer, EntityType, Invoice, Payment, Role, SyncRecord, SyncStatus
from qbcore.qbo.gateway import QboGateway
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, customer_named, record_of

ACME = "ACME Logistics"


def _gateway(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def _clash(factory: sessionmaker[Session], config: Config, sandbox: SandboxClient) -> int:
    """First sync with a QuickBooks vendor named like our customer; returns the customer's id."""
    sandbox.plant(vendors=[ACME])
    sync_now(factory, config, gateway=_gateway(factory, config))
    with factory() as session:
        acme = customer_named(session, ACME)
        record = record_of(session, EntityType.CUSTOMER, acme.id)
        assert (record.status, record.error_code) == (SyncStatus.FAILED.value, "6240")
        return acme.id


def _acme_statuses(factory: sessionmaker[Session], customer_id: int) -> dict[str, set[str]]:
    with factory() as session:
        invoices = select(Invoice.id).where(Invoice.customer_id == customer_id)
        payments = select(Payment.id).where(Payment.customer_id == customer_id)
        def of(entity: EntityType, ids: object) -> set[str]:
            return set(session.scalars(select(SyncRecord.status).where(
                SyncRecord.entity_type == entity.value, SyncRecord.entity_id.in_(ids))))  # type: ignore[arg-type]
        return {"customer": of(EntityType.CUSTOMER, [customer_id]), "invoice": of(EntityType.INVOICE, invoices),
                "payment": of(EntityType.PAYMENT, payments)}


def _run_until_idle(factory: sessionmaker[Session], config: Config) -> None:
    for _ in range(4):  # the name's job, then cascades of the payments that waited for its invoices
        with transaction(factory) as session:
            run_schedule_tick(session)
        if not run_worker(factory, config, worker_id="t", once=True,
                          gateway_factory=lambda f, c: _gateway(f, c)):
            return


def test_a_quickbooks_name_set_by_hand_syncs_the_customer_and_its_blocked_invoices_and_payments(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    acme_id = _clash(demo_factory, connected, sandbox)
    before = _acme_statuses(demo_factory, acme_id)
    assert before["invoice"] == {SyncStatus.BLOCKED.value}
    change = set_qbo_display_name(demo_factory, _gateway(demo_factory, connected), LOCAL_ADMIN, acme_id,
                                  "ACME Logistics (customer)", reason="a vendor has the name in QuickBooks")
    assert (change.before, change.after) == (ACME, "ACME Logistics (customer)") and change.job_id
    _run_until_idle(demo_factory, connected)
    after = _acme_statuses(demo_factory, acme_id)
    assert after == {"customer": {"synced"}, "invoice": {"synced"}, "payment": {"synced"}}
    assert sandbox.count("Customer", DisplayName="ACME Logistics (customer)") == 1
    with demo_factory() as session:
        customer = session.get(Customer, acme_id)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "set_qbo_display_name"))
    assert (customer.name, customer.qbo_display_name) == (ACME, "ACME Logistics (customer)")  # billing name kept
    assert (event.actor, event.reason) == (LOCAL_ADMIN.email, "a vendor has the name in QuickBooks")
    assert event.after["qbo_display_name"] == "ACME Logistics (customer)" and event.before["qbo_display_name"] == ACME


def test_the_settings_clash_rule_renames_clashed_customers_and_their_records_cascade(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    acme_id = _clash(demo_factory, connected, sandbox)
    with transaction(demo_factory) as session:
        assert apply_name_clash_rule(session) is None  # off by default: a person decides
        save_settings(session, LOCAL_ADMIN, {"name_clash_suffix": " (C)"})
    _run_until_idle(demo_factory, connected)
    assert _acme_statuses(demo_factory, acme_id)["invoice"] == {"synced"}
    assert sandbox.count("Customer", DisplayName="ACME Logistics (C)") == 1
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "set_qbo_display_name"))
        assert event.actor == "system@qbsync" and "name-clash rule" in (event.reason or "")
        assert [n.effective_name for n in list_customer_names(session, search="acme")] == ["ACME Logistics (C)"]


@pytest.mark.parametrize(("name", "why"), [
    ("ACME: Logistics", "cannot hold ':'"),
    ("x" * 501, "at most 500 characters"),
    (ACME, "vendor named 'ACME Logistics'"),  # the billing name itself still clashes
    ("  ", "vendor named 'ACME Logistics'"),  # blank goes back to the billing name, which still clashes
])
def test_a_name_quickbooks_would_refuse_is_refused_and_nothing_changes(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient, name: str, why: str
) -> None:
    acme_id = _clash(demo_factory, connected, sandbox)
    with pytest.raises(NameRefused, match=why):
        set_qbo_display_name(demo_factory, _gateway(demo_factory, connected), LOCAL_ADMIN, acme_id, name,
                             reason="try")
    with demo_factory() as session:
        assert session.get(Customer, acme_id).qbo_display_name is None
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "set_qbo_display_name")) is None


def test_another_customers_name_a_missing_reason_and_a_viewer_are_refused(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    from qbcore.access import PermissionDenied

    acme_id = _clash(demo_factory, connected, sandbox)
    gateway = _gateway(demo_factory, connected)
    with demo_factory() as session:
        other = session.scalar(select(Customer).where(Customer.id != acme_id).order_by(Customer.id))
    with pytest.raises(NameRefused, match="two customers cannot share a QuickBooks name"):
        set_qbo_display_name(demo_factory, gateway, LOCAL_ADMIN, acme_id, other.name, reason="x")
    with pytest.raises(NameRefused, match="Give a reason"):
        set_qbo_display_name(demo_factory, gateway, LOCAL_ADMIN, acme_id, "ACME (C)", reason=" ")
    with pytest.raises(PermissionDenied):
        set_qbo_display_name(demo_factory, gateway, Actor("v@co.com", Role.VIEWER), acme_id, "ACME (C)", reason="x")
    with demo_factory() as session:
        assert session.get(Customer, acme_id).qbo_display_name is None
