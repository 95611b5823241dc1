"""Payables with the unmodified python-quickbooks client over HTTP: vendors, bills, bill payments, vendor credits."""

from __future__ import annotations

import pytest
import requests
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import Address, Ref
from quickbooks.objects.bill import Bill
from quickbooks.objects.billpayment import BillPayment, BillPaymentCreditCard, BillPaymentLine, CheckPayment
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    ItemBasedExpenseLine,
    ItemBasedExpenseLineDetail,
)
from quickbooks.objects.vendor import Vendor
from quickbooks.objects.vendorcredit import VendorCredit


def ref(value: str) -> Ref:
    made = Ref()
    made.value = value
    return made


def account_id(realm, name: str) -> str:
    return realm.query(f"select * from Account where Name = '{name}'")["Account"][0]["Id"]


def make_vendor(qb, name: str, **fields) -> Vendor:
    vendor = Vendor()
    vendor.DisplayName = name
    for key, value in fields.items():
        setattr(vendor, key, value)
    return vendor.save(qb=qb)


def expense_line(amount, account: str, description: str | None = None) -> AccountBasedExpenseLine:
    line = AccountBasedExpenseLine()
    line.Amount = amount
    line.Description = description
    line.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
    line.AccountBasedExpenseLineDetail.AccountRef = ref(account)
    return line


def make_bill(qb, vendor: Vendor, *lines, doc_number: str | None = None, txn_date: str | None = None) -> Bill:
    bill = Bill()
    bill.VendorRef = vendor.to_ref()
    bill.Line = list(lines)
    bill.DocNumber = doc_number
    if txn_date:
        bill.TxnDate = txn_date
    return bill.save(qb=qb)


def pay(qb, vendor: Vendor, total, links: list[tuple[Bill | VendorCredit, float]], card: str | None = None,
        bank: str | None = None) -> BillPayment:
    payment = BillPayment()
    payment.VendorRef = vendor.to_ref()
    payment.TotalAmt = total
    if card:
        payment.PayType = "CreditCard"
        payment.CreditCardPayment = BillPaymentCreditCard()
        payment.CreditCardPayment.CCAccountRef = ref(card)
    else:
        payment.PayType = "Check"
        payment.CheckPayment = CheckPayment()
        payment.CheckPayment.BankAccountRef = ref(bank)
    for target, amount in links:
        line = BillPaymentLine()
        line.Amount = amount
        line.LinkedTxn = [target.to_linked_txn()]
        payment.Line.append(line)
    return payment.save(qb=qb)


def vendor_balance(realm, name: str) -> float:
    details = requests.get(f"{realm.sandbox.url}/_sandbox/realms/{realm.id}", timeout=5).json()
    return details["open_balances"]["payable_by_vendor"].get(name, 0)


@pytest.fixture
def books(realm):
    """The lists company's accounts a payables test uses, by name."""
    return {name: account_id(realm, name) for name in ("Driver Pay", "Fuel", "Checking", "Mastercard",
                                                       "Accounts Payable (A/P)", "Carrier Costs")}


def test_vendor_round_trip_with_1099_terms_address_and_a_masked_tax_id(realm):
    qb = realm.qb()
    address = Address()
    address.Line1, address.City, address.CountrySubDivisionCode, address.PostalCode = (
        "12 Port Rd", "Newark", "NJ", "07114")
    net15 = realm.query("select * from Term where Name = 'Net 15'")["Term"][0]["Id"]
    created = make_vendor(qb, "Owner Operator Ray Diaz", Vendor1099=True, TermRef=ref(net15), BillAddr=address,
                          TaxIdentifier="99-5688293", GivenName="Ray", FamilyName="Diaz")
    fetched = Vendor.get(created.Id, qb=qb)
    assert (fetched.Vendor1099, fetched.TermRef.value, fetched.BillAddr.City) == (True, net15, "Newark")
    assert fetched.BillAddr.Id and fetched.TaxIdentifier == "XXXXXX8293"
    assert fetched.PrintOnCheckName == "Owner Operator Ray Diaz" and fetched.Balance == 0
    sparse = realm.post("vendor", {"Id": created.Id, "SyncToken": "0", "sparse": True, "AcctNum": "D-17"})
    assert sparse.status_code == 200 and sparse.json()["Vendor"]["SyncToken"] == "1"
    assert sparse.json()["Vendor"]["Vendor1099"] is True  # a sparse update keeps what it does not send
    long_name = realm.post("vendor", {"DisplayName": "Check Name", "PrintOnCheckName": "x" * 101})
    assert long_name.json()["Fault"]["Error"][0]["code"] == "2050"  # a vendor's check name is 100 at most


