"""Removing and overriding QuickBooks ids against the real sandbox over HTTP: guards, validation, audit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import Actor, PermissionDenied
from qbcore.config import Config, QboEnvironment
from qbcore.id_changes import (
    IdChangeRefused,
    check_override,
    find_relink_candidates,
    override_qbo_id,
    parse_qbo_id,
    remove_qbo_ids,
)
from qbcore.models import AuditEvent, Customer, EntityType, Invoice, Role, SyncRecord, SyncStatus
from qbcore.qbo.lookup import open_gateway
from qbcore.sync.records import ensure_sync_records
from qbo_sandbox.server import SandboxOptions, start_in_thread

ADMIN = Actor("ada@example.com", Role.ADMIN, "Ada")
OPERATOR = Actor("otto@example.com", Role.OPERATOR, "Otto")
VIEWER = Actor("vic@example.com", Role.VIEWER, "Vic")


@dataclass
class Book:
    """The demo book linked to a sandbox: two invoices with twins in QuickBooks, one customer linked."""

    factory: sessionmaker[Session]
    config: Config
    linked: SyncRecord  # invoice linked to its QuickBooks twin
    spare: SyncRecord  # invoice not linked; its twin exists in QuickBooks
    spare_qbo_id: str
    stranger_qbo_id: str  # a QuickBooks invoice that is no invoice of ours
    customer_qbo_id: str  # a QuickBooks customer id with no invoice of that id


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """A fresh sandbox on a free port."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as running:
        yield running.url


def _twin(gateway, invoice: Invoice, customer_id: str, doc_number: str | None = None, amount=None,
          request_id: str | None = None) -> str:
    body = {
        "DocNumber": doc_number or invoice.number,
        "TxnDate": invoice.invoice_date.isoformat(),
        "CustomerRef": {"value": customer_id},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": float(amount or invoice.total),
                  "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1,
                                          "UnitPrice": float(amount or invoice.total)}}],
    }
    return gateway.write("Invoice", body, request_id=request_id or f"t-{doc_number or invoice.number}")["Id"]


@pytest.fixture
def book(demo_factory: sessionmaker[Session], sandbox_url: str, db_url: str, tmp_path: Path) -> Book:
    from qbcore.qbo.oauth import ensure_local_connection

    config = Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox_url,
                    secret_key=Fernet.generate_key().decode(), data_dir=tmp_path)
    ensure_local_connection(demo_factory, config)
    gateway = open_gateway(demo_factory, config)
    with demo_factory() as session, session.begin():
        ensure_sync_records(session)
        first, second, third = session.scalars(select(Invoice).order_by(Invoice.id).limit(3)).all()
        customers = {}
        for invoice in (first, second, third):
            name = invoice.customer.name
            if name not in customers:
                customers[name] = gateway.write("Customer", {"DisplayName": name}, request_id=f"t-{name}")["Id"]
        first_qbo = _twin(gateway, first, customers[first.customer.name])
        spare_qbo = _twin(gateway, second, customers[second.customer.name])
        stranger_qbo = _twin(gateway, third, customers[third.customer.name], doc_number="MANUAL-77", amount=12.34)
        linked = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                         SyncRecord.entity_id == first.id))
        linked.qbo_id, linked.qbo_sync_token, linked.status = first_qbo, "0", SyncStatus.SYNCED
        linked.request_id = "req-first"
        spare = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                        SyncRecord.entity_id == second.id))
        spare.status = SyncStatus.FAILED
    # The sandbox has several seeded customers; find a customer id that is no invoice id.
    seeded = gateway.query("SELECT * FROM Customer MAXRESULTS 100")
    invoice_ids = {row["Id"] for row in gateway.query("SELECT * FROM Invoice MAXRESULTS 100")}
    customer_only = next(c["Id"] for c in seeded if c["Id"] not in invoice_ids)
    return Book(demo_factory, config, linked, spare, spare_qbo, stranger_qbo, customer_only)


def _record(factory, record_id: int) -> SyncRecord:
    with factory() as session:
        return session.get(SyncRecord, record_id)


def _audit(factory, action: str) -> list[AuditEvent]:
    with factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("text", ["abc", "-1", "1.5", "", "  ", "0", "12 34", "1e3", "0x10"])
def test_parse_qbo_id_refuses_junk_with_a_plain_message(text):
    with pytest.raises(IdChangeRefused, match="not a QuickBooks id"):
        parse_qbo_id(text)


@pytest.mark.parametrize(("text", "expected"), [("145", "145"), (" 7 ", "7"), ("1000000", "1000000")])
def test_parse_qbo_id_accepts_positive_whole_numbers(text, expected):
    assert parse_qbo_id(text) == expected


