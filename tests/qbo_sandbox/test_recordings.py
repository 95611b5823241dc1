"""Replays of real recorded QBO sandbox exchanges: statuses, headers, envelopes, codes, texts and data match."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from qbo_sandbox.faults import COMPANY_USER
from tests.qbo_sandbox.recordings import assert_entity_shape, assert_same_fault, recorded

pytestmark = pytest.mark.replay


def recorded_query(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["query"][0]


def test_create_customer_returns_the_full_envelope_with_the_server_computed_fields(realm):
    (exchange,) = recorded("create/customer.yml")
    response = realm.post("customer", exchange.request)
    assert response.status_code == exchange.status == 200
    assert response.headers["content-type"] == exchange.header("Content-Type") == "application/json;charset=utf-8"
    assert response.headers["Cache-Control"] == exchange.header("Cache-Control")
    assert response.headers["Intuit-Tid"] and exchange.header("Intuit-Tid")
    assert set(response.json()) == set(exchange.response) == {"Customer", "time"}
    ours, theirs = response.json()["Customer"], exchange.response["Customer"]
    assert set(ours) == set(theirs)
    for key in ("DefaultTaxCodeRef", "Taxable", "Job", "BillWithParent", "Balance", "BalanceWithJobs",
                "CurrencyRef", "PreferredDeliveryMethod", "Active", "SyncToken"):
        assert ours[key] == theirs[key], key
    assert ours["FullyQualifiedName"] == ours["PrintOnCheckName"] == ours["DisplayName"] == "Doe5, Jane"


def test_create_invoice_with_automatic_numbers_matches_the_recorded_invoice(sample):
    (exchange,) = recorded("create/invoice.yml")
    response = sample.post("invoice", exchange.request)
    assert response.status_code == exchange.status == 200
    ours, theirs = response.json()["Invoice"], exchange.response["Invoice"]
    assert set(ours) >= set(theirs)
    assert [sorted(line) for line in ours["Line"]] == [sorted(line) for line in theirs["Line"]]
    assert ours["Line"][0]["SalesItemLineDetail"] == theirs["Line"][0]["SalesItemLineDetail"]
    assert ours["CustomField"] == theirs["CustomField"]  # the sample company's one "Crew #" field
    assert ours["DocNumber"].isdigit() and theirs["DocNumber"].isdigit()
    assert ours["TotalAmt"] == ours["Balance"] == theirs["TotalAmt"] == 100
    assert ours["CustomerRef"] == theirs["CustomerRef"] == {"value": "1", "name": "Amy's Bird Sanctuary"}
    assert ours["BillAddr"]["Line1"] == theirs["BillAddr"]["Line1"] == "4581 Finch St."
    for key in ("AllowIPNPayment", "AllowOnlinePayment", "LinkedTxn", "TxnTaxDetail", "EmailStatus"):
        assert ours[key] == theirs[key], key


def test_full_update_of_a_customer_bumps_the_sync_token_like_qbo(realm):
    read, update = recorded("update/customer.yml")
    created = realm.post("customer", {"DisplayName": "Doe2, Jane"}).json()["Customer"]
    got = realm.get(f"customer/{created['Id']}")
    assert got.status_code == read.status
    assert set(got.json()["Customer"]) == set(read.response["Customer"])
    response = realm.post("customer", {**update.request, "Id": created["Id"]})
    assert response.status_code == update.status == 200
    ours, theirs = response.json()["Customer"], update.response["Customer"]
    assert set(ours) == set(theirs)
    assert ours["SyncToken"] == theirs["SyncToken"] == "1"
    assert ours["DisplayName"] == ours["FullyQualifiedName"] == theirs["DisplayName"] == "Jack Moe"
    assert ours["PrimaryPhone"] == theirs["PrimaryPhone"]


def test_void_invoice_zeroes_amounts_and_writes_voided_like_qbo(sample):
    _read, void = recorded("void/invoice.yml")
    invoice = sample.post("invoice", recorded("create/invoice.yml")[0].request).json()["Invoice"]
    response = sample.post("invoice?operation=void", {**void.request, "Id": invoice["Id"]})
    assert response.status_code == void.status == 200
    ours, theirs = response.json()["Invoice"], void.response["Invoice"]
    assert set(ours) >= set(theirs)
    for key in ("SyncToken", "PrivateNote", "TotalAmt", "Balance", "LinkedTxn", "CustomField"):
        assert ours[key] == theirs[key], key
    assert [line["Amount"] for line in ours["Line"]] == [line["Amount"] for line in theirs["Line"]]


def test_delete_invoice_returns_the_deleted_status_envelope(realm):
    _read, delete = recorded("delete/invoice.yml")
    invoice = realm.post("invoice", recorded("create/invoice.yml")[0].request).json()["Invoice"]
    response = realm.post("invoice?operation=delete", {**delete.request, "Id": invoice["Id"]})
    assert response.status_code == delete.status == 200
    assert set(response.json()["Invoice"]) == set(delete.response["Invoice"]) == {"domain", "status", "Id"}
    assert response.json()["Invoice"]["status"] == delete.response["Invoice"]["status"] == "Deleted"
    gone = realm.get(f"invoice/{invoice['Id']}")
    assert gone.status_code == 400 and gone.json()["Fault"]["Error"][0]["code"] == "610"


def test_get_customer_by_id_returns_intuits_sample_customer(sample):
    (exchange,) = recorded("get/id.yml")
    response = sample.get("customer/5")
    assert response.status_code == exchange.status == 200
    ours, theirs = response.json()["Customer"], exchange.response["Customer"]
    assert_entity_shape(ours, theirs)
    for key in ("DisplayName", "GivenName", "FamilyName", "CompanyName", "PrimaryPhone", "PrimaryEmailAddr",
                "Taxable", "DefaultTaxCodeRef", "Job", "Balance"):
        assert ours[key] == theirs[key], key
    for key in ("Line1", "City", "CountrySubDivisionCode", "PostalCode"):
        assert ours["BillAddr"][key] == theirs["BillAddr"][key], key


def test_duplicate_display_name_is_6240_word_for_word(realm):
    (exchange,) = recorded("error/validation.yml")
    response = realm.post("customer", exchange.request)
    assert response.status_code == exchange.status == 400
    assert response.headers["content-type"] == exchange.header("Content-Type") == "application/json"
    assert response.json()["Fault"]["Error"] == exchange.response["Fault"]["Error"]
    assert response.json()["Fault"]["type"] == exchange.response["Fault"]["type"]
    assert "Cache-Control" not in response.headers and exchange.header("Cache-Control") is None


def test_unknown_property_is_2010_with_the_recorded_detail(realm):
    (exchange,) = recorded("error/400_json.yml")
    response = realm.post("invoice", exchange.request)
    assert response.status_code == exchange.status == 400
    assert response.headers["content-type"] == exchange.header("Content-Type")
    assert_same_fault(response.json(), exchange.response)
    prefix = 'Property Name:Unrecognized field "BadJson" (class com.intuit.schema.finance.v3.Invoice), not marked'
    assert response.json()["Fault"]["Error"][0]["Detail"].startswith(prefix)
    assert exchange.response["Fault"]["Error"][0]["Detail"].startswith(prefix)


def test_bad_path_is_fault_500_and_bad_id_is_2030_both_http_400(realm):
    bad_path, bad_id = recorded("error/500.yml")
    response = realm.get("customer/1/5")
    assert response.status_code == bad_path.status == 400
    assert response.headers["content-type"] == bad_path.header("Content-Type")
    assert_same_fault(response.json(), bad_path.response)
    assert response.json()["Fault"]["Error"][0]["Detail"].startswith("Operation Could not find resource for relative")
    response = realm.get("customer/1.5")
    assert response.status_code == bad_id.status == 400
    assert response.json() == bad_id.response  # the recorded 2030 envelope has no "time"


def test_misspelt_entity_in_a_query_is_4001_invalid_context(realm):
    _ok, bad = recorded("error/400.yml")
    response = realm.get("query", params={"query": recorded_query(bad.uri)})
    assert response.status_code == bad.status == 400
    assert response.json()["Fault"]["Error"][0] == bad.response["Fault"]["Error"][0]


def test_expired_token_is_401_with_the_recorded_header_type_and_gateway_body(realm, sandbox):
    (exchange,) = recorded("error/401.yml")
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", json={"realm": realm.id}, timeout=5)
    response = realm.get("customer/1")
    assert response.status_code == exchange.status == 401
    assert response.headers["WWW-Authenticate"] == exchange.header("Www-Authenticate")
    assert exchange.header("Www-Authenticate") == 'Bearer realm="Intuit", error="invalid_token"'
    assert response.headers["content-type"] == exchange.header("Content-Type") == "application/json"
    assert set(response.json()) == set(exchange.response)
    mine, real = response.json()["fault"]["error"][0], exchange.response["fault"]["error"][0]
    assert set(mine) == set(real)
    assert (mine["code"], mine["message"], mine["element"]) == (real["code"], real["message"], real["element"])
    assert mine["detail"].startswith("Token expired: ") and real["detail"].startswith("Token expired: ")
    assert isinstance(response.json()["time"], int) and isinstance(exchange.response["time"], int)


def test_batch_mixes_create_per_item_faults_and_a_query_like_qbo(realm):
    (exchange,) = recorded("batch/basic.yml")
    invoice = realm.post("invoice", recorded("create/invoice.yml")[0].request).json()["Invoice"]
    realm.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "bump"})
    items = exchange.request["BatchItemRequest"]
    items[2] = {
        "bId": "bid3",
        "operation": "update",
        "Invoice": {"domain": "QBO", "sparse": True, "Id": invoice["Id"], "SyncToken": "0", "PrivateNote": "A note"},
    }
    items[3] = {"bId": "bid4", "Query": "select * from Invoice where TotalAmt > '50.00'"}
    response = realm.post("batch", {"BatchItemRequest": items})
    assert response.status_code == exchange.status == 200
    ours, theirs = response.json()["BatchItemResponse"], exchange.response["BatchItemResponse"]
    assert set(response.json()) == set(exchange.response) == {"BatchItemResponse", "time"}
    assert [sorted(item) for item in ours] == [
        sorted(item) if "QueryResponse" not in item else ["QueryResponse", "bId"] for item in theirs
    ]
    assert set(ours[0]["Vendor"]) == set(theirs[0]["Vendor"])
    assert ours[1]["Fault"]["Error"][0] == theirs[1]["Fault"]["Error"][0]  # 610 with the inactive detail
    # 5010 word for word, with the company's own user where the recording names its owner.
    stale = dict(theirs[2]["Fault"]["Error"][0])
    stale["Detail"] = stale["Detail"].replace("Christian Pelczarski", COMPANY_USER)
    assert ours[2]["Fault"] == {**theirs[2]["Fault"], "Error": [stale]}
    assert ours[3]["QueryResponse"]["Invoice"][0]["Id"] == invoice["Id"]


def test_cdc_groups_changes_by_entity_with_lowercase_entity_names(realm):
    (exchange,) = recorded("cdc/basic.yml")
    kept = realm.post("invoice", recorded("create/invoice.yml")[0].request).json()["Invoice"]
    gone = realm.post("invoice", recorded("create/invoice.yml")[0].request).json()["Invoice"]
    realm.post("invoice?operation=delete", {"Id": gone["Id"], "SyncToken": "0"})
    query = parse_qs(urlparse(exchange.uri).query)
    response = realm.get("cdc", params={"changedSince": query["changedSince"][0], "entities": "invoice"})
    assert response.status_code == exchange.status == 200
    ours, theirs = response.json(), exchange.response
    assert set(ours) == set(theirs) == {"CDCResponse", "time"}
    (group,) = ours["CDCResponse"][0]["QueryResponse"]
    real_group = theirs["CDCResponse"][0]["QueryResponse"][0]
    assert set(group) - {"Invoice", "totalCount"} == set(real_group) - {"Estimate"}
    rows = group["Invoice"]
    assert rows[0]["Id"] == kept["Id"]
    assert rows[-1] == {**rows[-1], "status": "Deleted", "Id": gone["Id"]}


def test_the_sample_company_has_intuits_customers_ids_balances_and_order(sample):
    count, page = recorded("all/customers.yml")
    response = sample.get("query", params={"query": recorded_query(count.uri)})
    assert set(response.json()["QueryResponse"]) == set(count.response["QueryResponse"]) == {"totalCount"}
    response = sample.get("query", params={"query": recorded_query(page.uri)})
    assert set(response.json()["QueryResponse"]) == set(page.response["QueryResponse"])
    ours = response.json()["QueryResponse"]["Customer"]
    # Intuit's own 29 customers; the recording also holds the ones its recorder added (ids 58 and up).
    theirs = [c for c in page.response["QueryResponse"]["Customer"] if int(c["Id"]) <= 29]
    assert [(c["Id"], c["DisplayName"]) for c in ours] == [(c["Id"], c["DisplayName"]) for c in theirs]
    for mine, real in zip(ours, theirs, strict=True):
        for key in ("FullyQualifiedName", "Job", "GivenName", "FamilyName", "CompanyName", "Taxable"):
            assert mine.get(key) == real.get(key), (real["DisplayName"], key)
        # Amy's recorded balances hold the recorder's four $100.00 test invoices on top of Intuit's 239.00.
        extra = 400 if real["DisplayName"] == "Amy's Bird Sanctuary" else 0
        for key in ("Balance", "BalanceWithJobs"):
            assert Decimal(str(real[key])) - Decimal(str(mine[key])) == extra, (real["DisplayName"], key)


def test_inactive_vendors_appear_only_when_active_is_filtered(sample):
    (exchange,) = recorded("get/inactive_vendors.yml")
    both = sample.get("query", params={"query": recorded_query(exchange.uri)})
    assert both.status_code == exchange.status
    theirs = [(v["Id"], v["DisplayName"]) for v in exchange.response["QueryResponse"]["Vendor"] if v["Id"] != "61"]
    assert [(v["Id"], v["DisplayName"]) for v in both.json()["QueryResponse"]["Vendor"]] == theirs
    default = sample.query("SELECT * FROM Vendor")["Vendor"]
    assert "United States Treasury (deleted)" not in [v["DisplayName"] for v in default]
    brosnahan = next(v for v in exchange.response["QueryResponse"]["Vendor"] if v["Id"] == "31")
    ours = next(v for v in both.json()["QueryResponse"]["Vendor"] if v["Id"] == "31")
    for key in ("AcctNum", "Vendor1099", "CompanyName", "GivenName", "FamilyName", "PrintOnCheckName", "Active"):
        assert ours[key] == brosnahan[key], key


def test_paging_vendors_five_at_a_time_walks_them_in_display_name_order(sample):
    count, *pages = recorded("all/vendors_by_5.yml")
    total = sample.get("query", params={"query": recorded_query(count.uri)}).json()["QueryResponse"]["totalCount"]
    assert total == count.response["QueryResponse"]["totalCount"] - 1  # the recorder added Smith Family Store
    ours = []
    for exchange in pages:
        answer = sample.get("query", params={"query": recorded_query(exchange.uri)}).json()["QueryResponse"]
        assert set(answer) <= set(exchange.response["QueryResponse"])
        ours += [v["DisplayName"] for v in answer.get("Vendor", [])]
    theirs = [v["DisplayName"] for p in pages for v in p.response["QueryResponse"].get("Vendor", [])]
    assert ours == [name for name in theirs if name != "Smith Family Store"]


def test_id_in_queries_count_and_page_in_id_order(sample):
    count, *pages = recorded("all/alt_select.yml")
    answer = sample.get("query", params={"query": recorded_query(count.uri)}).json()
    assert answer["QueryResponse"] == count.response["QueryResponse"]
    for exchange in pages:
        answer = sample.get("query", params={"query": recorded_query(exchange.uri)}).json()["QueryResponse"]
        real = exchange.response["QueryResponse"]
        assert [c["Id"] for c in answer.get("Customer", [])] == [c["Id"] for c in real.get("Customer", [])]
        assert answer.get("startPosition") == real.get("startPosition")
        assert answer.get("maxResults") == real.get("maxResults")


def test_escaped_apostrophe_and_ampersand_names_are_found(sample):
    for name in ("get/display_name.yml", "misc/ampersand.yml"):
        (exchange,) = recorded(name)
        answer = sample.get("query", params={"query": recorded_query(exchange.uri)}).json()["QueryResponse"]
        real = exchange.response["QueryResponse"]
        assert set(answer) == set(real)
        entity = next(k for k in real if k not in ("startPosition", "maxResults"))
        assert [(r["Id"], r["DisplayName"]) for r in answer[entity]] == [
            (r["Id"], r["DisplayName"]) for r in real[entity]
        ]


def test_employees_with_active_in_list_the_deactivated_one_renamed(sample):
    count, page = recorded("all/employees_including_active.yml")
    emily = sample.get("employee/55").json()["Employee"]
    sample.post("employee", {"Id": "55", "SyncToken": emily["SyncToken"], "sparse": True, "Active": False})
    assert sample.get("query", params={"query": recorded_query(count.uri)}).json() | {"time": 0} == {
        **count.response,
        "time": 0,
    }
    answer = sample.get("query", params={"query": recorded_query(page.uri)}).json()["QueryResponse"]
    real = page.response["QueryResponse"]
    keep = ("Id", "DisplayName", "PrintOnCheckName", "Active", "GivenName", "FamilyName")
    assert [{k: e.get(k) for k in keep} for e in answer["Employee"]] == [
        {k: e.get(k) for k in keep} for e in real["Employee"]
    ]


def test_deactivating_renames_to_deleted_and_a_repeat_is_a_no_op(sample):
    _read, deactivate = recorded("deactivate/employee.yml")
    first = sample.post("employee", {**deactivate.request, "SyncToken": "0"})
    assert first.status_code == deactivate.status == 200
    ours, theirs = first.json()["Employee"], deactivate.response["Employee"]
    assert_entity_shape(ours, theirs, {"BillableTime"})
    for key in ("Id", "DisplayName", "PrintOnCheckName", "Active", "SyncToken", "GivenName", "FamilyName"):
        assert ours[key] == theirs[key], key
    again = sample.post("employee", deactivate.request)  # the recorded request: SyncToken 1, a no-op
    assert again.json()["Employee"]["SyncToken"] == theirs["SyncToken"] == "1"
    assert again.json()["Employee"]["MetaData"] == ours["MetaData"]
    assert sample.post("customer", {"DisplayName": "Emily Platt"}).status_code == 200  # the plain name is free


def test_the_sample_companys_inactive_account_reads_and_deactivates_as_recorded(sample):
    read, deactivate = recorded("deactivate/account.yml")
    got = sample.get("account/5")
    assert got.status_code == read.status
    ours, theirs = got.json()["Account"], read.response["Account"]
    assert set(ours) == set(theirs)
    for key in ("Name", "FullyQualifiedName", "Active", "Classification", "AccountType", "AccountSubType",
                "CurrentBalance", "SubAccount", "CurrencyRef", "SyncToken"):
        assert ours[key] == theirs[key], key
    again = sample.post("account", deactivate.request)
    assert again.status_code == deactivate.status == 200
    assert again.json()["Account"]["SyncToken"] == deactivate.response["Account"]["SyncToken"] == "1"
    assert again.json()["Account"]["MetaData"] == ours["MetaData"]


def upload_body(exchange, invoice_id: str | None = None) -> tuple[bytes, str]:
    """The recorded multipart body (re-pointed at one of our invoices) and its recorded Content-Type."""
    body = exchange.raw_request
    if invoice_id:
        body = body.replace('"value":"75"', f'"value":"{invoice_id}"')
    return body.encode(), exchange.request_headers["Content-Type"]


def test_upload_links_a_file_to_an_invoice_then_reads_downloads_and_deletes_it(sample, sandbox):
    (created,) = recorded("attachment/create_for_invoice.yml")
    (read,) = recorded("attachment/read_attachment.yml")
    (deleted,) = recorded("attachment/delete_attachment.yml")
    invoice = sample.query("SELECT * FROM Invoice MAXRESULTS 1")["Invoice"][0]
    body, media = upload_body(created, invoice["Id"])
    response = sample.http.post(f"{sample.base}/upload", data=body, headers={"Content-Type": media}, timeout=10)
    assert response.status_code == created.status == 200
    (entry,) = response.json()["AttachableResponse"]
    ours, theirs = entry["Attachable"], created.response["AttachableResponse"][0]["Attachable"]
    assert set(ours) == set(theirs)
    for key in ("FileName", "Size", "ContentType", "SyncToken", "sparse"):
        assert ours[key] == theirs[key], key
    assert ours["AttachableRef"] == [{"EntityRef": {"value": invoice["Id"], "type": "Invoice"}, "IncludeOnSend": False}]
    assert ours["FileAccessUri"] == f"/v3/company/{sample.id}/download/{ours['Id']}"
    assert len(ours["Id"]) == len(theirs["Id"]) == 19
    got = sample.get(f"attachable/{ours['Id']}")
    assert set(got.json()["Attachable"]) == set(read.response["Attachable"])
    link = sample.get(f"download/{ours['Id']}").text
    assert requests.get(link, timeout=5).content.decode().startswith("<?xml")
    gone = sample.post("attachable?operation=delete", {"Id": ours["Id"]})  # as recorded: no SyncToken
    assert gone.status_code == deleted.status == 200
    assert set(gone.json()["Attachable"]) == set(deleted.response["Attachable"]) == {"domain", "status", "Id"}
    assert sample.get(f"attachable/{ours['Id']}").json()["Fault"]["Error"][0]["code"] == "610"


def test_upload_linked_to_a_missing_estimate_is_the_recorded_per_file_fault(sample):
    (exchange,) = recorded("attachment/error_estimate.yml")
    body, media = upload_body(exchange)
    response = sample.http.post(f"{sample.base}/upload", data=body, headers={"Content-Type": media}, timeout=10)
    assert response.status_code == exchange.status == 200
    assert response.json()["AttachableResponse"] == exchange.response["AttachableResponse"]
    assert sample.query("SELECT COUNT(*) FROM Attachable") == {"totalCount": 0}
