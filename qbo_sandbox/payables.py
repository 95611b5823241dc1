"""Accounts payable: bills and vendor credits (expense lines, totals, bill numbers) and bill payments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from qbo_sandbox import faults
from qbo_sandbox import preferences as prefs
from qbo_sandbox.balances import BalancesMixin
from qbo_sandbox.faults import invalid_property
from qbo_sandbox.schema import CENT, EXPENSE_FORMS, PAY_TYPES, USD
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import check_lengths, money, num, parse_date, ref_value

EXPENSE_DETAILS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
BILLABLE_STATUSES = ("Billable", "NotBillable")  # HasBeenBilled is set by QBO, never sent (2170)
PRINT_STATUSES = ("NotSet", "NeedToPrint", "PrintComplete")
# Which kind of account each pay type draws on (D-BP: Bank/Checking for checks, a Credit Card account).
PAY_ACCOUNTS = {"Check": ("BankAccountRef", "Bank"), "CreditCard": ("CCAccountRef", "Credit Card")}
LABELS = {"Bill": "Bill", "VendorCredit": "Vendor Credit"}


class PayablesMixin(BalancesMixin):
    """Validation and server-computed fields of bills, vendor credits and bill payments."""

    def _payables_account(self) -> JsonDict | None:
        """The company's Accounts Payable account, the default APAccountRef."""
        return next(
            (
                row
                for row in self.realm.table("Account").values()
                if row.get("AccountType") == "Accounts Payable" and row.get("Active", True) is not False
            ),
            None,
        )

    def _payables_header(self, entity: str, body: JsonDict, old: JsonDict | None) -> JsonDict:
        """Vendor, dates, references and the A/P account of a bill, vendor credit or bill payment."""
        body = self._txn_header(entity, body, old, party="VendorRef")
        if "APAccountRef" in body:
            account = self.realm.get("Account", body["APAccountRef"]["value"]) or {}
            if account.get("AccountType") != "Accounts Payable":
                raise faults.business("APAccountRef must be an Accounts Payable account.")
        else:
            default = self._payables_account()
            if default is not None:
                body["APAccountRef"] = {"value": default["Id"], "name": default["Name"]}
        for field in ("ExchangeRate", "GlobalTaxCalculation"):
            # python-quickbooks sends ExchangeRate 0 or 1 and TaxExcluded; neither applies to a US company.
            body.pop(field, None)
        return body

    # -- bills and vendor credits ------------------------------------------------------------------------
    def _build_expense_form(self, entity: str, body: JsonDict, old: JsonDict | None, allow_duplicate: bool) -> JsonDict:
        body = self._payables_header(entity, body, old)
        self._check_expense_doc_number(entity, body, old, allow_duplicate)
        lines, total = self._build_expense_lines(body.get("Line"), old)
        if total < 0:
            # Real QBO refuses bills owing less than $0 (3P-SKU); a negative amount is a vendor credit instead.
            hint = " Enter a vendor credit instead." if entity == "Bill" else ""
            raise faults.business(f"The {LABELS[entity]} total cannot be negative.{hint}")
        applied = sum(
            (Decimal(str(a)) for a in self.realm.applied.get((entity, str((old or {}).get("Id"))), {}).values()),
            Decimal(0),
        )
        if total < applied:
            raise faults.business(
                f"The {LABELS[entity]} total {total} is less than the {applied} already applied to it. "
                "Unlink the bill payments first."
            )
        for read_only in ("TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "LinkedTxn"):
            body.pop(read_only, None)
        row: JsonDict = {"CurrencyRef": dict(USD)}
        row.update(body)
        row["Line"] = lines
        row["TotalAmt"] = num(total)
        row["Balance"] = num(total - applied)
        if entity == "Bill":
            row["DueDate"] = self._due_date(body)
            row["LinkedTxn"] = self._bill_links(str((old or {}).get("Id")))
        return row

    def _due_date(self, body: JsonDict) -> str:
        """A bill's DueDate: as sent, else TxnDate plus the days of its terms (or the vendor's terms)."""
        if body.get("DueDate"):
            return parse_date(body["DueDate"], "DueDate").isoformat()
        vendor = self.realm.get("Vendor", body["VendorRef"]["value"]) or {}
        term_id = ref_value(body.get("SalesTermRef")) or ref_value(vendor.get("TermRef"))
        term = self.realm.get("Term", term_id) if term_id else None
        days = int((term or {}).get("DueDays", 0) or 0)
        return (date.fromisoformat(body["TxnDate"]) + timedelta(days=days)).isoformat()

    def _check_expense_doc_number(
        self, entity: str, body: JsonDict, old: JsonDict | None, allow_duplicate: bool
    ) -> None:
        """Bill numbers are unique per vendor only when WarnDuplicateBillNumber is on (D-PREF, 3P-GARDE)."""
        preferences = self.preferences()
        doc = body.get("DocNumber")
        if doc is None:
            if entity == "VendorCredit" and prefs.name_value(
                preferences, "VendorAndPurchasesPrefs.UseCustomTxnNumbers"
            ) == "false":
                rows = self.realm.table(entity).values()
                numbers = [int(r["DocNumber"]) for r in rows if str(r.get("DocNumber", "")).isdigit()]
                body["DocNumber"] = (old or {}).get("DocNumber") or str(max(numbers or [0]) + 1)
            return
        body["DocNumber"] = doc = str(doc)
        check_lengths(body, {"DocNumber": 21})
        if allow_duplicate:
            return
        if entity == "Bill" and prefs.name_value(preferences, "WarnDuplicateBillNumber") != "true":
            return
        vendor_id = body["VendorRef"]["value"]
        for row_id, row in self.realm.table(entity).items():
            if old is not None and row_id == old["Id"]:
                continue
            if row.get("DocNumber") == doc and ref_value(row.get("VendorRef")) == vendor_id:
                raise faults.duplicate_doc_number(doc, LABELS[entity], row_id)

    def _build_expense_lines(self, lines: object, old: JsonDict | None) -> tuple[list[JsonDict], Decimal]:
        """Expense lines: an account or an item each, refs checked, amounts summed (negative lines allowed)."""
        if not isinstance(lines, list) or not lines:
            raise faults.required("Line")
        old_ids = {str(line.get("Id")) for line in (old or {}).get("Line", []) if line.get("Id")}
        next_line_id = max([int(i) for i in old_ids if i.isdigit()] or [0]) + 1
        out, total = [], Decimal(0)
        for raw in lines:
            if not isinstance(raw, dict):
                raise faults.required("Line")
            detail_type = raw.get("DetailType")
            if not detail_type:
                raise faults.required("Line.DetailType")
            line = {k: v for k, v in raw.items() if k not in ("LinkedTxn", "CustomField", "LineNum")}
            check_lengths(line, {"Description": 4000})
            line_id = str(raw.get("Id", ""))
            if line_id in old_ids and line_id.isdigit() and int(line_id) > 0:
                line["Id"] = line_id
            else:
                line["Id"] = str(next_line_id)
                next_line_id += 1
            if detail_type in EXPENSE_DETAILS:
                detail, amount = self._expense_detail(detail_type, line)
                line[detail_type] = detail
                line["Amount"] = num(amount)
                if detail_type == "AccountBasedExpenseLineDetail" or "ItemRef" in detail:
                    total += amount  # an item line without an item is documentation only (D-BILL)
            elif detail_type in ("DescriptionOnly", "DescriptionLineDetail"):
                line["DetailType"] = "DescriptionOnly"
                line.pop("Amount", None)
            else:
                raise invalid_property(
                    f"Property Name:DetailType {detail_type} specified is unsupported or invalid",
                    element="Line.DetailType",
                )
            out.append(line)
        for index, line in enumerate(out, start=1):
            line["LineNum"] = index
        return out, total

    def _expense_detail(self, detail_type: str, line: JsonDict) -> tuple[JsonDict, Decimal]:
        """One expense line's detail with its references checked, and its amount."""
        detail = dict(line.get(detail_type) or {})
        if detail_type == "AccountBasedExpenseLineDetail":
            if ref_value(detail.get("AccountRef")) is None:
                raise faults.required("AccountRef")
            detail["AccountRef"] = self._check_ref("AccountRef", "Account", detail["AccountRef"])
            account = self.realm.get("Account", detail["AccountRef"]["value"]) or {}
            if account.get("AccountType") == "Accounts Payable":
                raise faults.business("An expense line cannot post to an Accounts Payable account.")
        elif "ItemRef" in detail:
            detail["ItemRef"] = self._check_ref("ItemRef", "Item", detail["ItemRef"])
            if detail["ItemRef"] is None:
                detail.pop("ItemRef")
        for field, target in (("CustomerRef", "Customer"), ("ClassRef", "Class")):
            if field in detail:
                detail[field] = self._check_ref(field, target, detail[field])
                if detail[field] is None:
                    detail.pop(field)
        detail["TaxCodeRef"] = self._check_ref("TaxCodeRef", "TaxCode", detail.get("TaxCodeRef")) or {"value": "NON"}
        status = detail.get("BillableStatus", "NotBillable")
        if status not in BILLABLE_STATUSES:
            raise faults.invalid_enumeration("BillableStatus", status)
        detail["BillableStatus"] = status
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        if qty is not None and price is not None and money(qty) == 0 and money(price) == 0:
            # python-quickbooks sends Qty 0 and UnitPrice 0 on every item line that never set them.
            qty = price = None
            detail.pop("Qty")
            detail.pop("UnitPrice")
        if "Amount" in line:
            # No 6070 here: Intuit's own Bill sample has Qty 8 x UnitPrice 10 with Amount 100 (D-BILL).
            return detail, money(line["Amount"])
        if qty is None or price is None:
            raise faults.required("Line.Amount")
        return detail, (Decimal(str(qty)) * Decimal(str(price))).quantize(CENT, rounding=ROUND_HALF_UP)

    # -- bill payments -------------------------------------------------------------------------------------
    def _build_bill_payment(self, body: JsonDict, old: JsonDict | None) -> JsonDict:
        body = self._payables_header("BillPayment", body, old)
        vendor_id = body["VendorRef"]["value"]
        pay_type = body.get("PayType")
        if not pay_type:
            raise faults.required("PayType")
        if pay_type not in PAY_TYPES:
            raise faults.invalid_enumeration("PayType", pay_type)
        body[PAY_TYPES[pay_type]] = self._pay_from(pay_type, body.get(PAY_TYPES[pay_type]))
        for other in PAY_TYPES.values():
            if other != PAY_TYPES[pay_type]:
                body.pop(other, None)
        if "TotalAmt" not in body:
            raise faults.required("TotalAmt")
        total = money(body["TotalAmt"], "TotalAmt")
        if total < 0:
            raise faults.business("The bill payment amount cannot be negative.")
        lines = self._bill_payment_lines(body.get("Line"), vendor_id, total, old)
        row: JsonDict = {"CurrencyRef": dict(USD)}
        row.update(body)
        row.update({"TotalAmt": num(total), "Line": lines})
        row.pop("UnappliedAmt", None)
        return row

    def _pay_from(self, pay_type: str, given: object) -> JsonDict:
        """CheckPayment or CreditCardPayment: the bank or card account paid from (and a check's print status)."""
        field, account_type = PAY_ACCOUNTS[pay_type]
        section = PAY_TYPES[pay_type]
        detail = dict(given) if isinstance(given, dict) else {}
        if ref_value(detail.get(field)) is None:
            raise faults.required(f"{section}.{field}")
        detail[field] = self._check_ref(field, "Account", detail[field])
        account = self.realm.get("Account", detail[field]["value"]) or {}
        if account.get("AccountType") != account_type:
            raise faults.business(f"{section}.{field} must be a {account_type} account.")
        if pay_type == "Check":
            status = detail.get("PrintStatus", "NeedToPrint")  # the documented default
            if status not in PRINT_STATUSES:
                raise faults.invalid_enumeration("PrintStatus", status)
            detail["PrintStatus"] = status
        return detail

    def _bill_payment_lines(
        self, given: object, vendor_id: str, total: Decimal, old: JsonDict | None
    ) -> list[JsonDict]:
        """Lines paying bills and applying vendor credits; no bill paid past its balance, no credit overused."""
        previous = (
            {key: Decimal(str(amounts.get(old["Id"], 0))) for key, amounts in self.realm.applied.items()}
            if old
            else {}
        )
        lines, paid, credited = [], Decimal(0), Decimal(0)
        for raw in given if isinstance(given, list) else []:
            if not isinstance(raw, dict):
                continue
            amount = money(raw.get("Amount", 0))
            links_in = raw.get("LinkedTxn") or []
            if not isinstance(links_in, list) or not all(isinstance(link, dict) for link in links_in):
                raise invalid_property(
                    "Property Name:LinkedTxn specified is unsupported or invalid",
                    element="LinkedTxn",
                )
            links, dropped = [], False
            for link in links_in:
                txn_type, txn_id = link.get("TxnType"), str(link.get("TxnId", ""))
                if txn_type not in EXPENSE_FORMS:
                    raise faults.unsupported(f"Operation Linking a bill payment to {txn_type} is not supported.")
                target = self.realm.get(txn_type, txn_id)
                if target is None or (txn_type, txn_id) in self._batch_created:
                    raise faults.not_found()
                if ref_value(target.get("VendorRef")) != vendor_id:
                    raise faults.business(f"The {LABELS[txn_type]} {txn_id} belongs to a different vendor.")
                open_amount = Decimal(str(target.get("Balance", 0))) + previous.get((txn_type, txn_id), Decimal(0))
                if txn_type == "Bill" and open_amount == 0:
                    dropped = True  # a paid bill's line is dropped, as QBO does (python-quickbooks test_billpayment)
                    continue
                if amount < 0 or amount > open_amount:
                    raise faults.business(
                        f"The amount {amount} applied to {LABELS[txn_type]} {txn_id} is more than its open "
                        f"balance {open_amount}."
                        if amount >= 0
                        else f"The amount {amount} applied to {LABELS[txn_type]} {txn_id} cannot be negative."
                    )
                links.append({"TxnId": txn_id, "TxnType": txn_type})
                if txn_type == "Bill":
                    paid += amount
                else:
                    credited += amount
            if dropped and not links:
                continue
            lines.append({"Amount": num(amount), "LinkedTxn": links})
        # What is paid beyond the lines is an unapplied vendor credit (D-BP); paying less than applied is refused.
        if total - paid + credited < 0:
            raise faults.business("The bill payment amount must be greater than or equal to the amount applied.")
        return lines
