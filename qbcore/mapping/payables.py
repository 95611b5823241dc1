"""Payables → QuickBooks JSON: vendors, settlements and carrier bills as Bills, paid ones as BillPayments."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from qbcore.errors import MappingError
from qbcore.mapping.common import term_ref, to_cents, to_number
from qbcore.mapping.description import compose_line_description, fit_description, render_description
from qbcore.mapping.invoice import refuse_broken_number
from qbcore.mapping.names import COMPANY_NAME_MAX, DISPLAY_NAME_MAX, clean_name, is_email, single_line
from qbcore.mapping.refs import QboRefs
from qbcore.mapping.routing import Share, share_number, split_settlement
from qbcore.settings import SyncSettings

PRINT_ON_CHECK_MAX = 100  # a vendor's PrintOnCheckName (a customer's is 110)
EXPENSE = "AccountBasedExpenseLineDetail"

# Which QuickBooks account each pay code and deduction code posts to: ("pay", id) / ("deduction", id) → name.
CodeAccounts = Mapping[tuple[str, int], str]


def vendor_display_name(vendor: Any) -> str:
    """The DisplayName QuickBooks knows the vendor by (its QuickBooks name when a clash gave it one)."""
    return clean_name(vendor.qbo_display_name or vendor.name, DISPLAY_NAME_MAX)


def build_vendor_payload(vendor: Any, settings: SyncSettings, refs: QboRefs) -> dict[str, Any]:
    """QuickBooks Vendor JSON: name, 1099 flag, terms, contact and address."""
    payload: dict[str, Any] = {
        "DisplayName": vendor_display_name(vendor),
        "PrintOnCheckName": clean_name(vendor.company_name or vendor.name, PRINT_ON_CHECK_MAX),
        "Vendor1099": bool(vendor.is_1099),
    }
    if vendor.company_name:
        payload["CompanyName"] = clean_name(vendor.company_name, COMPANY_NAME_MAX)
    if is_email(vendor.email):
        payload["PrimaryEmailAddr"] = {"Address": vendor.email}
    if vendor.phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": vendor.phone[:30]}
    address = {
        key: single_line(value) for key, value in (
            ("Line1", vendor.address_line1), ("City", vendor.city), ("CountrySubDivisionCode", vendor.state),
            ("PostalCode", vendor.postal_code), ("Country", vendor.country),
        ) if value and single_line(value)
    }
    if address:
        payload["BillAddr"] = address
    terms = term_ref(vendor.terms, settings, refs)
    if terms:
        payload["TermRef"] = terms
    return payload


def vendor_ref_for(vendor_id: int, vendor: Any, refs: QboRefs) -> dict[str, str]:
    """VendorRef; MappingError naming the vendor when it is not in QuickBooks yet."""
    qbo_id = refs.vendors.get(vendor_id)
    if qbo_id is None:
        name = vendor.name if vendor is not None else str(vendor_id)
        raise MappingError(f"The vendor {name!r} is not in QuickBooks yet.", blocked_by=f"vendor:{name}")
    return {"value": qbo_id}


def _account_ref(kind: str, code: Any, accounts: CodeAccounts, refs: QboRefs, default: str = ""
                 ) -> dict[str, str]:
    """The expense account a pay or deduction code posts to; MappingError naming the code or the account.

    A pay code with no mapping of its own posts to the default expense account when Settings names one; a
    deduction never does (taking it off an expense account it does not belong to would misstate both).
    """
    noun = "Pay code" if kind == "pay" else "Deduction code"
    name = accounts.get((kind, code.id)) or (default.strip() if kind == "pay" else "")
    if not name:
        # Named by its own prefix, so Problem Sync names the code and the cascade retries once it is mapped.
        raise MappingError(f"{noun} {code.code} has no QuickBooks expense account. Map it to an account on "
                           "Settings → Pay codes.", blocked_by=f"{kind}_code:{code.code}")
    account_id = refs.accounts.get(name)
    if account_id is None:
        raise MappingError(f"QuickBooks has no account named {name!r} ({noun.lower()} {code.code} posts to it). "
                           "Add it in QuickBooks or map the code to another account, then resync.",
                           blocked_by=f"account:{name}")
    return {"value": account_id}


def expense_line(amount: Decimal, account: dict[str, str], description: str, line_num: int) -> dict[str, Any]:
    """One AccountBasedExpenseLineDetail line (a negative amount takes a deduction off the bill)."""
    line: dict[str, Any] = {"LineNum": line_num, "DetailType": EXPENSE, "Amount": to_number(to_cents(amount)),
                            EXPENSE: {"AccountRef": account}}
    if description:
        line["Description"] = description
    return line


def _refuse_negative(lines: list[dict[str, Any]], what: str) -> None:
    total = sum((Decimal(str(line["Amount"])) for line in lines), Decimal(0))
    if total < 0:
        # QuickBooks refuses a bill owing less than $0 (its deduction lines may be negative while the total is not).
        raise MappingError(f"{what} comes to ${total:,.2f}: its deductions are more than its pay, and QuickBooks "
                           "refuses a bill owing less than $0. Move a deduction to the next settlement in billing, "
                           "then resync.")


def build_settlement_payload(settlement: Any, settings: SyncSettings, refs: QboRefs, accounts: CodeAccounts, *,
                             share: Share | None = None, payee: Any = None, bills: int = 1) -> dict[str, Any]:
    """QuickBooks Bill JSON for one share of a finalized settlement: pay per load, deductions as negative lines.

    Without a share, the whole settlement billed to its driver. A settlement split per fleet owner is `bills`
    shares; each names its place ("bill 2 of 3") so QuickBooks' users see the rest of the settlement exists.
    """
    if settlement.status == "draft":
        raise MappingError(f"Settlement {settlement.number} is a draft; it goes to QuickBooks once finalized.")
    refuse_broken_number(settlement.number)
    if share is None:
        share = split_settlement(settlement, [settlement.driver_id])[0]
        payee = settlement.driver
    number = share_number(settlement.number, share.position)
    template = settings.description
    lines: list[dict[str, Any]] = []
    for settlement_load in share.loads:
        load_text = render_description(settlement_load.load, template)
        for index, pay in enumerate(settlement_load.lines):
            with_load = template.placement == "every_line" or index == 0
            text = compose_line_description(pay.description or pay.pay_code.name, load_text if with_load else "")
            where = f"line {len(lines) + 1} of settlement {number}"
            lines.append(expense_line(pay.amount, _account_ref("pay", pay.pay_code, accounts, refs,
                                                   settings.default_expense_account),
                                      fit_description(text, settings.description_overflow, where=where),
                                      len(lines) + 1))
    for deduction in share.deductions:
        text = deduction.description or deduction.deduction_code.name
        lines.append(expense_line(-deduction.amount,
                                  _account_ref("deduction", deduction.deduction_code, accounts, refs),
                                  single_line(text)[:4000], len(lines) + 1))
    if not lines:
        raise MappingError(f"Settlement {number} has no pay lines; QuickBooks needs at least one line.")
    _refuse_negative(lines, f"Settlement {number}")
    period = f"{settlement.period_start:%Y-%m-%d} to {settlement.period_end:%Y-%m-%d}"
    head = f"Settlement {settlement.number}, loads of {period}."
    if bills > 1:
        name = payee.name if payee is not None else str(share.payee_id)
        head = (f"Settlement {settlement.number}, bill {share.position} of {bills} (the loads on {name}'s trucks), "
                f"loads of {period}.")
    note = " ".join(p for p in (head, settlement.memo) if p)
    return {
        "DocNumber": number,
        "VendorRef": vendor_ref_for(share.payee_id, payee, refs),
        "TxnDate": settlement.settlement_date.isoformat(),
        "DueDate": settlement.settlement_date.isoformat(),  # paid on the settlement day
        "Line": lines,
        "PrivateNote": note[:4000],
    }


def build_carrier_bill_payload(bill: Any, settings: SyncSettings, refs: QboRefs,
                               accounts: CodeAccounts) -> dict[str, Any]:
    """QuickBooks Bill JSON for an accepted carrier invoice, numbered with the carrier's invoice number."""
    if bill.status not in ("accepted", "paid"):
        raise MappingError(f"Carrier bill {bill.carrier_invoice_number} is not accepted; it goes to QuickBooks "
                           "once accepted.")
    refuse_broken_number(bill.carrier_invoice_number)
    template = settings.description
    load_text = render_description(bill.load, template)
    lines: list[dict[str, Any]] = []
    for index, charge in enumerate(bill.lines):
        with_load = template.placement == "every_line" or index == 0
        text = compose_line_description(charge.description or charge.pay_code.name, load_text if with_load else "")
        where = f"line {index + 1} of carrier bill {bill.carrier_invoice_number}"
        lines.append(expense_line(charge.amount, _account_ref("pay", charge.pay_code, accounts, refs,
                                                   settings.default_expense_account),
                                  fit_description(text, settings.description_overflow, where=where), index + 1))
    if not lines:
        raise MappingError(f"Carrier bill {bill.carrier_invoice_number} has no lines; QuickBooks needs at least one.")
    payload: dict[str, Any] = {
        "DocNumber": bill.carrier_invoice_number,
        "VendorRef": vendor_ref_for(bill.carrier_id, bill.carrier, refs),
        "TxnDate": bill.bill_date.isoformat(),
        "DueDate": bill.due_date.isoformat(),
    }
    terms = term_ref(bill.terms, settings, refs)
    if terms:
        payload["SalesTermRef"] = terms
    payload["Line"] = lines
    note = " ".join(p for p in (f"Carrier invoice {bill.carrier_invoice_number}, load {bill.load.load_number}.",
                                bill.memo) if p)
    payload["PrivateNote"] = note[:4000]
    return payload


