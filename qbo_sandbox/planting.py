"""Inspection and planting: counts, duplicates, open balances and the conflict fixtures the demo asks for."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from functools import partial

from qbo_sandbox import faults, query
from qbo_sandbox.faults import QboFault
from qbo_sandbox.operations import Operations
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import num, parse_date


class PlantingMixin(Operations):
    """What the /_sandbox endpoints read and plant in a realm."""

    def count(self, entity: str, filters: dict[str, str]) -> int:
        total = 0
        for row in self.realm.table(entity).values():
            if all(
                str(query.field_value(row, k) or "").strip().lower() == v.strip().lower()
                for k, v in filters.items()
            ):
                total += 1
        return total

    def duplicates(self, entity: str, fields: list[str] | str = "DocNumber") -> list[JsonDict]:
        """Groups of rows sharing the values of `fields` (names compared trimmed and case-insensitively).

        Deleted rows are gone; inactive ones count, since a twin made inactive is still a twin.
        """
        names = [fields] if isinstance(fields, str) else list(fields)
        seen: dict[tuple[str, ...], list[JsonDict]] = {}
        for row in self.realm.table(entity).values():
            values = [query.field_value(row, name) for name in names]
            if any(value in (None, "") for value in values):
                continue
            key = tuple(str(value).strip().lower() for value in values)
            seen.setdefault(key, []).append(row)
        out = []
        for _key, rows in sorted(seen.items()):
            if len(rows) < 2:
                continue
            group = {name: query.field_value(rows[0], name) for name in names}
            out.append({**group, "count": len(rows), "ids": [row["Id"] for row in rows]})
        return out

    def open_balances(self) -> JsonDict:
        """Open A/R and A/P of the company, per customer and vendor with something open."""
        receivable = {
            row["DisplayName"]: row.get("Balance", 0)
            for row in self.realm.table("Customer").values()
            if row.get("Balance")
        }
        payable = {
            row["DisplayName"]: row.get("Balance", 0)
            for row in self.realm.table("Vendor").values()
            if row.get("Balance")
        }
        return {
            "receivable_total": num(sum((Decimal(str(v)) for v in receivable.values()), Decimal(0))),
            "payable_total": num(sum((Decimal(str(v)) for v in payable.values()), Decimal(0))),
            "receivable_by_customer": receivable,
            "payable_by_vendor": payable,
        }

    def find_by_name(self, entity: str, name: str) -> JsonDict | None:
        wanted = name.strip().lower()
        return next(
            (
                r
                for r in self.realm.table(entity).values()
                if (self._name_of(entity, r) or "").strip().lower() == wanted
            ),
            None,
        )

    def _seeded(self, entity: str, name: str) -> JsonDict:
        """A row planting builds on (the Services account and item, a bill's account); 610 if there is none."""
        row = self.find_by_name(entity, name)
        if row is None:
            raise faults.not_found()
        return row

    def plant(self, spec: JsonDict) -> JsonDict:
        """Create conflict fixtures the console's demo needs, without the sandbox knowing the demo book."""
        result: JsonDict = {
            "vendors": [],
            "customers": [],
            "items": [],
            "invoices": [],
            "inactive_items": [],
            "bills": [],
            "errors": [],
        }

        def attempt(kind: str, label: str, action: Callable[[], JsonDict]) -> JsonDict | None:
            try:
                return action()
            except QboFault as fault:
                result["errors"].append(
                    {"kind": kind, "name": label, "code": fault.code, "detail": fault.detail}
                )
                return None

        for name in spec.get("vendors", []):
            row = attempt("vendor", name, partial(self.create, "Vendor", {"DisplayName": name}))
            if row:
                result["vendors"].append(row["Id"])
        income = self._seeded("Account", "Services")
        for name in spec.get("items", []):
            body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}}
            row = attempt("item", name, partial(self.create, "Item", body))
            if row:
                result["items"].append(row["Id"])
        for name in spec.get("customers", []):
            row = attempt("customer", name, partial(self.create, "Customer", {"DisplayName": name}))
            if row:
                result["customers"].append(row["Id"])
        service = self._seeded("Item", "Services")
        for invoice in spec.get("invoices", []):
            customer = self.find_by_name("Customer", invoice["CustomerName"])
            if customer is None:
                customer = attempt(
                    "customer",
                    invoice["CustomerName"],
                    partial(self.create, "Customer", {"DisplayName": invoice["CustomerName"]}),
                )
                if customer is None:
                    continue
                result["customers"].append(customer["Id"])
            body = {
                "CustomerRef": {"value": customer["Id"]},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": invoice.get("Amount", 0),
                        "SalesItemLineDetail": {"ItemRef": {"value": service["Id"]}},
                    }
                ],
            }
            if invoice.get("DocNumber"):
                body["DocNumber"] = invoice["DocNumber"]
            if invoice.get("TxnDate"):
                body["TxnDate"] = invoice["TxnDate"]
            row = attempt(
                "invoice",
                str(invoice.get("DocNumber")),
                partial(self.create, "Invoice", body, allow_duplicate_docnum=True),
            )
            if row:
                result["invoices"].append(row["Id"])
        for bill in spec.get("bills", []):
            vendor = self.find_by_name("Vendor", bill["VendorName"])
            if vendor is None:
                vendor = attempt(
                    "vendor", bill["VendorName"], partial(self.create, "Vendor", {"DisplayName": bill["VendorName"]})
                )
                if vendor is None:
                    continue
                result["vendors"].append(vendor["Id"])
            account = self._seeded("Account", bill.get("Account") or "Carrier Costs")
            body = {
                "VendorRef": {"value": vendor["Id"]},
                "Line": [
                    {
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "Amount": bill.get("Amount", 0),
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account["Id"]}},
                    }
                ],
                **{field: bill[field] for field in ("DocNumber", "TxnDate") if bill.get(field)},
            }
            row = attempt("bill", str(bill.get("DocNumber")), partial(self.create, "Bill", body, True))
            if row:
                result["bills"].append(row["Id"])
        for name in spec.get("inactive_items", []):
            item = self.find_by_name("Item", name)
            if item is None:
                result["errors"].append(
                    {"kind": "item", "name": name, "code": "610", "detail": "no such item"}
                )
                continue
            self.update(
                "Item", {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Active": False}
            )
            result["inactive_items"].append(item["Id"])
        if spec.get("closing_date"):
            prefs = self.preferences()
            new_prefs = copy.deepcopy(prefs)
            new_prefs.setdefault("AccountingInfoPrefs", {})["BookCloseDate"] = parse_date(
                spec["closing_date"], "closing_date"
            ).isoformat()
            self.realm.table("Preferences")["1"] = self._stamp_update(prefs, new_prefs)
            result["closing_date"] = new_prefs["AccountingInfoPrefs"]["BookCloseDate"]
        return result
