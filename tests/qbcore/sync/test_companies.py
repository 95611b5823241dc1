"""Two QuickBooks companies over HTTP: every record lands in its own company's realm, and only there."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN, Actor, PermissionDenied
from qbcore.companies import add_company
from qbcore.config import Config
from qbcore.customer_moves import MoveRefused, move_customer, plan_move
from qbcore.db import transaction
from qbcore.models import (
    AuditEvent,
    CreditMemo,
    Customer,
    EntityType,
    Invoice,
    Payment,
    Role,
    SyncRecord,
    SyncStatus,
)
from qbcore.qbo.oauth import disconnect, ensure_local_connection, local_realm_for
from qbcore.refusals import ReasonRequired
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import REALM, SandboxClient

VIEWER = Actor(email="viewer@co.com", role=Role.VIEWER, name="Viewer")


def _qbo_values(sandbox: SandboxClient, realm: str, entity: str, field: str) -> list[str]:
    """Every value of one field of one entity in a realm, read straight from the sandbox's v3 API."""
    token = requests.post(f"{sandbox.url}/_sandbox/realms/{realm}/tokens", json={}, timeout=10).json()
    rows: list[dict] = []
    start = 1
    while True:
        query = f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"
        answer = requests.get(f"{sandbox.url}/v3/company/{realm}/query", params={"query": query},
                              headers={"Authorization": f"Bearer {token['access_token']}",
                                       "Accept": "application/json"}, timeout=30).json()
        page = answer["QueryResponse"].get(entity, [])
        rows.extend(page)
        if len(page) < 1000:
            return [str(row[field]) for row in rows if row.get(field)]
        start += 1000


def _split_book(factory: sessionmaker[Session]) -> tuple[int, set[int]]:
    """A Brokerage company beside the first, with every other top-level customer (and its family) moved to it."""
    with transaction(factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        tops = list(session.scalars(select(Customer.id).where(Customer.parent_id.is_(None)).order_by(Customer.id)))
        for customer_id in tops[::2]:
            move_customer(session, LOCAL_ADMIN, customer_id, broker, reason="brokered freight")
        moved = set(session.scalars(select(Customer.id).where(Customer.company_id == broker)))
    return broker, moved


def _numbers_by_company(factory: sessionmaker[Session], model, moved: set[int]) -> tuple[set[str], set[str]]:
    with factory() as session:
        rows = session.execute(select(model.number, model.customer_id)).all()
    return {n for n, c in rows if c not in moved}, {n for n, c in rows if c in moved}


def test_each_customers_records_land_only_in_its_own_companys_quickbooks(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    broker, moved = _split_book(demo_factory)
    assert moved
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    broker_realm = local_realm_for(broker)
    assert broker_realm is not None and broker_realm != REALM
    from qbcore.connection import get_connection_state

    with demo_factory() as session:
        # Each file its own QuickBooks company, named apart as Intuit names a developer's sandbox companies.
        names = {c: get_connection_state(session, c).company_name for c in (1, broker)}
    assert names == {1: "Sandbox Company_US_1", broker: "Sandbox Company_US_2"}

    summary = sync_now(demo_factory, config)

    assert summary.synced > 0 and summary.paused is False
    carrier_invoices, broker_invoices = _numbers_by_company(demo_factory, Invoice, moved)
    in_carrier = _qbo_values(sandbox, REALM, "Invoice", "DocNumber")
    in_broker = _qbo_values(sandbox, broker_realm, "Invoice", "DocNumber")
    # Checked on QuickBooks' side: no invoice in the wrong realm, none twice, and both realms received theirs.
    assert set(in_carrier) <= carrier_invoices and set(in_broker) <= broker_invoices
    assert len(in_carrier) == len(set(in_carrier)) and len(in_broker) == len(set(in_broker))
    assert in_carrier and in_broker
    with demo_factory() as session:
        names = dict(session.execute(select(Customer.id, Customer.name)).all())
        carrier_names = {names[c] for c in names if c not in moved}
        broker_names = {names[c] for c in moved}
        synced = session.execute(select(SyncRecord.company_id, func.count()).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.status == SyncStatus.SYNCED.value)
            .group_by(SyncRecord.company_id)).all()
    customers_carrier = set(_qbo_values(sandbox, REALM, "Customer", "DisplayName"))
    customers_broker = set(_qbo_values(sandbox, broker_realm, "Customer", "DisplayName"))
    assert not (broker_names & customers_carrier) and not (carrier_names & customers_broker)
    assert broker_names & customers_broker and carrier_names & customers_carrier
    # Every synced invoice is in exactly the realm of its record's company.
    assert dict(synced) == {1: len(in_carrier), broker: len(in_broker)}
    # The same charge codes are items in both companies, each linked to its own company's item.
    with demo_factory() as session:
        items = session.execute(select(SyncRecord.company_id, func.count()).where(
            SyncRecord.entity_type == EntityType.ITEM.value, SyncRecord.qbo_id.is_not(None))
            .group_by(SyncRecord.company_id)).all()
    assert dict(items)[1] > 0 and dict(items)[broker] > 0


def test_a_company_waiting_for_a_reconnect_leaves_the_other_syncing(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    broker, moved = _split_book(demo_factory)
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    # An admin disconnects the broker file: that decision stands, and only that company waits.
    disconnect(demo_factory, config, actor=LOCAL_ADMIN, company_id=broker)

    summary = sync_now(demo_factory, config)

    assert summary.paused is True and summary.synced > 0
    with demo_factory() as session:
        by_company = dict(session.execute(select(SyncRecord.company_id, func.count()).where(
            SyncRecord.status == SyncStatus.SYNCED.value).group_by(SyncRecord.company_id)).all())
        broker_failed = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.company_id == broker, SyncRecord.status.in_((SyncStatus.FAILED.value,
                                                                     SyncStatus.BLOCKED.value))))
    assert by_company.get(1, 0) > 0 and by_company.get(broker, 0) == 0
    assert broker_failed == 0  # waiting, not failed
    carrier_invoices, _ = _numbers_by_company(demo_factory, Invoice, moved)
    assert set(_qbo_values(sandbox, REALM, "Invoice", "DocNumber")) <= carrier_invoices


