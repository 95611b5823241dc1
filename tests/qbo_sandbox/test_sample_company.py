"""Intuit's sample company: lists with Intuit's ids, real transactions, apart from the console's demo realm."""

from __future__ import annotations

from decimal import Decimal

import requests
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.payment import Payment
from quickbooks.objects.vendor import Vendor

from qbo_sandbox import sample_company, seed
from qbo_sandbox.server import SandboxOptions


def test_getall_style_reads_return_what_intuits_sandbox_company_holds(sample):
    qb = sample.qb()
    customers = Customer.all(max_results=1000, qb=qb)
    assert len(customers) == 29 and customers[0].DisplayName == "Amy's Bird Sanctuary"
    assert len(Vendor.all(max_results=1000, qb=qb)) == 25  # plus the inactive United States Treasury
    invoices = Invoice.all(max_results=1000, qb=qb)
    assert len(invoices) == len(sample_company.OPEN_INVOICES) + len(sample_company.PAID_INVOICES) + 1
    assert [i.DocNumber for i in sorted(invoices, key=lambda i: int(i.Id))][:2] == ["1001", "1002"]
    open_total = sum(Decimal(str(i.Balance)) for i in invoices)
    assert open_total == Decimal(str(sample_company.AR_TOTAL))
    payments = Payment.all(max_results=1000, qb=qb)
    assert len(payments) == len(sample_company.PAID_INVOICES) + 1
    assert all(p.Line and p.Line[0].LinkedTxn for p in payments)


def test_customer_balances_add_up_to_the_recorded_receivables_and_jobs_roll_up(sample):
    rows = sample.query("SELECT * FROM Customer MAXRESULTS 1000")["Customer"]
    assert sum(Decimal(str(c["Balance"])) for c in rows) == Decimal("4804.02")
    freeman = next(c for c in rows if c["DisplayName"] == "Freeman Sporting Goods")
    job = next(c for c in rows if c["DisplayName"] == "55 Twin Lane")
    assert (freeman["Balance"], freeman["BalanceWithJobs"]) == (0, 85)
    assert (job["Job"], job["Level"], job["ParentRef"]["value"]) == (True, 1, freeman["Id"])
    assert job["FullyQualifiedName"] == "Freeman Sporting Goods:55 Twin Lane"
    paulsen = next(c for c in rows if c["DisplayName"] == "Paulsen Medical Supplies")
    memo = sample.query(f"SELECT * FROM CreditMemo WHERE CustomerRef = '{paulsen['Id']}'")["CreditMemo"][0]
    assert (paulsen["Balance"], memo["RemainingCredit"]) == (954.75, 0)


def test_a_job_may_reuse_a_name_that_is_taken_at_the_top_level(sample):
    # Recorded all/customers: "Jack Doe" is both a customer and a job of "Doe, Jack".
    parent = sample.post("customer", {"DisplayName": "Doe, Jack"}).json()["Customer"]
    top = sample.post("customer", {"DisplayName": "Jack Doe"})
    job = sample.post("customer", {"DisplayName": "Jack Doe", "ParentRef": {"value": parent["Id"]}})
    assert top.status_code == job.status_code == 200
    assert job.json()["Customer"]["FullyQualifiedName"] == "Doe, Jack:Jack Doe"
    twin = sample.post("customer", {"DisplayName": "jack doe "})
    assert twin.status_code == 400 and twin.json()["Fault"]["Error"][0]["code"] == "6240"
    order = [c["FullyQualifiedName"] for c in sample.query("SELECT * FROM Customer MAXRESULTS 1000")["Customer"]]
    assert order.index("Doe, Jack:Jack Doe") == order.index("Doe, Jack") + 1


def test_names_transactions_and_accounts_share_intuits_id_sequences(sample):
    customer = sample.post("customer", {"DisplayName": "Next Name"}).json()["Customer"]
    vendor = sample.post("vendor", {"DisplayName": "Next Vendor"}).json()["Vendor"]
    assert (int(customer["Id"]), int(vendor["Id"])) == (58, 59)  # after vendors 56 and 57, as recorded
    assert sample.get("account/84").json()["Account"]["Name"] == "Accounts Receivable (A/R)"
    assert sample.get("account/35").json()["Account"]["Name"] == "Checking"
    invoice_ids = [int(i["Id"]) for i in sample.query("SELECT * FROM Invoice MAXRESULTS 1000")["Invoice"]]
    payment_ids = [int(p["Id"]) for p in sample.query("SELECT * FROM Payment MAXRESULTS 1000")["Payment"]]
    assert not set(invoice_ids) & set(payment_ids)  # one transaction sequence


def test_the_console_demo_realm_is_the_lists_company_and_meets_nothing_of_the_sample(sandbox, realm):
    # The console connects to the default realm; the sample company lives in its own realm.
    options = SandboxOptions()
    assert options.sample_realm and options.sample_realm != options.default_realm
    for entity in ("Invoice", "Payment", "CreditMemo"):
        assert realm.query(f"SELECT COUNT(*) FROM {entity}") == {"totalCount": 0}
    from qbcore.demo_conflicts import CLASHING_VENDOR, INACTIVE_CHARGE_CODE
    from qbcore.demo_rows import CUSTOMER_NAMES

    sample_names = {c[1].lower() for c in sample_company.CUSTOMERS} | {v[1].lower() for v in sample_company.VENDORS}
    assert not sample_names & {name.lower() for name in [*CUSTOMER_NAMES, CLASHING_VENDOR]}
    assert INACTIVE_CHARGE_CODE.lower() not in {i[1].lower() for i in sample_company.ITEMS}
    lists_names = {c[0].lower() for c in seed.CUSTOMERS} | {v.lower() for v in seed.VENDORS}
    assert not lists_names & {name.lower() for name in CUSTOMER_NAMES}


def test_realms_are_listed_and_created_with_a_profile(sandbox):
    made = requests.post(
        f"{sandbox.url}/_sandbox/realms",
        json={"profile": "lists", "company_name": "Harbor Brokerage LLC"},
        timeout=10,
    )
    assert made.status_code == 201
    realm_id = made.json()["realm_id"]
    listed = requests.get(f"{sandbox.url}/_sandbox/realms", timeout=5).json()["realms"]
    mine = next(r for r in listed if r["realm_id"] == realm_id)
    assert (mine["company_name"], mine["profile"]) == ("Harbor Brokerage LLC", "lists")
    again = requests.post(f"{sandbox.url}/_sandbox/realms", json={"realm_id": realm_id}, timeout=5)
    assert again.status_code == 409
    bad = requests.post(f"{sandbox.url}/_sandbox/realms", json={"profile": "huge"}, timeout=5)
    assert bad.status_code == 400 and "profile" in bad.json()["error"]
    detail = requests.get(f"{sandbox.url}/_sandbox/realms/{realm_id}", timeout=5).json()
    assert detail["counts"]["Customer"] == len(seed.CUSTOMERS)
    assert detail["open_balances"]["receivable_total"] == 0