def test_admin_removes_an_id_and_the_record_goes_back_to_never_synced(book):
    with book.factory() as session, session.begin():
        changes = remove_qbo_ids(session, ADMIN, [book.linked.id], reason="deleted in QuickBooks by mistake")
    assert [(c.record_id, c.before_qbo_id, c.after_qbo_id) for c in changes] == \
        [(book.linked.id, book.linked.qbo_id, None)]
    record = _record(book.factory, book.linked.id)
    assert (record.qbo_id, record.qbo_sync_token, record.request_id, record.status) == \
        (None, None, None, SyncStatus.NEVER_SYNCED)
    [event] = _audit(book.factory, "remove_qbo_id")
    assert event.before["qbo_id"] == book.linked.qbo_id and event.after["qbo_id"] is None
    assert (event.actor, event.reason, event.outcome) == (ADMIN.email, "deleted in QuickBooks by mistake", "ok")


@pytest.mark.parametrize("actor", [VIEWER, OPERATOR])
def test_a_viewer_or_operator_cannot_remove_an_id_and_the_refusal_is_audited(book, actor):
    with pytest.raises(PermissionDenied, match="needs the admin role"), book.factory() as session, session.begin():
        remove_qbo_ids(session, actor, [book.linked.id], reason="x", audit_factory=book.factory)
    assert _record(book.factory, book.linked.id).qbo_id == book.linked.qbo_id
    [event] = _audit(book.factory, "remove_qbo_id")
    assert (event.actor, event.outcome) == (actor.email, "refused")


def test_removing_without_a_reason_changes_nothing(book):
    with pytest.raises(IdChangeRefused, match="Give a reason"), book.factory() as session, session.begin():
        remove_qbo_ids(session, ADMIN, [book.linked.id], reason="  ")
    assert _record(book.factory, book.linked.id).qbo_id == book.linked.qbo_id
    assert _audit(book.factory, "remove_qbo_id") == []


def test_bulk_remove_skips_unlinked_records_and_audits_each_removed_one(book):
    with book.factory() as session, session.begin():
        changes = remove_qbo_ids(session, ADMIN, [book.linked.id, book.spare.id], reason="re-sync both")
    assert [c.record_id for c in changes] == [book.linked.id]
    assert len(_audit(book.factory, "remove_qbo_id")) == 1


def test_bulk_remove_of_only_unlinked_records_is_refused(book):
    with pytest.raises(IdChangeRefused, match="None of the selected"), book.factory() as session, session.begin():
        remove_qbo_ids(session, ADMIN, [book.spare.id], reason="why not")


def test_override_shows_quickbooks_side_then_links_and_audits(book):
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session:
        check = check_override(session, gateway, book.spare.id, book.spare_qbo_id)
    assert check.qbo.name == check.record.number_or_name and check.qbo.amount == check.record.amount
    assert check.differences == ()
    change = override_qbo_id(book.factory, gateway, ADMIN, book.spare.id, book.spare_qbo_id, reason="found twin")
    assert (change.before_qbo_id, change.after_qbo_id) == (None, book.spare_qbo_id)
    record = _record(book.factory, book.spare.id)
    assert (record.qbo_id, record.qbo_sync_token, record.status) == (book.spare_qbo_id, "0", SyncStatus.SYNCED)
    [event] = _audit(book.factory, "override_qbo_id")
    assert (event.before["qbo_id"], event.after["qbo_id"], event.reason) == (None, book.spare_qbo_id, "found twin")


@pytest.mark.parametrize("actor", [VIEWER, OPERATOR])
def test_a_viewer_or_operator_cannot_override_and_the_refusal_is_audited(book, actor):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(PermissionDenied):
        override_qbo_id(book.factory, gateway, actor, book.spare.id, book.spare_qbo_id, reason="x")
    assert _record(book.factory, book.spare.id).qbo_id is None
    [event] = _audit(book.factory, "override_qbo_id")
    assert (event.actor, event.outcome) == (actor.email, "refused")


@pytest.mark.parametrize("junk", ["abc", "-1", "1.5"])
def test_override_with_a_junk_id_is_refused_and_nothing_changes(book, junk):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="not a QuickBooks id"):
        override_qbo_id(book.factory, gateway, ADMIN, book.linked.id, junk, reason="typo test")
    assert _record(book.factory, book.linked.id).qbo_id == book.linked.qbo_id
    assert _audit(book.factory, "override_qbo_id") == []


def test_override_with_a_customer_id_for_an_invoice_is_refused(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="QuickBooks has no invoice with id"):
        override_qbo_id(book.factory, gateway, ADMIN, book.linked.id, book.customer_qbo_id, reason="wrong type")
    assert _record(book.factory, book.linked.id).qbo_id == book.linked.qbo_id


