"""Intuit's sample company ("Craig's Design and Landscaping Services"): its lists, ids and open balances.

Names, ids, addresses and account numbers are those of the recorded Intuit sandbox company
(tests/fixtures/qbo-recordings: all/customers, get/inactive_vendors, all/employees_including_active,
reports/gl, cdc/basic). Its transactions are rebuilt so that each customer's open balance, and the A/R
total of 4,804.02, equal the recorded ones before the recording tool added its own invoices. It lives in
its own realm (see server.SandboxOptions.sample_realm), apart from the lists company the console's demo
book is synced into, so none of its names, numbers or balances can meet the demo's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from qbo_sandbox import preferences as prefs

JsonDict = dict[str, Any]
COMPANY_NAME = "Craig's Design and Landscaping Services"

# (Id, Name, AccountType, AccountSubType); ids as in Intuit's sample (reports/gl, OtherPrefs, D-BILL).
ACCOUNTS = [
    ("1", "Services", "Income", "ServiceFeeIncome"),
    ("2", "Retained Earnings", "Equity", "RetainedEarnings"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("5", "Fees Billed", "Income", "ServiceFeeIncome"),  # made inactive: recorded deactivate/account
    ("7", "Advertising", "Expense", "AdvertisingPromotional"),
    ("8", "Bank Charges", "Expense", "BankCharges"),
    ("11", "Insurance", "Expense", "Insurance"),
    ("13", "Meals and Entertainment", "Expense", "EntertainmentMeals"),
    ("15", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses"),
    ("16", "Legal & Professional Fees", "Expense", "LegalProfessionalFees"),
    ("17", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings"),
    ("19", "Supplies", "Expense", "SuppliesMaterials"),
    ("22", "Automobile", "Expense", "Auto"),
    ("30", "Uncategorized Income", "Income", "OtherPrimaryIncome"),
    ("31", "Uncategorized Expense", "Expense", "OtherMiscellaneousServiceCost"),
    ("32", "Uncategorized Asset", "Other Current Asset", "OtherCurrentAssets"),
    ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("34", "Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("35", "Checking", "Bank", "Checking"),
    ("36", "Savings", "Bank", "Savings"),
    ("38", "Truck", "Fixed Asset", "Vehicles"),
    ("41", "Mastercard", "Credit Card", "CreditCard"),
    ("43", "Loan Payable", "Other Current Liability", "OtherCurrentLiabilities"),
    ("44", "Notes Payable", "Long Term Liabilities", "NotesPayable"),
    ("45", "Landscaping Services", "Income", "ServiceFeeIncome"),
    ("77", "Utilities", "Expense", "Utilities"),
    ("79", "Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("81", "Inventory Asset", "Other Current Asset", "Inventory"),
    ("82", "Design income", "Income", "ServiceFeeIncome"),
    ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("86", "Discounts given", "Income", "DiscountsRefundsGiven"),
    ("90", "Board of Equalization Payable", "Other Current Liability", "SalesTaxPayable"),
]
INACTIVE_ACCOUNTS = ("5",)
CLASSIFICATION = {
    "Income": "Revenue",
    "Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Equity": "Equity",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liabilities": "Liability",
}

# (Id, Name, DueDays): qbo-payables.md §5 lists Intuit's sample term ids.
TERMS = [("1", "Due on receipt", 0), ("2", "Net 15", 15), ("3", "Net 30", 30), ("4", "Net 60", 60), ("5", "Net 10", 10)]
PAYMENT_METHODS = [
    ("1", "Cash", "NON_CREDIT_CARD"),
    ("2", "Check", "NON_CREDIT_CARD"),  # recorded: PaymentMethodRef 2 "Check" (batch/basic)
    ("3", "Visa", "CREDIT_CARD"),
    ("4", "MasterCard", "CREDIT_CARD"),
    ("5", "Discover", "CREDIT_CARD"),
    ("6", "American Express", "CREDIT_CARD"),
    ("7", "Diners Club", "CREDIT_CARD"),
]

# (Id, Name, Type, UnitPrice, income account id, description); recorded prices for 4, 5, 7, 10 and 13.
ITEMS = [
    ("1", "Services", "Service", 0, "1", None),
    ("2", "Hours", "Service", 0, "1", None),
    ("3", "Concrete", "Service", 0, "45", "Concrete for fountain installation"),
    ("4", "Design", "Service", 75, "82", "Custom Design"),
    ("5", "Rock Fountain", "Inventory", 275, "79", "Rock Fountain"),
    ("6", "Gardening", "Service", 0, "45", "Weekly Gardening Service"),
    ("7", "Installation", "Service", 50, "45", "Installation of landscape design"),
    ("8", "Lighting", "Service", 0, "45", "Garden Lighting"),
    ("9", "Maintenance & Repair", "Service", 0, "45", "Maintenance & Repair"),
    ("10", "Pest Control", "Service", 35, "45", "Pest Control Services"),
    ("11", "Pump", "Inventory", 15, "79", "Fountain Pump"),
    ("12", "Refunds & Allowances", "NonInventory", 0, "86", "Income due to refunds or allowances"),
    ("13", "Rocks", "Service", 22.5, "45", "Garden Rocks"),
    ("14", "Sod", "Service", 0, "45", "Sod"),
    ("15", "Soil", "Service", 10, "45", "2 cubic ft. bag"),
    ("16", "Sprinkler Heads", "Inventory", 2, "79", "Sprinkler Heads"),
    ("17", "Sprinkler Pipes", "Inventory", 4, "79", "Sprinkler Pipes"),
    ("18", "Trimming", "Service", 35, "45", "Tree and Shrub Trimming"),
]

Address = tuple[str, str, str, str] | None
# (Id, DisplayName, Given, Family, Company, email, phone, bill address, parent id, Taxable): recorded rows.
CUSTOMERS: list[tuple[str, str, str | None, str | None, str | None, str | None, str | None, Address, str | None, bool]] = [
    ("1", "Amy's Bird Sanctuary", "Amy", "Lauterbach", "Amy's Bird Sanctuary", "Birds@Intuit.com", "(650) 555-3311", ("4581 Finch St.", "Bayshore", "CA", "94326"), None, True),
    ("2", "Bill's Windsurf Shop", "Bill", "Lucchini", "Bill's Windsurf Shop", "Surf@Intuit.com", "(415) 444-6538", ("12 Ocean Dr.", "Half Moon Bay", "CA", "94213"), None, False),
    ("3", "Cool Cars", "Grace", "Pariente", "Cool Cars", "Cool_Cars@intuit.com", "(415) 555-9933", ("65 Ocean Dr.", "Half Moon Bay", "CA", "94213"), None, False),
    ("4", "Diego Rodriguez", "Diego", "Rodriguez", None, "Diego@Rodriguez.com", "(650) 555-4477", ("321 Channing", "Palo Alto", "CA", "94303"), None, False),
    ("5", "Dukes Basketball Camp", "Peter", "Dukes", "Dukes Basketball Camp", "Dukes_bball@intuit.com", "(520) 420-5638", ("25 Court St.", "Tucson", "AZ", "85719"), None, True),
    ("6", "Dylan Sollfrank", "Dylan", "Sollfrank", None, None, None, None, None, False),
    ("7", "Freeman Sporting Goods", "Kirby", "Freeman", "Freeman Sporting Goods", "Sporting_goods@intuit.com", "(650) 555-0987", ("370 Easy St.", "Middlefield", "CA", "94482"), None, False),
    ("8", "0969 Ocean View Road", "Sasha", "Tillou", "Freeman Sporting Goods", "Sporting_goods@intuit.com", "(415) 555-9933", ("370 Easy St.", "Middlefield", "CA", "94482"), "7", False),
    ("9", "55 Twin Lane", "Amelia", None, "Freeman Sporting Goods", "Sporting_goods@intuit.com", "(650) 555-0987", ("370 Easy St.", "Middlefield", "CA", "94482"), "7", False),
    ("10", "Geeta Kalapatapu", "Geeta", "Kalapatapu", None, "Geeta@Kalapatapu.com", "(650) 555-0022", ("1987 Main St.", "Middlefield", "CA", "94303"), None, False),
    ("11", "Gevelber Photography", "Lisa", "Gevelber", "Gevelber Photography", "Photography@intuit.com", "(415) 222-4345", ("1045 Main St.", "Half Moon Bay", "CA", "94213"), None, False),
    ("12", "Jeff's Jalopies", "Jeff", "Chin", "Jeff's Jalopies", "Jalopies@intuit.com", "(650) 555-8989", ("12 Willow Rd.", "Menlo Park", "CA", "94305"), None, False),
    ("13", "John Melton", "John", "Melton", None, "John@Melton.com", "(650) 555-5879", ("85 Pine St.", "Menlo Park", "CA", "94304"), None, False),
    ("14", "Kate Whelan", "Kate", "Whelan", None, "Kate@Whelan.com", "(650) 554-8822", ("45 First St.", "Menlo Park", "CA", "94304"), None, False),
    ("15", "Pye's Cakes", "Karen", "Pye", "Pye's Cakes", "pyescakes@intuit.com", "(973) 555-4652", ("350 Mountain View Dr.", "South Orange", "NJ", "07079"), None, False),
    ("16", "Kookies by Kathy", "Kathy", "Kuplis", "Kookies by Kathy", "qbwebsamplecompany@yahoo.com", "(650) 555-7896", ("789 Sugar Lane", "Middlefield", "CA", "94303"), None, False),
    ("17", "Mark Cho", "Mark", "Cho", None, "Mark@Cho.com", "(650) 554-1479", ("36 Willow Rd", "Menlo Park", "CA", "94304"), None, False),
    ("18", "Paulsen Medical Supplies", "Kathy", "Paulsen", "Paulsen Medical Supplies", "Medical@intuit.com", "(650) 557-4569", ("900 Main St.", "Middlefield", "CA", "94303"), None, False),
    ("19", "Rago Travel Agency", "Jeff", "Rago", "Rago Travel Agency", "Rago_Travel@intuit.com", "(650) 555-1596", ("753 Cedar St.", "Bayshore", "CA", "94326"), None, False),
    ("20", "Red Rock Diner", "Stephanie", "Martini", "Red Rock Diner", "qbwebsamplecompany@yahoo.com", "(650) 555-4973", ("500 Red Rock Rd.", "Bayshore", "CA", "94326"), None, False),
    ("21", "Rondonuwu Fruit and Vegi", "Rondonuwu", "and Vegi", None, "Tony@Rondonuwu.com", "(650) 555-2645", ("847 California Ave.", "San Jose", "CA", "95021"), None, False),
    ("22", "Shara Barnett", "Shara", "Barnett", None, "Shara@Barnett.com", "(650) 555-4563", ("77 University", "Palo Alto", "CA", "94303"), None, False),
    ("23", "Barnett Design", "Shara", "Barnett", "Barnett Design", "Design@intuit.com", "(650) 557-1289", ("19 Main St.", "Middlefield", "CA", "94303"), "22", False),
    ("24", "Sonnenschein Family Store", "Russ", "Sonnenschein", "Sonnenschein Family Store", "Familiystore@intuit.com", "(650) 557-8463", ("5647 Cypress Hill Ave.", "Middlefield", "CA", "94303"), None, False),
    ("25", "Sushi by Katsuyuki", "Katsuyuki", "Yanagawa", "Sushi by Katsuyuki", "Sushi@intuit.com", "(505) 570-0147", ("898 Elm St.", "Maplewood", "NJ", "07040"), None, False),
    ("26", "Travis Waldron", "Travis", "Waldron", None, "Travis@Waldron.com", "(650) 557-9977", ("78 First St.", "Monlo Park", "CA", "94304"), None, False),
    ("27", "Video Games by Dan", "Dan", "Wilks", "Video Games by Dan", "Videogames@intuit.com", "(650) 555-3456", ("202 Main St.", "Tucson", "AZ", "85704"), None, False),
    ("28", "Wedding Planning by Whitney", "Whitney", "Brewer", "Wedding Planning by Whitney", "Dream_Wedding@intuit.com", "(650) 557-2473", ("135 Broadway", "Menlo Park", "CA", "94304"), None, False),
    ("29", "Weiskopf Consulting", "Nicola", "Weiskopf", "Weiskopf Consulting", "Consulting@intuit.com", "(650) 555-1423", ("45612 Main St.", "Bayshore", "CA", "94326"), None, False),
]  # fmt: skip

# (Id, DisplayName, Given, Family, Company, email, AcctNum, Vendor1099, TermRef, address, Active).
VENDORS: list[tuple[str, str, str | None, str | None, str | None, str | None, str | None, bool, str | None, Address, bool]] = [
    ("30", "Books by Bessie", "Bessie", "Williams", "Books by Bessie", "Books@Intuit.com", "1345", False, None, ("15 Main St.", "Palo Alto", "CA", "94303"), True),
    ("31", "Brosnahan Insurance Agency", "Nick", "Brosnahan", "Brosnahan Insurance Agency", None, "7653412", True, None, ("P.O. Box 5", "Middlefield", "CA", "94482"), True),
    ("32", "Cal Telephone", None, None, "Cal Telephone", None, None, False, "1", ("10 Main St.", "Palo Alto", "CA", "94303"), True),
    ("33", "Chin's Gas and Oil", None, None, "Chin's Gas and Oil", None, None, False, None, None, True),
    ("34", "Cigna Health Care", None, None, "Cigna Health Care", None, "123456789", False, None, None, True),
    ("35", "Computers by Jenni", "Jenni", "Winslow", "Computers by Jenni", "Msfixit@Intuit.com", None, False, None, ("1515 Main St.", "Middlefield", "CA", "94482"), True),
    ("36", "Diego's Road Warrior Bodyshop", None, None, "Diego's Road Warrior Bodyshop", None, None, False, None, None, True),
    ("37", "EDD", None, None, "EDD", None, None, False, None, None, True),
    ("38", "Ellis Equipment Rental", "Julie", "Ellis", "Ellis Equipment Rental", "Rental@intuit.com", "39765", False, None, ("45896 Main St.", "Middlefield", "CA", "94303"), True),
    ("39", "Fidelity", None, None, "Fidelity", None, None, False, None, None, True),
    ("40", "Hall Properties", "Melanie", "Hall", "Hall Properties", None, "55642", False, None, ("P.O.Box 357", "South Orange", "NJ", "07079"), True),
    ("41", "Hicks Hardware", "Geoff", "Hicks", "Hicks Hardware", None, "556223", False, None, ("42 Main St.", "Middlefield", "CA", "94303"), True),
    ("42", "Lee Advertising", "Laurel", "Lee", "Lee Advertising", None, "776543", False, None, ("53 Main St.", "Middlefield", "CA", "94303"), True),
    ("43", "Mahoney Mugs", None, None, "Mahoney Mugs", None, None, False, None, None, True),
    ("44", "Met Life Dental", None, None, "Met Life Dental", None, None, False, None, None, True),
    ("45", "National Eye Care", None, None, "National Eye Care", "Nateyecare@intuit.com, pauliejones15@intuit.com", "164978565103482659421", False, "3", ("123 Anywhere Ave", "Tucson", "AZ", "85704"), True),
    ("46", "Norton Lumber and Building Materials", "Julie", "Norton", "Norton Lumber and Building Materials", "Materials@intuit.com", "32980256", False, None, ("4528 Country Road", "Middlefield", "CA", "94303"), True),
    ("47", "Pam Seitz", "Pam", "Seitz", "Pam Seitz, CPA", "SeitzCPA@noemail.com", "64132549", False, "1", ("P.O. Box 15", "Bayshore", "CA", "94326"), True),
    ("48", "PG&E", None, None, "PG&E", "utilities@noemail.com", "00649587213", False, None, ("4 Main St.", "Palo Alto", "CA", "94303"), True),
    ("49", "Robertson & Associates", "Jenny", "Robertson", "Robertson & Associates", None, "000005641", False, None, ("P.O. Box 147", "Bayshore", "CA", "94326"), True),
    ("50", "Tania's Nursery", "Tania", "Kronberg", "Tania's Nursery", "plantqueen@taniasnursery.com", "2154", False, None, ("1111 Elm St.", "Middlefield", "CA", "94482"), True),
    ("51", "Tim Philip Masonry", "Tim", "Philip", "Tim Philip Masonry", "tim.philip@timphilipmasonry.com", "0078965", False, None, ("3948 Elm St.", "Middlefield", "CA", "94482"), True),
    ("52", "Tony Rondonuwu", "Tony", "Rodonuwu", None, "tonyrjr@intuit.com", None, False, None, None, True),
    ("53", "United States Treasury", None, None, None, "taxesaregreat@intuit.com", "00000111546", False, None, ("5568 Capital Drive", "Tucson", "AZ", "85718"), False),
    ("56", "Bob's Burger Joint", None, None, None, None, None, False, None, None, True),
    ("57", "Squeaky Kleen Car Wash", None, None, None, None, None, False, None, None, True),
]  # fmt: skip
EMPLOYEES = [("54", "John", "Johnson"), ("55", "Emily", "Platt")]

# Invoices: (customer id, days ago, [(item id, amount)]); then what pays or credits them.
Line = tuple[str, float]
OPEN_INVOICES: list[tuple[str, int, list[Line]]] = [
    ("1", 48, [("1", 239.00)]),
    ("2", 63, [("10", 35.00), ("18", 50.00)]),
    ("9", 21, [("18", 35.00), ("14", 50.00)]),
    ("10", 35, [("4", 300.00), ("5", 275.00), ("15", 54.10)]),
    ("12", 12, [("9", 81.00)]),
    ("16", 40, [("6", 75.00)]),
    ("17", 18, [("5", 275.00), ("11", 39.28)]),
    ("20", 70, [("10", 70.00), ("6", 156.00)]),
    ("21", 9, [("15", 78.60)]),
    ("23", 27, [("4", 274.50)]),
    ("24", 33, [("7", 300.00), ("13", 62.07)]),
    ("25", 5, [("10", 160.00)]),
    ("26", 52, [("9", 414.72)]),
    ("29", 15, [("4", 375.00)]),
]
# (customer id, days ago, lines, amount paid, days after the invoice); part-paid leaves a balance.
PAID_INVOICES: list[tuple[str, int, list[Line], float, int]] = [
    ("3", 80, [("7", 500.00), ("8", 200.00)], 700.00, 20),
    ("4", 75, [("2", 140.00)], 140.00, 10),
    ("5", 60, [("1", 422.00)], 422.00, 25),
    ("8", 45, [("16", 40.00), ("17", 40.00)], 80.00, 14),
    ("13", 30, [("4", 750.00)], 300.00, 8),
    ("14", 55, [("6", 225.00)], 225.00, 30),
    ("27", 28, [("4", 300.00)], 300.00, 6),
]
# A credit memo applied to an open invoice through a zero-amount payment (qbo-api.md §3.6).
CREDITED_INVOICE = ("18", 24, [("7", 500.00), ("5", 275.00), ("3", 279.75)], 100.00)
AR_TOTAL = 4804.02  # recorded: 5,004.02 at the start of the month, less the recorder's two test invoices


def preferences() -> JsonDict:
    """Intuit's sample preferences: automatic numbers and the one "Crew #" field the recordings show."""
    return prefs.build(COMPANY_NAME, custom_txn_numbers=False, sales_custom_fields=["Crew #"], default_terms_id="3")