def build_bill_payment_payload(*, number: str, vendor_id: int, vendor: Any, bill_id: int, bill_qbo_ids: Mapping[
        int, str], amount: Decimal, paid_on: Any, what: str, settings: SyncSettings, refs: QboRefs,
        blocker: str | None = None) -> dict[str, Any]:
    """QuickBooks BillPayment JSON: one check from the payment account paying one bill in full."""
    if paid_on is None:
        raise MappingError(f"{what} {number} is not paid yet.")
    bill_qbo_id = bill_qbo_ids.get(bill_id)
    if bill_qbo_id is None:
        kind = blocker or ("settlement" if what == "Settlement" else "carrier_bill")
        raise MappingError(f"{what} {number} is paid, but its bill is not in QuickBooks yet.",
                           blocked_by=f"{kind}:{number}")
    bank_id = refs.accounts.get(settings.bill_payment_account)
    if bank_id is None:
        raise MappingError(f"QuickBooks has no bank account named {settings.bill_payment_account!r} to pay bills "
                           "from. Add it in QuickBooks, then resync.",
                           blocked_by=f"account:{settings.bill_payment_account}")
    total = to_number(to_cents(amount))
    return {
        "DocNumber": number,
        "VendorRef": vendor_ref_for(vendor_id, vendor, refs),
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": bank_id}, "PrintStatus": "NotSet"},
        "TotalAmt": total,
        "TxnDate": paid_on.isoformat(),
        "Line": [{"Amount": total, "LinkedTxn": [{"TxnId": bill_qbo_id, "TxnType": "Bill"}]}],
        "PrivateNote": f"{what} {number} paid.",
    }
