"""Linking and balances: applied amounts, invoice and credit balances, customer balances up the job tree."""

from __future__ import annotations

from decimal import Decimal

from qbo_sandbox.faults import meta_time
from qbo_sandbox.records import CompanyCore
from qbo_sandbox.schema import EXPENSE_FORMS
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import num, ref_value


class BalancesMixin(CompanyCore):
    """Derived balances, refreshed whenever a transaction is written."""

    def _apply_payment(self, payment_id: str, applications: list[tuple[str, str, float]]) -> None:
        """Replace what a payment applies and refresh every touched invoice / credit memo."""
        touched = set()
        for key, amounts in self.realm.applied.items():
            if payment_id in amounts:
                amounts.pop(payment_id)
                touched.add(key)
        for txn_type, txn_id, amount in applications:
            amounts = self.realm.applied.setdefault((txn_type, txn_id), {})
            amounts[payment_id] = float(Decimal(str(amounts.get(payment_id, 0))) + Decimal(str(amount)))
            touched.add((txn_type, txn_id))
        for txn_type, txn_id in touched:
            target = self.realm.get(txn_type, txn_id)
            if target is None:
                continue
            before = dict(target)
            applied = sum(
                (Decimal(str(a)) for a in self.realm.applied.get((txn_type, txn_id), {}).values()), Decimal(0)
            )
            target["Balance"] = num(Decimal(str(target.get("TotalAmt", 0))) - applied)
            if txn_type == "Invoice":
                target["LinkedTxn"] = [
                    {"TxnId": pid, "TxnType": "Payment"}
                    for pid in self.realm.applied.get((txn_type, txn_id), {})
                ]
            elif txn_type == "Bill":
                target["LinkedTxn"] = self._bill_links(txn_id)
            elif txn_type == "CreditMemo":
                target["RemainingCredit"] = target["Balance"]
            # A payment changes the invoice's balance but not its SyncToken; CDC still sees the change.
            target["MetaData"] = {**target["MetaData"], "LastUpdatedTime": meta_time()}
            if txn_type in EXPENSE_FORMS:
                self._adjust_vendor_balance(before, target, txn_type)
            else:
                self._adjust_customer_balance(before, target, txn_type)

    @staticmethod
    def _contribution(row: JsonDict | None, entity: str) -> tuple[str | None, Decimal]:
        if row is None:
            return None, Decimal(0)
        customer = ref_value(row.get("CustomerRef"))
        if entity == "Invoice":
            return customer, Decimal(str(row.get("Balance", 0)))
        if entity == "CreditMemo":
            return customer, -Decimal(str(row.get("Balance", 0)))
        return customer, -Decimal(str(row.get("UnappliedAmt", 0)))

    def _adjust_customer_balance(self, old: JsonDict | None, new: JsonDict | None, entity: str) -> None:
        for row, sign in ((old, -1), (new, 1)):
            customer_id, amount = self._contribution(row, entity)
            customer = self.realm.get("Customer", customer_id) if customer_id else None
            if customer is None or not amount:
                continue
            customer["Balance"] = num(Decimal(str(customer.get("Balance", 0))) + sign * amount)
            # BalanceWithJobs rolls up the tree (recorded all/alt_select: Freeman 0 own, 85.00 with jobs).
            depth = 0
            while customer is not None and depth < 10:
                customer["BalanceWithJobs"] = num(Decimal(str(customer.get("BalanceWithJobs", 0))) + sign * amount)
                parent_id = ref_value(customer.get("ParentRef"))
                customer = self.realm.get("Customer", parent_id) if parent_id else None
                depth += 1

    def _bill_links(self, bill_id: str) -> list[JsonDict]:
        """A bill's LinkedTxn: the bill payments applied to it, named by how they paid (D-BILL sample)."""
        links = []
        for payment_id in self.realm.applied.get(("Bill", bill_id), {}):
            payment = self.realm.get("BillPayment", payment_id) or {}
            kind = "BillPaymentCreditCard" if payment.get("PayType") == "CreditCard" else "BillPaymentCheck"
            links.append({"TxnId": payment_id, "TxnType": kind})
        return links

    @staticmethod
    def _vendor_contribution(row: JsonDict | None, entity: str) -> tuple[str | None, Decimal]:
        """What a payables row adds to its vendor's open balance: bills owe, credits and unapplied payments offset."""
        if row is None:
            return None, Decimal(0)
        vendor = ref_value(row.get("VendorRef"))
        if entity == "Bill":
            return vendor, Decimal(str(row.get("Balance", 0)))
        if entity == "VendorCredit":
            return vendor, -Decimal(str(row.get("Balance", 0)))
        applied = Decimal(0)
        for line in row.get("Line", []):
            for link in line.get("LinkedTxn", []):
                sign = 1 if link.get("TxnType") == "Bill" else -1
                applied += sign * Decimal(str(line.get("Amount", 0)))
        return vendor, -(Decimal(str(row.get("TotalAmt", 0))) - applied)

    def _adjust_vendor_balance(self, old: JsonDict | None, new: JsonDict | None, entity: str) -> None:
        for row, sign in ((old, -1), (new, 1)):
            vendor_id, amount = self._vendor_contribution(row, entity)
            vendor = self.realm.get("Vendor", vendor_id) if vendor_id else None
            if vendor is not None and amount:
                vendor["Balance"] = num(Decimal(str(vendor.get("Balance", 0))) + sign * amount)
