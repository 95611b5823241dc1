"""Payments: what a customer payment applies to invoices and credit memos, and its unapplied amount."""

from __future__ import annotations

from decimal import Decimal

from qbo_sandbox import faults
from qbo_sandbox.faults import invalid_property
from qbo_sandbox.records import CompanyCore
from qbo_sandbox.schema import SALES_FORMS, USD
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import money, num


class PaymentsMixin(CompanyCore):
    """Validation of payments against the open balances they apply to."""

    def _build_payment(self, body: JsonDict, old: JsonDict | None) -> JsonDict:
        body = self._txn_header("Payment", body, old)
        if "TotalAmt" not in body:
            raise faults.business("You must set a transaction amount.")
        total = money(body["TotalAmt"], "TotalAmt")
        customer_id = body["CustomerRef"]["value"]
        lines, applied_invoices, applied_credits = [], Decimal(0), Decimal(0)
        previous = (
            {key: Decimal(str(amounts.get(old["Id"], 0))) for key, amounts in self.realm.applied.items()}
            if old
            else {}
        )
        for raw in body.get("Line") or []:
            if not isinstance(raw, dict):
                continue
            amount = money(raw.get("Amount", 0))
            links = []
            links_in = raw.get("LinkedTxn") or []
            if not isinstance(links_in, list) or not all(isinstance(link, dict) for link in links_in):
                raise invalid_property(
                    "Property Name:LinkedTxn specified is unsupported or invalid",
                    element="LinkedTxn",
                )
            for link in links_in:
                txn_type, txn_id = link.get("TxnType"), str(link.get("TxnId", ""))
                if txn_type not in SALES_FORMS:
                    raise faults.unsupported(f"Operation Linking a payment to {txn_type} is not supported.")
                target = self.realm.get(txn_type, txn_id)
                if target is None or (txn_type, txn_id) in self._batch_created:
                    raise faults.not_found()
                if target.get("CustomerRef", {}).get("value") != customer_id:
                    raise faults.business(f"The {txn_type} {txn_id} belongs to a different customer.")
                open_amount = Decimal(str(target.get("Balance", 0))) + previous.get(
                    (txn_type, txn_id), Decimal(0)
                )
                if amount > open_amount:
                    raise faults.business(
                        f"The payment amount {amount} is more than the open balance "
                        f"{open_amount} of {txn_type} {txn_id}."
                    )
                links.append({"TxnId": txn_id, "TxnType": txn_type})
                if txn_type == "Invoice":
                    applied_invoices += amount
                else:
                    applied_credits += amount
            line = {"Amount": num(amount), "LinkedTxn": links}
            lines.append(line)
        unapplied = total - applied_invoices + applied_credits
        if unapplied < 0:
            raise faults.business("The amount received must be greater than or equal to the amount applied.")
        body.pop("UnappliedAmt", None)
        if "DepositToAccountRef" not in body:
            undeposited = next(
                (
                    r
                    for r in self.realm.table("Account").values()
                    if r.get("AccountSubType") == "UndepositedFunds"
                ),
                None,
            )
            if undeposited:
                body["DepositToAccountRef"] = {"value": undeposited["Id"]}
        row = {"CurrencyRef": dict(USD), "ProcessPayment": False}
        row.update(body)
        row.update({"TotalAmt": num(total), "UnappliedAmt": num(unapplied), "Line": lines})
        return row

