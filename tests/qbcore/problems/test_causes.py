"""Root causes read as plain sentences, with the classification table's fix hint and the page to fix them on."""

from __future__ import annotations

import pytest

from qbcore.models import EntityType
from qbcore.problems.causes import (
    QBO_IDS_PAGE,
    SETTINGS_PAGE,
    describe_cause,
    fix_hint_for,
    fix_link_for,
    split_blocker,
)

E = EntityType


@pytest.mark.parametrize("entity, kind, code, blocked_by, count, sample, expected", [
    (E.INVOICE, "mapping", None, "charge_code:CHASSIS", 23, None,
     "23 invoices: charge code CHASSIS not mapped to a QuickBooks item"),
    (E.INVOICE, "duplicate", "6240", "customer:ACME Logistics", 9, None,
     "9 invoices: customer ACME Logistics clashes with a name already used in QuickBooks (vendor, employee or "
     "customer)"),
    (E.INVOICE, "closed_period", "6200", None, 4, None,
     "4 invoices: dated before the books' closing date in QuickBooks"),
    (E.PAYMENT, "dependency", None, "invoice:INV-1001", 1, None, "1 payment: waiting for invoice INV-1001 to sync"),
    (E.CREDIT_MEMO, "not_found", "610", "item:DETENTION", 2, None,
     "2 credit memos: item DETENTION is inactive or missing in QuickBooks"),
    (E.CUSTOMER, "auth", "3200", None, 5, None, "5 customers: QuickBooks needs to be reconnected"),
    (E.INVOICE, "duplicate", "6140", None, 3, None,
     "3 invoices: the number is already used by another transaction in QuickBooks"),
    (E.INVOICE, "throttled", "3001", None, 1200, None,
     "1,200 invoices: QuickBooks was busy or unreachable (retried automatically)"),
    (E.INVOICE, "validation", "6000", None, 2, "Amount is negative",
     "2 invoices: rejected by QuickBooks (code 6000): Amount is negative"),
    (E.INVOICE, "mapping", None, "term:Net 45", 7, None,
     "7 invoices: payment term Net 45 not mapped to a QuickBooks term"),
    (E.INVOICE, "mapping", None, "item:CHASSIS", 23, None,
     "23 invoices: charge code CHASSIS not mapped to a QuickBooks item"),
    (E.INVOICE, "mapping", None, "class:Savannah", 2, None, "2 invoices: class Savannah does not exist in QuickBooks"),
    (E.ITEM, "mapping", None, "account:income", 1, None,
     "1 charge code: no QuickBooks income account is chosen in Settings"),
    (E.INVOICE, "mapping", None, "mystery:thing", 1, "No idea",
     "1 invoice: mystery:thing cannot be mapped to QuickBooks"),
    (E.INVOICE, "dependency", None, "free text blocker", 1, None, "1 invoice: waiting for free text blocker to sync"),
])
def test_describe_cause(entity, kind, code, blocked_by, count, sample, expected):
    assert describe_cause(entity, kind, code, blocked_by, count, sample) == expected


@pytest.mark.parametrize("kind, code, blocked_by, page", [
    ("mapping", None, "charge_code:CHASSIS", SETTINGS_PAGE),
    ("auth", "3200", None, SETTINGS_PAGE),
    ("duplicate", "6240", "customer:ACME", SETTINGS_PAGE),
    ("not_found", "6250", None, QBO_IDS_PAGE),
    ("closed_period", "6200", None, None),
    ("dependency", None, "customer:ACME", None),
])
def test_fix_link_points_at_the_page_where_it_is_fixed(kind, code, blocked_by, page):
    link = fix_link_for(kind, code, blocked_by)
    assert (None if link is None else link.page) == page


@pytest.mark.parametrize("kind, code, blocked_by, contains", [
    ("duplicate", "6240", "customer:ACME Logistics", "named ACME Logistics"),
    ("closed_period", "6200", None, "reopen the period"),
    ("server", "HTTP 503", None, "temporarily unavailable"),
    ("mapping", None, None, "Fix the mapping in Settings"),
    ("timeout", "", None, "same request id"),
    ("no_such_kind", None, None, "Check the message"),
])
def test_fix_hint_comes_from_the_classification_table(kind, code, blocked_by, contains):
    assert contains in fix_hint_for(kind, code, blocked_by)


def test_split_blocker_knows_its_prefixes_and_keeps_free_text():
    assert split_blocker("charge_code:CHASSIS") == ("charge code", "CHASSIS")
    assert split_blocker("Needs: review") == (None, "Needs: review")
    assert split_blocker(None) == (None, None)


