"""Name lists: customers (and jobs), vendors and employees, items, accounts and the other lists."""

from __future__ import annotations

from qbo_sandbox import faults
from qbo_sandbox.faults import QboFault, invalid_property
from qbo_sandbox.records import CompanyCore
from qbo_sandbox.schema import DELETED_SUFFIX, ITEM_LIMITS, PEOPLE, PEOPLE_LIMITS, USD, VENDOR_LIMITS
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import check_lengths, get_path, ref_value


class NamesMixin(CompanyCore):
    """Validation and defaults of name-list rows."""

    def _build_person(self, entity: str, body: JsonDict, old: JsonDict | None) -> JsonDict:
        if not body.get("DisplayName"):
            parts = [body.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            generated = " ".join(str(p) for p in parts if p)
            if not generated:
                if old is not None and old.get("DisplayName"):
                    generated = old["DisplayName"]  # DisplayName cannot be removed by an update.
                else:
                    raise QboFault(
                        "6080",
                        "No Name Provided",
                        "Please enter a Title, First Name, Middle Name, Last Name, Suffix or Display Name.",
                        element="",
                    )
            body["DisplayName"] = generated
        body["DisplayName"] = str(body["DisplayName"])  # JSON numbers become strings, as Jackson does
        print_name = body.get("PrintOnCheckName") or body["DisplayName"].removesuffix(DELETED_SUFFIX)
        body["PrintOnCheckName"] = print_name
        body["DisplayName"] = self._lifecycle_name(entity, body["DisplayName"], body, old)
        check_lengths(body, VENDOR_LIMITS if entity == "Vendor" else PEOPLE_LIMITS)
        if entity == "Vendor" and body.get("TaxIdentifier"):
            # Answers show only the last four (recorded all/vendors_by_5: "XXXXXX9875"); a masked value sent
            # back by a client's full update stays as it is.
            tax_id = str(body["TaxIdentifier"])
            body["TaxIdentifier"] = "X" * max(len(tax_id) - 4, 0) + tax_id[-4:]
        email = get_path(body, "PrimaryEmailAddr.Address")
        if email and ("@" not in str(email) or "." not in str(email)):
            raise invalid_property(
                f"Property Name:PrimaryEmailAddr.Address specified is unsupported or invalid: {email}",
                element="PrimaryEmailAddr",
            )
        if entity == "Customer":
            self._place_job(body, old)
        unique = body["FullyQualifiedName"] if entity == "Customer" else body["DisplayName"]
        self._check_unique(PEOPLE, unique, old, entity)
        for field, target in (
            ("SalesTermRef", "Term"),
            ("PaymentMethodRef", "PaymentMethod"),
            ("TermRef", "Term"),
            ("DefaultTaxCodeRef", "TaxCode"),
        ):
            if field in body:
                body[field] = self._check_ref(field, target, body[field])
                if body[field] is None:
                    body.pop(field)
        for read_only in ("Balance", "BalanceWithJobs") if entity == "Customer" else ("Balance", "FullyQualifiedName"):
            body.pop(read_only, None)
        row: JsonDict = {"Active": True, "CurrencyRef": dict(USD), "PrintOnCheckName": body["DisplayName"]}
        if entity == "Customer":
            row.update(
                {
                    "Taxable": True,
                    "Job": False,
                    "BillWithParent": False,
                    "PreferredDeliveryMethod": "Print",
                    "Balance": (old or {}).get("Balance", 0),
                    "BalanceWithJobs": (old or {}).get("BalanceWithJobs", 0),
                }
            )
        elif entity == "Vendor":
            row.update({"Vendor1099": False, "Balance": (old or {}).get("Balance", 0)})
        else:
            row.pop("CurrencyRef")
        row.update(body)
        row["PrintOnCheckName"] = body.get("PrintOnCheckName") or body["DisplayName"]
        kept_tax_code = (old or {}).get("DefaultTaxCodeRef")
        if entity == "Customer" and kept_tax_code and "DefaultTaxCodeRef" not in body:
            # A full update leaves it (recorded update/customer sends none and gets "2" back).
            row["DefaultTaxCodeRef"] = kept_tax_code
        if entity == "Customer" and row["Taxable"] and old is None and "DefaultTaxCodeRef" not in body:
            # Recorded create/customer: a taxable customer gets the company's default tax code ("2").
            default = get_path(self.preferences(), "TaxPrefs.TaxGroupCodeRef")
            if isinstance(default, dict) and default.get("value"):
                row["DefaultTaxCodeRef"] = {"value": str(default["value"])}
        for addr in ("BillAddr", "ShipAddr", "PrimaryAddr"):
            if isinstance(row.get(addr), dict) and "Id" not in row[addr]:
                # QBO gives every stored address its own id.
                row[addr] = {"Id": self.realm.new_id("PhysicalAddress"), **row[addr]}
        return row

    def _place_job(self, body: JsonDict, old: JsonDict | None) -> None:
        """A customer's place in the customer:job tree: Job, Level and the "Parent:Job" full name."""
        parent_id = ref_value(body.get("ParentRef"))
        if parent_id is None:
            body.pop("ParentRef", None)
            body.update({"Job": False, "FullyQualifiedName": body["DisplayName"]})
            body.pop("Level", None)
            return
        parent = self.realm.get("Customer", parent_id)
        if parent is None:
            raise faults.invalid_reference("ParentRef", "Names", parent_id)
        if old is not None and (parent_id == old["Id"] or self._descends_from(parent, old["Id"])):
            raise faults.business("A customer cannot be its own parent or sub-customer.")
        body["ParentRef"] = {"value": parent_id}
        body["Job"] = True
        body["Level"] = int(parent.get("Level", 0)) + 1
        parent_name = parent.get("FullyQualifiedName") or parent["DisplayName"]
        body["FullyQualifiedName"] = f"{parent_name}:{body['DisplayName']}"

    def _descends_from(self, customer: JsonDict | None, ancestor_id: str) -> bool:
        seen = 0
        while customer is not None and seen < 10:
            parent_id = ref_value(customer.get("ParentRef"))
            if parent_id == ancestor_id:
                return True
            customer = self.realm.get("Customer", parent_id) if parent_id else None
            seen += 1
        return False

    def _build_named(self, entity: str, body: JsonDict, old: JsonDict | None) -> JsonDict:
        if not body.get("Name"):
            raise faults.required("Name")
        body["Name"] = str(body["Name"])
        name = body["Name"] = self._lifecycle_name(entity, body["Name"], body, old)
        if entity == "Item":
            check_lengths(body, ITEM_LIMITS)
            item_type = body.get("Type") or (old or {}).get("Type")
            if not item_type:
                raise faults.required("Type")
            body["Type"] = item_type
            if item_type in ("Service", "Inventory", "NonInventory") and not ref_value(
                body.get("IncomeAccountRef")
            ):
                raise QboFault(
                    "2020",
                    "Required Param Missing",
                    "Required parameter An income account is required for this item type. is missing "
                    "in the request",
                    element="IncomeAccountRef",
                )
            if item_type == "Inventory" and not ref_value(body.get("AssetAccountRef")):
                raise QboFault(
                    "2020",
                    "Required Param Missing",
                    "Required parameter An inventory asset account is required if you are tracking "
                    "inventory quantities for this product. is missing in the request",
                    element="AssetAccountRef",
                )
            for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
                if field in body:
                    body[field] = self._check_ref(field, "Account", body[field])
        else:
            check_lengths(body, {"Name": 100})
        self._check_unique((entity,), name, old, entity)
        row: JsonDict = {"Active": True}
        if entity in ("Item", "Account", "Class", "Department"):
            row["FullyQualifiedName"] = name
        if entity == "Item":
            row.update(
                {"Taxable": False, "UnitPrice": 0, "TrackQtyOnHand": False, "Level": 0, "SubItem": False}
            )
        if entity == "Account":
            row.update(
                {
                    "SubAccount": False,
                    "CurrentBalance": 0,
                    "CurrentBalanceWithSubAccounts": 0,
                    "CurrencyRef": dict(USD),
                }
            )
        if entity in ("Class", "Department"):
            row["Sub" + entity] = False
        if entity == "Term":
            row.update({"Type": "STANDARD", "DueDays": 0})
        row.update({k: v for k, v in body.items() if k not in ("FullyQualifiedName",)})
        if "FullyQualifiedName" in row:
            row["FullyQualifiedName"] = name
        return row