def test_vendor_names_are_unique_with_customers_and_employees_and_queried_by_in(realm):
    qb = realm.qb()
    customer = Customer()
    customer.DisplayName = "Harbor Carriers"
    customer.save(qb=qb)
    with pytest.raises(QuickbooksException) as caught:
        make_vendor(qb, " harbor carriers ")
    assert caught.value.error_code == 6240
    with pytest.raises(QuickbooksException) as caught:
        make_vendor(qb, "Emily Platt")  # an employee of the lists company
    assert caught.value.error_code == 6240
    make_vendor(qb, "Fleet Owner Alpha")
    make_vendor(qb, "Fleet Owner Beta")
    found = Vendor.query("SELECT * FROM Vendor WHERE DisplayName IN ('Fleet Owner Alpha', 'Fleet Owner Beta', "
                         "'Nobody')", qb=qb)
    assert sorted(v.DisplayName for v in found) == ["Fleet Owner Alpha", "Fleet Owner Beta"]


def test_bill_totals_negative_deduction_lines_due_date_defaults_and_item_lines(realm, books):
    qb = realm.qb()
    net15 = realm.query("select * from Term where Name = 'Net 15'")["Term"][0]["Id"]
    vendor = make_vendor(qb, "Driver Sam Cole", TermRef=ref(net15))
    item_line = ItemBasedExpenseLine()
    item_line.Amount = 70
    item_line.ItemBasedExpenseLineDetail = ItemBasedExpenseLineDetail()
    item_line.ItemBasedExpenseLineDetail.ItemRef = ref("4")  # Chassis Rental
    bill = make_bill(
        qb, vendor,
        expense_line(1200, books["Driver Pay"], "Load 5512 / MSCU1234567 line haul"),
        item_line,
        expense_line(-150, books["Fuel"], "Fuel advance"),
        doc_number="SET-2026-48", txn_date="2026-11-27",
    )
    assert (bill.TotalAmt, bill.Balance, bill.DueDate) == (1120.0, 1120.0, "2026-12-12")
    assert bill.APAccountRef.value == books["Accounts Payable (A/P)"]
    assert [line.Id for line in bill.Line] == ["1", "2", "3"]
    assert bill.Line[0].AccountBasedExpenseLineDetail.BillableStatus == "NotBillable"
    assert bill.Line[0].AccountBasedExpenseLineDetail.TaxCodeRef.value == "NON"
    assert vendor_balance(realm, "Driver Sam Cole") == 1120.0
    # Deductions larger than the pay would make a bill owing less than $0: refused, nothing written.
    with pytest.raises(QuickbooksException) as caught:
        make_bill(qb, vendor, expense_line(100, books["Driver Pay"]), expense_line(-150, books["Fuel"]))
    assert caught.value.error_code == 6000 and "total cannot be negative" in caught.value.detail
    assert realm.count("Bill", VendorRef=vendor.Id) == 1