# ---- grouped by the root of the chain, against a real book ----------------------------------------------------

from datetime import timedelta  # noqa: E402

from sqlalchemy import select, update  # noqa: E402

from qbcore.db import transaction  # noqa: E402
from qbcore.models import Customer, Invoice, Payment, SyncRecord, SyncStatus  # noqa: E402
from qbcore.problems.queries import list_root_causes  # noqa: E402
from tests.qbcore.problems.problem_data import NOW  # noqa: E402

LONG_AGO = NOW - timedelta(days=60)


def _records(session, entity, model, number_column, skip, count):
    return list(session.execute(
        select(SyncRecord.id, model.id, number_column).join(model, model.id == SyncRecord.entity_id)
        .where(SyncRecord.entity_type == entity.value).order_by(SyncRecord.id).offset(skip).limit(count)))


def _fail(session, ids, status, kind, code=None, blocked_by=None, message="QuickBooks said no"):
    session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids)).values(
        status=status.value, error_kind=kind, error_code=code, blocked_by=blocked_by, error_message=message,
        attempts=1, first_failed_at=NOW, last_attempt_at=NOW))


def _closed_period_chain(factory):
    """3 invoices failed for the closed period (unchanged since), 5 payments waiting for them."""
    with transaction(factory) as session:
        invoices = _records(session, E.INVOICE, Invoice, Invoice.number, 40, 3)
        _fail(session, [r for r, _, _ in invoices], SyncStatus.FAILED, "closed_period", "6200",
              message="The account period has closed")
        session.execute(update(Invoice).where(Invoice.id.in_([i for _, i, _ in invoices])).values(updated_at=LONG_AGO))
        payments = _records(session, E.PAYMENT, Payment, Payment.number, 10, 5)
        for index, (record_id, _, _) in enumerate(payments):
            _fail(session, [record_id], SyncStatus.BLOCKED, "dependency",
                  blocked_by=f"invoice:{invoices[index % 3][2]}", message="The invoice is not in QuickBooks yet")
    return invoices, payments


def test_payments_waiting_for_closed_period_invoices_are_one_group_without_a_retry(demo_factory, problem_book):
    invoices, _ = _closed_period_chain(demo_factory)
    with demo_factory() as session:
        causes = [c for c in list_root_causes(session, E.PAYMENT) if c.root_entity is E.INVOICE]
    assert [c.sentence for c in causes] == [
        "5 payments and 3 invoices: invoice date before the books' closing date in QuickBooks"]
    cause = causes[0]
    assert cause.count == 5 and sorted(cause.root_record_ids) == sorted(r for r, _, _ in invoices)
    assert not cause.retry_offered
    assert "Change the closing date in QuickBooks" in cause.must_change
    assert "“Read it from QuickBooks now” on Month End" in cause.must_change

    # An invoice date changed in billing since the failure: now a retry (of the invoices) can pass.
    with transaction(demo_factory) as session:
        session.execute(update(Invoice).where(Invoice.id == invoices[0][1]).values(updated_at=NOW + timedelta(hours=1)))
    with demo_factory() as session:
        cause = next(c for c in list_root_causes(session, E.PAYMENT) if c.root_entity is E.INVOICE)
    assert cause.retry_offered and cause.must_change is None


def test_a_chain_two_deep_names_the_customer_at_its_root(demo_factory, problem_book):
    with transaction(demo_factory) as session:
        customer_record, customer_id, name = _records(session, E.CUSTOMER, Customer, Customer.name, 5, 1)[0]
        _fail(session, [customer_record], SyncStatus.FAILED, "duplicate", "6240", message="Duplicate Name Exists")
        invoices = list(session.execute(
            select(SyncRecord.id, Invoice.number).join(Invoice, Invoice.id == SyncRecord.entity_id)
            .where(SyncRecord.entity_type == "invoice", Invoice.customer_id == customer_id).limit(2)))
        assert invoices, "the demo customer has invoices"
        _fail(session, [r for r, _ in invoices], SyncStatus.BLOCKED, "dependency", blocked_by=f"customer:{name}")
        payment_record = _records(session, E.PAYMENT, Payment, Payment.number, 20, 1)[0][0]
        _fail(session, [payment_record], SyncStatus.BLOCKED, "dependency", blocked_by=f"invoice:{invoices[0][1]}")
    with demo_factory() as session:
        on_payments = [c for c in list_root_causes(session, E.PAYMENT) if c.root_entity is E.CUSTOMER]
        on_invoices = [c for c in list_root_causes(session, E.INVOICE) if c.root_entity is E.CUSTOMER]
    assert [c.sentence for c in on_payments] == [
        f"1 payment and 1 customer: customer {name} clashes with a name already used in QuickBooks (vendor, "
        "employee or customer)"]
    assert on_payments[0].fix_link is not None and on_payments[0].fix_link.page == SETTINGS_PAGE
    # On Invoices the seeded Atlas Import Group invoices wait for another clashing customer: one group for both.
    assert len(on_invoices) == 1 and on_invoices[0].count == len(invoices) + 3
    assert set(on_invoices[0].root_record_ids) == {customer_record, problem_book.customers[0]}
    assert on_invoices[0].sentence == (f"{len(invoices) + 3} invoices and 2 customers: the customers' names clash "
                                       "with names already used in QuickBooks (vendor, employee or customer)")


