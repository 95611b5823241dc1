"""The QBO query language parser and evaluator, tested on strings and row dicts only."""

from __future__ import annotations

import pytest

from qbo_sandbox.faults import QboFault
from qbo_sandbox.query import evaluate, parse

ROWS = [
    {
        "Id": "1",
        "DisplayName": "Amy's Bird Sanctuary",
        "Active": True,
        "Balance": 239.0,
        "CustomerRef": {"value": "58"},
        "MetaData": {"LastUpdatedTime": "2025-03-01T10:00:00-08:00"},
    },
    {
        "Id": "2",
        "DisplayName": "O'Brien Trucking",
        "Active": True,
        "Balance": 0,
        "CustomerRef": {"value": "7"},
        "MetaData": {"LastUpdatedTime": "2025-03-05T10:00:00-08:00"},
    },
    {
        "Id": "10",
        "DisplayName": "Zed Freight",
        "Active": False,
        "Balance": 1000.5,
        "CustomerRef": {"value": "58"},
        "MetaData": {"LastUpdatedTime": "2025-04-01T00:00:00-07:00"},
    },
]


def ids(query_text: str) -> list[str]:
    page, _total = evaluate(parse(query_text), ROWS)
    return [row["Id"] for row in page]


def test_python_quickbooks_all_form_with_order_by_space_parses():
    query = parse("SELECT * FROM Customer ORDER BY DisplayName STARTPOSITION 1 MAXRESULTS 1000")
    assert (query.entity, query.order_by, query.start_position, query.max_results) == (
        "Customer",
        [("DisplayName", False)],
        1,
        1000,
    )


def test_orderby_keyword_and_desc_sort_numerically():
    assert ids("select * from Customer ORDERBY Id DESC") == ["10", "2", "1"]


def test_backslash_escaped_apostrophe_matches_the_name():
    assert ids(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien Trucking' AND Active = True") == ["2"]


def test_lowercase_in_list_and_boolean_keywords_are_accepted():
    assert ids("select * from Customer where Id in ('1', '10')") == ["1", "10"]
    assert ids("SELECT * FROM Customer WHERE Active IN (true, false)") == ["1", "2", "10"]


def test_like_with_percent_wildcards_is_case_insensitive():
    assert ids("SELECT * FROM Customer WHERE DisplayName LIKE '%freight%'") == ["10"]
    assert ids("SELECT * FROM Customer WHERE DisplayName LIKE 'amy%'") == ["1"]


def test_numeric_comparisons_use_decimal_values():
    assert ids("SELECT * FROM Customer WHERE Balance > '200.00'") == ["1", "10"]
    assert ids("SELECT * FROM Customer WHERE Balance <= '0'") == ["2"]


def test_ref_fields_filter_by_id():
    assert ids("SELECT * FROM Invoice WHERE CustomerRef = '58'") == ["1", "10"]


def test_metadata_last_updated_time_compares_as_datetimes_across_offsets():
    assert ids("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '2025-03-05T10:00:00-08:00'") == [
        "2",
        "10",
    ]
    assert ids("select * from Customer where metadata.lastupdatedtime < '2025-03-02'") == ["1"]


def test_startposition_is_one_based_and_maxresults_pages():
    assert ids("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 1") == ["2"]


def test_maxresults_defaults_to_100_and_caps_at_1000():
    assert parse("SELECT * FROM Customer").max_results == 100
    assert parse("SELECT * FROM Customer MAXRESULTS 5000").max_results == 1000


def test_count_star_reports_the_total():
    query = parse("SELECT COUNT(*) FROM Customer WHERE Active = true")
    assert query.count is True
    assert evaluate(query, ROWS)[1] == 2


def test_select_star_with_extra_field_as_item_all_sends_it():
    assert parse("SELECT *, Sku FROM Item MAXRESULTS 100").entity == "Item"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer WHERE Id = '1' OR Id = '2'",
        "SELECT * FROM Customer WHERE",
        "SELECT FROM",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
    ],
)
def test_or_and_broken_syntax_are_parse_errors_with_code_4000(text):
    with pytest.raises(QboFault) as caught:
        parse(text)
    assert caught.value.code == "4000"
    assert caught.value.message == "Error parsing query"


def test_private_note_is_not_queryable_4001():
    with pytest.raises(QboFault) as caught:
        parse("SELECT * FROM Invoice WHERE PrivateNote = 'x'")
    assert caught.value.code == "4001"


def test_numeric_string_ids_compare_as_numbers():
    assert ids("SELECT * FROM Customer WHERE Id > '9'") == ["10"]


def test_not_equal_is_accepted_and_a_missing_field_matches_nothing():
    assert ids("SELECT * FROM Customer WHERE DisplayName != 'Zed Freight'") == ["1", "2"]
    assert ids("SELECT * FROM Customer WHERE Active != false AND Balance != '0'") == ["1"]
    assert ids("SELECT * FROM Customer WHERE Notes != 'x'") == []  # like SQL's NULL


def test_the_undocumented_angle_bracket_operator_stays_a_parse_error():
    with pytest.raises(QboFault) as caught:
        parse("SELECT * FROM Customer WHERE Id <> '1'")
    assert caught.value.code == "4000"


@pytest.mark.parametrize(
    "moment",
    ["2025-03-05T10:00:00", "2025-03-05T10:00:00-08:00", "2025-03-05T18:00:00Z", "2025-03-05T10:00:00-0800"],
)
def test_naive_offset_and_utc_forms_of_one_instant_give_the_same_answer(moment):
    # A naive value is read as the company's Pacific time, the zone QBO writes every MetaData time in.
    assert ids(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= '{moment}'") == ["2", "10"]
    assert ids(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '{moment}'") == ["10"]


def test_names_sort_in_ordinal_order_capitals_first():
    rows = [{"Id": str(n), "DisplayName": name} for n, name in enumerate(["Pam Seitz", "PG&E", "alpha"], 1)]
    page, _ = evaluate(parse("SELECT * FROM Vendor"), rows, "DisplayName")
    assert [r["DisplayName"] for r in page] == ["PG&E", "Pam Seitz", "alpha"]  # as recorded all/vendors_by_5


def test_an_id_filter_is_reported_so_the_answer_comes_in_id_order():
    assert parse("SELECT * FROM Customer WHERE Id IN ('5', '6')").picks_ids()
    assert not parse("SELECT * FROM Customer WHERE Active IN (true, false)").picks_ids()