def _address(parts: Address) -> JsonDict | None:
    if parts is None:
        return None
    line1, city, state, postal = parts
    return {"Line1": line1, "City": city, "CountrySubDivisionCode": state, "PostalCode": postal}


def _person(given: str | None, family: str | None, company: str | None, email: str | None) -> JsonDict:
    body: JsonDict = {}
    for key, value in (("GivenName", given), ("FamilyName", family), ("CompanyName", company)):
        if value:
            body[key] = value
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    return body


def lists() -> list[tuple[str, str, JsonDict]]:
    """(entity, id, body) for every list row, in Intuit's id order."""
    out: list[tuple[str, str, JsonDict]] = []
    for row_id, name, acct_type, sub in ACCOUNTS:
        body = {
            "Name": name,
            "AccountType": acct_type,
            "AccountSubType": sub,
            "Classification": CLASSIFICATION.get(acct_type, "Asset"),
        }
        out.append(("Account", row_id, body))
    out += [("Term", i, {"Name": n, "DueDays": d, "Type": "STANDARD"}) for i, n, d in TERMS]
    out += [("PaymentMethod", i, {"Name": n, "Type": t}) for i, n, t in PAYMENT_METHODS]
    for row_id, name, item_type, price, income, description in ITEMS:
        item: JsonDict = {"Name": name, "Type": item_type, "UnitPrice": price, "IncomeAccountRef": {"value": income}}
        if description:
            item["Description"] = description
        if item_type == "Inventory":
            item.update(
                {
                    "TrackQtyOnHand": True,
                    "QtyOnHand": 25,
                    "InvStartDate": "2015-01-01",
                    "AssetAccountRef": {"value": "81"},
                    "ExpenseAccountRef": {"value": "80"},
                }
            )
        out.append(("Item", row_id, item))
    for row_id, name, given, family, company, email, phone, addr, parent, taxable in CUSTOMERS:
        customer = {"DisplayName": name, "Taxable": taxable, **_person(given, family, company, email)}
        if phone:
            customer["PrimaryPhone"] = {"FreeFormNumber": phone}
        if addr:
            customer["BillAddr"] = _address(addr)
            customer["ShipAddr"] = _address(addr)
        if parent:
            customer.update({"ParentRef": {"value": parent}, "Job": True, "BillWithParent": False})
        out.append(("Customer", row_id, customer))
    people: list[tuple[str, str, JsonDict]] = []
    for row_id, name, given, family, company, email, acct, is_1099, term, addr, _active in VENDORS:
        vendor = {"DisplayName": name, "Vendor1099": is_1099, **_person(given, family, company, email)}
        if acct:
            vendor["AcctNum"] = acct
        if term:
            vendor["TermRef"] = {"value": term}
        if addr:
            vendor["BillAddr"] = _address(addr)
        people.append(("Vendor", row_id, vendor))
    people += [("Employee", i, {"GivenName": g, "FamilyName": f}) for i, g, f in EMPLOYEES]
    return out + sorted(people, key=lambda p: int(p[1]))


