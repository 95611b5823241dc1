"""Settings → Vendor names: a vendor's QuickBooks name is checked (here and live in QuickBooks), admin only, audited."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.config import Config
from qbcore.customer_names import NameRefused
from qbcore.entities.registry import ENTITIES
from qbcore.labels import count_words
from qbcore.models import AuditEvent, EntityType, Role, SyncRecord, SyncStatus, Vendor
from qbcore.qbo.gateway import QboGateway
from qbcore.sync.runner import sync_now
from qbcore.vendor_names import list_vendor_names, set_vendor_qbo_name
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, turn_on_payables

VIEWER = Actor("viewer@example.com", Role.VIEWER, "Vic Viewer")
OPERATOR = Actor("ops@example.com", Role.OPERATOR, "Olga Ops")
ACME = "ACME Logistics"  # one of the demo's customers
PLAN_ORDER = [spec.entity_type.value for spec in ENTITIES]


def _gateway(factory: sessionmaker[Session], config: Config) -> QboGateway:
    return QboGateway(factory, config, retry=FAST_RETRY, timeout_s=10)


def _vendors(factory: sessionmaker[Session]) -> list[Vendor]:
    with factory() as session:
        return list(session.scalars(select(Vendor).where(Vendor.is_driver).order_by(Vendor.id)))


def _unchanged(factory: sessionmaker[Session], vendor_id: int) -> None:
    with factory() as session:
        assert session.get(Vendor, vendor_id).qbo_display_name is None
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "set_vendor_qbo_name",
                                                       AuditEvent.outcome == "ok")) is None


@pytest.fixture
def clashed(demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient) -> Vendor:
    """The first driver, refused by QuickBooks (6240) because a QuickBooks customer has his name."""
    driver = _vendors(demo_factory)[0]
    sandbox.plant(customers=[driver.name])
    turn_on_payables(demo_factory, keep_planted_gap=True)
    sync_now(demo_factory, connected, gateway=_gateway(demo_factory, connected))
    with demo_factory() as session:
        listed = list_vendor_names(session)
    assert listed[0].vendor_id == driver.id and listed[0].clashed, "the refused vendor is listed first"
    return driver


@pytest.mark.parametrize(("name", "why"), [
    ("", "Type the name QuickBooks should know this vendor by"),
    ("   ", "Type the name QuickBooks should know this vendor by"),
    ("x" * 501, "at most 500 characters"),
    ("Luis: Ortiz", "cannot hold ':'"),
    (ACME, "Customer ACME Logistics"),  # one of our customers goes to QuickBooks under it
    ("Pacific Rim Cartage", "Vendor Pacific Rim Cartage"),  # another of our vendors has it
    ("Walk-in Customer", "QuickBooks already has a customer named 'Walk-in Customer'"),  # QuickBooks' own
])
def test_an_empty_too_long_or_clashing_name_is_refused_and_nothing_changes(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient, clashed: Vendor, name: str,
    why: str,
) -> None:
    sandbox.plant(customers=["Walk-in Customer"])
    with pytest.raises(NameRefused, match=why):
        set_vendor_qbo_name(demo_factory, lambda _c: _gateway(demo_factory, connected), LOCAL_ADMIN, clashed.id,
                            name, reason="try")
    _unchanged(demo_factory, clashed.id)


def test_the_billing_name_itself_is_refused_while_quickbooks_has_a_customer_of_that_name(
    demo_factory: sessionmaker[Session], connected: Config, clashed: Vendor
) -> None:
    with pytest.raises(NameRefused, match="QuickBooks already has a customer named"):
        set_vendor_qbo_name(demo_factory, lambda _c: _gateway(demo_factory, connected), LOCAL_ADMIN, clashed.id,
                            clashed.name, reason="try")
    _unchanged(demo_factory, clashed.id)


@pytest.mark.parametrize("actor", [VIEWER, OPERATOR])
def test_a_viewer_or_operator_is_refused_and_the_refusal_is_audited(
    demo_factory: sessionmaker[Session], connected: Config, clashed: Vendor, actor: Actor
) -> None:
    with pytest.raises(PermissionDenied):
        set_vendor_qbo_name(demo_factory, lambda _c: _gateway(demo_factory, connected), actor, clashed.id,
                            f"{clashed.name} (V)", reason="try")
    _unchanged(demo_factory, clashed.id)
    with demo_factory() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "set_vendor_qbo_name"))
    assert event is not None and (event.actor, event.outcome) == (actor.email, "refused")


def test_a_missing_reason_is_refused(demo_factory: sessionmaker[Session], connected: Config, clashed: Vendor) -> None:
    with pytest.raises(NameRefused, match="reason"):
        set_vendor_qbo_name(demo_factory, lambda _c: _gateway(demo_factory, connected), LOCAL_ADMIN, clashed.id,
                            f"{clashed.name} (V)", reason="  ")
    _unchanged(demo_factory, clashed.id)


def test_a_new_name_is_audited_keeps_the_billing_name_and_queues_the_vendor_with_its_waiting_bills(
    demo_factory: sessionmaker[Session], connected: Config, clashed: Vendor
) -> None:
    with demo_factory() as session:
        blocked = Counter(str(e) for e in session.scalars(select(SyncRecord.entity_type).where(
            SyncRecord.status == SyncStatus.BLOCKED.value, SyncRecord.blocked_by == f"vendor:{clashed.name}")))
    waiting = tuple((EntityType(e), blocked[e]) for e in PLAN_ORDER if blocked[e])
    change = set_vendor_qbo_name(demo_factory, lambda _c: _gateway(demo_factory, connected), LOCAL_ADMIN,
                                 clashed.id, f"  {clashed.name}   (V) ", reason="a customer has his name")
    assert (change.before, change.after) == (clashed.name, f"{clashed.name} (V)")
    assert change.job_id is not None and change.records > 1, "his settlements wait for him and are queued too"
    assert change.waiting == waiting and sum(n for _, n in waiting) == change.records - 1
    assert change.describe_waiting() == count_words(waiting) and "settlement" in change.describe_waiting()
    with demo_factory() as session:
        vendor = session.get(Vendor, clashed.id)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "set_vendor_qbo_name"))
        listed = list_vendor_names(session, search="(v)")
    assert (vendor.name, vendor.qbo_display_name) == (clashed.name, f"{clashed.name} (V)")
    assert (event.actor, event.reason, event.outcome) == (LOCAL_ADMIN.email, "a customer has his name", "ok")
    assert event.after["qbo_display_name"] == f"{clashed.name} (V)"
    assert [n.effective_name for n in listed] == [f"{clashed.name} (V)"]
