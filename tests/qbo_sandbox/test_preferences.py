"""Preferences as Intuit documents them: every section, readable, updatable where writable, merged safely."""

from __future__ import annotations

import requests

# Sections and keys of Intuit's documented Preferences example (D-PREF, "Read preferences" response).
DOCUMENTED = {
    "EmailMessagesPrefs": {"InvoiceMessage", "EstimateMessage", "SalesReceiptMessage", "StatementMessage"},
    "ProductAndServicesPrefs": {"QuantityWithPriceAndRate", "ForPurchase", "QuantityOnHand", "ForSales"},
    "ReportPrefs": {"ReportBasis", "CalcAgingReportFromTxnDate"},
    "AccountingInfoPrefs": {
        "FirstMonthOfFiscalYear", "UseAccountNumbers", "TaxYearMonth", "ClassTrackingPerTxn", "TrackDepartments",
        "TaxForm", "CustomerTerminology", "DepartmentTerminology", "ClassTrackingPerTxnLine",
    },
    "SalesFormsPrefs": {
        "ETransactionPaymentEnabled", "CustomTxnNumbers", "AllowShipping", "AllowServiceDate",
        "ETransactionEnabledStatus", "DefaultCustomerMessage", "EmailCopyToCompany", "AllowEstimates",
        "DefaultTerms", "AllowDiscount", "AllowDeposit", "AutoApplyPayments", "IPNSupportEnabled",
        "AutoApplyCredit", "CustomField", "UsingPriceLevels", "ETransactionAttachPDF",
    },
    "VendorAndPurchasesPrefs": {"BillableExpenseTracking", "TrackingByCustomer", "POCustomField"},
    "TaxPrefs": {"TaxGroupCodeRef", "UsingSalesTax"},
    "OtherPrefs": {"NameValue"},
    "TimeTrackingPrefs": {"WorkWeekStartDate", "MarkTimeEntriesBillable", "ShowBillRateToAll", "UseServices",
                          "BillCustomers"},
    "CurrencyPrefs": {"HomeCurrency", "MultiCurrencyEnabled"},
}  # fmt: skip


def prefs(realm) -> dict:
    response = realm.get("preferences")
    assert response.status_code == 200
    return response.json()["Preferences"]


def update(realm, body: dict) -> requests.Response:
    return realm.post("preferences", {"Id": "1", "SyncToken": prefs(realm)["SyncToken"], **body})


def test_every_documented_section_is_there_with_its_documented_keys(realm, sample):
    for company in (realm, sample):
        read = prefs(company)
        for section, keys in DOCUMENTED.items():
            assert keys <= set(read[section]), (section, keys - set(read[section]))
        assert {"Id", "SyncToken", "MetaData", "domain", "sparse"} <= set(read)
        for message in read["EmailMessagesPrefs"].values():
            assert set(message) == {"Subject", "Message"} and message["Message"].endswith(
                f"Sincerely,\n{company.get('companyinfo/' + company.id).json()['CompanyInfo']['CompanyName']}"
            )
        names = {pair["Name"] for pair in read["OtherPrefs"]["NameValue"]}
        assert {"WarnDuplicateBillNumber", "WarnDuplicateCheckNumber", "Vendor1099Enabled"} <= names


def test_the_sample_company_numbers_sales_forms_itself_and_has_one_custom_field(sample):
    read = prefs(sample)["SalesFormsPrefs"]
    assert read["CustomTxnNumbers"] is False
    labels = [f.get("StringValue") for group in read["CustomField"] for f in group["CustomField"] if "StringValue" in f]
    assert labels == ["Crew #"]


def test_a_writable_field_changes_and_the_rest_of_the_section_survives(realm):
    before = prefs(realm)
    answer = update(realm, {"SalesFormsPrefs": {"AllowShipping": True}, "EmailMessagesPrefs": {
        "InvoiceMessage": {"Subject": "Your drayage invoice", "Message": "Thanks."}}})
    assert answer.status_code == 200
    after = answer.json()["Preferences"]
    assert after["SyncToken"] == str(int(before["SyncToken"]) + 1)
    assert after["SalesFormsPrefs"]["AllowShipping"] is True
    assert after["SalesFormsPrefs"]["CustomTxnNumbers"] is before["SalesFormsPrefs"]["CustomTxnNumbers"]
    assert after["EmailMessagesPrefs"]["InvoiceMessage"]["Subject"] == "Your drayage invoice"
    assert after["EmailMessagesPrefs"]["StatementMessage"] == before["EmailMessagesPrefs"]["StatementMessage"]
    assert prefs(realm) == after


def test_read_only_fields_are_accepted_and_keep_their_value(realm, sandbox):
    requests.post(f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"closing_date": "2025-03-31"}, timeout=5)
    before = prefs(realm)
    answer = update(realm, {
        "AccountingInfoPrefs": {"BookCloseDate": "2030-12-31", "TaxForm": "9", "CustomerTerminology": "Clients"},
        "TaxPrefs": {"UsingSalesTax": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": True},
    })
    after = answer.json()["Preferences"]
    assert after["AccountingInfoPrefs"]["BookCloseDate"] == "2025-03-31"
    assert after["AccountingInfoPrefs"]["TaxForm"] == before["AccountingInfoPrefs"]["TaxForm"]
    assert after["AccountingInfoPrefs"]["CustomerTerminology"] == "Clients"  # writable
    assert after["TaxPrefs"] == before["TaxPrefs"] and after["CurrencyPrefs"] == before["CurrencyPrefs"]


def test_other_prefs_pairs_update_by_name(realm):
    answer = update(realm, {"OtherPrefs": {"NameValue": [{"Name": "WarnDuplicateBillNumber", "Value": "true"}]}})
    pairs = {p["Name"]: p["Value"] for p in answer.json()["Preferences"]["OtherPrefs"]["NameValue"]}
    assert pairs["WarnDuplicateBillNumber"] == "true"
    assert pairs["WarnDuplicateCheckNumber"] == "true" and len(pairs) > 10


def test_an_unchanged_update_keeps_the_sync_token_and_a_stale_one_is_5010(realm):
    before = prefs(realm)
    same = update(realm, {"SalesFormsPrefs": {"AllowShipping": before["SalesFormsPrefs"]["AllowShipping"]}})
    assert same.json()["Preferences"]["SyncToken"] == before["SyncToken"]
    update(realm, {"SalesFormsPrefs": {"AllowDeposit": not before["SalesFormsPrefs"]["AllowDeposit"]}})
    stale = realm.post("preferences", {"Id": "1", "SyncToken": before["SyncToken"], "ReportPrefs": {}})
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"


def test_an_unknown_section_is_2010_and_preferences_are_queryable(realm):
    bad = update(realm, {"ShippingPrefs": {"X": 1}})
    assert bad.status_code == 400 and bad.json()["Fault"]["Error"][0]["code"] == "2010"
    (row,) = realm.query("select * from Preferences")["Preferences"]
    assert row == prefs(realm)
