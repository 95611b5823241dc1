"""The "lists" company every realm starts from unless asked otherwise: a chart of accounts, items and names.

It carries no transactions, so the console's demo book meets only what it plants itself (see
sample_company.py for Intuit's sample company with transactions, served in its own realm).
"""

from __future__ import annotations

from typing import Any

from qbo_sandbox import preferences as prefs

COMPANY_NAME = "Sandbox Company_US_1"

CUSTOM_FIELDS = ["Container #", "PO #", "Load #"]

# (Name, AccountType, AccountSubType, Classification)
ACCOUNTS = [
    ("Services", "Income", "ServiceFeeIncome", "Revenue"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("Checking", "Bank", "Checking", "Asset"),
    ("Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability"),
    ("Fuel", "Expense", "Auto", "Expense"),
    # Payables: what driver settlements and carrier bills post to, and a card to pay bills with.
    ("Driver Pay", "Cost of Goods Sold", "CostOfLabourCos", "Expense"),
    ("Carrier Costs", "Cost of Goods Sold", "OtherCostsOfServiceCos", "Expense"),
    ("Chassis Rental Expense", "Expense", "EquipmentRental", "Expense"),
    ("Insurance", "Expense", "Insurance", "Expense"),
    ("Mastercard", "Credit Card", "CreditCard", "Liability"),
]

# (Name, UnitPrice, Description); all are Service items booked to "Services".
ITEMS = [
    ("Services", 0, None),
    ("Drayage", 450, "Container drayage, port to warehouse"),
    ("Fuel Surcharge", 0, "Fuel surcharge"),
    ("Chassis Rental", 35, "Chassis rental per day"),
    ("Detention", 85, "Detention per hour"),
    ("Storage", 50, "Container storage per day"),
]

TERMS = [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 45", 45)]

PAYMENT_METHODS = [
    ("Check", "NON_CREDIT_CARD"),
    ("ACH", "NON_CREDIT_CARD"),
    ("Wire", "NON_CREDIT_CARD"),
    ("Credit Card", "CREDIT_CARD"),
]

CLASSES = ["Import", "Export", "Domestic"]
DEPARTMENTS = ["Port Newark", "Savannah", "Long Beach"]

# (DisplayName, GivenName, FamilyName, email, phone, (Line1, City, State, Zip)); ids follow Intuit's sample.
CUSTOMERS = [
    (
        "Amy's Bird Sanctuary",
        "Amy",
        "Lauterbach",
        "Birds@Intuit.com",
        "(650) 555-3311",
        ("4581 Finch St.", "Bayshore", "CA", "94326"),
    ),
    (
        "Bill's Windsurf Shop",
        "Bill",
        "Lucchini",
        "Surf@Intuit.com",
        "(415) 444-6538",
        ("12 Ocean Dr.", "Half Moon Bay", "CA", "94213"),
    ),
    (
        "Cool Cars",
        "Grace",
        "Pariente",
        "Cool_Cars@intuit.com",
        "(415) 555-9933",
        ("65 Ocean Dr.", "Half Moon Bay", "CA", "94213"),
    ),
    (
        "Diego Rodriguez",
        "Diego",
        "Rodriguez",
        "Diego@Rodriguez.com",
        "(650) 555-4477",
        ("321 Channing", "Palo Alto", "CA", "94303"),
    ),
    (
        "Dukes Basketball Camp",
        "Peter",
        "Dukes",
        "Dukes_bball@intuit.com",
        "(520) 420-5638",
        ("25 Court St.", "Tucson", "AZ", "85719"),
    ),
    (
        "Dylan Sollfrank",
        "Dylan",
        "Sollfrank",
        "Dylan@Sollfrank.com",
        "(650) 555-2222",
        ("1 Main St.", "Palo Alto", "CA", "94303"),
    ),
    (
        "Weiskopf Consulting",
        "Nicola",
        "Weiskopf",
        "Consulting@intuit.com",
        "(650) 555-1423",
        ("45612 Main St.", "Bayshore", "CA", "94326"),
    ),
]

VENDORS = [
    "Books by Bessie",
    "Brosnahan Insurance Agency",
    "Hicks Hardware",
    "Norton Lumber and Building Materials",
]

EMPLOYEES = [("Emily", "Platt"), ("John", "Johnson")]


def seed_rows() -> dict[str, list[dict[str, Any]]]:
    """Entity name -> bodies to create, in order (ids are assigned by the store)."""
    accounts = [
        {"Name": name, "AccountType": acct_type, "AccountSubType": sub, "Classification": cls}
        for name, acct_type, sub, cls in ACCOUNTS
    ]
    items = []
    for name, price, description in ITEMS:
        body = {"Name": name, "Type": "Service", "UnitPrice": price, "IncomeAccountRef": {"value": "1"}}
        if description:
            body["Description"] = description
        items.append(body)
    return {
        "Account": accounts,
        "Term": [{"Name": name, "DueDays": days, "Type": "STANDARD"} for name, days in TERMS],
        "PaymentMethod": [{"Name": name, "Type": kind} for name, kind in PAYMENT_METHODS],
        "Class": [{"Name": name} for name in CLASSES],
        "Department": [{"Name": name} for name in DEPARTMENTS],
        "Item": items,
        "Customer": [
            {
                "DisplayName": name,
                "GivenName": given,
                "FamilyName": family,
                "CompanyName": name,
                "PrimaryEmailAddr": {"Address": email},
                "PrimaryPhone": {"FreeFormNumber": phone},
                "BillAddr": _address(address),
                "ShipAddr": _address(address),
            }
            for name, given, family, email, phone, address in CUSTOMERS
        ],
        "Vendor": [{"DisplayName": name, "CompanyName": name} for name in VENDORS],
        "Employee": [{"GivenName": given, "FamilyName": family} for given, family in EMPLOYEES],
    }


def _address(parts: tuple[str, str, str, str]) -> dict[str, Any]:
    line1, city, state, postal = parts
    return {"Line1": line1, "City": city, "CountrySubDivisionCode": state, "PostalCode": postal}


def preferences(company: str) -> dict[str, Any]:
    """The lists company's preferences: custom numbers on and the three drayage custom fields."""
    return prefs.build(
        company, custom_txn_numbers=True, sales_custom_fields=CUSTOM_FIELDS, default_terms_id="3"
    )


def company_info(company: str = COMPANY_NAME) -> dict[str, Any]:
    address = {
        "Id": "1",
        "Line1": "123 Sierra Way",
        "City": "San Pablo",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "87999",
        "Lat": "36.6788345",
        "Long": "-5.4464622",
    }
    return {
        "Id": "1",
        "CompanyName": company,
        "LegalName": company,
        "CompanyAddr": address,
        "CustomerCommunicationAddr": dict(address),
        "LegalAddr": dict(address),
        "PrimaryPhone": {},
        "CompanyStartDate": "2025-01-01",
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "noreply@quickbooks.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Trucking"},
            {"Name": "CompanyType", "Value": "Other"},
        ],
    }
