"""Company preferences: every section Intuit documents, which fields an update may change, and how it merges."""

from __future__ import annotations

import copy
from typing import Any

JsonDict = dict[str, Any]

# Sections of Intuit's documented Preferences example (D-PREF "The preferences object"), in its order.
SECTIONS = (
    "EmailMessagesPrefs",
    "ProductAndServicesPrefs",
    "ReportPrefs",
    "AccountingInfoPrefs",
    "SalesFormsPrefs",
    "VendorAndPurchasesPrefs",
    "TaxPrefs",
    "OtherPrefs",
    "TimeTrackingPrefs",
    "CurrencyPrefs",
)

# Fields D-PREF marks "read only": an update that sends them (python-quickbooks resends everything) is
# accepted and they keep their value. The closing date is among them; /_sandbox/.../plant sets it.
READ_ONLY: dict[str, frozenset[str] | None] = {
    "AccountingInfoPrefs": frozenset(
        {"FirstMonthOfFiscalYear", "UseAccountNumbers", "TaxYearMonth", "TaxForm", "BookCloseDate"}
    ),
    "SalesFormsPrefs": frozenset(
        {
            "EstimateMessage",
            "IPNSupportEnabled",
            "UsingPriceLevels",
            "ETransactionEnabledStatus",
            "AutoApplyCredit",
            "UsingProgressInvoicing",
            "CustomField",
        }
    ),
    "VendorAndPurchasesPrefs": frozenset({"TPAREnabled", "POCustomField"}),
    "TaxPrefs": None,  # every TaxPrefs field is read only
    "TimeTrackingPrefs": frozenset({"WorkWeekStartDate", "MarkTimeEntriesBillable"}),
    "CurrencyPrefs": None,  # every CurrencyPrefs field is read only
    "ReportPrefs": frozenset({"CalcAgingReportFromTxnDate"}),
}
KNOWN_KEYS = frozenset({*SECTIONS, "Id", "SyncToken", "MetaData", "domain", "sparse", "status"})


def _message(kind: str, company: str, body: str) -> JsonDict:
    return {"Subject": f"{kind} from {company}", "Message": f"{body}\n\nSincerely,\n{company}"}


def email_messages(company: str) -> JsonDict:
    """EmailMessagesPrefs with Intuit's default wording, addressed from this company."""
    thanks = "Thank you for your business - we appreciate it very much."
    remit = "Please remit payment at your earliest convenience."
    return {
        "InvoiceMessage": _message("Invoice", company, f"Your invoice is attached.  {remit}\n{thanks}"),
        "EstimateMessage": _message(
            "Estimate",
            company,
            "Please review the estimate below.  Feel free to contact us if you have any questions.\n"
            "We look forward to working with you.",
        ),
        "SalesReceiptMessage": _message("Sales Receipt", company, f"Your sales receipt is attached.\n{thanks}"),
        "StatementMessage": _message("Statement", company, f"Your statement is attached.  {remit}\n{thanks}"),
    }


def _custom_fields(prefix: str, names: list[str]) -> list[JsonDict]:
    use, name = (
        ("SalesFormsPrefs.UseSalesCustom", "SalesFormsPrefs.SalesCustomName")
        if prefix == "Sales"
        else ("PurchasePrefs.UsePurchaseCustom", "PurchasePrefs.PurchaseCustomName")
    )
    return [
        {
            "CustomField": [
                {"BooleanValue": n <= len(names), "Type": "BooleanType", "Name": f"{use}{n}"} for n in (3, 2, 1)
            ]
        },
        {
            "CustomField": [
                {"StringValue": label, "Type": "StringType", "Name": f"{name}{n}"}
                for n, label in reversed(list(enumerate(names, start=1)))
            ]
        },
    ]


def other_prefs(*, warn_duplicate_bill: bool, custom_purchase_numbers: bool) -> list[JsonDict]:
    """OtherPrefs name/value pairs as in Intuit's example, plus the purchase-numbering switch (D-PREF)."""
    pairs = {
        "SalesFormsPrefs.DefaultCustomerMessage": "Thank you for your business and have a great day!",
        "SalesFormsPrefs.DefaultItem": "1",
        "DTXCopyMemo": "false",
        "UncategorizedAssetAccountId": "32",
        "UncategorizedIncomeAccountId": "30",
        "UncategorizedExpenseAccountId": "31",
        "SFCEnabled": "true",
        "DataPartner": "false",
        "Vendor1099Enabled": "true",
        "TimeTrackingFeatureEnabled": "true",
        "FDPEnabled": "false",
        "ProjectsEnabled": "false",
        "DateFormat": "Month Date Year separated by a slash",
        "DateFormatMnemonic": "MMDDYYYY_SEP_SLASH",
        "NumberFormat": "US Number Format",
        "NumberFormatMnemonic": "US_NB",
        "WarnDuplicateCheckNumber": "true",
        "WarnDuplicateBillNumber": str(warn_duplicate_bill).lower(),
        "SignoutInactiveMinutes": "60",
        "AccountingInfoPrefs.ShowAccountNumbers": "false",
        "VendorAndPurchasesPrefs.UseCustomTxnNumbers": str(custom_purchase_numbers).lower(),
    }
    return [{"Name": name, "Value": value} for name, value in pairs.items()]


