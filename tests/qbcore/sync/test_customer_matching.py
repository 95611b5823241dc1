"""Customer matching rules: by name (default), by billing email, or only by ids linked by hand."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import Customer, EntityType, SyncRecord, SyncStatus
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.test_engine import gateway_for


def _customer_record(factory: sessionmaker[Session], name: str) -> tuple[Customer, SyncRecord]:
    with factory() as session:
        customer = session.scalar(select(Customer).where(Customer.name == name))
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                         SyncRecord.entity_id == customer.id))
        return customer, record


def test_email_matching_links_the_quickbooks_customer_with_that_email_whatever_its_name(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    customer, _ = _customer_record(demo_factory, "Keystone Beverages")
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"customer_matching": "email"})
        session.get(Customer, customer.id).billing_email = "ap@keystone.example.com"
    # Someone already keyed the customer into QuickBooks under another name, with the same email.
    gateway = gateway_for(demo_factory, connected)
    created = gateway.write("Customer", {"DisplayName": "Keystone Bev. (AP)",
                                         "PrimaryEmailAddr": {"Address": "ap@keystone.example.com"}},
                            request_id="test-keystone-1")
    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER], gateway=gateway)
    _, record = _customer_record(demo_factory, "Keystone Beverages")
    assert (record.status, record.qbo_id) == (SyncStatus.SYNCED.value, created["Id"])
    assert sandbox.count("Customer", DisplayName="Keystone Beverages") == 0


def test_existing_id_matching_never_creates_a_customer_and_says_where_to_link_it(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with transaction(demo_factory) as session:
        save_settings(session, LOCAL_ADMIN, {"customer_matching": "existing_id"})
    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER], gateway=gateway_for(demo_factory, connected))
    _, record = _customer_record(demo_factory, "Keystone Beverages")
    assert (record.status, record.error_kind) == (SyncStatus.FAILED.value, "mapping")
    assert "QuickBooks IDs page" in record.error_message
    assert sandbox.count("Customer", DisplayName="Keystone Beverages") == 0
