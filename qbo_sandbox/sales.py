"""Sales forms: invoice and credit memo headers, lines, custom fields and document numbers."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from qbo_sandbox import faults
from qbo_sandbox import preferences as prefs
from qbo_sandbox.faults import QboFault, invalid_property
from qbo_sandbox.records import CompanyCore
from qbo_sandbox.schema import CENT, SALES_FORMS, USD
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import check_lengths, money, num, ref_value


class SalesMixin(CompanyCore):
    """Validation and server-computed fields of invoices and credit memos."""

    def _custom_fields(self, given: list[object] | None) -> list[JsonDict]:
        names = prefs.sales_custom_field_names(self.preferences())
        values: dict[str, object] = {}
        for field in given or []:
            if isinstance(field, dict) and field.get("DefinitionId"):
                values[str(field["DefinitionId"])] = field.get("StringValue")
        out = []
        for def_id in sorted(names):
            entry: JsonDict = {"DefinitionId": def_id, "Name": names[def_id], "Type": "StringType"}
            if values.get(def_id):
                entry["StringValue"] = values[def_id]
            out.append(entry)
        return out

    def _build_lines(self, lines: object, old: JsonDict | None) -> tuple[list[JsonDict], Decimal]:
        if not isinstance(lines, list) or not lines:
            raise faults.required("Line")
        old_ids = {str(line.get("Id")) for line in (old or {}).get("Line", []) if line.get("Id")}
        next_line_id = max([int(i) for i in old_ids if i.isdigit()] or [0]) + 1
        out, subtotal, discounts = [], Decimal(0), Decimal(0)
        discount_lines = []
        for raw in lines:
            if not isinstance(raw, dict):
                raise faults.required("Line")
            detail_type = raw.get("DetailType")
            if detail_type in ("SubTotalLineDetail", "SubtotalLineDetail"):
                continue  # the server computes the subtotal line itself
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
            if detail_type == "SalesItemLineDetail":
                detail = dict(line.get("SalesItemLineDetail") or {})
                if "ItemRef" in detail:
                    detail["ItemRef"] = self._check_ref("ItemRef", "Item", detail["ItemRef"])
                    if detail["ItemRef"] is None:
                        detail.pop("ItemRef")
                if "ClassRef" in detail:
                    detail["ClassRef"] = self._check_ref("ClassRef", "Class", detail["ClassRef"])
                detail["TaxCodeRef"] = self._check_ref("TaxCodeRef", "TaxCode", detail.get("TaxCodeRef")) or {
                    "value": "NON"
                }
                qty, price = detail.get("Qty"), detail.get("UnitPrice")
                if qty is not None and price is not None and money(qty) == 0 and money(price) == 0:
                    # python-quickbooks sends Qty 0 and UnitPrice 0 on every line that never set them.
                    qty = price = None
                    detail.pop("Qty")
                    detail.pop("UnitPrice")
                amount = money(line["Amount"]) if "Amount" in line else None
                if qty is not None and price is not None:
                    product = (Decimal(str(qty)) * Decimal(str(price))).quantize(CENT, rounding=ROUND_HALF_UP)
                    if amount is None:
                        amount = product
                    elif amount != product:
                        raise faults.amount_mismatch(line["Amount"])
                    detail["Qty"] = float(Decimal(str(qty))) if "." in str(qty) else int(Decimal(str(qty)))
                    detail["UnitPrice"] = float(Decimal(str(price)))
                if amount is None:
                    raise faults.required("Line.Amount")
                line["Amount"] = num(amount)
                line["SalesItemLineDetail"] = detail
                subtotal += amount
            elif detail_type == "DiscountLineDetail":
                discount_lines.append(line)
            elif detail_type in ("DescriptionOnly", "DescriptionLineDetail"):
                line["DetailType"] = "DescriptionOnly"
                line.pop("Amount", None)
            else:
                raise invalid_property(
                    f"Property Name:DetailType {detail_type} specified is unsupported or invalid",
                    element="Line.DetailType",
                )
            out.append(line)
        for line in discount_lines:
            detail = line.get("DiscountLineDetail") or {}
            if detail.get("PercentBased") and detail.get("DiscountPercent") is not None:
                amount = (subtotal * money(detail["DiscountPercent"], "DiscountPercent") / 100).quantize(CENT)
            elif line.get("Amount") is not None:
                amount = money(line["Amount"])
            else:
                raise QboFault("6090", "Invalid Discount", "Discount line needs an amount or a percent.")
            line["Amount"] = num(amount)
            discounts += amount
        for index, line in enumerate(out, start=1):
            line["LineNum"] = index
        out.append({"Amount": num(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return out, subtotal - discounts

    def _check_doc_number(self, entity: str, body: JsonDict, old: JsonDict | None, allow_duplicate: bool) -> None:
        custom = self.preferences().get("SalesFormsPrefs", {}).get("CustomTxnNumbers", True)
        doc = body.get("DocNumber")
        if doc is not None:
            doc = str(doc)
            body["DocNumber"] = doc
            check_lengths(body, {"DocNumber": 21})
        if not custom:
            if doc is None:
                numbers = [
                    int(r["DocNumber"])
                    for r in self.realm.table(entity).values()
                    if str(r.get("DocNumber", "")).isdigit()
                ]
                body["DocNumber"] = (old or {}).get("DocNumber") or str(max(numbers or [1000]) + 1)
            return
        if doc is None or allow_duplicate:
            return
        for other_entity in SALES_FORMS:
            for row_id, row in self.realm.table(other_entity).items():
                if other_entity == entity and old is not None and row_id == old["Id"]:
                    continue
                if row.get("DocNumber") == doc:
                    txn_type = "Credit Memo" if other_entity == "CreditMemo" else other_entity
                    raise faults.duplicate_doc_number(doc, txn_type, row_id)

    def _build_sales_form(self, entity: str, body: JsonDict, old: JsonDict | None, allow_duplicate: bool) -> JsonDict:
        body = self._txn_header(entity, body, old)
        self._check_doc_number(entity, body, old, allow_duplicate)
        lines, total = self._build_lines(body.get("Line"), old)
        customer = self.realm.get("Customer", body["CustomerRef"]["value"])
        row: JsonDict = {}
        if entity == "Invoice":
            row.update(
                {
                    "AllowIPNPayment": False,
                    "AllowOnlinePayment": False,
                    "AllowOnlineCreditCardPayment": False,
                    "AllowOnlineACHPayment": False,
                }
            )
        row.update(
            {
                "CurrencyRef": dict(USD),
                "TxnTaxDetail": {"TotalTax": 0},
                "ApplyTaxAfterDiscount": False,
                "PrintStatus": "NotSet",
                "EmailStatus": "NotSet",
            }
        )
        for read_only in (
            "TotalAmt",
            "Balance",
            "HomeBalance",
            "HomeTotalAmt",
            "InvoiceLink",
            "FreeFormAddress",
            "RemainingCredit",
            "LinkedTxn",
            "UnappliedAmt",
            "Deposit",
        ):
            body.pop(read_only, None)
        row.update(body)
        row["CustomField"] = self._custom_fields(body.get("CustomField"))
        row["Line"] = lines
        for addr in ("BillAddr", "ShipAddr"):
            if addr not in row and customer and customer.get(addr):
                row[addr] = copy.deepcopy(customer[addr])
        row["TotalAmt"] = num(total)
        applied = sum(
            (Decimal(str(a)) for a in self.realm.applied.get((entity, str((old or {}).get("Id"))), {}).values()),
            Decimal(0),
        )
        row["Balance"] = num(total - applied)
        if entity == "Invoice":
            if "DueDate" not in body:
                term_ref = (
                    body.get("SalesTermRef")
                    or (customer or {}).get("SalesTermRef")
                    or self.preferences().get("SalesFormsPrefs", {}).get("DefaultTerms")
                )
                term = self.realm.get("Term", ref_value(term_ref)) if term_ref else None
                days = int((term or {}).get("DueDays", 0) or 0)
                row["DueDate"] = (date.fromisoformat(row["TxnDate"]) + timedelta(days=days)).isoformat()
            row["LinkedTxn"] = [
                {"TxnId": pid, "TxnType": "Payment"}
                for pid in self.realm.applied.get((entity, str((old or {}).get("Id"))), {})
            ]
        else:
            row["RemainingCredit"] = row["Balance"]
        return row