def test_moving_a_customer_keeps_what_is_in_the_old_file_and_sends_the_rest_to_the_new_one(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    ensure_local_connection(demo_factory, config)
    sync_now(demo_factory, config)
    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        customer = session.scalars(select(Customer).where(Customer.parent_id.is_(None)).order_by(Customer.id)).first()
        assert customer is not None
        customer_id, name = customer.id, customer.name
        synced_before = set(session.scalars(select(SyncRecord.id).join(Invoice, Invoice.id == SyncRecord.entity_id)
                                            .where(SyncRecord.entity_type == EntityType.INVOICE.value,
                                                   Invoice.customer_id == customer_id,
                                                   SyncRecord.qbo_id.is_not(None))))
        # A new invoice for the customer after the first sync: it is open, so it follows the customer.
        template = session.scalars(select(Invoice).where(Invoice.customer_id == customer_id)).first()
        assert template is not None
    assert synced_before
    with demo_factory() as session:
        plan = plan_move(session, customer_id, broker)
    assert len(plan.staying) >= len(synced_before)
    assert any("stay there" in sentence for sentence in plan.sentences())
    assert not plan.already_in_new_company

    with transaction(demo_factory) as session:
        move_customer(session, LOCAL_ADMIN, customer_id, broker, reason="the brokerage bills them now")
    with demo_factory() as session:
        kept = session.execute(select(SyncRecord.id, SyncRecord.company_id, SyncRecord.qbo_id).where(
            SyncRecord.id.in_(synced_before))).all()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "move_customer")).one()
        customer_records = dict(session.execute(select(SyncRecord.company_id, SyncRecord.qbo_id).where(
            SyncRecord.entity_type == EntityType.CUSTOMER.value, SyncRecord.entity_id == customer_id)).all())
    # What was in the old file stays there, linked as it was; the customer now also has a record in the new one.
    assert {c for _, c, _ in kept} == {1} and all(q for _, _, q in kept)
    assert customer_records[1] is not None and broker in customer_records and customer_records[broker] is None
    assert (event.actor, event.reason, event.company_id) == (LOCAL_ADMIN.email, "the brokerage bills them now",
                                                             broker)

    ensure_local_connection(demo_factory, config, broker)
    sync_now(demo_factory, config)
    broker_realm = local_realm_for(broker)
    assert broker_realm is not None
    assert name in set(_qbo_values(sandbox, broker_realm, "Customer", "DisplayName"))
    # Nothing of the old file was sent again to the new one.
    with demo_factory() as session:
        old_numbers = set(session.scalars(select(Invoice.number).join(
            SyncRecord, (SyncRecord.entity_id == Invoice.id) & (SyncRecord.entity_type == EntityType.INVOICE.value))
            .where(SyncRecord.id.in_(synced_before))))
    assert not old_numbers & set(_qbo_values(sandbox, broker_realm, "Invoice", "DocNumber"))


