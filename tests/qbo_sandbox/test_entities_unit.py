"""Entity rules exercised directly on a realm, without HTTP, where a wire test would be slow."""

from __future__ import annotations

from qbo_sandbox.entities import Company
from qbo_sandbox.store import Realm


def seeded() -> Company:
    realm = Realm("1")
    Company.seed(realm)
    return Company(realm)


def test_cdc_returns_at_most_the_object_limit_across_entities():
    company = seeded()
    for n in range(5):
        company.create("Vendor", {"DisplayName": f"CDC Vendor {n}"})
    (response,) = company.cdc("Customer,Vendor", "2000-01-01", limit=10)
    groups = response["QueryResponse"]
    assert sum(len(next(iter(group.values()))) for group in groups if group) == 10
    assert len(groups[0]["Customer"]) == 7 and len(groups[1]["Vendor"]) == 3


def test_changed_since_in_the_future_returns_empty_groups():
    (response,) = seeded().cdc("Invoice", "2999-01-01T00:00:00")
    assert response == {"QueryResponse": [{}]}


def test_query_caps_a_page_at_1000_rows():
    company = seeded()
    for n in range(1005):
        company.realm.table("Vendor")[str(1000 + n)] = {"Id": str(1000 + n), "DisplayName": f"V{n:05d}"}
    result = company.query("SELECT * FROM Vendor MAXRESULTS 5000")
    assert result["maxResults"] == 1000 and len(result["Vendor"]) == 1000
    assert company.query("SELECT COUNT(*) FROM Vendor")["totalCount"] == 1009
