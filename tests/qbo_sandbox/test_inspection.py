"""The /_sandbox surface (plant, count, duplicates, stats, reset), persistence and the standalone CLI."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests

from qbo_sandbox import SandboxOptions, start_in_thread
from tests.qbo_sandbox.conftest import Realm


def test_plant_creates_conflicts_the_sandbox_knows_nothing_about(realm, sandbox):
    spec = {
        "vendors": ["Evergreen Marine"],
        "customers": ["Acme Imports"],
        "invoices": [
            {"DocNumber": "INV-7", "CustomerName": "Acme Imports", "Amount": 1250.0, "TxnDate": "2025-02-01"},
            {"DocNumber": "INV-7", "CustomerName": "New Planted Co", "Amount": 10, "TxnDate": "2025-02-02"},
        ],
        "closing_date": "2025-01-31",
        "items": ["Hazmat Surcharge"],
        "inactive_items": ["Detention", "Hazmat Surcharge"],
    }
    result = requests.post(f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json=spec, timeout=5).json()
    assert len(result["vendors"]) == 1 and len(result["invoices"]) == 2 and not result["errors"]
    assert len(result["items"]) == 1 and len(result["inactive_items"]) == 2
    assert realm.count("Vendor", DisplayName="evergreen marine") == 1
    assert realm.count("Customer", DisplayName="New Planted Co") == 1
    assert realm.count("Invoice", DocNumber="INV-7") == 2
    dupes = requests.get(
        f"{sandbox.url}/_sandbox/realms/{realm.id}/duplicates", params={"entity": "Invoice"}, timeout=5
    ).json()
    assert [(d["DocNumber"], d["count"]) for d in dupes["duplicates"]] == [("INV-7", 2)]
    prefs = realm.get("preferences").json()["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2025-01-31"
    assert realm.query("SELECT * FROM Item WHERE Name = 'Detention'") == {}
    assert (
        realm.query("SELECT * FROM Item WHERE Name = 'Detention' AND Active = false")["Item"][0]["Active"]
        is False
    )
    customer = realm.post("customer", {"DisplayName": "Evergreen Marine"})
    assert customer.json()["Fault"]["Error"][0]["code"] == "6240"


def test_seeded_company_has_the_documented_lists(realm):
    names = {
        entity: {
            row.get("Name") or row.get("DisplayName")
            for row in realm.query(f"SELECT * FROM {entity}")[entity]
        }
        for entity in ("Account", "Item", "Term", "PaymentMethod", "TaxCode", "Class", "Department")
    }
    assert {"Services", "Sales of Product Income", "Undeposited Funds", "Accounts Receivable (A/R)"} <= names[
        "Account"
    ]
    assert {"Net 15", "Net 30", "Net 45", "Due on receipt"} == names["Term"]
    assert {"Check", "ACH", "Wire", "Credit Card"} == names["PaymentMethod"]
    assert {"TAX", "NON", "California", "Tucson"} == names["TaxCode"]  # D-TAXCODE's US example
    assert {"Port Newark", "Savannah", "Long Beach"} == names["Department"]
    prefs = realm.get("preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    labels = {
        f["Name"]: f["StringValue"]
        for group in prefs["SalesFormsPrefs"]["CustomField"]
        for f in group["CustomField"]
        if "StringValue" in f
    }
    assert [labels[f"SalesFormsPrefs.SalesCustomName{n}"] for n in (1, 2, 3)] == ["Container #", "PO #", "Load #"]
    info = realm.get(f"companyinfo/{realm.id}").json()["CompanyInfo"]
    assert info["CompanyName"] == "Sandbox Company_US_1"


def test_stats_count_requests_by_route_and_status(realm, sandbox):
    realm.get("customer/1")
    realm.get("customer/424242")
    snapshot = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
    route = snapshot["by_route"]["GET /v3/company/{realm}/customer/{id}"]
    assert route["200"] >= 1 and route["400"] >= 1
    assert snapshot["requests_total"] >= 2


def test_reset_of_one_realm_reseeds_it_on_next_use(realm, sandbox):
    realm.post("customer", {"DisplayName": "Before Reset"})
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"realm": realm.id, "stats": False}, timeout=5)
    assert realm.count("Customer", DisplayName="Before Reset") == 0
    assert realm.count("Customer", DisplayName="Amy's Bird Sanctuary") == 1


def test_data_dir_persists_records_and_tokens_across_restarts(tmp_path):
    options = SandboxOptions(quotas="off", data_dir=str(tmp_path))
    with start_in_thread(options) as first:
        realm = Realm(first, "4620816365")
        assert realm.post("customer", {"DisplayName": "Survives Restart"}).status_code == 200
    assert (tmp_path / "qbo_sandbox.sqlite3").exists()
    with start_in_thread(options) as second:
        realm.base = f"{second.url}/v3/company/4620816365"
        realm.sandbox = second
        assert realm.get("customer/1").status_code == 200  # the old access token is still valid
        assert realm.count("Customer", DisplayName="Survives Restart") == 1


def test_python_dash_m_runs_the_sandbox_standalone():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "qbo_sandbox", "--port", str(port), "--quotas", "off", "--throttle-format", "json",
         "--sample-realm", ""],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).json()
                break
            except requests.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "sandbox did not come up"
                time.sleep(0.1)
        assert health == {"ok": True, "default_realm": "9341455130166501"}
        config = requests.get(f"http://127.0.0.1:{port}/_sandbox/config", timeout=5).json()
        assert (config["throttle_format"], config["sample_realm"]) == ("json", None)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_inactive_item_keeps_its_name_and_still_reserves_it(realm, sandbox):
    requests.post(
        f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"inactive_items": ["Storage"]}, timeout=5
    )
    clash = realm.post("item", {"Name": "storage", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert clash.status_code == 400 and clash.json()["Fault"]["Error"][0]["code"] == "6240"
