"""Pure mapping: billing rows + settings + refs → QuickBooks JSON, compared by exact equality."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qbcore.errors import MappingError
from qbcore.mapping.common import hash_payload
from qbcore.mapping.credit_memo import build_credit_memo_payload
from qbcore.mapping.customer import build_customer_payload
from qbcore.mapping.description import TRUNCATED_MARKER, render_description
from qbcore.mapping.invoice import build_invoice_payload
from qbcore.mapping.item import build_item_payload
from qbcore.mapping.names import clean_name
from qbcore.mapping.payment import build_payment_payload, unapplied_amount
from qbcore.mapping.refs import CustomFieldSpec, QboRefs
from qbcore.models import (
    ChargeCode,
    ChargeLine,
    ChargeSet,
    CreditMemo,
    CreditMemoLine,
    Customer,
    Invoice,
    Load,
    Payment,
    PaymentApplication,
)
from qbcore.settings import DescriptionTemplate, SyncSettings

REFS = QboRefs(
    customers={1: "58", 2: "59"}, items={1: "7", 2: "8"}, invoices={10: "130", 11: "131"}, credit_memos={5: "140"},
    terms={"Net 30": "3", "Net 15": "2"}, classes={"Port Newark": "C1"}, departments={"Savannah": "D2"},
    payment_methods={"Check": "1"}, income_account_id="1",
)
BASE = ChargeCode(id=1, code="BASE", name="Line haul")
FSC = ChargeCode(id=2, code="FSC", name="Fuel surcharge")
CHASSIS = ChargeCode(id=3, code="CHASSIS", name="Chassis rental per day")


def make_customer(**overrides) -> Customer:
    values = dict(id=1, code="C0001", name="ACME Logistics", parent_id=None, billing_email="ap@acme.example.com",
                  phone="(201) 555-1234", terms="Net 30", branch="Port Newark", address_line1="12 Harbor Dr",
                  city="Edison", state="NJ", postal_code="08817", country="USA")
    values.update(overrides)
    return Customer(**values)


def make_load(n: int = 1, **overrides) -> Load:
    values = dict(id=n, load_number=f"L50000{n}", customer_id=1, container_number="MSCU1234565", size_type="40HC",
                  bol="MEDU123456789", reference_number="PO-123456", pickup_location="Maher Terminals",
                  pickup_date=date(2026, 11, 2), delivery_location="ACME DC, Edison NJ",
                  delivery_date=date(2026, 11, 3), chassis_number=None)
    values.update(overrides)
    return Load(**values)


def make_invoice(loads: int = 1, customer: Customer | None = None, **overrides) -> Invoice:
    customer = customer or make_customer()
    sets = []
    for n in range(1, loads + 1):
        sets.append(ChargeSet(position=n, load=make_load(n), lines=[
            ChargeLine(position=1, charge_code=BASE, description="Line haul", quantity=Decimal("1"),
                       rate=Decimal("850.00"), amount=Decimal("850.00")),
            ChargeLine(position=2, charge_code=FSC, description=None, quantity=Decimal("3"),
                       rate=Decimal("33.335"), amount=Decimal("100.00")),
        ]))
    values = dict(id=10, number="INV-100001", customer_id=customer.id, customer=customer,
                  invoice_date=date(2026, 11, 5), due_date=date(2026, 12, 5), terms="Net 30", memo=None,
                  total=Decimal("950.01"), charge_sets=sets)
    values.update(overrides)
    return Invoice(**values)


def line(num: int, item: str, qty: float, price: float, amount: float, desc: str) -> dict:
    return {"LineNum": num, "DetailType": "SalesItemLineDetail", "Amount": amount, "Description": desc,
            "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price,
                                    "ServiceDate": "2026-11-03"}}


LOAD_TEXT = "Load #: L500001 | Container #: MSCU1234565 | Reference #: PO-123456"


@pytest.mark.parametrize(
    ("raw", "max_len", "expected"),
    [("  ACME Logistics ", 500, "ACME Logistics"), ("A:B", 500, "A-B"), ("Tab\there", 500, "Tab here"),
     ("New\nline\r\n", 500, "New line"), ("x" * 120, 100, "x" * 100), ("Two  spaces", 500, "Two spaces")],
)
def test_names_lose_colons_tabs_newlines_and_fit_their_length(raw: str, max_len: int, expected: str) -> None:
    assert clean_name(raw, max_len) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (DescriptionTemplate(), LOAD_TEXT),
        (DescriptionTemplate(show_labels=False, separator=" / "), "L500001 / MSCU1234565 / PO-123456"),
        (DescriptionTemplate(fields=("container_number", "pickup_date", "chassis_number", "bol")),
         "Container #: MSCU1234565 | Pickup date: 2026-11-02 | BOL: MEDU123456789"),
        (DescriptionTemplate(fields=()), ""),
    ],
)
def test_render_description_follows_the_template_and_skips_empty_fields(template, expected) -> None:
    assert render_description(make_load(), template) == expected


def test_a_customer_becomes_a_quickbooks_customer_with_terms_email_and_address() -> None:
    assert build_customer_payload(make_customer(name="ACME: Logistics\t"), SyncSettings(), REFS) == {
        "DisplayName": "ACME- Logistics", "CompanyName": "ACME- Logistics",
        "PrimaryEmailAddr": {"Address": "ap@acme.example.com"}, "PrimaryPhone": {"FreeFormNumber": "(201) 555-1234"},
        "BillAddr": {"Line1": "12 Harbor Dr", "City": "Edison", "CountrySubDivisionCode": "NJ",
                     "PostalCode": "08817", "Country": "USA"},
        "SalesTermRef": {"value": "3"},
    }


def test_a_sub_customer_is_a_job_under_its_parent() -> None:
    parent = make_customer()
    child = make_customer(id=2, name="ACME - Edison DC", parent_id=1, parent=parent, billing_email=None,
                          phone=None, address_line1=None, city=None, state=None, postal_code=None, country=None)
    assert build_customer_payload(child, SyncSettings(), REFS) == {
        "DisplayName": "ACME - Edison DC", "CompanyName": "ACME - Edison DC", "SalesTermRef": {"value": "3"},
        "ParentRef": {"value": "58"}, "Job": True, "BillWithParent": True,
    }


def test_a_sub_customer_whose_parent_is_not_synced_is_blocked_by_the_parent() -> None:
    parent = make_customer(id=9, name="Parent Co")
    child = make_customer(id=2, name="Child", parent_id=9, parent=parent)
    with pytest.raises(MappingError) as err:
        build_customer_payload(child, SyncSettings(), REFS)
    assert err.value.blocked_by == "customer:Parent Co"


def test_a_charge_code_becomes_a_service_item_on_the_income_account() -> None:
    assert build_item_payload(CHASSIS, REFS) == {
        "Name": "CHASSIS", "Type": "Service", "IncomeAccountRef": {"value": "1"},
        "Description": "Chassis rental per day",
    }


def test_an_invoice_maps_to_lines_with_exact_amounts_terms_class_and_load_text() -> None:
    assert build_invoice_payload(make_invoice(), SyncSettings(), REFS) == {
        "DocNumber": "INV-100001", "CustomerRef": {"value": "58"}, "TxnDate": "2026-11-05",
        "DueDate": "2026-12-05", "SalesTermRef": {"value": "3"}, "ClassRef": {"value": "C1"},
        "Line": [line(1, "7", 1.0, 850.0, 850.0, f"Line haul\n{LOAD_TEXT}"),
                 line(2, "8", 3.0, 33.335, 100.01, "Fuel surcharge")],
    }


def test_a_combined_invoice_puts_each_loads_text_on_its_charge_set() -> None:
    payload = build_invoice_payload(make_invoice(loads=2), SyncSettings(), REFS)
    assert [entry["Description"] for entry in payload["Line"]] == [
        f"Line haul\n{LOAD_TEXT}", "Fuel surcharge",
        f"Line haul\n{LOAD_TEXT.replace('L500001', 'L500002')}", "Fuel surcharge",
    ]
    assert [entry["LineNum"] for entry in payload["Line"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("settings", "expected_keys"),
    [
        (SyncSettings(branch_tracking="none"), {}),
        (SyncSettings(branch_tracking="location", branch_map={"Port Newark": "Savannah"}),
         {"DepartmentRef": {"value": "D2"}}),
        (SyncSettings(branch_tracking="class"), {"ClassRef": {"value": "C1"}}),
    ],
)
def test_branch_tracking_picks_class_or_location(settings: SyncSettings, expected_keys: dict) -> None:
    payload = build_invoice_payload(make_invoice(), settings, REFS)
    assert {k: payload[k] for k in ("ClassRef", "DepartmentRef") if k in payload} == expected_keys


def test_quickbooks_numbering_leaves_the_doc_number_out_and_every_line_gets_load_text() -> None:
    settings = SyncSettings(invoice_numbering="quickbooks",
                            description=DescriptionTemplate(fields=("load_number",), placement="every_line"))
    payload = build_invoice_payload(make_invoice(), settings, REFS)
    assert "DocNumber" not in payload
    assert [entry["Description"] for entry in payload["Line"]] == [
        "Line haul\nLoad #: L500001", "Fuel surcharge\nLoad #: L500001"]


def test_custom_fields_come_from_loads_joined_and_cut_to_31_characters() -> None:
    refs = QboRefs(**{**REFS.__dict__, "custom_fields": (
        CustomFieldSpec("1", "Container #", "container_number"), CustomFieldSpec("3", "Load #", "load_number"))})
    payload = build_invoice_payload(make_invoice(loads=3), SyncSettings(), refs)
    assert payload["CustomField"] == [
        {"DefinitionId": "1", "Name": "Container #", "Type": "StringType", "StringValue": "MSCU1234565"},
        {"DefinitionId": "3", "Name": "Load #", "Type": "StringType", "StringValue": "L500001, L500002, L500003"},
    ]


def test_an_unmapped_charge_code_blocks_the_invoice_naming_the_code() -> None:
    invoice = make_invoice()
    invoice.charge_sets[0].lines[1].charge_code = CHASSIS
    with pytest.raises(MappingError) as err:
        build_invoice_payload(invoice, SyncSettings(), REFS)
    assert err.value.blocked_by == "item:CHASSIS"
    assert "CHASSIS" in err.value.message


@pytest.mark.parametrize(
    ("missing", "blocked_by"),
    [("customers", "customer:ACME Logistics"), ("terms", "term:Net 30"), ("classes", "class:Port Newark")],
)
def test_a_missing_reference_is_named_in_blocked_by(missing: str, blocked_by: str) -> None:
    refs = QboRefs(**{**REFS.__dict__, missing: {}})
    with pytest.raises(MappingError) as err:
        build_invoice_payload(make_invoice(), SyncSettings(), refs)
    assert err.value.blocked_by == blocked_by


def test_an_overlong_description_is_truncated_with_a_visible_marker() -> None:
    invoice = make_invoice()
    invoice.charge_sets[0].lines[0].description = "x" * 5000
    text = build_invoice_payload(invoice, SyncSettings(), REFS)["Line"][0]["Description"]
    assert len(text) == 4000 and text.endswith(TRUNCATED_MARKER)


def test_an_overlong_description_fails_plainly_when_settings_say_fail() -> None:
    invoice = make_invoice()
    invoice.charge_sets[0].lines[0].description = "x" * 5000
    with pytest.raises(MappingError, match=r"line 1 of invoice INV-100001 is 5,.* QuickBooks allows 4,000"):
        build_invoice_payload(invoice, SyncSettings(description_overflow="fail"), REFS)


def test_a_credit_memo_maps_with_its_reason_as_customer_memo() -> None:
    memo = CreditMemo(id=5, number="CM-5001", customer_id=1, customer=make_customer(), memo_date=date(2026, 11, 9),
                      reason="Disputed detention", total=Decimal("170.00"), lines=[
                          CreditMemoLine(position=1, charge_code=BASE, description="Disputed detention",
                                         quantity=Decimal("2"), rate=Decimal("85.00"), amount=Decimal("170.00"))])
    assert build_credit_memo_payload(memo, SyncSettings(branch_tracking="none"), REFS) == {
        "DocNumber": "CM-5001", "CustomerRef": {"value": "58"}, "TxnDate": "2026-11-09",
        "Line": [{"LineNum": 1, "DetailType": "SalesItemLineDetail", "Amount": 170.0,
                  "Description": "Disputed detention",
                  "SalesItemLineDetail": {"ItemRef": {"value": "7"}, "Qty": 2.0, "UnitPrice": 85.0}}],
        "CustomerMemo": {"value": "Disputed detention"},
    }


def test_a_payment_links_invoices_and_credit_memos_by_quickbooks_id_and_leaves_the_rest_unapplied() -> None:
    payment = Payment(id=1, number="PMT-20001", customer_id=1, customer=make_customer(), method="check",
                      reference_number="CHK 1234", payment_date=date(2026, 11, 20), amount=Decimal("1000.00"),
                      memo=None, applications=[
                          PaymentApplication(id=1, invoice_id=10, amount=Decimal("600.00")),
                          PaymentApplication(id=2, invoice_id=11, amount=Decimal("250.50")),
                          PaymentApplication(id=3, credit_memo_id=5, amount=Decimal("50.00")),
                      ])
    assert build_payment_payload(payment, REFS) == {
        "CustomerRef": {"value": "58"}, "TotalAmt": 1000.0, "TxnDate": "2026-11-20", "PaymentRefNum": "PMT-20001",
        "Line": [{"Amount": 600.0, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
                 {"Amount": 250.5, "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
                 {"Amount": 50.0, "LinkedTxn": [{"TxnId": "140", "TxnType": "CreditMemo"}]}],
        "PaymentMethodRef": {"value": "1"}, "PrivateNote": "Check CHK 1234",
    }
    assert unapplied_amount(payment) == Decimal("149.50")


def test_a_payment_for_an_unsynced_invoice_is_blocked_by_that_invoice() -> None:
    payment = Payment(id=1, number="PMT-1", customer_id=1, customer=make_customer(), method="ach",
                      reference_number=None, payment_date=date(2026, 11, 20), amount=Decimal("10.00"), memo=None,
                      applications=[PaymentApplication(id=1, invoice_id=99, amount=Decimal("10.00"))])
    with pytest.raises(MappingError) as err:
        build_payment_payload(payment, REFS, invoice_numbers={99: "INV-100099"})
    assert err.value.blocked_by == "invoice:INV-100099"


def test_the_payload_hash_changes_when_the_invoice_changes() -> None:
    first = build_invoice_payload(make_invoice(), SyncSettings(), REFS)
    edited = make_invoice()
    edited.charge_sets[0].lines[0].rate = Decimal("900.00")
    assert hash_payload(first) == hash_payload(build_invoice_payload(make_invoice(), SyncSettings(), REFS))
    assert hash_payload(first) != hash_payload(build_invoice_payload(edited, SyncSettings(), REFS))


@pytest.mark.parametrize("template", [
    DescriptionTemplate(), DescriptionTemplate(placement="every_line"),
    DescriptionTemplate(fields=("bol", "pickup_date"), separator=" / ", show_labels=False),
    DescriptionTemplate(fields=()),
])
def test_invoice_descriptions_are_exactly_the_descriptions_the_payload_sends(template) -> None:
    from qbcore.mapping.description import invoice_descriptions

    invoice = make_invoice(loads=2)
    payload = build_invoice_payload(invoice, SyncSettings(description=template), REFS)
    assert invoice_descriptions(invoice, template, "truncate") == tuple(ln["Description"] for ln in payload["Line"])


def test_invoice_descriptions_follow_the_length_policy_like_the_payload() -> None:
    from qbcore.mapping.description import invoice_descriptions

    invoice = make_invoice()
    invoice.charge_sets[0].load.reference_number = "R" * 4100
    template = DescriptionTemplate()
    cut = build_invoice_payload(invoice, SyncSettings(description=template), REFS)
    assert invoice_descriptions(invoice, template, "truncate") == tuple(ln["Description"] for ln in cut["Line"])
    with pytest.raises(MappingError):
        build_invoice_payload(invoice, SyncSettings(description=template, description_overflow="fail"), REFS)
    assert invoice_descriptions(invoice, template, "fail") is None  # a switch to "fail" changes this invoice