def build(
    company: str,
    *,
    custom_txn_numbers: bool,
    sales_custom_fields: list[str],
    default_terms_id: str,
    multicurrency: bool = False,
    warn_duplicate_bill: bool = False,
) -> JsonDict:
    """A Preferences body with every documented section (values follow Intuit's documented example)."""
    return {
        "Id": "1",
        "EmailMessagesPrefs": email_messages(company),
        "ProductAndServicesPrefs": {
            "QuantityWithPriceAndRate": True,
            "ForPurchase": True,
            "QuantityOnHand": True,
            "ForSales": True,
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "AccountingInfoPrefs": {
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": True,
            "TaxYearMonth": "January",
            "ClassTrackingPerTxn": False,
            "TrackDepartments": True,
            "TaxForm": "6",
            "CustomerTerminology": "Customers",
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxnLine": True,
        },
        "SalesFormsPrefs": {
            "ETransactionPaymentEnabled": False,
            "CustomTxnNumbers": custom_txn_numbers,
            "AllowShipping": False,
            "AllowServiceDate": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "DefaultCustomerMessage": "Thank you for your business and have a great day!",
            "EmailCopyToCompany": False,
            "AllowEstimates": True,
            "DefaultTerms": {"value": default_terms_id},
            "AllowDiscount": True,
            "AllowDeposit": True,
            "AutoApplyPayments": False,
            "IPNSupportEnabled": False,
            "AutoApplyCredit": False,
            "CustomField": _custom_fields("Sales", sales_custom_fields),
            "UsingPriceLevels": False,
            "ETransactionAttachPDF": False,
        },
        "VendorAndPurchasesPrefs": {
            "BillableExpenseTracking": True,
            "TrackingByCustomer": True,
            "POCustomField": _custom_fields("Purchase", ["Crew #", "Sales Rep"]),
        },
        "TaxPrefs": {"TaxGroupCodeRef": {"value": "2"}, "UsingSalesTax": True},
        "OtherPrefs": {
            "NameValue": other_prefs(warn_duplicate_bill=warn_duplicate_bill, custom_purchase_numbers=True)
        },
        "TimeTrackingPrefs": {
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
            "ShowBillRateToAll": False,
            "UseServices": True,
            "BillCustomers": True,
        },
        "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": multicurrency},
    }


def merge_update(old: JsonDict, body: JsonDict) -> JsonDict:
    """The preferences after an update: writable fields of the sent sections change, the rest is kept.

    Intuit's own full-update example sends two sections and gets the whole object back, so a section
    left out is kept (a partial body never wipes the company); read-only fields are ignored.
    """
    merged = copy.deepcopy(old)
    for section, value in body.items():
        if section not in SECTIONS or not isinstance(value, dict):
            continue
        locked = READ_ONLY.get(section, frozenset())
        if locked is None:
            continue
        target = merged.setdefault(section, {})
        if section == "OtherPrefs":
            target["NameValue"] = _merge_pairs(target.get("NameValue", []), value.get("NameValue"))
            continue
        for key, field in value.items():
            if key not in locked and field not in (None, ""):
                target[key] = copy.deepcopy(field)
    return merged


def _merge_pairs(old: list[JsonDict], sent: object) -> list[JsonDict]:
    """OtherPrefs pairs: a sent Name replaces its Value; unknown names are added."""
    pairs = {str(p.get("Name")): p for p in old if isinstance(p, dict)}
    for pair in sent if isinstance(sent, list) else []:
        if isinstance(pair, dict) and pair.get("Name") and pair.get("Value") is not None:
            pairs[str(pair["Name"])] = {"Name": str(pair["Name"]), "Value": str(pair["Value"])}
    return list(pairs.values())


def name_value(prefs: JsonDict, name: str) -> str | None:
    """One OtherPrefs value (e.g. WarnDuplicateBillNumber), or None."""
    for pair in (prefs.get("OtherPrefs") or {}).get("NameValue") or []:
        if isinstance(pair, dict) and pair.get("Name") == name:
            return str(pair.get("Value"))
    return None


def sales_custom_field_names(prefs: JsonDict) -> dict[str, str]:
    """DefinitionId -> label of the enabled sales-form custom fields."""
    names: dict[str, str] = {}
    enabled: set[str] = set()
    for group in (prefs.get("SalesFormsPrefs") or {}).get("CustomField") or []:
        for entry in group.get("CustomField", []):
            label = str(entry.get("Name", ""))
            if label.startswith("SalesFormsPrefs.SalesCustomName") and entry.get("StringValue"):
                names[label[-1]] = str(entry["StringValue"])
            if label.startswith("SalesFormsPrefs.UseSalesCustom") and entry.get("BooleanValue"):
                enabled.add(label[-1])
    return {def_id: label for def_id, label in names.items() if def_id in enabled}