def test_a_viewer_cannot_move_a_customer_and_a_move_needs_a_reason(factory: sessionmaker[Session]) -> None:
    from qbcore.demo import write_demo_book
    from tests.conftest import DEMO_AS_OF

    with transaction(factory) as session:
        write_demo_book(session, invoices=20, seed=3, as_of=DEMO_AS_OF)
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        customer_id = session.scalars(select(Customer.id).where(Customer.parent_id.is_(None))).first()
    for actor, reason, refusal in ((VIEWER, "because", PermissionDenied), (LOCAL_ADMIN, "  ", ReasonRequired)):
        with pytest.raises(refusal), transaction(factory) as session:
            move_customer(session, actor, customer_id, broker, reason=reason)
    with factory() as session:
        assert session.get(Customer, customer_id).company_id == 1
        # The new company holds only its charge codes, as items to create there; nothing of the customer moved.
        assert set(session.scalars(select(SyncRecord.entity_type).where(SyncRecord.company_id == broker))) == {
            EntityType.ITEM.value}
        with pytest.raises(MoveRefused, match="already belongs"):
            plan_move(session, customer_id, 1)
        child = session.scalars(select(Customer.id).where(Customer.parent_id.is_not(None))).first()
        if child is not None:
            with pytest.raises(MoveRefused, match="sub-customer"):
                plan_move(session, child, broker)


def test_documents_are_routed_with_their_customer_and_never_split_from_it(
    demo_factory: sessionmaker[Session],
) -> None:
    broker, moved = _split_book(demo_factory)
    with demo_factory() as session:
        for model, entity_type in ((Invoice, EntityType.INVOICE), (Payment, EntityType.PAYMENT),
                                   (CreditMemo, EntityType.CREDIT_MEMO)):
            rows = session.execute(select(model.customer_id, SyncRecord.company_id).join(
                SyncRecord, (SyncRecord.entity_id == model.id) & (SyncRecord.entity_type == entity_type.value)
            )).all()
            assert rows
            assert all((company == broker) == (customer in moved) for customer, company in rows), entity_type