def test_override_with_an_id_that_does_not_exist_is_refused(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="QuickBooks has no invoice with id 99999"):
        override_qbo_id(book.factory, gateway, ADMIN, book.linked.id, "99999", reason="missing")


def test_override_with_an_id_already_linked_to_another_record_is_refused(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="already linked to our invoice INV-"):
        override_qbo_id(book.factory, gateway, ADMIN, book.spare.id, book.linked.qbo_id, reason="steal it")
    assert _record(book.factory, book.spare.id).qbo_id is None
    assert _record(book.factory, book.linked.id).qbo_id == book.linked.qbo_id


def test_override_with_the_id_of_an_unrelated_invoice_is_refused(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="does not look like our invoice"):
        override_qbo_id(book.factory, gateway, ADMIN, book.spare.id, book.stranger_qbo_id, reason="guess")
    assert _record(book.factory, book.spare.id).qbo_id is None


def test_override_to_the_current_id_is_refused_as_nothing_to_change(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="already linked to QuickBooks id"):
        override_qbo_id(book.factory, gateway, ADMIN, book.linked.id, book.linked.qbo_id, reason="same")


def test_override_when_quickbooks_is_not_connected_says_so(book):
    from qbcore.qbo.oauth import disconnect

    disconnect(book.factory, book.config)
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="Could not check the id in QuickBooks"):
        override_qbo_id(book.factory, gateway, ADMIN, book.spare.id, book.spare_qbo_id, reason="offline")


def test_relink_candidates_find_the_twin_by_number_and_amount_and_mark_linked_ones(book):
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session:
        candidates = find_relink_candidates(session, gateway, book.spare.id)
    best = candidates[0]
    assert best.qbo.qbo_id == book.spare_qbo_id
    assert {"same number", "same amount", "same date"} <= set(best.reasons)
    assert best.linked_record_id is None


def test_relink_candidates_for_a_customer_search_by_name(book):
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session, session.begin():
        invoice = session.get(Invoice, 1)
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.CUSTOMER,
                                                         SyncRecord.entity_id == invoice.customer_id))
        name = session.get(Customer, invoice.customer_id).name
        record_id = record.id
    with book.factory() as session:
        candidates = find_relink_candidates(session, gateway, record_id)
    assert any(c.qbo.name == name and "similar name" in c.reasons for c in candidates)


def test_no_twin_is_created_in_quickbooks_by_any_check(book):
    gateway = open_gateway(book.factory, book.config)
    before = len(gateway.query("SELECT * FROM Invoice MAXRESULTS 100"))
    with book.factory() as session:
        check_override(session, gateway, book.spare.id, book.spare_qbo_id)
        find_relink_candidates(session, gateway, book.spare.id)
    assert len(gateway.query("SELECT * FROM Invoice MAXRESULTS 100")) == before
    with book.factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action.like("%qbo_id"))) == 0


def test_a_refused_bulk_remove_of_many_records_is_audited_within_the_target_column(book):
    many = [book.linked.id, *range(100_000, 100_040)]
    with pytest.raises(PermissionDenied), book.factory() as session, session.begin():
        remove_qbo_ids(session, VIEWER, many, reason="x", audit_factory=book.factory)
    [event] = _audit(book.factory, "remove_qbo_id")
    assert event.target_id == f"41 records from {book.linked.id}"


def _walk_in_twin(book: Book) -> tuple[int, str]:
    """(our unlinked invoice's record id, a QuickBooks invoice of its number and date, another customer, $125)."""
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session, session.begin():
        invoice = session.scalars(select(Invoice).order_by(Invoice.id).offset(3).limit(1)).one()
        walk_in = gateway.write("Customer", {"DisplayName": "Walk-in Customer"}, request_id="t-walk-in")["Id"]
        qbo_id = _twin(gateway, invoice, walk_in, amount=125, request_id="t-walk-in-invoice")
        record = session.scalar(select(SyncRecord).where(SyncRecord.entity_type == EntityType.INVOICE,
                                                         SyncRecord.entity_id == invoice.id))
        record.status = SyncStatus.FAILED
        return record.id, qbo_id