def inactive() -> list[tuple[str, str]]:
    """(entity, id) of the list rows Intuit's company has made inactive."""
    return [("Account", i) for i in INACTIVE_ACCOUNTS] + [
        ("Vendor", v[0]) for v in VENDORS if not v[10]
    ]


def _lines(lines: list[Line]) -> list[JsonDict]:
    return [
        {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": {"ItemRef": {"value": item}}}
        for item, amount in lines
    ]


Create = Callable[[str, JsonDict], JsonDict]


def seed_transactions(create: Create, today: date) -> None:
    """Create the invoices, payments and credit memo through `create`, oldest first, dated back from today."""
    events: list[tuple[int, int, str, str, list[Line], float, int]] = []
    for n, (customer, days, lines) in enumerate(OPEN_INVOICES):
        events.append((days, n, "open", customer, lines, 0.0, 0))
    for n, (customer, days, lines, paid, after) in enumerate(PAID_INVOICES):
        events.append((days, 100 + n, "paid", customer, lines, paid, after))
    customer, days, lines, credit = CREDITED_INVOICE
    events.append((days, 200, "credited", customer, lines, credit, 2))

    def on(days_ago: int) -> str:
        return (today - timedelta(days=days_ago)).isoformat()

    for days_ago, _order, kind, customer, lines, amount, after in sorted(events, key=lambda e: (-e[0], e[1])):
        ref = {"value": customer}
        invoice = create("Invoice", {"CustomerRef": ref, "Line": _lines(lines), "TxnDate": on(days_ago)})
        link = [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
        if kind == "paid":
            create(
                "Payment",
                {
                    "CustomerRef": ref,
                    "TotalAmt": amount,
                    "PaymentMethodRef": {"value": "2"},
                    "TxnDate": on(days_ago - after),
                    "Line": [{"Amount": amount, "LinkedTxn": link}],
                },
            )
        elif kind == "credited":
            memo = create(
                "CreditMemo", {"CustomerRef": ref, "Line": _lines([("12", amount)]), "TxnDate": on(days_ago - after)}
            )
            create(
                "Payment",
                {
                    "CustomerRef": ref,
                    "TotalAmt": 0,
                    "TxnDate": on(days_ago - after),
                    "Line": [
                        {"Amount": amount, "LinkedTxn": link},
                        {"Amount": amount, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
                    ],
                },
            )