def test_a_run_for_one_company_leaves_another_companys_records_alone_even_when_handed_them(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    from qbcore.qbo.gateway import QboGateway
    from qbcore.sync.engine import SyncEngine

    broker, _moved = _split_book(demo_factory)
    ensure_local_connection(demo_factory, config)
    with demo_factory() as session:
        broker_ids = list(session.scalars(select(SyncRecord.id).where(SyncRecord.company_id == broker)))
    assert broker_ids
    # A caller that gets it wrong (a job naming the wrong records): the carrier file's engine sends none of them.
    summary = SyncEngine(demo_factory, QboGateway(demo_factory, config, company_id=1)).run(broker_ids)
    assert summary.total == 0
    assert _qbo_values(sandbox, REALM, "Invoice", "DocNumber") == []
    with demo_factory() as session:
        assert set(session.scalars(select(SyncRecord.status).where(SyncRecord.id.in_(broker_ids)))) == {
            SyncStatus.NEVER_SYNCED.value}


def test_a_worker_serves_a_connected_company_while_the_first_is_disconnected(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    from qbcore.jobs.queue import enqueue_sync
    from qbcore.jobs.worker import run_worker
    from qbcore.models import Job, JobStatus

    broker, moved = _split_book(demo_factory)
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)
    # The admin disconnects the first company: the worker must still run the broker file's job.
    disconnect(demo_factory, config, actor=LOCAL_ADMIN, company_id=1)
    with transaction(demo_factory) as session:
        job_id = enqueue_sync(session, LOCAL_ADMIN, label="broker file", company_id=broker).id
    assert run_worker(demo_factory, config, once=True) == 1
    with demo_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == JobStatus.DONE.value
        carrier_synced = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.company_id == 1, SyncRecord.status == SyncStatus.SYNCED.value))
    assert carrier_synced == 0
    broker_realm = local_realm_for(broker)
    assert broker_realm is not None
    _carrier, broker_invoices = _numbers_by_company(demo_factory, Invoice, moved)
    in_broker = set(_qbo_values(sandbox, broker_realm, "Invoice", "DocNumber"))
    assert in_broker and in_broker <= broker_invoices
    assert _qbo_values(sandbox, REALM, "Invoice", "DocNumber") == []


def test_an_import_for_one_company_puts_its_new_customers_and_their_documents_there(
    factory: sessionmaker[Session],
) -> None:
    from pathlib import Path

    from qbcore.importer import FileKind
    from qbcore.importer.load import import_files

    folder = Path(__file__).parents[2] / "fixtures" / "import"
    files = {FileKind.CUSTOMERS: (folder / "customers.csv").read_bytes(),
             FileKind.INVOICES: (folder / "invoice_lines.csv").read_bytes()}
    with transaction(factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        result = import_files(files, session=session, actor=LOCAL_ADMIN, company_id=broker)
    assert result.written
    with factory() as session:
        customers = set(session.scalars(select(Customer.company_id)))
        documents = set(session.scalars(select(SyncRecord.company_id).where(
            SyncRecord.entity_type.in_((EntityType.CUSTOMER.value, EntityType.INVOICE.value)))))
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import_book")).one()
    assert customers == {broker} and documents == {broker} and event.company_id == broker


def test_driver_pay_and_carrier_pay_post_to_the_companies_that_hold_them(
    demo_factory: sessionmaker[Session], config: Config, sandbox: SandboxClient
) -> None:
    from qbcore.companies import set_company_roles
    from qbcore.models import CarrierBill, Settlement, Vendor
    from qbcore.settings import save_settings
    from tests.qbcore.sync.state import PAYABLES_ON, copy_pay_code_accounts

    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        set_company_roles(session, LOCAL_ADMIN, carrier_pay_id=broker)
        for company_id in (1, broker):
            save_settings(session, LOCAL_ADMIN, PAYABLES_ON, company_id=company_id)
    copy_pay_code_accounts(demo_factory, broker)  # the Brokerage's own chart of accounts, mapped by name
    ensure_local_connection(demo_factory, config)
    ensure_local_connection(demo_factory, config, broker)

    sync_now(demo_factory, config)

    broker_realm = local_realm_for(broker)
    assert broker_realm is not None
    with demo_factory() as session:
        settlements = set(session.scalars(select(Settlement.number)))
        carrier_bills = set(session.scalars(select(CarrierBill.carrier_invoice_number)))
        drivers = set(session.scalars(select(Vendor.name).where(Vendor.is_carrier.is_(False))))
        carriers = set(session.scalars(select(Vendor.name).where(Vendor.is_carrier.is_(True),
                                                                Vendor.is_driver.is_(False),
                                                                Vendor.is_fleet_owner.is_(False))))
    carrier_file_bills = set(_qbo_values(sandbox, REALM, "Bill", "DocNumber"))
    broker_file_bills = set(_qbo_values(sandbox, broker_realm, "Bill", "DocNumber"))
    # Settlements only in the driver-pay file, carrier bills only in the carrier-pay file.
    assert carrier_file_bills and broker_file_bills
    assert carrier_file_bills <= settlements and broker_file_bills <= carrier_bills
    carrier_file_vendors = set(_qbo_values(sandbox, REALM, "Vendor", "DisplayName"))
    broker_file_vendors = set(_qbo_values(sandbox, broker_realm, "Vendor", "DisplayName"))
    assert not (carriers & carrier_file_vendors) and not (drivers & broker_file_vendors)


def test_a_record_sent_without_an_answer_stays_in_the_old_company_when_its_customer_moves(
    demo_factory: sessionmaker[Session],
) -> None:
    from sqlalchemy import update

    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        customer_id = session.scalars(select(Customer.id).where(Customer.parent_id.is_(None))
                                      .order_by(Customer.id)).first()
        invoices = list(session.scalars(select(SyncRecord.id).join(Invoice, Invoice.id == SyncRecord.entity_id).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, Invoice.customer_id == customer_id)
            .order_by(SyncRecord.id)))
        assert len(invoices) >= 3
        in_flight, refused = invoices[0], invoices[1]
        # One push timed out (QuickBooks may have made it); another was refused (nothing was made).
        session.execute(update(SyncRecord).where(SyncRecord.id == in_flight).values(
            request_id="qbs-inv-1-a", error_kind="timeout", status=SyncStatus.FAILED.value))
        session.execute(update(SyncRecord).where(SyncRecord.id == refused).values(
            request_id="qbs-inv-2-a", error_kind="validation", status=SyncStatus.FAILED.value))
    with demo_factory() as session:
        plan = plan_move(session, customer_id, broker)
    assert any(r.qbo_id is None for r in plan.staying)
    with transaction(demo_factory) as session:
        move_customer(session, LOCAL_ADMIN, customer_id, broker, reason="brokered now")
    with demo_factory() as session:
        companies = dict(session.execute(select(SyncRecord.id, SyncRecord.company_id).where(
            SyncRecord.id.in_(invoices))).all())
        kept = session.get(SyncRecord, in_flight)
    assert companies[in_flight] == 1 and kept is not None and kept.request_id == "qbs-inv-1-a"
    assert {companies[i] for i in invoices if i != in_flight} == {broker}


