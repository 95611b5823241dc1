"""Writes and reads of one entity: create, read, full and sparse update, delete and void."""

from __future__ import annotations

import copy

from qbo_sandbox import faults, reference_data
from qbo_sandbox import preferences as prefs
from qbo_sandbox.attachments import Attachments
from qbo_sandbox.faults import invalid_property, meta_time
from qbo_sandbox.names import NamesMixin
from qbo_sandbox.payables import LABELS, PayablesMixin
from qbo_sandbox.payments import PaymentsMixin
from qbo_sandbox.queries import QueriesMixin
from qbo_sandbox.sales import SalesMixin
from qbo_sandbox.schema import (
    COMMON,
    EXPENSE_FORMS,
    NAME_LISTS,
    PAYABLES,
    PEOPLE,
    READ_ONLY_VIA_API,
    SALES_FORMS,
    SINGLETONS,
    TRANSACTIONS,
)
from qbo_sandbox.store import JsonDict
from qbo_sandbox.values import as_int, clean_body, ref_value, row_content


class Operations(QueriesMixin, NamesMixin, SalesMixin, PaymentsMixin, PayablesMixin):
    """Entity operations, each validated by the concern that owns the entity."""

    def read(self, entity: str, row_id: str, include: str = "") -> JsonDict:
        if entity in SINGLETONS:
            row = self.realm.get(entity, "1")
            if row is None:
                raise faults.not_found()
            return row
        if entity == "TaxCode" and row_id in reference_data.PSEUDO_TAX_CODES:
            return self.realm.get(entity, row_id) or {}
        if not row_id.isdigit():
            raise faults.invalid_id(row_id)
        row = self.realm.get(entity, row_id)
        if row is None:
            deleted = row_id in self.realm.deleted.get(entity, {})
            raise faults.not_found(faults.DELETED_DETAIL if deleted else faults.INACTIVE_DETAIL)
        if entity == "Attachable":
            return Attachments(self).with_download_link(row, self.base_url)
        return self._with_includes(entity, row, include)

    def write(
        self,
        entity: str,
        body: object,
        operation: str | None = None,
        include: str | None = None,
        allow_duplicate_docnum: bool = False,
    ) -> JsonDict:
        """Create, update, delete or void; returns the response entity."""
        if not isinstance(body, dict):
            raise invalid_property(
                "Request body must be a JSON object",
                element="",
            )
        operation = (operation or "").lower()
        include = (include or "").lower()
        if entity == "Attachable":
            attachments = Attachments(self)
            if operation == "delete":
                return attachments.delete(clean_body(body))
            return attachments.with_download_link(attachments.create_or_update(clean_body(body)), self.base_url)
        if operation == "delete":
            return self.delete(entity, body)
        if operation == "void" and entity == "BillPayment":
            # Bill payments void through operation=update&include=void only (qbo-payables §3, 3P-CAP).
            raise faults.unsupported("Operation void is not supported.")
        if operation == "void" or (operation == "update" and include == "void"):
            return self.void(entity, body)
        if operation not in ("", "create", "update"):
            raise faults.unsupported(f"Operation {operation} is not supported.")
        body = clean_body(body)
        if entity in READ_ONLY_VIA_API:
            raise faults.unsupported(f"Operation Create/Update is not supported for {entity}.")
        if entity in SINGLETONS:
            return self.update_singleton(entity, body)
        self._check_unknown_fields(entity, body)
        row_id = body.get("Id")
        if row_id not in (None, "") and as_int(row_id) > 0:
            return self.update(entity, body, allow_duplicate_docnum)
        return self.create(entity, body, allow_duplicate_docnum)

    def create(
        self, entity: str, body: JsonDict, allow_duplicate_docnum: bool = False, row_id: str | None = None
    ) -> JsonDict:
        row = self._build(entity, clean_body(body), None, allow_duplicate_docnum)
        row = self._stamp_new(entity, row, row_id=row_id)
        self._commit(entity, row, None)
        return row

    def update(self, entity: str, body: JsonDict, allow_duplicate_docnum: bool = False) -> JsonDict:
        old = self._existing(entity, body)
        self._check_sync_token(entity, old, body)
        if body.get("sparse") is True or str(body.get("sparse")).lower() == "true":
            if entity in EXPENSE_FORMS and ref_value(body.get("VendorRef")) is None:
                raise faults.required("VendorRef")  # even a sparse bill update (3P-CAP, 3P-LAF)
            merged = {k: v for k, v in old.items() if k not in ("MetaData",)}
            merged.update(body)  # Line, when present, replaces all lines (§3.2).
            body = merged
        row = self._build(entity, body, old, allow_duplicate_docnum)
        if row_content(row) == row_content(old):
            return old  # QBO leaves SyncToken and LastUpdatedTime alone when nothing changed (deactivate/*)
        row = self._stamp_update(old, row)
        self._commit(entity, row, old)
        return row

    def update_singleton(self, entity: str, body: JsonDict) -> JsonDict:
        old = self.realm.must(entity, "1")
        self._check_sync_token(entity, old, body)
        if entity == "Preferences":
            self._check_unknown_fields(entity, body)
            merged = prefs.merge_update(old, body)
        else:
            raise faults.unsupported(f"Operation Update is not supported for {entity}.")
        if row_content(merged) == row_content(old):
            return old
        row = self._stamp_update(old, merged)
        self.realm.table(entity)["1"] = row
        return row

    def delete(self, entity: str, body: JsonDict) -> JsonDict:
        if entity not in TRANSACTIONS and entity not in PAYABLES:
            raise faults.unsupported("Operation Delete is not supported.")
        body = clean_body(body)
        old = self._existing(entity, body)
        self._check_sync_token(entity, old, body)
        self._closing_check(old.get("TxnDate"))
        if entity in SALES_FORMS and self.realm.applied.get((entity, old["Id"])):
            raise faults.business(
                f"This {entity} has linked transactions. You must unlink any linked "
                "transactions before deleting it."
            )
        if entity in EXPENSE_FORMS and self.realm.applied.get((entity, old["Id"])):
            # D-BILL's words; the code is not documented, 6000 as for invoices.
            raise faults.business(
                f"You must unlink any linked transactions associated with the {LABELS[entity]} object "
                "before deleting it."
            )
        if entity in ("Payment", "BillPayment"):
            self._apply_payment(old["Id"], [])
        if entity in PAYABLES:
            self._adjust_vendor_balance(old, None, entity)
        else:
            self._adjust_customer_balance(old, None, entity)
        del self.realm.table(entity)[old["Id"]]
        self.realm.voided.discard((entity, old["Id"]))
        self.realm.deleted.setdefault(entity, {})[old["Id"]] = {
            "domain": "QBO",
            "status": "Deleted",
            "Id": old["Id"],
            "MetaData": {"LastUpdatedTime": meta_time()},
        }
        return {"domain": "QBO", "status": "Deleted", "Id": old["Id"]}

    def void(self, entity: str, body: JsonDict) -> JsonDict:
        if entity == "Bill":
            raise faults.unsupported_operation_system_fault()  # Bills cannot be voided, only deleted
        if entity not in ("Invoice", "Payment", "BillPayment"):
            raise faults.unsupported("Operation void is not supported.")
        body = clean_body(body)
        old = self._existing(entity, body)
        self._check_sync_token(entity, old, body)
        self._closing_check(old.get("TxnDate"))
        row = copy.deepcopy(old)
        note = old.get("PrivateNote")
        row["PrivateNote"] = "Voided" if not note else f"Voided - {note}"
        if entity == "Invoice":
            if self.realm.applied.get(("Invoice", old["Id"])):
                raise faults.business(
                    "This invoice has payments applied. Remove the payments before voiding it."
                )
            for line in row.get("Line", []):
                line["Amount"] = 0
                detail = line.get("SalesItemLineDetail")
                if isinstance(detail, dict):
                    detail.pop("Qty", None)
            row["TotalAmt"] = 0
            row["Balance"] = 0
            row["LinkedTxn"] = []
        else:
            self._apply_payment(old["Id"], [])
            row["TotalAmt"] = 0
            if entity == "Payment":
                row["UnappliedAmt"] = 0
            row["Line"] = []
        row = self._stamp_update(old, row)
        self.realm.voided.add((entity, old["Id"]))
        self._commit(entity, row, old)
        return row

    # -- building rows ------------------------------------------------------------------------------------
    def _build(self, entity: str, body: JsonDict, old: JsonDict | None, allow_duplicate_docnum: bool) -> JsonDict:
        body = {k: v for k, v in body.items() if k not in COMMON}
        if entity in PEOPLE:
            return self._build_person(entity, body, old)
        if entity in NAME_LISTS:
            return self._build_named(entity, body, old)
        if entity in SALES_FORMS:
            return self._build_sales_form(entity, body, old, allow_duplicate_docnum)
        if entity == "Payment":
            return self._build_payment(body, old)
        if entity in EXPENSE_FORMS:
            return self._build_expense_form(entity, body, old, allow_duplicate_docnum)
        if entity == "BillPayment":
            return self._build_bill_payment(body, old)
        raise faults.unsupported(f"Operation Create is not supported for {entity}.")

    def _commit(self, entity: str, row: JsonDict, old: JsonDict | None) -> None:
        self.realm.table(entity)[row["Id"]] = row
        if entity in ("Payment", "BillPayment"):
            applications = [
                (link["TxnType"], link["TxnId"], line["Amount"])
                for line in row.get("Line", [])
                for link in line.get("LinkedTxn", [])
            ]
            self._apply_payment(row["Id"], applications)
        if entity in TRANSACTIONS:
            self._adjust_customer_balance(old, row, entity)
        if entity in PAYABLES:
            self._adjust_vendor_balance(old, row, entity)

