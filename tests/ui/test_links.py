"""Links between pages: Problem Sync reads what a Month End link names, and ignores an address it cannot read."""

from datetime import date

import pytest

from qbcore.models import EntityType
from ui.links import ProblemLink, read_problem_link


def test_a_month_end_link_names_the_tab_search_and_dates():
    link = read_problem_link({"tab": "credit_memo", "search": "CM-5001", "from": "2026-10-01", "to": "2026-10-31"})
    assert link == ProblemLink(EntityType.CREDIT_MEMO, "CM-5001", (date(2026, 10, 1), date(2026, 10, 31)))


def test_an_alert_link_names_the_error_kind_and_the_exact_blocker():
    link = read_problem_link({"tab": "invoice", "kind": "mapping", "cause": " item:GENSET "})
    assert link is not None and (link.entity, link.kind, link.cause) == (EntityType.INVOICE, "mapping", "item:GENSET")


@pytest.mark.parametrize("params", [{"tab": "widgets"}, {"from": "2026-13-45"}, {"to": "yesterday"},
                                    {"kind": "gremlins"}])
def test_an_address_the_page_cannot_read_opens_it_as_it_is(params):
    assert read_problem_link(params) is None


def test_a_long_search_is_cut_to_what_the_search_box_holds():
    link = read_problem_link({"search": "x" * 500})
    assert link is not None and link.entity is EntityType.INVOICE and len(link.search) == 100