def test_a_blocker_fixed_in_one_company_retries_nothing_in_another(demo_factory: sessionmaker[Session]) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from qbcore.models import ChargeCode, utcnow
    from qbcore.sync.cascade import cascade_retries

    with transaction(demo_factory) as session:
        broker = add_company(session, LOCAL_ADMIN, "Brokerage").id
        code = session.scalars(select(ChargeCode).order_by(ChargeCode.id)).first()
        assert code is not None
        invoice = session.scalars(select(SyncRecord.id).where(
            SyncRecord.company_id == 1, SyncRecord.entity_type == EntityType.INVOICE.value)).first()
        earlier = utcnow() - timedelta(hours=1)
        session.execute(update(SyncRecord).where(SyncRecord.id == invoice).values(
            status=SyncStatus.BLOCKED.value, blocked_by=f"item:{code.code}", last_attempt_at=earlier))
        # The broker file's item of that code syncs: the carrier file's item is still missing.
        session.execute(update(SyncRecord).where(
            SyncRecord.company_id == broker, SyncRecord.entity_type == EntityType.ITEM.value,
            SyncRecord.entity_id == code.id).values(status=SyncStatus.SYNCED.value, qbo_id="77",
                                                    last_synced_at=utcnow()))
    with transaction(demo_factory) as session:
        assert cascade_retries(session) is None
    with transaction(demo_factory) as session:
        session.execute(update(SyncRecord).where(
            SyncRecord.company_id == 1, SyncRecord.entity_type == EntityType.ITEM.value,
            SyncRecord.entity_id == code.id).values(status=SyncStatus.SYNCED.value, qbo_id="12",
                                                    last_synced_at=utcnow()))
    with transaction(demo_factory) as session:
        job = cascade_retries(session)
        assert job is not None and invoice in job.params["record_ids"]
