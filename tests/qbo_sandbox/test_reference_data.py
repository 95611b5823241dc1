"""Read-only lists: tax codes, rates and agencies as Intuit documents them; currencies and exchange rates."""

from __future__ import annotations

import pytest
import requests
from quickbooks.objects.companycurrency import CompanyCurrency
from quickbooks.objects.taxagency import TaxAgency
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate

from tests.qbo_sandbox.conftest import Realm

# Intuit's documented examples (D-TAXRATE, D-TAXAGENCY, D-TAXCODE).
DOCUMENTED_TAX_RATE_2 = {
    "RateValue": 2, "AgencyRef": {"value": "1"}, "domain": "QBO", "Name": "Tucson City", "SyncToken": "0",
    "SpecialTaxType": "NONE", "DisplayType": "ReadOnly", "sparse": False, "Active": True,
    "MetaData": {"CreateTime": "2014-09-18T12:17:04-07:00", "LastUpdatedTime": "2014-09-18T12:17:04-07:00"},
    "Id": "2", "Description": "Sales Tax",
}  # fmt: skip
DOCUMENTED_TAX_AGENCIES = ["Arizona Dept. of Revenue", "Board of Equalization"]
DOCUMENTED_TAX_CODE_IDS = {"TAX", "NON", "2", "3"}


def test_tax_rates_agencies_and_codes_read_as_intuit_documents_them(realm):
    assert realm.get("taxrate/2").json()["TaxRate"] == DOCUMENTED_TAX_RATE_2
    rates = realm.query("select * from TaxRate")["TaxRate"]
    assert sorted((r["Name"], r["RateValue"]) for r in rates) == [
        ("AZ State tax", 7.1), ("California", 8), ("Tucson City", 2)
    ]
    assert [a["DisplayName"] for a in realm.query("select * from TaxAgency")["TaxAgency"]] == DOCUMENTED_TAX_AGENCIES
    codes = realm.query("select * from TaxCode")["TaxCode"]
    assert {c["Id"] for c in codes} == DOCUMENTED_TAX_CODE_IDS
    tucson = realm.get("taxcode/3").json()["TaxCode"]
    assert [d["TaxRateRef"]["value"] for d in tucson["SalesTaxRateList"]["TaxRateDetail"]] == ["1", "2"]
    assert realm.get("taxcode/TAX").json()["TaxCode"]["Taxable"] is True
    qb = realm.qb()
    assert {r.Name for r in TaxRate.all(qb=qb)} == {"AZ State tax", "California", "Tucson City"}
    assert [a.DisplayName for a in TaxAgency.all(qb=qb)] == DOCUMENTED_TAX_AGENCIES
    assert TaxCode.get("2", qb=qb).Name == "California"


@pytest.mark.parametrize(("entity", "body"), [
    ("taxrate", {"Name": "New rate", "RateValue": 1}),
    ("taxagency", {"DisplayName": "City Tax Agency"}),
    ("taxcode", {"Name": "NEW"}),
    ("companycurrency", {"Code": "GBP"}),
    ("exchangerate", {"SourceCurrencyCode": "EUR", "Rate": 2, "AsOfDate": "2025-01-01"}),
])
def test_the_read_only_lists_refuse_writes_and_keep_their_rows(realm, entity, body):
    before = realm.query(f"select count(*) from {entity}")
    response = realm.post(entity, body)
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["Message"] == "Unsupported Operation"
    assert realm.query(f"select count(*) from {entity}") == before


def test_a_single_currency_company_has_no_currencies_and_no_rates(realm):
    assert realm.query("select * from CompanyCurrency") == {}
    assert realm.query("select * from ExchangeRate") == {}
    answer = realm.get("exchangerate", params={"sourcecurrencycode": "EUR"})
    assert answer.status_code == 400 and answer.json()["Fault"]["Error"][0]["code"] == "6000"


def test_a_multicurrency_company_lists_currencies_and_reads_exchange_rates(sandbox):
    made = requests.post(f"{sandbox.url}/_sandbox/realms", json={"multicurrency": True}, timeout=5)
    assert made.status_code == 201 and made.json()["multicurrency"] is True
    multi = Realm(sandbox, made.json()["realm_id"])
    assert multi.get("preferences").json()["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    codes = [c.Code for c in CompanyCurrency.all(qb=multi.qb())]
    assert sorted(codes) == ["CAD", "EUR", "MXN"]
    rate = multi.get("exchangerate", params={"sourcecurrencycode": "EUR"}).json()["ExchangeRate"]
    assert (rate["SourceCurrencyCode"], rate["TargetCurrencyCode"]) == ("EUR", "USD") and rate["Rate"] > 0
    assert multi.get("exchangerate", params={"sourcecurrencycode": "EUR", "asofdate": "2000-01-01"}).status_code == 400
    found = multi.query("select * from exchangerate where sourcecurrencycode in ('EUR', 'CAD')")["ExchangeRate"]
    assert sorted(r["SourceCurrencyCode"] for r in found) == ["CAD", "EUR"]
