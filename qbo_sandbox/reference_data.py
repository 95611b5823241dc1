"""Read-only lists a company has without an app writing them: tax codes, rates, agencies, currencies, rates."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

# Entities an app may read and query but not write here (TaxService, TaxAgency create and currency or
# exchange-rate writes are documented by Intuit but not modelled; see README).
READ_ONLY = ("TaxCode", "TaxRate", "TaxAgency", "CompanyCurrency", "ExchangeRate")
# The US pseudo tax codes: lines name them, GET and queries return them with these ids (D-TAXCODE example).
PSEUDO_TAX_CODES = ("TAX", "NON")
# Intuit's documented TaxRate/TaxAgency/TaxCode examples (the US sample company's three rates).
TAX_AGENCIES = [("1", "Arizona Dept. of Revenue"), ("2", "Board of Equalization")]
TAX_RATES = [("1", "AZ State tax", 7.1, "1"), ("2", "Tucson City", 2, "1"), ("3", "California", 8, "2")]
TAX_CODES = [("2", "California", ["3"]), ("3", "Tucson", ["1", "2"])]
STAMP = "2014-09-18T12:17:04-07:00"
CURRENCIES = [("1", "CAD", "Canadian Dollar", 0.73), ("2", "EUR", "Euro", 1.08), ("3", "MXN", "Mexican Peso", 0.058)]


def _server_row(row_id: str, body: JsonDict) -> JsonDict:
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": row_id,
        "SyncToken": "0",
        "MetaData": {"CreateTime": STAMP, "LastUpdatedTime": STAMP},
        **body,
    }


def tax_rows() -> dict[str, list[JsonDict]]:
    """TaxAgency, TaxRate and TaxCode rows exactly as Intuit's examples show them."""
    rate_names = {rate_id: name for rate_id, name, _value, _agency in TAX_RATES}
    codes: list[JsonDict] = [
        # The pseudo codes come back without domain/SyncToken (D-TAXCODE query example).
        {
            "TaxGroup": False,
            "Name": code,
            "Taxable": code == "TAX",
            "Description": code,
            "Id": code,
            "Active": True,
            "MetaData": {"CreateTime": STAMP, "LastUpdatedTime": STAMP},
        }
        for code in PSEUDO_TAX_CODES
    ]
    for code_id, name, rates in TAX_CODES:
        details = [
            {
                "TaxTypeApplicable": "TaxOnAmount",
                "TaxRateRef": {"name": rate_names[r], "value": r},
                "TaxOrder": 0,
            }
            for r in rates
        ]
        codes.append(
            _server_row(
                code_id,
                {
                    "TaxGroup": True,
                    "Name": name,
                    "Taxable": True,
                    "PurchaseTaxRateList": {"TaxRateDetail": []},
                    "Active": True,
                    "Description": name,
                    "SalesTaxRateList": {"TaxRateDetail": details},
                },
            )
        )
    return {
        "TaxAgency": [
            _server_row(
                agency_id,
                {"DisplayName": name, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False},
            )
            for agency_id, name in TAX_AGENCIES
        ],
        "TaxRate": [
            _server_row(
                rate_id,
                {
                    "RateValue": value,
                    "AgencyRef": {"value": agency},
                    "Name": name,
                    "SpecialTaxType": "NONE",
                    "DisplayType": "ReadOnly",
                    "Active": True,
                    "Description": "Sales Tax",
                },
            )
            for rate_id, name, value, agency in TAX_RATES
        ],
        "TaxCode": codes,
    }


def currency_rows(multicurrency: bool, as_of: str) -> dict[str, list[JsonDict]]:
    """CompanyCurrency and ExchangeRate rows; a single-currency company has none (D-CURRENCY)."""
    if not multicurrency:
        return {"CompanyCurrency": [], "ExchangeRate": []}
    return {
        "CompanyCurrency": [
            _server_row(row_id, {"Code": code, "Name": name, "Active": True})
            for row_id, code, name, _rate in CURRENCIES
        ],
        # ExchangeRate objects carry no Id on the wire; the store keys them by currency and date.
        "ExchangeRate": [
            {
                "SyncToken": "0",
                "domain": "QBO",
                "sparse": False,
                "AsOfDate": as_of,
                "SourceCurrencyCode": code,
                "Rate": rate,
                "TargetCurrencyCode": "USD",
                "MetaData": {"LastUpdatedTime": STAMP},
            }
            for _row_id, code, _name, rate in CURRENCIES
        ],
    }


def exchange_rate_key(row: JsonDict) -> str:
    """The store key of an ExchangeRate row (it has no Id of its own)."""
    return f"{row['SourceCurrencyCode']}|{row['AsOfDate']}"


def best_rate(rows: list[JsonDict], source: str, as_of: str) -> JsonDict | None:
    """The rate for a currency on a date: the latest one set on or before it (D-EXCHANGERATE read)."""
    candidates = [r for r in rows if r["SourceCurrencyCode"] == source.upper() and r["AsOfDate"] <= as_of]
    return max(candidates, key=lambda r: r["AsOfDate"]) if candidates else None
