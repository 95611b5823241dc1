"""Pure payables mapping: vendors, settlements and carrier bills as Bills, payments as BillPayments (exact dicts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from qbcore.errors import MappingError
from qbcore.mapping.payables import (
    build_bill_payment_payload,
    build_carrier_bill_payload,
    build_settlement_payload,
    build_vendor_payload,
)
from qbcore.mapping.refs import QboRefs
from qbcore.models import (
    CarrierBill,
    CarrierBillLine,
    DeductionCode,
    Load,
    PayCode,
    Settlement,
    SettlementDeduction,
    SettlementLine,
    SettlementLoad,
    Vendor,
)
from qbcore.settings import SyncSettings

REFS = QboRefs(vendors={1: "61", 2: "62"}, settlements={7: "201"}, carrier_bills={3: "202"},
               terms={"Net 30": "3", "Due on receipt": "1"},
               accounts={"Driver Pay": "40", "Carrier Costs": "41", "Insurance": "11", "Fuel": "9", "Checking": "35"})
LH = PayCode(id=1, code="LH", name="Line haul pay")
FSC = PayCode(id=2, code="FSC", name="FSC pay")
BRK = PayCode(id=3, code="BRK-LH", name="Brokered line haul")
INS = DeductionCode(id=1, code="OCCACC", name="Occupational accident insurance")
FUEL = DeductionCode(id=2, code="FUELADV", name="Fuel advance")
ACCOUNTS = {("pay", 1): "Driver Pay", ("pay", 2): "Driver Pay", ("pay", 3): "Carrier Costs",
            ("deduction", 1): "Insurance", ("deduction", 2): "Fuel"}
SETTINGS = SyncSettings()


def driver(**overrides) -> Vendor:
    values = dict(id=1, code="V0004", name="Luis Ortiz", qbo_display_name=None, company_name=None, is_driver=True,
                  is_fleet_owner=False, is_carrier=False, is_1099=True, terms="Due on receipt",
                  email="luis@ortiz.example.com", phone="(201) 555-0101", address_line1="12 Port Rd",
                  city="Elizabeth", state="NJ", postal_code="07201", country="USA")
    values.update(overrides)
    return Vendor(**values)


def load(n: int) -> Load:
    return Load(id=n, load_number=f"L50000{n}", customer_id=1, container_number="MSCU1234565", size_type="40HC",
                reference_number="PO-123456", pickup_location="Maher Terminals", pickup_date=date(2026, 11, 2),
                delivery_location="ACME DC", delivery_date=date(2026, 11, 3))


def settlement(deductions: list[tuple[DeductionCode, str]] | None = None, **overrides) -> Settlement:
    row = Settlement(id=7, number="ST-261102-0004", driver_id=1, period_start=date(2026, 11, 2),
                     period_end=date(2026, 11, 8), settlement_date=date(2026, 11, 13), status="finalized",
                     pay_total=Decimal("700.00"), deduction_total=Decimal("90.00"), net_pay=Decimal("610.00"),
                     finalized_at=datetime(2026, 11, 13, 17, tzinfo=UTC), paid_on=None, memo=None)
    row.driver = driver()
    first = SettlementLoad(load_id=1, truck_id=1, position=1)
    first.load = load(1)
    first.lines = [SettlementLine(pay_code_id=1, pay_code=LH, position=1, quantity=Decimal(1), rate=Decimal("500"),
                                  amount=Decimal("500.00")),
                   SettlementLine(pay_code_id=2, pay_code=FSC, position=2, quantity=Decimal(1), rate=Decimal("100"),
                                  amount=Decimal("100.00"))]
    second = SettlementLoad(load_id=2, truck_id=1, position=2)
    second.load = load(2)
    second.lines = [SettlementLine(pay_code_id=2, pay_code=FSC, position=1, quantity=Decimal(1), rate=Decimal("100"),
                                   amount=Decimal("100.00"))]
    row.loads = [first, second]
    row.deductions = [SettlementDeduction(deduction_code_id=code.id, deduction_code=code, position=i,
                                          amount=Decimal(amount))
                      for i, (code, amount) in enumerate(deductions if deductions is not None else
                                                         [(INS, "50.00"), (FUEL, "40.00")], start=1)]
    for key, value in overrides.items():
        setattr(row, key, value)
    return row


def expense(num: int, amount: float, account: str, description: str) -> dict:
    return {"LineNum": num, "DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}}, "Description": description}


def test_a_vendor_carries_its_name_1099_flag_terms_contact_and_address():
    assert build_vendor_payload(driver(), SETTINGS, REFS) == {
        "DisplayName": "Luis Ortiz", "PrintOnCheckName": "Luis Ortiz", "Vendor1099": True,
        "PrimaryEmailAddr": {"Address": "luis@ortiz.example.com"}, "PrimaryPhone": {"FreeFormNumber": "(201) 555-0101"},
        "BillAddr": {"Line1": "12 Port Rd", "City": "Elizabeth", "CountrySubDivisionCode": "NJ", "PostalCode": "07201",
                     "Country": "USA"},
        "TermRef": {"value": "1"},
    }


def test_a_carrier_goes_under_its_quickbooks_name_when_a_clash_gave_it_one():
    carrier = driver(name="Blue Anchor: Transport", company_name="Blue Anchor Transport Inc", is_driver=False,
                     is_carrier=True, qbo_display_name="Blue Anchor Transport (V)", email=None, phone=None,
                     address_line1=None, city=None, state=None, postal_code=None, country=None, terms="Net 30",
                     is_1099=False)
    assert build_vendor_payload(carrier, SETTINGS, REFS) == {
        "DisplayName": "Blue Anchor Transport (V)", "PrintOnCheckName": "Blue Anchor Transport Inc",
        "Vendor1099": False, "CompanyName": "Blue Anchor Transport Inc", "TermRef": {"value": "3"},
    }


def test_a_finalized_settlement_is_one_bill_to_the_driver_with_deductions_as_negative_lines():
    load_text = "Load #: L500001 | Container #: MSCU1234565 | Reference #: PO-123456"
    second_text = "Load #: L500002 | Container #: MSCU1234565 | Reference #: PO-123456"
    assert build_settlement_payload(settlement(), SETTINGS, REFS, ACCOUNTS) == {
        "DocNumber": "ST-261102-0004",
        "VendorRef": {"value": "61"},
        "TxnDate": "2026-11-13",
        "DueDate": "2026-11-13",
        "Line": [
            expense(1, 500.0, "40", f"Line haul pay\n{load_text}"),
            expense(2, 100.0, "40", "FSC pay"),
            expense(3, 100.0, "40", f"FSC pay\n{second_text}"),
            expense(4, -50.0, "11", "Occupational accident insurance"),
            expense(5, -40.0, "9", "Fuel advance"),
        ],
        "PrivateNote": "Settlement ST-261102-0004, loads of 2026-11-02 to 2026-11-08.",
    }


def test_deductions_above_the_pay_are_refused_locally_with_a_plain_message():
    with pytest.raises(MappingError) as caught:
        build_settlement_payload(settlement([(INS, "650.00"), (FUEL, "100.00")]), SETTINGS, REFS, ACCOUNTS)
    assert caught.value.message.startswith("Settlement ST-261102-0004 comes to $-50.00: its deductions are more than")
    assert caught.value.blocked_by is None
    # Exactly equal is a $0 bill, which QuickBooks accepts.
    assert build_settlement_payload(settlement([(INS, "700.00")]), SETTINGS, REFS, ACCOUNTS)["Line"][-1]["Amount"] \
        == -700.0


@pytest.mark.parametrize(("change", "blocked_by", "start"), [
    (dict(refs=QboRefs(accounts=REFS.accounts)), "vendor:Luis Ortiz", "The vendor 'Luis Ortiz' is not in"),
    (dict(accounts={k: v for k, v in ACCOUNTS.items() if k != ("pay", 2)}), "pay_code:FSC",
     "Pay code FSC has no QuickBooks expense account"),
    (dict(accounts={**ACCOUNTS, ("deduction", 2): "Fuel Cards"}), "account:Fuel Cards",
     "QuickBooks has no account named 'Fuel Cards' (deduction code FUELADV posts to it)"),
])
def test_a_settlement_waits_naming_its_vendor_or_an_unmapped_code(change, blocked_by, start):
    with pytest.raises(MappingError) as caught:
        build_settlement_payload(settlement(), SETTINGS, change.get("refs", REFS), change.get("accounts", ACCOUNTS))
    assert caught.value.blocked_by == blocked_by
    assert caught.value.message.startswith(start)


def test_a_draft_settlement_is_not_sent():
    with pytest.raises(MappingError, match="is a draft"):
        build_settlement_payload(settlement(status="draft", finalized_at=None), SETTINGS, REFS, ACCOUNTS)


def carrier_bill(**overrides) -> CarrierBill:
    bill = CarrierBill(id=3, carrier_id=2, load_id=1, carrier_invoice_number="BLU-40003", bill_date=date(2026, 11, 5),
                       due_date=date(2026, 12, 5), terms="Net 30", status="accepted", total=Decimal("980.50"),
                       memo=None, paid_on=None)
    bill.carrier = driver(id=2, name="Blue Anchor Transport Inc", is_driver=False, is_carrier=True)
    bill.load = load(1)
    bill.lines = [CarrierBillLine(pay_code_id=3, pay_code=BRK, position=1, amount=Decimal("850.25")),
                  CarrierBillLine(pay_code_id=3, pay_code=BRK, position=2, description="Tolls",
                                  amount=Decimal("130.25"))]
    for key, value in overrides.items():
        setattr(bill, key, value)
    return bill


def test_an_accepted_carrier_bill_is_one_bill_to_the_carrier_under_its_invoice_number():
    assert build_carrier_bill_payload(carrier_bill(), SETTINGS, REFS, ACCOUNTS) == {
        "DocNumber": "BLU-40003",
        "VendorRef": {"value": "62"},
        "TxnDate": "2026-11-05",
        "DueDate": "2026-12-05",
        "SalesTermRef": {"value": "3"},
        "Line": [expense(1, 850.25, "41", "Brokered line haul\nLoad #: L500001 | Container #: MSCU1234565 | "
                                          "Reference #: PO-123456"),
                 expense(2, 130.25, "41", "Tolls")],
        "PrivateNote": "Carrier invoice BLU-40003, load L500001.",
    }


@pytest.mark.parametrize("status", ["received", "disputed"])
def test_a_carrier_bill_not_accepted_is_not_sent(status):
    with pytest.raises(MappingError, match="is not accepted"):
        build_carrier_bill_payload(carrier_bill(status=status), SETTINGS, REFS, ACCOUNTS)


def test_a_paid_settlement_is_a_check_paying_its_bill_in_full():
    row = settlement(status="paid", paid_on=date(2026, 11, 15))
    assert build_bill_payment_payload(number=row.number, vendor_id=1, vendor=row.driver, bill_id=7,
                                      bill_qbo_ids=REFS.settlements, amount=row.net_pay, paid_on=row.paid_on,
                                      what="Settlement", settings=SETTINGS, refs=REFS) == {
        "DocNumber": "ST-261102-0004",
        "VendorRef": {"value": "61"},
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": "35"}, "PrintStatus": "NotSet"},
        "TotalAmt": 610.0,
        "TxnDate": "2026-11-15",
        "Line": [{"Amount": 610.0, "LinkedTxn": [{"TxnId": "201", "TxnType": "Bill"}]}],
        "PrivateNote": "Settlement ST-261102-0004 paid.",
    }


def test_a_payment_waits_for_its_bill_and_names_it():
    with pytest.raises(MappingError) as caught:
        build_bill_payment_payload(number="BLU-40003", vendor_id=2, vendor=None, bill_id=3, bill_qbo_ids={},
                                   amount=Decimal("980.50"), paid_on=date(2026, 12, 5), what="Carrier bill",
                                   settings=SETTINGS, refs=REFS)
    assert caught.value.blocked_by == "carrier_bill:BLU-40003"
