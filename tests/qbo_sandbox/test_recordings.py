"""Replays of real recorded QBO sandbox exchanges: statuses, envelopes, codes and messages must match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = REPO_ROOT / ".." / "shared" / "reference" / "qbo-recordings"

pytestmark = pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"recorded QBO exchanges not found at {RECORDINGS.resolve()}"
)

SERVER_KEYS = {"Id", "SyncToken", "MetaData", "domain", "sparse"}


def recorded(name: str) -> list[dict]:
    """The interactions of one recording, with request and response bodies parsed when they are JSON."""
    data = yaml.safe_load((RECORDINGS / name).read_text())
    out = []
    for interaction in data["http_interactions"]:
        req, resp = interaction["request"], interaction["response"]
        out.append(
            {
                "method": req["method"].upper(),
                "uri": req["uri"],
                "request": _maybe_json(req["body"].get("string")),
                "status": resp["status"]["code"],
                "response": _maybe_json(resp["body"].get("string")),
            }
        )
    return out


def _maybe_json(text):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def assert_same_fault(ours, theirs):
    assert set(ours) >= {"Fault"} and set(theirs) >= {"Fault"}
    mine, real = ours["Fault"]["Error"][0], theirs["Fault"]["Error"][0]
    assert mine["code"] == real["code"] and isinstance(mine["code"], str)
    assert mine["Message"] == real["Message"]
    assert ours["Fault"]["type"] == theirs["Fault"]["type"]


def assert_entity_shape(ours: dict, theirs: dict, data_dependent: set[str] = frozenset()):
    """Every key QBO returned is returned by us too (except ones that only exist for their data)."""
    missing = set(theirs) - set(ours) - set(data_dependent)
    assert not missing, f"keys QBO returns that we do not: {sorted(missing)}"
    assert set(ours) >= SERVER_KEYS
    assert isinstance(ours["Id"], str) and isinstance(ours["SyncToken"], str)


def test_create_customer_returns_200_with_the_full_customer_envelope(realm):
    (exchange,) = recorded("create/customer.yml")
    response = realm.post("customer", exchange["request"])
    assert response.status_code == exchange["status"] == 200
    assert set(response.json()) == set(exchange["response"]) == {"Customer", "time"}
    assert_entity_shape(response.json()["Customer"], exchange["response"]["Customer"], {"DefaultTaxCodeRef"})
    assert response.json()["Customer"]["SyncToken"] == "0"
    assert response.headers["intuit_tid"]


def test_create_invoice_with_auto_numbering_matches_the_recorded_invoice(realm):
    prefs = realm.get("preferences").json()["Preferences"]
    realm.post(
        "preferences",
        {
            "Id": "1",
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"CustomTxnNumbers": False},
        },
    )
    (exchange,) = recorded("create/invoice.yml")
    response = realm.post("invoice", exchange["request"])
    assert response.status_code == exchange["status"] == 200
    ours, theirs = response.json()["Invoice"], exchange["response"]["Invoice"]
    assert_entity_shape(ours, theirs)
    assert [sorted(line) for line in ours["Line"]] == [sorted(line) for line in theirs["Line"]]
    assert ours["DocNumber"].isdigit()
    assert ours["TotalAmt"] == ours["Balance"] == theirs["TotalAmt"] == 100
    assert ours["CustomerRef"] == theirs["CustomerRef"]


def test_full_update_of_a_customer_bumps_the_sync_token_like_qbo(realm):
    read, update = recorded("update/customer.yml")
    created = realm.post("customer", {"DisplayName": "Doe2, Jane"}).json()["Customer"]
    got = realm.get(f"customer/{created['Id']}")
    assert got.status_code == read["status"]
    assert_entity_shape(got.json()["Customer"], read["response"]["Customer"], {"DefaultTaxCodeRef"})
    body = {**update["request"], "Id": created["Id"]}
    response = realm.post("customer", body)
    assert response.status_code == update["status"] == 200
    ours = response.json()["Customer"]
    assert_entity_shape(ours, update["response"]["Customer"], {"DefaultTaxCodeRef"})
    assert ours["SyncToken"] == update["response"]["Customer"]["SyncToken"] == "1"
    assert ours["DisplayName"] == ours["FullyQualifiedName"] == "Jack Moe"


def test_void_invoice_zeroes_amounts_and_writes_voided_like_qbo(realm):
    _read, void = recorded("void/invoice.yml")
    invoice = realm.post("invoice", recorded("create/invoice.yml")[0]["request"]).json()["Invoice"]
    response = realm.post("invoice?operation=void", {**void["request"], "Id": invoice["Id"]})
    assert response.status_code == void["status"] == 200
    ours, theirs = response.json()["Invoice"], void["response"]["Invoice"]
    assert_entity_shape(ours, theirs, {"DocNumber"})
    for key in ("SyncToken", "PrivateNote", "TotalAmt", "Balance", "LinkedTxn"):
        assert ours[key] == theirs[key], key
    assert [line["Amount"] for line in ours["Line"]] == [line["Amount"] for line in theirs["Line"]]


def test_delete_invoice_returns_the_deleted_status_envelope(realm):
    _read, delete = recorded("delete/invoice.yml")
    invoice = realm.post("invoice", recorded("create/invoice.yml")[0]["request"]).json()["Invoice"]
    response = realm.post("invoice?operation=delete", {**delete["request"], "Id": invoice["Id"]})
    assert response.status_code == delete["status"] == 200
    assert set(response.json()["Invoice"]) == set(delete["response"]["Invoice"]) == {"domain", "status", "Id"}
    assert response.json()["Invoice"]["status"] == "Deleted"
    gone = realm.get(f"invoice/{invoice['Id']}")
    assert gone.status_code == 400 and gone.json()["Fault"]["Error"][0]["code"] == "610"


def test_get_customer_by_id_matches_the_recorded_seeded_customer(realm):
    (exchange,) = recorded("get/id.yml")
    response = realm.get("customer/5")
    assert response.status_code == 200
    ours, theirs = response.json()["Customer"], exchange["response"]["Customer"]
    assert_entity_shape(ours, theirs, {"DefaultTaxCodeRef"})
    assert ours["DisplayName"] == theirs["DisplayName"] == "Dukes Basketball Camp"
    assert set(ours["BillAddr"]) >= {"Id", "Line1", "City", "CountrySubDivisionCode", "PostalCode"}


def test_duplicate_display_name_is_6240_with_the_recorded_message(realm):
    (exchange,) = recorded("error/validation.yml")
    response = realm.post("customer", exchange["request"])
    assert response.status_code == exchange["status"] == 400
    assert_same_fault(response.json(), exchange["response"])
    assert response.json()["Fault"]["Error"][0]["Detail"].startswith("The name supplied already exists. :")


def test_unknown_property_is_2010_with_the_recorded_detail(realm):
    (exchange,) = recorded("error/400_json.yml")
    response = realm.post("invoice", exchange["request"])
    assert response.status_code == exchange["status"] == 400
    assert_same_fault(response.json(), exchange["response"])
    prefix = (
        'Property Name:Unrecognized field "BadJson" (class com.intuit.schema.finance.v3.Invoice), not marked'
    )
    assert response.json()["Fault"]["Error"][0]["Detail"].startswith(prefix)
    assert exchange["response"]["Fault"]["Error"][0]["Detail"].startswith(prefix)


def test_bad_path_is_fault_500_and_bad_id_is_2030_both_http_400(realm):
    bad_path, bad_id = recorded("error/500.yml")
    response = realm.get("customer/1/5")
    assert response.status_code == bad_path["status"] == 400
    assert_same_fault(response.json(), bad_path["response"])
    assert response.json()["Fault"]["Error"][0]["Detail"].startswith(
        "Operation Could not find resource for relative"
    )
    response = realm.get("customer/1.5")
    assert response.status_code == bad_id["status"] == 400
    assert_same_fault(response.json(), bad_id["response"])
    assert response.json()["Fault"]["Error"][0] == bad_id["response"]["Fault"]["Error"][0]


def test_misspelt_entity_in_a_query_is_4001_invalid_context(realm):
    _ok, bad = recorded("error/400.yml")
    response = realm.get("query", params={"query": "SELECT * FROM Custmoer"})
    assert response.status_code == bad["status"] == 400
    assert response.json()["Fault"]["Error"][0] == bad["response"]["Fault"]["Error"][0]


def test_expired_token_is_401_with_the_gateway_lowercase_fault(realm, sandbox):
    (exchange,) = recorded("error/401.yml")
    import requests

    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", timeout=5)
    response = realm.get("customer/1")
    assert response.status_code == exchange["status"] == 401
    assert set(response.json()) == set(exchange["response"])
    mine, real = response.json()["fault"]["error"][0], exchange["response"]["fault"]["error"][0]
    assert (mine["code"], mine["message"]) == (real["code"], real["message"])
    assert mine["detail"].startswith("Token expired: ")


def test_batch_mixes_create_per_item_faults_and_a_query_like_qbo(realm):
    (exchange,) = recorded("batch/basic.yml")
    invoice = realm.post("invoice", recorded("create/invoice.yml")[0]["request"]).json()["Invoice"]
    realm.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "bump"})
    items = exchange["request"]["BatchItemRequest"]
    items[2] = {
        "bId": "bid3",
        "operation": "update",
        "Invoice": {
            "domain": "QBO",
            "sparse": True,
            "Id": invoice["Id"],
            "SyncToken": "0",
            "PrivateNote": "A private note.",
        },
    }
    items[3] = {"bId": "bid4", "Query": "select * from Invoice where TotalAmt > '50.00'"}
    response = realm.post("batch", {"BatchItemRequest": items})
    assert response.status_code == exchange["status"] == 200
    ours, theirs = response.json()["BatchItemResponse"], exchange["response"]["BatchItemResponse"]
    assert set(response.json()) == set(exchange["response"]) == {"BatchItemResponse", "time"}
    assert [sorted(item) for item in ours] == [
        sorted(item) if "QueryResponse" not in item else ["QueryResponse", "bId"] for item in theirs
    ]
    assert_entity_shape(ours[0]["Vendor"], theirs[0]["Vendor"])
    assert ours[1]["Fault"]["Error"][0] == theirs[1]["Fault"]["Error"][0]  # 610 with the inactive detail
    assert_same_fault(ours[2], theirs[2])  # 5010
    assert ours[3]["QueryResponse"]["Invoice"][0]["Id"] == invoice["Id"]


def test_cdc_groups_changes_by_entity_with_lowercase_entity_names(realm):
    (exchange,) = recorded("cdc/basic.yml")
    kept = realm.post("invoice", recorded("create/invoice.yml")[0]["request"]).json()["Invoice"]
    gone = realm.post("invoice", recorded("create/invoice.yml")[0]["request"]).json()["Invoice"]
    realm.post("invoice?operation=delete", {"Id": gone["Id"], "SyncToken": "0"})
    response = realm.get("cdc", params={"changedSince": "2011-10-10T09:00:00-07:00", "entities": "invoice"})
    assert response.status_code == exchange["status"] == 200
    ours, theirs = response.json(), exchange["response"]
    assert set(ours) == set(theirs) == {"CDCResponse", "time"}
    (group,) = ours["CDCResponse"][0]["QueryResponse"]
    real_group = theirs["CDCResponse"][0]["QueryResponse"][0]
    assert set(group) - {"Invoice", "totalCount"} == set(real_group) - {"Estimate"}
    rows = group["Invoice"]
    assert rows[0]["Id"] == kept["Id"]
    assert rows[-1] == {**rows[-1], "status": "Deleted", "Id": gone["Id"]}


def test_count_and_paged_select_match_the_recorded_query_responses(realm):
    count, page = recorded("all/customers.yml")
    response = realm.get("query", params={"query": "SELECT COUNT(*) FROM Customer"})
    assert response.status_code == count["status"] == 200
    assert set(response.json()["QueryResponse"]) == set(count["response"]["QueryResponse"]) == {"totalCount"}
    total = response.json()["QueryResponse"]["totalCount"]
    response = realm.get("query", params={"query": "SELECT * FROM Customer MAXRESULTS 1000 STARTPOSITION 1"})
    assert set(response.json()["QueryResponse"]) == set(page["response"]["QueryResponse"])
    assert len(response.json()["QueryResponse"]["Customer"]) == total
    names = [c["DisplayName"] for c in response.json()["QueryResponse"]["Customer"]]
    assert names == sorted(names, key=str.lower)


def test_inactive_vendors_appear_only_when_active_is_filtered(realm):
    (exchange,) = recorded("get/inactive_vendors.yml")
    vendor = realm.post("vendor", {"DisplayName": "Retired Hauler"}).json()["Vendor"]
    realm.post("vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    default = realm.query("SELECT * FROM Vendor")["Vendor"]
    both = realm.get("query", params={"query": "SELECT * FROM Vendor WHERE Active IN (true, false)"})
    assert both.status_code == exchange["status"]
    assert vendor["Id"] not in [v["Id"] for v in default]
    assert vendor["Id"] in [v["Id"] for v in both.json()["QueryResponse"]["Vendor"]]


def test_deactivating_renames_to_deleted_and_a_repeat_is_a_no_op(realm):
    _read, deactivate = recorded("deactivate/employee.yml")
    emily = realm.query("SELECT * FROM Employee WHERE DisplayName = 'Emily Platt'")["Employee"][0]
    first = realm.post("employee", {**deactivate["request"], "Id": emily["Id"], "SyncToken": "0"})
    assert first.status_code == deactivate["status"] == 200
    ours, theirs = first.json()["Employee"], deactivate["response"]["Employee"]
    assert_entity_shape(ours, theirs, {"BillableTime"})
    for key in ("DisplayName", "PrintOnCheckName", "Active", "SyncToken"):
        assert ours[key] == theirs[key], key
    again = realm.post("employee", {**deactivate["request"], "Id": emily["Id"], "SyncToken": "1"})
    assert again.json()["Employee"]["SyncToken"] == theirs["SyncToken"] == "1"
    assert again.json()["Employee"]["MetaData"] == ours["MetaData"]
    reused = realm.post("customer", {"DisplayName": "Emily Platt"})
    assert reused.status_code == 200  # the deactivated record no longer holds the plain name


def test_account_deactivation_matches_the_recorded_account(realm):
    _read, deactivate = recorded("deactivate/account.yml")
    created = realm.post(
        "account",
        {
            "Name": "Fees Billed",
            "AccountType": "Income",
            "AccountSubType": "ServiceFeeIncome",
            "Classification": "Revenue",
        },
    )
    account = created.json()["Account"]
    response = realm.post("account", {"Id": account["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    ours, theirs = response.json()["Account"], deactivate["response"]["Account"]
    assert_entity_shape(ours, theirs)
    assert (ours["Name"], ours["FullyQualifiedName"], ours["Active"]) == (
        theirs["Name"],
        theirs["FullyQualifiedName"],
        False,
    )
