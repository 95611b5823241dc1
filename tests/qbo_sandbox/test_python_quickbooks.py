"""The unmodified python-quickbooks client against the sandbox: only the base URLs are changed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import requests
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import ObjectNotFoundException, QuickbooksException, ValidationException
from quickbooks.objects.base import CustomField, EmailAddress, LinkedTxn, Ref
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.vendor import Vendor


def item_ref(item_id: str = "1") -> Ref:
    ref = Ref()
    ref.value = item_id
    return ref


def line(amount, qty=None, price=None, item_id="1", description=None) -> SalesItemLine:
    sales_line = SalesItemLine()
    sales_line.Amount = amount
    sales_line.Description = description
    detail = SalesItemLineDetail()
    detail.ItemRef = item_ref(item_id)
    if qty is not None:  # otherwise the client's defaults (Qty 0, UnitPrice 0) go on the wire
        detail.Qty = qty
        detail.UnitPrice = price
    sales_line.SalesItemLineDetail = detail
    return sales_line


def make_customer(qb, name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    return customer.save(qb=qb)


def make_invoice(qb, customer: Customer, amount=100, doc_number=None, txn_date=None, **kw) -> Invoice:
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line(amount, **kw)]
    invoice.DocNumber = doc_number
    if txn_date:
        invoice.TxnDate = txn_date
    return invoice.save(qb=qb)


def fault_code(caught) -> int:
    return caught.value.error_code


def test_customer_create_read_full_and_sparse_update_round_trip(realm):
    qb = realm.qb()
    created = make_customer(qb, "Harbor Freight Lines")
    assert created.Id and created.SyncToken == "0"
    fetched = Customer.get(created.Id, qb=qb)
    assert fetched.DisplayName == "Harbor Freight Lines"
    fetched.CompanyName = "Harbor Freight Lines LLC"
    updated = fetched.save(qb=qb)
    assert updated.SyncToken == "1" and updated.CompanyName == "Harbor Freight Lines LLC"
    response = realm.post("customer", {"Id": created.Id, "SyncToken": "1", "sparse": True, "Notes": "sparse"})
    assert response.status_code == 200
    after = Customer.get(created.Id, qb=qb)
    assert (after.SyncToken, after.Notes, after.CompanyName) == ("2", "sparse", "Harbor Freight Lines LLC")


def test_queries_filter_order_count_and_page_through_customers(realm):
    qb = realm.qb()
    for n in range(7):
        make_customer(qb, f"Paging Test {n:02d}")
    assert Customer.count("DisplayName LIKE 'Paging Test%'", qb=qb) == 7
    first = Customer.where(
        "DisplayName LIKE 'Paging Test%'", order_by="DisplayName DESC", start_position=1, max_results=5, qb=qb
    )
    rest = Customer.where(
        "DisplayName LIKE 'Paging Test%'", order_by="DisplayName DESC", start_position=6, max_results=5, qb=qb
    )
    names = [c.DisplayName for c in first + rest]
    assert names == [f"Paging Test {n:02d}" for n in reversed(range(7))]
    assert [c.DisplayName for c in Customer.filter(DisplayName="Paging Test 03", qb=qb)] == ["Paging Test 03"]
    everyone = Customer.all(order_by="DisplayName", max_results=1000, qb=qb)
    assert len(everyone) == Customer.count(qb=qb)
    assert [c.Id for c in Customer.choose([first[0].Id, rest[0].Id], qb=qb)]
    assert Item.all(qb=qb)  # SELECT *, Sku FROM Item


def test_invoice_totals_are_computed_from_qty_times_unit_price(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Totals Customer")
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line(900, qty=2, price=450, item_id="2"), line(Decimal("35.50"), description="chassis")]
    invoice.DocNumber = "T-1001"
    field = CustomField()
    field.DefinitionId, field.StringValue, field.Type, field.Name = (
        "1",
        "MSCU1234567",
        "StringType",
        "Container #",
    )
    invoice.CustomField = [field]
    saved = invoice.save(qb=qb)
    assert saved.TotalAmt == 935.5 and saved.Balance == 935.5
    assert saved.CustomField[0].StringValue == "MSCU1234567"
    assert [ln.LineNum for ln in saved.Line if getattr(ln, "LineNum", None)] == [1, 2]
    assert Customer.get(customer.Id, qb=qb).Balance == 935.5


def test_amount_not_equal_to_qty_times_unit_price_is_6070(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Mismatch Customer")
    with pytest.raises(QuickbooksException) as caught:
        make_invoice(qb, customer, amount=901, qty=2, price=450)
    assert fault_code(caught) == 6070
    assert realm.count("Invoice", CustomerRef=customer.Id) == 0


def test_doc_number_over_21_characters_is_2050(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Long Doc Customer")
    with pytest.raises(ValidationException) as caught:
        make_invoice(qb, customer, doc_number="X" * 22)
    assert fault_code(caught) == 2050
    assert "Max:21" in caught.value.detail


def test_display_name_over_500_characters_is_2050(realm):
    with pytest.raises(ValidationException) as caught:
        make_customer(realm.qb(), "N" * 501)
    assert fault_code(caught) == 2050 and "Max:500" in caught.value.detail


def test_duplicate_display_name_across_customers_and_vendors_is_6240(realm):
    qb = realm.qb()
    vendor = Vendor()
    vendor.DisplayName = "Maersk Line"
    vendor.save(qb=qb)
    with pytest.raises(QuickbooksException) as caught:
        make_customer(qb, "MAERSK LINE")
    assert fault_code(caught) == 6240
    assert realm.count("Customer", DisplayName="Maersk Line") == 0


def test_duplicate_doc_number_is_6140_when_custom_numbers_are_on(realm):
    qb = realm.qb()
    customer = make_customer(qb, "DocNum Customer")
    make_invoice(qb, customer, doc_number="D-1")
    with pytest.raises(QuickbooksException) as caught:
        make_invoice(qb, customer, doc_number="D-1")
    assert fault_code(caught) == 6140
    assert realm.count("Invoice", DocNumber="D-1") == 1


def test_stale_sync_token_is_5010_and_changes_nothing(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Stale Customer")
    first = Customer.get(customer.Id, qb=qb)
    second = Customer.get(customer.Id, qb=qb)
    first.Notes = "first writer"
    first.save(qb=qb)
    second.Notes = "second writer"
    with pytest.raises(QuickbooksException) as caught:
        second.save(qb=qb)
    assert fault_code(caught) == 5010
    assert Customer.get(customer.Id, qb=qb).Notes == "first writer"


def test_repeated_request_id_returns_the_same_invoice_and_creates_one(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Idempotent Customer")
    request_id = str(uuid.uuid4())
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line(250)]
    invoice.DocNumber = "IDEM-1"
    first = invoice.save(qb=qb, request_id=request_id)
    invoice.Id = None
    second = invoice.save(qb=qb, request_id=request_id)
    assert first.Id == second.Id
    assert realm.count("Invoice", DocNumber="IDEM-1") == 1


def test_payment_reduces_the_invoice_balance_and_links_both_ways(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Paying Customer")
    invoice = make_invoice(qb, customer, amount=300, doc_number="P-1")
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 350
    payment_line = PaymentLine()
    payment_line.Amount = 200
    link = LinkedTxn()
    link.TxnId, link.TxnType, link.TxnLineId = invoice.Id, "Invoice", 0
    payment_line.LinkedTxn = [link]
    payment.Line = [payment_line]
    saved = payment.save(qb=qb)
    assert saved.UnappliedAmt == 150
    after = Invoice.get(invoice.Id, qb=qb)
    assert after.Balance == 100
    assert [(lt.TxnId, lt.TxnType) for lt in after.LinkedTxn] == [(saved.Id, "Payment")]
    assert Customer.get(customer.Id, qb=qb).Balance == -50  # 100 open minus 150 unapplied
    saved.void(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 300
    voided = Payment.get(saved.Id, qb=qb)
    assert (voided.TotalAmt, voided.PrivateNote) == (0, "Voided")


def test_credit_memo_has_remaining_credit_equal_to_its_balance(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Credit Customer")
    memo = CreditMemo()
    memo.CustomerRef = customer.to_ref()
    memo.Line = [line(40)]
    saved = memo.save(qb=qb)
    fetched = realm.get(f"creditmemo/{saved.Id}").json()["CreditMemo"]
    assert fetched["TotalAmt"] == fetched["Balance"] == fetched["RemainingCredit"] == 40


def test_void_and_delete_invoices_through_the_client(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Void Customer")
    to_void = make_invoice(qb, customer, amount=75, doc_number="V-1")
    to_void.void(qb=qb)
    voided = Invoice.get(to_void.Id, qb=qb)
    assert (voided.TotalAmt, voided.Balance, voided.PrivateNote, voided.SyncToken) == (0, 0, "Voided", "1")
    to_delete = make_invoice(qb, customer, amount=80, doc_number="X-1")
    to_delete.delete(qb=qb)
    with pytest.raises(ObjectNotFoundException):
        Invoice.get(to_delete.Id, qb=qb)
    assert realm.count("Invoice", DocNumber="X-1") == 0


def test_batch_create_of_31_customers_runs_as_two_batches_with_per_item_faults(realm):
    qb = realm.qb()
    customers = []
    for n in range(31):
        customer = Customer()
        customer.DisplayName = f"Batch Customer {n}"
        customers.append(customer)
    customers[5].DisplayName = "Amy's Bird Sanctuary"  # seeded, so this one item faults
    result = batch_create(customers, qb=qb)
    assert len(result.successes) == 30
    assert [f.Error[0].code for f in result.faults] == ["6240"]
    assert realm.count("Customer", DisplayName="Batch Customer 30") == 1


def test_batch_over_30_items_is_1040(realm):
    items = [
        {"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"Too Many {n}"}}
        for n in range(31)
    ]
    response = realm.post("batch", {"BatchItemRequest": items})
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "1040"
    assert realm.count("Customer", DisplayName="Too Many 0") == 0


def test_change_data_capture_reports_updates_and_deletions(realm):
    qb = realm.qb()
    customer = make_customer(qb, "CDC Customer")
    kept = make_invoice(qb, customer, doc_number="C-1")
    gone = make_invoice(qb, customer, doc_number="C-2")
    gone.delete(qb=qb)
    response = change_data_capture([Invoice, Customer], "2020-01-01T00:00:00", qb=qb)
    invoices = list(response.Invoice)
    assert kept.Id in [i.Id for i in invoices]
    assert [i.Id for i in invoices if getattr(i, "status", None) == "Deleted"] == [gone.Id]
    assert "CDC Customer" in [c.DisplayName for c in response.Customer]


def test_closing_date_rejects_transactions_on_or_before_it_with_6200(realm, sandbox):
    qb = realm.qb()
    customer = make_customer(qb, "Closed Books Customer")
    early = make_invoice(qb, customer, doc_number="E-1", txn_date="2024-12-20")
    requests.post(
        f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"closing_date": "2024-12-31"}, timeout=5
    )
    with pytest.raises(QuickbooksException) as caught:
        make_invoice(qb, customer, doc_number="E-2", txn_date="2024-12-31")
    assert fault_code(caught) == 6200
    with pytest.raises(QuickbooksException):
        Invoice.get(early.Id, qb=qb).delete(qb=qb)
    assert make_invoice(qb, customer, doc_number="E-3", txn_date="2025-01-01").Id
    assert realm.count("Invoice", DocNumber="E-2") == 0 and realm.count("Invoice", DocNumber="E-1") == 1


def test_inactive_item_is_610_and_unknown_customer_is_2500(realm, sandbox):
    qb = realm.qb()
    customer = make_customer(qb, "Ref Customer")
    requests.post(
        f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"inactive_items": ["Storage"]}, timeout=5
    )
    storage = Item.where("Name = 'Storage' AND Active = false", qb=qb)[0]
    with pytest.raises(ObjectNotFoundException) as caught:
        make_invoice(qb, customer, item_id=storage.Id)
    assert "made inactive" in caught.value.detail
    ghost = Customer()
    ghost.Id = "99999"
    with pytest.raises(ValidationException) as caught:
        make_invoice(qb, ghost)
    assert fault_code(caught) == 2500


def test_decimal_strings_and_blank_fields_from_use_decimal_clients_are_tolerated(realm):
    qb = realm.qb()
    qb.use_decimal = True
    customer = make_customer(qb, "Decimal Customer")
    invoice = make_invoice(
        qb, customer, amount=Decimal("19.99"), qty=Decimal("1"), price=Decimal("19.99"), doc_number="DEC-1"
    )
    assert Decimal(str(invoice.TotalAmt)) == Decimal("19.99")


def test_full_update_of_an_invoice_from_the_client_keeps_line_ids_and_recomputes(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Full Update Customer")
    invoice = make_invoice(qb, customer, amount=100, doc_number="FU-1")
    fetched = Invoice.get(invoice.Id, qb=qb)
    fetched.Line[0].Amount = 120
    fetched.PrivateNote = "edited"
    updated = fetched.save(qb=qb)
    assert (updated.SyncToken, updated.TotalAmt, updated.Balance, updated.PrivateNote) == (
        "1",
        120,
        120,
        "edited",
    )
    assert updated.Line[0].Id == invoice.Line[0].Id


def test_sparse_update_with_lines_replaces_every_line(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Sparse Lines Customer")
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line(10), line(20)]
    saved = invoice.save(qb=qb)
    body = {
        "Id": saved.Id,
        "SyncToken": "0",
        "sparse": True,
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 5,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    after = realm.post("invoice", body).json()["Invoice"]
    assert after["TotalAmt"] == 5 and len([ln for ln in after["Line"] if "Id" in ln]) == 1
    assert after["CustomerRef"]["value"] == customer.Id  # header fields survive a sparse update


def test_zero_amount_payment_applies_a_credit_memo_to_an_invoice(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Credit Apply Customer")
    invoice = make_invoice(qb, customer, amount=100)
    memo = CreditMemo()
    memo.CustomerRef = customer.to_ref()
    memo.Line = [line(30)]
    memo = memo.save(qb=qb)
    body = {
        "CustomerRef": {"value": customer.Id},
        "TotalAmt": 0,
        "Line": [
            {"Amount": 30, "LinkedTxn": [{"TxnId": invoice.Id, "TxnType": "Invoice"}]},
            {"Amount": 30, "LinkedTxn": [{"TxnId": memo.Id, "TxnType": "CreditMemo"}]},
        ],
    }
    payment = realm.post("payment", body)
    assert payment.status_code == 200 and payment.json()["Payment"]["UnappliedAmt"] == 0
    assert Invoice.get(invoice.Id, qb=qb).Balance == 70
    remaining = realm.get(f"creditmemo/{memo.Id}").json()["CreditMemo"]
    assert remaining["RemainingCredit"] == remaining["Balance"] == 0


def test_payment_linked_to_an_unknown_invoice_is_610_and_creates_nothing(realm):
    body = {
        "CustomerRef": {"value": "1"},
        "TotalAmt": 10,
        "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": "1043", "TxnType": "Invoice"}]}],
    }
    response = realm.post("payment", body)
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "610"
    assert realm.count("Payment", CustomerRef="1") == 0


def test_employee_names_also_block_customer_names(realm):
    response = realm.post("employee", {"GivenName": "Lena", "FamilyName": "Ortiz"})
    assert response.json()["Employee"]["DisplayName"] == "Lena Ortiz"
    clash = realm.post("customer", {"DisplayName": "lena ortiz"})
    assert clash.status_code == 400 and clash.json()["Fault"]["Error"][0]["code"] == "6240"


def test_batch_honours_request_id_and_replays_without_side_effects(realm):
    batch = {
        "BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch Idem"}}]
    }
    first = realm.post("batch?requestid=batch-idem-1", batch)
    second = realm.post("batch?requestid=batch-idem-1", batch)
    assert first.content == second.content
    assert realm.count("Customer", DisplayName="Batch Idem") == 1


def test_reading_a_deleted_invoice_says_another_user_deleted_it(realm):
    qb = realm.qb()
    invoice = make_invoice(qb, make_customer(qb, "Deleted Read Customer"))
    invoice.delete(qb=qb)
    response = realm.get(f"invoice/{invoice.Id}")
    assert response.json()["Fault"]["Error"][0]["Detail"].endswith(
        "Another user has deleted this transaction."
    )


def test_custom_txn_numbers_off_auto_numbers_invoices(realm):
    prefs = realm.get("preferences").json()["Preferences"]
    realm.post(
        "preferences",
        {
            "Id": "1",
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"CustomTxnNumbers": False},
        },
    )
    qb = realm.qb()
    customer = make_customer(qb, "Auto Number Customer")
    first, second = make_invoice(qb, customer), make_invoice(qb, customer)
    assert int(second.DocNumber) == int(first.DocNumber) + 1


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("PrivateNote", "n" * 4001, 4000),
        ("CustomerMemo", {"value": "m" * 1001}, 1000),
        ("BillEmail", {"Address": "a" * 95 + "@x.com"}, 100),
    ],
)
def test_over_long_invoice_fields_are_2050_with_the_maximum_in_the_detail(realm, field, value, limit):
    body = {
        "CustomerRef": {"value": "1"},
        field: value,
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 1,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    error = realm.post("invoice", body).json()["Fault"]["Error"][0]
    assert (error["code"], error["Message"], error["element"]) == ("2050", "Invalid String Length", field)
    assert f"Min:0 Max:{limit}" in error["Detail"]


def test_over_long_line_description_and_item_name_are_2050(realm):
    line_body = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 1,
        "Description": "d" * 4001,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    invoice = realm.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line_body]})
    assert "Max:4000" in invoice.json()["Fault"]["Error"][0]["Detail"]
    item = realm.post("item", {"Name": "i" * 101, "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert "Max:100" in item.json()["Fault"]["Error"][0]["Detail"]


def test_inactive_customer_on_an_invoice_is_610(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Soon Inactive")
    customer.Active = False
    customer.save(qb=qb)
    with pytest.raises(ObjectNotFoundException) as caught:
        make_invoice(qb, customer)
    assert caught.value.error_code == 610
    assert Customer.get(customer.Id, qb=qb).DisplayName == "Soon Inactive (deleted)"


def test_preferences_round_trip_through_the_client_changes_writable_fields_only(realm, sandbox):
    from quickbooks.objects.company_info import CompanyInfo
    from quickbooks.objects.preferences import Preferences

    qb = realm.qb()
    prefs = Preferences.get(qb=qb)
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is True
    prefs.SalesFormsPrefs.AllowShipping = True
    prefs.AccountingInfoPrefs.BookCloseDate = "2025-06-30"  # read only (D-PREF): accepted and ignored
    saved = prefs.save(qb=qb)
    assert saved.SalesFormsPrefs.AllowShipping is True and saved.SyncToken == "1"
    assert getattr(saved.AccountingInfoPrefs, "BookCloseDate", None) in (None, "")
    assert Preferences.get(qb=qb).SalesFormsPrefs.CustomTxnNumbers is True
    assert CompanyInfo.get(realm.id, qb=qb).CompanyName == "Sandbox Company_US_1"
    requests.post(f"{sandbox.url}/_sandbox/realms/{realm.id}/plant", json={"closing_date": "2025-06-30"}, timeout=5)
    assert Preferences.get(qb=qb).AccountingInfoPrefs.BookCloseDate == "2025-06-30"
    customer = make_customer(qb, "Prefs Closing Customer")
    with pytest.raises(QuickbooksException) as caught:
        make_invoice(qb, customer, txn_date="2025-06-30")
    assert fault_code(caught) == 6200


def test_batch_items_cannot_see_records_created_earlier_in_the_same_batch(realm):
    # Customers, vendors and employees draw ids from one sequence; the next name id follows this vendor's.
    customer_id = str(int(realm.post("vendor", {"DisplayName": "Id Probe"}).json()["Vendor"]["Id"]) + 1)
    items = [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Same Batch Customer"}},
        {
            "bId": "i",
            "operation": "create",
            "Invoice": {
                "CustomerRef": {"value": customer_id},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 5,
                        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                    }
                ],
            },
        },
    ]
    first, second = realm.post("batch", {"BatchItemRequest": items}).json()["BatchItemResponse"]
    assert first["Customer"]["Id"] == customer_id
    assert second["Fault"]["Error"][0]["code"] == "2500"
    items[0] = {"bId": "q", "Query": "select * from Term"}
    (_query, retried) = realm.post("batch", {"BatchItemRequest": items}).json()["BatchItemResponse"]
    assert retried["Invoice"]["CustomerRef"]["value"] == customer_id  # visible to the next batch


def test_include_invoice_link_gives_an_https_link_when_the_invoice_can_be_paid_online(realm):
    qb = realm.qb()
    customer = make_customer(qb, "Online Payer")
    payable = Invoice()
    payable.CustomerRef = customer.to_ref()
    payable.Line = [line(120)]
    payable.AllowOnlineCreditCardPayment = True
    payable.BillEmail = EmailAddress()
    payable.BillEmail.Address = "ap@onlinepayer.example"
    payable = payable.save(qb=qb)
    linked = Invoice.get(payable.Id, qb=qb, params={"include": "invoiceLink"})
    assert linked.InvoiceLink.startswith("https://")
    assert Invoice.get(payable.Id, qb=qb).InvoiceLink in ("", None)  # only when asked for
    offline = make_invoice(qb, customer, amount=50)  # no online payment, no billing email
    assert Invoice.get(offline.Id, qb=qb, params={"include": "invoiceLink"}).InvoiceLink in ("", None)
    found = realm.get("query", params={"query": f"select * from Invoice where Id = '{payable.Id}'",
                                       "include": "invoiceLink"}).json()["QueryResponse"]["Invoice"][0]
    assert found["InvoiceLink"] == linked.InvoiceLink


def test_attachables_through_the_client_a_note_and_a_file_on_an_invoice(realm):
    from quickbooks.objects.attachable import Attachable
    from quickbooks.objects.base import AttachableRef

    qb = realm.qb()
    invoice = make_invoice(qb, make_customer(qb, "Proof Of Delivery Customer"), amount=75, doc_number="POD-1")
    note = Attachable()
    ref = AttachableRef()
    ref.EntityRef = invoice.to_ref()
    ref.EntityRef.type = "Invoice"
    note.AttachableRef.append(ref)
    note.Note = "Delivered to dock 4, signed by R. Diaz"
    note = note.save(qb=qb)
    assert Attachable.get(note.Id, qb=qb).Note == "Delivered to dock 4, signed by R. Diaz"
    pod = Attachable()
    pod.AttachableRef.append(ref)
    pod.FileName = "pod-1.pdf"
    pod.ContentType = "application/pdf"
    pod._FileBytes = b"%PDF-1.4 signed proof of delivery"
    pod = pod.save(qb=qb)  # python-quickbooks posts a base64, LF-only multipart body to /upload
    fetched = Attachable.get(pod.Id, qb=qb)
    assert (fetched.FileName, fetched.Size, fetched.AttachableRef[0].EntityRef.value) == (
        "pod-1.pdf", len(b"%PDF-1.4 signed proof of delivery"), invoice.Id
    )
    assert requests.get(fetched.TempDownloadUri, timeout=5).content == b"%PDF-1.4 signed proof of delivery"
    linked = realm.query(f"SELECT * FROM Attachable WHERE AttachableRef.EntityRef.value = '{invoice.Id}'")
    assert {a["Id"] for a in linked["Attachable"]} == {note.Id, pod.Id}
