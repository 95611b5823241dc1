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