def test_a_same_number_twin_of_another_customer_and_amount_is_a_mismatch_that_says_what_the_sync_would_do(book):
    record_id, qbo_id = _walk_in_twin(book)
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session:
        check = check_override(session, gateway, record_id, qbo_id)
        number, customer = check.record.number_or_name, check.record.customer
    assert check.needs_typed_confirmation
    assert check.mismatches == (f"it belongs to QuickBooks customer Walk-in Customer, ours to {customer}",
                                f"it is for $125.00, ours for ${check.record.amount:,.2f}")
    assert check.consequence.startswith(
        f"The next sync will overwrite QuickBooks invoice {number} (id {qbo_id}) of Walk-in Customer for $125.00 "
        f"with our invoice {number} of {customer} for ${check.record.amount:,.2f}")


@pytest.mark.parametrize("typed", [None, "", "yes", "overwrit"])
def test_linking_a_mismatched_twin_without_typing_overwrite_is_refused_audited_and_changes_nothing(book, typed):
    record_id, qbo_id = _walk_in_twin(book)
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match=r"Type OVERWRITE to link it anyway\. Nothing was changed\."):
        override_qbo_id(book.factory, gateway, ADMIN, record_id, qbo_id, reason="looks right", confirmation=typed)
    record = _record(book.factory, record_id)
    assert (record.qbo_id, record.status) == (None, SyncStatus.FAILED)
    [event] = _audit(book.factory, "override_qbo_id")
    assert (event.outcome, event.actor, event.target_id, event.after) == ("refused", ADMIN.email,
                                                                          str(record_id), {"qbo_id": qbo_id})
    assert "probably not ours" in event.reason


def test_linking_a_mismatched_twin_with_overwrite_typed_links_it_out_of_date_and_audits_the_overwrite(book):
    record_id, qbo_id = _walk_in_twin(book)
    gateway = open_gateway(book.factory, book.config)
    override_qbo_id(book.factory, gateway, ADMIN, record_id, qbo_id, reason="ours, typed wrong in QuickBooks",
                    confirmation=" overwrite ")
    record = _record(book.factory, record_id)
    # Out of date: the next sync pushes ours over the QuickBooks invoice, as the dialog said.
    assert (record.qbo_id, record.status) == (qbo_id, SyncStatus.OUT_OF_DATE)
    [event] = _audit(book.factory, "override_qbo_id")
    assert event.outcome == "ok" and event.after["confirmed_overwrite"] is True and len(event.after["mismatches"]) == 2


def test_linking_a_twin_already_linked_to_another_record_is_refused_even_with_overwrite_and_audited(book):
    gateway = open_gateway(book.factory, book.config)
    with pytest.raises(IdChangeRefused, match="already linked to our invoice INV-"):
        override_qbo_id(book.factory, gateway, ADMIN, book.spare.id, book.linked.qbo_id, reason="steal it",
                        confirmation="OVERWRITE")
    assert _record(book.factory, book.spare.id).qbo_id is None
    [event] = _audit(book.factory, "override_qbo_id")
    assert (event.outcome, event.after) == ("refused", {"qbo_id": book.linked.qbo_id})
    assert "Two of our records cannot share one QuickBooks record" in event.reason


def test_relink_candidates_name_the_mismatch_of_a_same_number_twin_and_put_it_after_matching_ones(book):
    record_id, qbo_id = _walk_in_twin(book)
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session:
        name = session.get(Invoice, session.get(SyncRecord, record_id).entity_id).customer.name
        candidates = find_relink_candidates(session, gateway, record_id)
    [walk_in] = [c for c in candidates if c.qbo.qbo_id == qbo_id]
    assert set(walk_in.reasons) >= {"same number", "same date"} and "same customer" not in walk_in.reasons
    assert walk_in.mismatches[0] == f"it belongs to QuickBooks customer Walk-in Customer, ours to {name}"
    matching = [c for c in candidates if not c.mismatches]
    assert all(candidates.index(c) < candidates.index(walk_in) for c in matching)


def test_relink_candidates_for_the_real_twin_show_no_mismatch_and_the_same_customer(book):
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session:
        [best, *_] = find_relink_candidates(session, gateway, book.spare.id)
    assert (best.qbo.qbo_id, best.mismatches) == (book.spare_qbo_id, ())
    assert "same customer" in best.reasons


def test_a_relink_candidate_linked_to_another_record_names_that_record(book):
    gateway = open_gateway(book.factory, book.config)
    with book.factory() as session, session.begin():
        first = session.get(Invoice, book.linked.entity_id)
        # Our spare invoice now carries the linked one's amount, so the linked twin shows up by amount.
        spare = session.get(Invoice, book.spare.entity_id)
        spare.total = first.total
        number = first.number
    with book.factory() as session:
        candidates = find_relink_candidates(session, gateway, book.spare.id)
    owned = next(c for c in candidates if c.qbo.qbo_id == book.linked.qbo_id)
    assert (owned.linked_record_id, owned.linked_to) == (book.linked.id, f"invoice {number}")