def test_bill_references_and_required_fields_are_checked(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Carrier Checks")
    no_account = realm.post("bill", {"VendorRef": {"value": vendor.Id}, "Line": [
        {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 5, "AccountBasedExpenseLineDetail": {}}]})
    assert no_account.json()["Fault"]["Error"][0]["code"] == "2020"
    line = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 5,
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": books["Fuel"]}}}
    assert realm.post("bill", {"Line": [line]}).json()["Fault"]["Error"][0]["code"] == "2020"
    unknown = realm.post("bill", {"VendorRef": {"value": "99999"}, "Line": [line]})
    assert unknown.json()["Fault"]["Error"][0]["code"] == "2500"
    to_ap = {**line, "AccountBasedExpenseLineDetail": {"AccountRef": {"value": books["Accounts Payable (A/P)"]}}}
    assert realm.post("bill", {"VendorRef": {"value": vendor.Id}, "Line": [to_ap]}).status_code == 400
    billed = {**line, "AccountBasedExpenseLineDetail": {"AccountRef": {"value": books["Fuel"]},
                                                        "BillableStatus": "HasBeenBilled"}}
    assert realm.post("bill", {"VendorRef": {"value": vendor.Id}, "Line": [billed]}).json()[
        "Fault"]["Error"][0]["code"] == "2170"
    inactive = make_vendor(qb, "Gone Carrier")
    realm.post("vendor", {"Id": inactive.Id, "SyncToken": "0", "sparse": True, "Active": False})
    assert realm.post("bill", {"VendorRef": {"value": inactive.Id}, "Line": [line]}).json()[
        "Fault"]["Error"][0]["code"] == "610"
    assert realm.count("Bill") == 0


def test_bill_sparse_update_needs_its_vendor_and_a_bill_cannot_be_voided_only_deleted(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Sparse Carrier")
    bill = make_bill(qb, vendor, expense_line(300, books["Carrier Costs"]), doc_number="CB-1")
    without_vendor = realm.post("bill", {"Id": bill.Id, "SyncToken": "0", "sparse": True, "PrivateNote": "x"})
    assert without_vendor.json()["Fault"]["Error"][0]["code"] == "2020"
    updated = realm.post("bill", {"Id": bill.Id, "SyncToken": "0", "sparse": True, "PrivateNote": "disputed",
                                  "VendorRef": {"value": vendor.Id}}).json()["Bill"]
    assert (updated["SyncToken"], updated["PrivateNote"], updated["TotalAmt"]) == ("1", "disputed", 300.0)
    voided = realm.post("bill?operation=void", {"Id": bill.Id, "SyncToken": "1"})
    assert voided.status_code == 200  # what QBO answers: a SystemFault with HTTP 200
    assert voided.json()["Fault"]["Error"][0] == {
        "Message": "An application error has occurred while processing your request",
        "Detail": "System Failure Error: java.lang.UnsupportedOperationException",
        "code": "10000", "element": "SystemFailureError"}
    fetched = Bill.get(bill.Id, qb=qb)
    assert fetched.TotalAmt == 300.0
    fetched.delete(qb=qb)
    assert realm.count("Bill", DocNumber="CB-1") == 0
    assert vendor_balance(realm, "Sparse Carrier") == 0


def test_bill_payments_by_check_and_card_lower_the_balance_and_overpaying_is_refused(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Pay Me Trucking")
    bill = make_bill(qb, vendor, expense_line(1000, books["Carrier Costs"]))
    check = pay(qb, vendor, 400, [(bill, 400)], bank=books["Checking"])
    after_check = Bill.get(bill.Id, qb=qb)
    assert after_check.Balance == 600.0 and after_check.SyncToken == "0"
    assert [(link.TxnId, link.TxnType) for link in after_check.LinkedTxn] == [(check.Id, "BillPaymentCheck")]
    assert check.CheckPayment.PrintStatus == "NotSet"  # as the client sent it
    with pytest.raises(QuickbooksException) as caught:
        pay(qb, vendor, 700, [(bill, 700)], bank=books["Checking"])
    assert caught.value.error_code == 6000
    card = pay(qb, vendor, 600, [(bill, 600)], card=books["Mastercard"])
    paid = Bill.get(bill.Id, qb=qb)
    assert paid.Balance == 0 and {link.TxnType for link in paid.LinkedTxn} == {
        "BillPaymentCheck", "BillPaymentCreditCard"}
    assert vendor_balance(realm, "Pay Me Trucking") == 0
    # A card payment must draw on a credit card account, a check on a bank account.
    wrong = realm.post("billpayment", {"VendorRef": {"value": vendor.Id}, "PayType": "CreditCard", "TotalAmt": 1,
                                       "CreditCardPayment": {"CCAccountRef": {"value": books["Checking"]}}})
    assert wrong.json()["Fault"]["Error"][0]["code"] == "6000"
    # A bill with payments linked cannot be deleted; voiding a payment gives its amount back to the bill.
    with pytest.raises(QuickbooksException) as caught:
        paid.delete(qb=qb)
    assert caught.value.error_code == 6000
    BillPayment.get(card.Id, qb=qb).void(qb=qb)
    voided = BillPayment.get(card.Id, qb=qb)
    assert (voided.TotalAmt, voided.Line, voided.PrivateNote) == (0, [], "Voided")
    assert Bill.get(bill.Id, qb=qb).Balance == 600.0
    assert vendor_balance(realm, "Pay Me Trucking") == 600.0
    assert realm.post("billpayment?operation=void", {"Id": check.Id, "SyncToken": "0"}).status_code == 400
    BillPayment.get(check.Id, qb=qb).delete(qb=qb)
    assert Bill.get(bill.Id, qb=qb).Balance == 1000.0 and Bill.get(bill.Id, qb=qb).LinkedTxn == []


def test_a_vendor_credit_applied_through_a_bill_payment_closes_the_bill(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Credit Carrier")
    bill = make_bill(qb, vendor, expense_line(500, books["Carrier Costs"]))
    credit = VendorCredit()
    credit.VendorRef = vendor.to_ref()
    credit.Line = [expense_line(100, books["Carrier Costs"], "Damaged chassis refund")]
    credit = credit.save(qb=qb)
    assert (credit.TotalAmt, credit.Balance) == (100.0, 100.0)
    assert vendor_balance(realm, "Credit Carrier") == 400.0
    payment = pay(qb, vendor, 400, [(bill, 500), (credit, 100)], bank=books["Checking"])
    assert payment.TotalAmt == 400.0
    assert Bill.get(bill.Id, qb=qb).Balance == 0 and VendorCredit.get(credit.Id, qb=qb).Balance == 0
    assert vendor_balance(realm, "Credit Carrier") == 0
    # The credit is used up: applying it again is refused, and so is a credit left with its payment linked.
    second = make_bill(qb, vendor, expense_line(50, books["Carrier Costs"]))
    with pytest.raises(QuickbooksException) as caught:
        pay(qb, vendor, 0, [(second, 50), (credit, 50)], bank=books["Checking"])
    assert caught.value.error_code == 6000
    with pytest.raises(QuickbooksException) as caught:
        VendorCredit.get(credit.Id, qb=qb).delete(qb=qb)
    assert caught.value.error_code == 6000


def test_bill_numbers_are_unique_per_vendor_when_the_company_warns_of_duplicates(realm, books):
    qb = realm.qb()
    first, second = make_vendor(qb, "Dup Carrier One"), make_vendor(qb, "Dup Carrier Two")
    make_bill(qb, first, expense_line(10, books["Fuel"]), doc_number="INV-77")
    make_bill(qb, first, expense_line(10, books["Fuel"]), doc_number="INV-77")  # the lists company does not warn
    preferences = realm.get("preferences").json()["Preferences"]
    realm.post("preferences", {"SyncToken": preferences["SyncToken"], "sparse": True,
                               "OtherPrefs": {"NameValue": [{"Name": "WarnDuplicateBillNumber", "Value": "true"}]}})
    with pytest.raises(QuickbooksException) as caught:
        make_bill(qb, first, expense_line(10, books["Fuel"]), doc_number="INV-77")
    assert caught.value.error_code == 6140 and "TxnType=Bill" in caught.value.detail
    make_bill(qb, second, expense_line(10, books["Fuel"]), doc_number="INV-77")  # another vendor's number
    body = {"VendorRef": {"value": first.Id}, "DocNumber": "INV-77", "Line": [
        {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 1,
         "AccountBasedExpenseLineDetail": {"AccountRef": {"value": books["Fuel"]}}}]}
    assert realm.post("bill?include=allowduplicatedocnum", body).status_code == 200
    assert realm.count("Bill", DocNumber="INV-77") == 4


def test_payables_in_batch_query_and_cdc(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Batch Carrier")
    bills = []
    for n in range(3):
        bill = Bill()
        bill.VendorRef = vendor.to_ref()
        bill.DocNumber = f"BATCH-{n}"
        bill.Line = [expense_line(100 + n, books["Carrier Costs"])]
        bills.append(bill)
    result = batch_create(bills, qb=qb)
    assert not result.faults and len(result.successes) == 3
    pay(qb, vendor, 100, [(result.successes[0], 100)], bank=books["Checking"])
    open_bills = realm.query(f"select * from Bill where Balance > '0' and VendorRef = '{vendor.Id}'")["Bill"]
    assert sorted(b["DocNumber"] for b in open_bills) == ["BATCH-1", "BATCH-2"]
    result.successes[2].delete(qb=qb)
    changes = change_data_capture([Bill, BillPayment, Vendor], "2020-01-01T00:00:00", qb=qb)
    assert len(changes.Bill) == 3 and len(changes.BillPayment) == 1 and len(changes.Vendor) >= 1
    deleted = [b for b in changes.Bill if getattr(b, "status", None) == "Deleted"]
    assert [b.Id for b in deleted] == [result.successes[2].Id]


def test_the_closing_date_refuses_bills_dated_on_or_before_it(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Closed Period Carrier")
    requests.post(f"{realm.sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"closing_date": "2026-06-30"},
                  timeout=5)
    with pytest.raises(QuickbooksException) as caught:
        make_bill(qb, vendor, expense_line(10, books["Fuel"]), txn_date="2026-06-30")
    assert caught.value.error_code == 6200
    assert make_bill(qb, vendor, expense_line(10, books["Fuel"]), txn_date="2026-07-01").TotalAmt == 10.0


def test_a_full_update_of_a_partly_paid_bill_keeps_what_was_paid(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Edited Settlement Driver")
    bill = make_bill(qb, vendor, expense_line(800, books["Driver Pay"]), doc_number="SET-9")
    pay(qb, vendor, 300, [(bill, 300)], bank=books["Checking"])
    fetched = Bill.get(bill.Id, qb=qb)
    fetched.Line[0].Amount = 900  # the settlement was edited after sync: the client re-sends the whole bill
    updated = fetched.save(qb=qb)
    again = Bill.get(bill.Id, qb=qb)
    assert (again.SyncToken, again.TotalAmt, again.Balance) == ("1", 900.0, 600.0) and updated.Id == bill.Id
    assert [link.TxnType for link in again.LinkedTxn] == ["BillPaymentCheck"]
    again.Line[0].Amount = 200  # below the 300 already paid
    with pytest.raises(QuickbooksException) as caught:
        again.save(qb=qb)
    assert caught.value.error_code == 6000
    assert Bill.get(bill.Id, qb=qb).TotalAmt == 900.0
    assert vendor_balance(realm, "Edited Settlement Driver") == 600.0
    twins = requests.get(f"{realm.sandbox.url}/_sandbox/realms/{realm.id}/duplicates",
                         params=[("entity", "Bill"), ("field", "DocNumber"), ("field", "VendorRef")], timeout=5)
    assert twins.json()["duplicates"] == []


def test_paying_more_than_the_bills_leaves_a_vendor_credit_and_a_paid_bill_line_is_dropped(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Overpaid Carrier")
    bill = make_bill(qb, vendor, expense_line(100, books["Carrier Costs"]))
    pay(qb, vendor, 150, [(bill, 100)], bank=books["Checking"])
    assert Bill.get(bill.Id, qb=qb).Balance == 0
    assert vendor_balance(realm, "Overpaid Carrier") == -50.0  # the 50 unapplied is a credit with the vendor
    again = pay(qb, vendor, 0, [(bill, 0)], bank=books["Checking"])
    assert again.Line == []  # the line to the bill already paid is dropped, as QBO does
    journal_line = {"Amount": 1, "LinkedTxn": [{"TxnId": "1", "TxnType": "JournalEntry"}]}
    journal = realm.post("billpayment", {"VendorRef": {"value": vendor.Id}, "PayType": "Check", "TotalAmt": 1,
                                         "CheckPayment": {"BankAccountRef": {"value": books["Checking"]}},
                                         "Line": [journal_line]})
    assert journal.status_code == 400


def test_vendor_credit_numbers_are_unique_per_vendor_and_credits_are_not_voided(realm, books):
    first, second = (realm.post("vendor", {"DisplayName": name}).json()["Vendor"]["Id"] for name in ("VC1", "VC2"))
    line = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 20,
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": books["Fuel"]}}}
    made = realm.post("vendorcredit", {"VendorRef": {"value": first}, "DocNumber": "CR-1", "Line": [line]})
    assert made.status_code == 200
    twin = realm.post("vendorcredit", {"VendorRef": {"value": first}, "DocNumber": "CR-1", "Line": [line]})
    assert twin.json()["Fault"]["Error"][0]["code"] == "6140"
    assert realm.post("vendorcredit", {"VendorRef": {"value": second}, "DocNumber": "CR-1",
                                       "Line": [line]}).status_code == 200
    credit = made.json()["VendorCredit"]
    voided = realm.post("vendorcredit?operation=void", {"Id": credit["Id"], "SyncToken": credit["SyncToken"]})
    assert voided.status_code == 400 and realm.count("VendorCredit", DocNumber="CR-1") == 2


def test_a_bill_payment_voids_in_a_batch_with_options_data(realm, books):
    qb = realm.qb()
    vendor = make_vendor(qb, "Batch Void Carrier")
    bill = make_bill(qb, vendor, expense_line(75, books["Carrier Costs"]))
    payment = pay(qb, vendor, 75, [(bill, 75)], bank=books["Checking"])
    response = realm.post("batch", {"BatchItemRequest": [{
        "bId": "v1", "operation": "update", "optionsData": "void",
        "BillPayment": {"Id": payment.Id, "SyncToken": payment.SyncToken, "sparse": True}}]})
    item = response.json()["BatchItemResponse"][0]
    assert item["bId"] == "v1" and item["BillPayment"]["TotalAmt"] == 0
    assert Bill.get(bill.Id, qb=qb).Balance == 75.0


def test_planting_bills_for_the_demo_makes_their_vendors_and_may_date_them_in_the_closed_period(realm, sandbox):
    spec = {
        "customers": ["Marco Ruiz"],
        "bills": [
            {"DocNumber": "CB-100", "VendorName": "Evergreen Carriers", "Amount": 640.0, "TxnDate": "2026-03-31"},
            {"DocNumber": "SET-1", "VendorName": "Marco Ruiz", "Amount": 900, "Account": "Driver Pay"},
        ],
        "closing_date": "2026-03-31",
    }
    result = requests.post(f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json=spec, timeout=5).json()
    assert len(result["bills"]) == 1 and len(result["vendors"]) == 1
    # A driver named like a customer cannot be a vendor too: the planted conflict is reported, not raised.
    assert [(e["kind"], e["name"], e["code"]) for e in result["errors"]] == [("vendor", "Marco Ruiz", "6240")]
    bill = realm.query("select * from Bill where DocNumber = 'CB-100'")["Bill"][0]
    account = bill["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"]["name"]
    assert (bill["TotalAmt"], bill["TxnDate"], account) == (640.0, "2026-03-31", "Carrier Costs")
    assert vendor_balance(realm, "Evergreen Carriers") == 640.0