def test_every_group_is_listed_with_its_count_not_only_the_first_eight(demo_factory, problem_book):
    with transaction(demo_factory) as session:
        rows = _records(session, E.INVOICE, Invoice, Invoice.number, 40, 12)
        for index, (record_id, _, _) in enumerate(rows):
            _fail(session, [record_id], SyncStatus.FAILED, "validation", f"61{index:02d}",
                  message=f"Rule {index} broken")
    with demo_factory() as session:
        causes = list_root_causes(session, E.INVOICE)
    validation = [c for c in causes if c.error_kind == "validation"]
    assert len(validation) == 12 and len(causes) > 8
    assert sum(c.count for c in causes) == 20 + 12


def test_a_validation_failure_whose_record_has_not_changed_offers_no_retry_but_says_what_to_change(
        demo_factory, problem_book):
    with transaction(demo_factory) as session:
        rows = _records(session, E.INVOICE, Invoice, Invoice.number, 40, 2)
        _fail(session, [r for r, _, _ in rows], SyncStatus.FAILED, "validation", "6000", message="Amount is negative")
        session.execute(update(Invoice).where(Invoice.id.in_([i for _, i, _ in rows])).values(updated_at=LONG_AGO))
    with demo_factory() as session:
        cause = next(c for c in list_root_causes(session, E.INVOICE) if c.error_code == "6000")
        chassis = next(c for c in list_root_causes(session, E.INVOICE) if c.blocked_by == "charge_code:CHASSIS")
    assert not cause.retry_offered and "Correct the invoices in the billing system" in cause.must_change
    assert not chassis.retry_offered and "Map the charge code CHASSIS on Settings → Charge codes" in chassis.must_change
    with transaction(demo_factory) as session:
        session.execute(update(Invoice).where(Invoice.id == rows[0][1]).values(updated_at=NOW + timedelta(days=1)))
    with demo_factory() as session:
        cause = next(c for c in list_root_causes(session, E.INVOICE) if c.error_code == "6000")
    assert cause.retry_offered and cause.must_change is None


def test_a_name_clash_nothing_was_renamed_for_offers_no_retry_on_the_customer_or_what_waits_for_it(
        demo_factory, problem_book):
    from qbcore.models import CompanySetting, Setting

    with transaction(demo_factory) as session:
        session.execute(update(Customer).where(Customer.id.in_(
            select(SyncRecord.entity_id).where(SyncRecord.id.in_(problem_book.customers)))).values(updated_at=LONG_AGO))
        session.execute(update(SyncRecord).where(SyncRecord.id.in_(problem_book.customers)).values(last_attempt_at=NOW))
        session.execute(update(Setting).values(updated_at=LONG_AGO))
        session.execute(update(CompanySetting).values(updated_at=LONG_AGO))  # what syncs and how, per company
    with demo_factory() as session:
        on_customers = next(c for c in list_root_causes(session, E.CUSTOMER) if c.error_code == "6240")
        chain = next(c for c in list_root_causes(session, E.INVOICE) if c.root_entity is E.CUSTOMER)
    for cause in (on_customers, chain):
        assert not cause.retry_offered
        assert cause.must_change.startswith("Give the customer its own QuickBooks name on Settings → Customer names")
    with transaction(demo_factory) as session:  # a QuickBooks name was given to one of them since
        session.execute(update(Customer).where(Customer.id == select(SyncRecord.entity_id).where(
            SyncRecord.id == problem_book.customers[0]).scalar_subquery()).values(updated_at=NOW + timedelta(hours=2)))
    with demo_factory() as session:
        assert next(c for c in list_root_causes(session, E.CUSTOMER) if c.error_code == "6240").retry_offered
