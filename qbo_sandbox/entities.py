"""QBO entity semantics: validation, server-computed fields, writes, reads, queries, batch and CDC."""

from __future__ import annotations

import copy
import hashlib
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from qbo_sandbox import faults, query, reference_data, sample_company, seed
from qbo_sandbox import preferences as prefs
from qbo_sandbox.attachments import Attachments
from qbo_sandbox.faults import QboFault, meta_time, now_pacific
from qbo_sandbox.store import Realm

# URL segment -> entity name.
ENTITIES = {
    name.lower(): name
    for name in (
        "Customer",
        "Vendor",
        "Employee",
        "Item",
        "Account",
        "Term",
        "Class",
        "Department",
        "TaxCode",
        "PaymentMethod",
        "Invoice",
        "Payment",
        "CreditMemo",
        "Preferences",
        "CompanyInfo",
        "TaxRate",
        "TaxAgency",
        "CompanyCurrency",
        "ExchangeRate",
        "Attachable",
    )
}
PEOPLE = ("Customer", "Vendor", "Employee")
NAME_LISTS = (
    *PEOPLE,
    "Item",
    "Account",
    "Term",
    "Class",
    "Department",
    "TaxCode",
    "PaymentMethod",
    "TaxRate",
    "TaxAgency",
    "CompanyCurrency",
)
TRANSACTIONS = ("Invoice", "Payment", "CreditMemo")
SALES_FORMS = ("Invoice", "CreditMemo")
SINGLETONS = ("Preferences", "CompanyInfo")
READ_ONLY_VIA_API = reference_data.READ_ONLY

# A query without ORDERBY: name lists by name, the rest by Id.
DEFAULT_ORDER = {
    # Customers sort by full name, so a job follows its parent (recorded all/customers: "Doe, Jack" then its
    # job "Jack Doe", "Freeman Sporting Goods" then "0969 Ocean View Road").
    "Customer": "FullyQualifiedName",
    **{entity: "DisplayName" for entity in ("Vendor", "Employee", "TaxAgency")},
    **{entity: "Name" for entity in NAME_LISTS if entity not in (*PEOPLE, "TaxAgency")},
    "ExchangeRate": "SourceCurrencyCode",
}
USD = {"value": "USD", "name": "United States Dollar"}
DELETED_SUFFIX = " (deleted)"
CENT = Decimal("0.01")

# Fields we know, so a truly unknown top-level property gets the real 2010 fault. The sets are generous:
# python-quickbooks sends every attribute of its objects, and those must never be rejected.
_COMMON = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
_TXN_KNOWN = _COMMON | {
    "DocNumber",
    "HomeTotalAmt",
    "TotalAmt",
    "TxnSource",
    "AllowOnlinePayment",
    "RecurringInfo",
    "EmailStatus",
    "AutoDocNumber",
    "TaxFormNum",
    "TxnDate",
    "FOB",
    "ClassRef",
    "AllowOnlineACHPayment",
    "DepositToAccountRef",
    "AllowOnlineCreditCardPayment",
    "CurrencyRef",
    "InvoiceLink",
    "PONumber",
    "ShipDate",
    "PaymentMethodRef",
    "TrackingNum",
    "TxnTaxDetail",
    "CustomerRef",
    "ShipFromAddr",
    "BillAddr",
    "EInvoiceStatus",
    "RecurDataRef",
    "ApplyTaxAfterDiscount",
    "DepartmentRef",
    "SalesRepRef",
    "ExchangeRate",
    "TaxFormType",
    "BillEmailBcc",
    "BillEmailCc",
    "CustomerMemo",
    "TxnStatus",
    "HomeBalance",
    "PrintStatus",
    "DeliveryInfo",
    "FreeFormAddress",
    "AllowIPNPayment",
    "CustomField",
    "TransactionLocationType",
    "LinkedTxn",
    "PrivateNote",
    "ShipMethodRef",
    "PaymentRefNum",
    "Tag",
    "Line",
    "DueDate",
    "Balance",
    "SalesTermRef",
    "ShipAddr",
    "BillEmail",
    "GlobalTaxCalculation",
    "Deposit",
    "TaxExemptionRef",
    "ProjectRef",
    "ARAccountRef",
    "CreditCardPayment",
    "ProcessPayment",
    "UnappliedAmt",
    "RemainingCredit",
    "InvoiceRef",
}
_NAME_KNOWN = _COMMON | {
    "ARAccountRef",
    "Active",
    "AlternatePhone",
    "Balance",
    "BalanceWithJobs",
    "BillAddr",
    "BillWithParent",
    "CompanyName",
    "CurrencyRef",
    "DefaultTaxCodeRef",
    "DisplayName",
    "FamilyName",
    "Fax",
    "FullyQualifiedName",
    "GivenName",
    "IsProject",
    "Job",
    "Level",
    "MiddleName",
    "Mobile",
    "Notes",
    "OpenBalanceDate",
    "ParentRef",
    "PaymentMethodRef",
    "PreferredDeliveryMethod",
    "PrimaryEmailAddr",
    "PrimaryPhone",
    "PrimaryTaxIdentifier",
    "PrintOnCheckName",
    "ResaleNum",
    "SalesTermRef",
    "ShipAddr",
    "Suffix",
    "Taxable",
    "Title",
    "WebAddr",
    "APAccountRef",
    "AcctNum",
    "BillRate",
    "TaxIdentifier",
    "TaxReportingBasis",
    "TermRef",
    "Vendor1099",
    "BillableTime",
    "BirthDate",
    "CostRate",
    "EmailAddress",
    "EmployeeNumber",
    "Gender",
    "HiredDate",
    "Organization",
    "PrimaryAddr",
    "ReleasedDate",
    "SSN",
    "AbatementRate",
    "AssetAccountRef",
    "Description",
    "ExpenseAccountRef",
    "IncomeAccountRef",
    "InvStartDate",
    "ItemCategoryType",
    "Name",
    "PurchaseCost",
    "PurchaseDesc",
    "PurchaseTaxCodeRef",
    "PurchaseTaxIncluded",
    "QtyOnHand",
    "ReverseChargeRate",
    "SalesTaxCodeRef",
    "SalesTaxIncluded",
    "ServiceType",
    "Sku",
    "SubItem",
    "TrackQtyOnHand",
    "Type",
    "UnitPrice",
    "AccountSubType",
    "AccountType",
    "Classification",
    "CurrentBalance",
    "CurrentBalanceWithSubAccounts",
    "SubAccount",
    "TaxCodeRef",
    "DayOfMonthDue",
    "DiscountDayOfMonth",
    "DiscountDays",
    "DiscountPercent",
    "DueDays",
    "DueNextMonthDays",
    "SubClass",
    "SubDepartment",
    "PurchaseTaxRateList",
    "SalesTaxRateList",
    "TaxGroup",
    "OtherAddr",
    "SecondaryTaxIdentifier",
    "TaxExemptionReasonId",
    "BusinessNumber",
    "GSTIN",
    "GSTRegistrationType",
    "Source",
    "ClientEntityId",
    "V4IDPseudonym",
    "CustomerTypeRef",
    "ClassRef",
    "DepartmentRef",
}

# Field -> max length (the QBO API reference values; §5.2).
_PEOPLE_LIMITS = {
    "DisplayName": 500,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Title": 16,
    "Suffix": 16,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
    "PrimaryEmailAddr.Address": 100,
    "PrimaryPhone.FreeFormNumber": 30,
}
_ITEM_LIMITS = {"Name": 100, "Description": 4000, "PurchaseDesc": 1000, "Sku": 100}
_TXN_LIMITS = {
    "DocNumber": 21,
    "PrivateNote": 4000,
    "CustomerMemo.value": 1000,
    "BillEmail.Address": 100,
    "PaymentRefNum": 21,
}

# Entity name -> (Ref field, referenced entity) checked on transactions.
_HEADER_REFS = {
    "CustomerRef": "Customer",
    "SalesTermRef": "Term",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "PaymentMethodRef": "PaymentMethod",
    "DepositToAccountRef": "Account",
    "ARAccountRef": "Account",
}


def money(value: object, field: str = "Amount") -> Decimal:
    """Parse an amount sent as a number or a numeric string (python-quickbooks use_decimal)."""
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:Can not construct instance of java.math.BigDecimal from String value "
            f"'{value}' specified is unsupported or invalid",
            element=field,
        ) from None


def num(value: Decimal) -> float | int:
    return float(value)


def clean(value: object) -> object:
    """Drop "" and None recursively: python-quickbooks sends "" for every unset date, amount and name."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


def _get_path(body: dict, path: str) -> object:
    current: object = body
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _check_lengths(body: dict, limits: dict[str, int]) -> None:
    for path, limit in limits.items():
        value = _get_path(body, path)
        if isinstance(value, str) and len(value) > limit:
            raise faults.string_length(path.split(".")[0], limit, len(value))


def _ref_value(ref: object) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("value")
        return None if value in (None, "") else str(value)
    return None


def _parse_date(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{field} specified is unsupported or invalid",
            element=field,
        ) from None


def _content(row: dict) -> dict:
    """A row without its server bookkeeping, to tell a real change from a no-op write."""
    return {k: v for k, v in row.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")}


def _today() -> date:
    return now_pacific().date()


def _as_int(value: object, field: str = "Id") -> int:
    try:
        return int(str(value))
    except ValueError:
        if field == "Id":
            raise faults.invalid_id(str(value)) from None
        raise QboFault(
            "2010",
            "Request has invalid or unsupported property",
            f"Property Name:{field} specified is unsupported or invalid",
            element=field,
        ) from None


class Company:
    """Operations on one realm. The caller holds the store lock."""

    def __init__(self, realm: Realm, base_url: str = "http://127.0.0.1"):
        self.realm = realm
        self.base_url = base_url  # where this sandbox is reached, for links it hands out
        # Rows created earlier in the same batch: QBO does not let later items of that batch see them.
        self._batch_created: set[tuple[str, str]] = set()

    # -- seeding -----------------------------------------------------------------------------------------
    @staticmethod
    def seed(realm: Realm) -> None:
        """Fill a new realm: the lists company, or Intuit's sample company with its transactions."""
        company = Company(realm)
        sample = realm.profile == "sample"
        name = realm.company_name or (sample_company.COMPANY_NAME if sample else seed.COMPANY_NAME)
        realm.company_name = name
        preferences = sample_company.preferences() if sample else seed.preferences(name)
        preferences["CurrencyPrefs"]["MultiCurrencyEnabled"] = realm.multicurrency
        realm.table("Preferences")["1"] = company._stamp_new("Preferences", preferences, row_id="1")
        realm.table("CompanyInfo")["1"] = company._stamp_new("CompanyInfo", seed.company_info(name), row_id="1")
        today = _today()
        reference = {**reference_data.tax_rows(), **reference_data.currency_rows(realm.multicurrency, str(today))}
        for entity, rows in reference.items():
            for row in rows:
                key = reference_data.exchange_rate_key(row) if entity == "ExchangeRate" else row["Id"]
                realm.table(entity)[key] = row
                realm.reserve_id(entity, key)
        if sample:
            for entity, row_id, body in sample_company.lists():
                company.create(entity, body, row_id=row_id)
            for entity, row_id in sample_company.inactive():
                row = realm.get(entity, row_id)
                assert row is not None
                company.update(entity, {"Id": row_id, "SyncToken": row["SyncToken"], "sparse": True, "Active": False})
            sample_company.seed_transactions(lambda entity, body: company.create(entity, body), today)
            return
        for entity, bodies in seed.seed_rows().items():
            for body in bodies:
                company.create(entity, body)

    # -- helpers -----------------------------------------------------------------------------------------
    def preferences(self) -> dict:
        return self.realm.get("Preferences", "1")

    def _stamp_new(self, entity: str, row: dict, row_id: str | None = None) -> dict:
        stamp = meta_time()
        row = dict(row)
        if row_id is not None:
            self.realm.reserve_id(entity, row_id)
        row.update(
            {
                "domain": "QBO",
                "sparse": False,
                "Id": row_id or self.realm.new_id(entity),
                "SyncToken": "0",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            }
        )
        return row

    def _stamp_update(self, old: dict, row: dict) -> dict:
        row = dict(row)
        row.update(
            {
                "domain": "QBO",
                "sparse": False,
                "Id": old["Id"],
                "SyncToken": str(int(old["SyncToken"]) + 1),
                "MetaData": {"CreateTime": old["MetaData"]["CreateTime"], "LastUpdatedTime": meta_time()},
            }
        )
        return row

    def _name_of(self, entity: str, row: dict) -> str:
        return row.get("DisplayName") if entity in PEOPLE or entity == "TaxAgency" else row.get("Name", "")

    @staticmethod
    def _unique_name(entity: str, row: dict) -> str:
        """The name that must be unique: a customer's full name (a job "Parent:Job" may reuse a name)."""
        # Recorded (all/customers): "Jack Doe" is both customer 60 and a job of customer 62.
        if entity == "Customer":
            return row.get("FullyQualifiedName") or row.get("DisplayName") or ""
        return row.get("DisplayName") if entity in PEOPLE else row.get("Name", "")

    def _named_ref(self, entity: str, ref: dict) -> dict:
        target = self.realm.get(entity, ref["value"])
        out = {"value": str(ref["value"])}
        if target is not None and self._name_of(entity, target):
            out["name"] = self._name_of(entity, target)
        return out

    def _check_ref(self, field: str, entity: str, ref: object) -> dict | None:
        """Validate a reference: unknown ids -> 2500, inactive targets -> 610 (the inactive detail)."""
        value = _ref_value(ref)
        if value is None:
            return None
        if entity == "TaxCode" and value in reference_data.PSEUDO_TAX_CODES:
            return {"value": value}
        target = self.realm.get(entity, value)
        if target is None or (entity, value) in self._batch_created:
            kind = "Names" if entity in PEOPLE else entity
            raise faults.invalid_reference(field, kind, value)
        if target.get("Active") is False:
            raise faults.not_found()
        return self._named_ref(entity, {"value": value})

    def _check_unknown_fields(self, entity: str, body: dict) -> None:
        known: frozenset[str] | set[str] | None = (
            _TXN_KNOWN
            if entity in TRANSACTIONS
            else _NAME_KNOWN
            if entity in NAME_LISTS
            else prefs.KNOWN_KEYS
            if entity == "Preferences"
            else None
        )
        if known is None:
            return
        for key in body:
            if key not in known:
                names = ", ".join(f'"{k}"' for k in sorted(known))
                raise QboFault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f'Property Name:Unrecognized field "{key}" '
                    f"(class com.intuit.schema.finance.v3.{entity}), "
                    f"not marked as ignorable ({len(known)} known properties: {names}])\n "
                    "specified is unsupported or invalid",
                )

    def _existing(self, entity: str, body: dict) -> dict:
        row_id = body.get("Id")
        if row_id in (None, ""):
            raise faults.required("Id")
        row = self.realm.get(entity, str(_as_int(row_id)))
        if row is None:
            deleted = str(row_id) in self.realm.deleted.get(entity, {})
            raise faults.not_found(faults.DELETED_DETAIL if deleted else faults.INACTIVE_DETAIL)
        return row

    def _check_sync_token(self, entity: str, row: dict, body: dict) -> None:
        token = body.get("SyncToken")
        if token in (None, ""):
            raise faults.required("SyncToken")
        if str(_as_int(token, "SyncToken")) != row["SyncToken"]:
            raise faults.stale()

    def _closing_check(self, *txn_dates: object) -> None:
        close = self.preferences().get("AccountingInfoPrefs", {}).get("BookCloseDate")
        if not close:
            return
        close_date = date.fromisoformat(close)
        for txn_date in txn_dates:
            if txn_date and _parse_date(txn_date, "TxnDate") <= close_date:
                raise faults.period_closed(close)

    # -- public operations --------------------------------------------------------------------------------
    def read(self, entity: str, row_id: str, include: str = "") -> dict:
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

    def _with_includes(self, entity: str, row: dict, include: str) -> dict:
        """`include=invoiceLink`: an invoice that can be paid online and has a billing email gets its link."""
        if entity != "Invoice" or "invoicelink" not in include.lower():
            return row
        online = row.get("AllowOnlineCreditCardPayment") or row.get("AllowOnlineACHPayment")
        if not online or not _get_path(row, "BillEmail.Address"):
            return row
        token = hashlib.sha256(f"{self.realm.realm_id}/{row['Id']}".encode()).hexdigest()[:32]
        # The shape Intuit's sandbox answers (its payment page is not served there); no one fetches it.
        return {**row, "InvoiceLink": f"https://developer.intuit.com/comingSoonview/scs-v1-{token}?locale=EN_US"}

    def write(
        self,
        entity: str,
        body: object,
        operation: str | None = None,
        include: str | None = None,
        allow_duplicate_docnum: bool = False,
    ) -> dict:
        """Create, update, delete or void; returns the response entity."""
        if not isinstance(body, dict):
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
                "Request body must be a JSON object",
                element="",
            )
        operation = (operation or "").lower()
        include = (include or "").lower()
        if entity == "Attachable":
            attachments = Attachments(self)
            if operation == "delete":
                return attachments.delete(clean(body))
            return attachments.with_download_link(attachments.create_or_update(clean(body)), self.base_url)
        if operation == "delete":
            return self.delete(entity, body)
        if operation == "void" or (operation == "update" and include == "void"):
            return self.void(entity, body)
        if operation not in ("", "create", "update"):
            raise faults.unsupported(f"Operation {operation} is not supported.")
        body = clean(body)
        if entity in READ_ONLY_VIA_API:
            raise faults.unsupported(f"Operation Create/Update is not supported for {entity}.")
        if entity in SINGLETONS:
            return self.update_singleton(entity, body)
        self._check_unknown_fields(entity, body)
        row_id = body.get("Id")
        if row_id not in (None, "") and _as_int(row_id) > 0:
            return self.update(entity, body, allow_duplicate_docnum)
        return self.create(entity, body, allow_duplicate_docnum)

    def create(
        self, entity: str, body: dict, allow_duplicate_docnum: bool = False, row_id: str | None = None
    ) -> dict:
        row = self._build(entity, clean(body), None, allow_duplicate_docnum)
        row = self._stamp_new(entity, row, row_id=row_id)
        self._commit(entity, row, None)
        return row

    def update(self, entity: str, body: dict, allow_duplicate_docnum: bool = False) -> dict:
        old = self._existing(entity, body)
        self._check_sync_token(entity, old, body)
        if body.get("sparse") is True or str(body.get("sparse")).lower() == "true":
            merged = {k: v for k, v in old.items() if k not in ("MetaData",)}
            merged.update(body)  # Line, when present, replaces all lines (§3.2).
            body = merged
        row = self._build(entity, body, old, allow_duplicate_docnum)
        if _content(row) == _content(old):
            return old  # QBO leaves SyncToken and LastUpdatedTime alone when nothing changed (deactivate/*)
        row = self._stamp_update(old, row)
        self._commit(entity, row, old)
        return row

    def update_singleton(self, entity: str, body: dict) -> dict:
        old = self.realm.get(entity, "1")
        self._check_sync_token(entity, old, body)
        if entity == "Preferences":
            self._check_unknown_fields(entity, body)
            merged = prefs.merge_update(old, body)
        else:
            raise faults.unsupported(f"Operation Update is not supported for {entity}.")
        if _content(merged) == _content(old):
            return old
        row = self._stamp_update(old, merged)
        self.realm.table(entity)["1"] = row
        return row

    def delete(self, entity: str, body: dict) -> dict:
        if entity not in TRANSACTIONS:
            raise faults.unsupported("Operation Delete is not supported.")
        body = clean(body)
        old = self._existing(entity, body)
        self._check_sync_token(entity, old, body)
        self._closing_check(old.get("TxnDate"))
        if entity in SALES_FORMS and self.realm.applied.get((entity, old["Id"])):
            raise faults.business(
                f"This {entity} has linked transactions. You must unlink any linked "
                "transactions before deleting it."
            )
        if entity == "Payment":
            self._apply_payment(old["Id"], [])
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

    def void(self, entity: str, body: dict) -> dict:
        if entity not in ("Invoice", "Payment"):
            raise faults.unsupported("Operation void is not supported.")
        body = clean(body)
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
            row["UnappliedAmt"] = 0
            row["Line"] = []
        row = self._stamp_update(old, row)
        self.realm.voided.add((entity, old["Id"]))
        self._commit(entity, row, old)
        return row

    # -- building rows ------------------------------------------------------------------------------------
    def _build(self, entity: str, body: dict, old: dict | None, allow_duplicate_docnum: bool) -> dict:
        body = {k: v for k, v in body.items() if k not in _COMMON}
        if entity in PEOPLE:
            return self._build_person(entity, body, old)
        if entity in NAME_LISTS:
            return self._build_named(entity, body, old)
        if entity in SALES_FORMS:
            return self._build_sales_form(entity, body, old, allow_duplicate_docnum)
        if entity == "Payment":
            return self._build_payment(body, old)
        raise faults.unsupported(f"Operation Create is not supported for {entity}.")

    def _check_unique(self, entities: tuple[str, ...], name: str, old: dict | None, own: str) -> None:
        wanted = name.strip().lower()
        for entity in entities:
            for row_id, row in self.realm.table(entity).items():
                if entity == own and old is not None and row_id == old["Id"]:
                    continue
                # Inactive names still block: QBO keeps them reserved (documented sandbox decision).
                if (self._unique_name(entity, row) or "").strip().lower() == wanted:
                    raise faults.duplicate_name()

    @staticmethod
    def _lifecycle_name(entity: str, name: str, body: dict, old: dict | None) -> str:
        """The name after an (in)activation: people and accounts gain or lose the " (deleted)" suffix."""
        # Evidence: recorded deactivate/employee and deactivate/account. The rename frees the plain name.
        # Items and the other lists keep their name (no evidence of a rename), so it stays reserved.
        if entity not in (*PEOPLE, "Account"):
            return name
        was_active = old is None or old.get("Active", True) is not False
        active = body.get("Active", True) is not False
        if was_active and not active and not name.endswith(DELETED_SUFFIX):
            return name + DELETED_SUFFIX
        if active and not was_active:
            return name.removesuffix(DELETED_SUFFIX)
        return name

    def _build_person(self, entity: str, body: dict, old: dict | None) -> dict:
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
        _check_lengths(body, _PEOPLE_LIMITS)
        email = _get_path(body, "PrimaryEmailAddr.Address")
        if email and ("@" not in email or "." not in email):
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
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
        row: dict = {"Active": True, "CurrencyRef": dict(USD), "PrintOnCheckName": body["DisplayName"]}
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
            default = _get_path(self.preferences(), "TaxPrefs.TaxGroupCodeRef")
            if isinstance(default, dict) and default.get("value"):
                row["DefaultTaxCodeRef"] = {"value": str(default["value"])}
        for addr in ("BillAddr", "ShipAddr", "PrimaryAddr"):
            if isinstance(row.get(addr), dict) and "Id" not in row[addr]:
                # QBO gives every stored address its own id.
                row[addr] = {"Id": self.realm.new_id("PhysicalAddress"), **row[addr]}
        return row

    def _place_job(self, body: dict, old: dict | None) -> None:
        """A customer's place in the customer:job tree: Job, Level and the "Parent:Job" full name."""
        parent_id = _ref_value(body.get("ParentRef"))
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

    def _descends_from(self, customer: dict, ancestor_id: str) -> bool:
        seen = 0
        while customer is not None and seen < 10:
            parent_id = _ref_value(customer.get("ParentRef"))
            if parent_id == ancestor_id:
                return True
            customer = self.realm.get("Customer", parent_id) if parent_id else None
            seen += 1
        return False

    def _build_named(self, entity: str, body: dict, old: dict | None) -> dict:
        if not body.get("Name"):
            raise faults.required("Name")
        body["Name"] = str(body["Name"])
        name = body["Name"] = self._lifecycle_name(entity, body["Name"], body, old)
        if entity == "Item":
            _check_lengths(body, _ITEM_LIMITS)
            item_type = body.get("Type") or (old or {}).get("Type")
            if not item_type:
                raise faults.required("Type")
            body["Type"] = item_type
            if item_type in ("Service", "Inventory", "NonInventory") and not _ref_value(
                body.get("IncomeAccountRef")
            ):
                raise QboFault(
                    "2020",
                    "Required Param Missing",
                    "Required parameter An income account is required for this item type. is missing "
                    "in the request",
                    element="IncomeAccountRef",
                )
            if item_type == "Inventory" and not _ref_value(body.get("AssetAccountRef")):
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
            _check_lengths(body, {"Name": 100})
        self._check_unique((entity,), name, old, entity)
        row: dict = {"Active": True}
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

    def _custom_fields(self, given: list | None) -> list[dict]:
        names = prefs.sales_custom_field_names(self.preferences())
        values = {}
        for field in given or []:
            if isinstance(field, dict) and field.get("DefinitionId"):
                values[str(field["DefinitionId"])] = field.get("StringValue")
        out = []
        for def_id in sorted(names):
            entry = {"DefinitionId": def_id, "Name": names[def_id], "Type": "StringType"}
            if values.get(def_id):
                entry["StringValue"] = values[def_id]
            out.append(entry)
        return out

    def _build_lines(self, lines: object, old: dict | None) -> tuple[list[dict], Decimal]:
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
            _check_lengths(line, {"Description": 4000})
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
                raise QboFault(
                    "2010",
                    "Request has invalid or unsupported property",
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

    def _check_doc_number(self, entity: str, body: dict, old: dict | None, allow_duplicate: bool) -> None:
        custom = self.preferences().get("SalesFormsPrefs", {}).get("CustomTxnNumbers", True)
        doc = body.get("DocNumber")
        if doc is not None:
            doc = str(doc)
            body["DocNumber"] = doc
            _check_lengths(body, {"DocNumber": 21})
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

    def _txn_header(self, entity: str, body: dict, old: dict | None) -> dict:
        _check_lengths(body, _TXN_LIMITS)
        if "CustomerRef" not in body or _ref_value(body.get("CustomerRef")) is None:
            raise faults.required("CustomerRef")
        txn_date = body.get("TxnDate") or (old or {}).get("TxnDate") or _today().isoformat()
        body["TxnDate"] = _parse_date(txn_date, "TxnDate").isoformat()
        self._closing_check(body["TxnDate"], (old or {}).get("TxnDate"))
        for field, target in _HEADER_REFS.items():
            if field in body:
                checked = self._check_ref(field, target, body[field])
                if checked is None:
                    body.pop(field)
                else:
                    body[field] = checked
        return body

    def _build_sales_form(self, entity: str, body: dict, old: dict | None, allow_duplicate: bool) -> dict:
        body = self._txn_header(entity, body, old)
        self._check_doc_number(entity, body, old, allow_duplicate)
        lines, total = self._build_lines(body.get("Line"), old)
        customer = self.realm.get("Customer", body["CustomerRef"]["value"])
        row: dict = {}
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
            (Decimal(str(a)) for a in self.realm.applied.get((entity, (old or {}).get("Id")), {}).values()),
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
                term = self.realm.get("Term", _ref_value(term_ref)) if term_ref else None
                days = int((term or {}).get("DueDays", 0) or 0)
                row["DueDate"] = (date.fromisoformat(row["TxnDate"]) + timedelta(days=days)).isoformat()
            row["LinkedTxn"] = [
                {"TxnId": pid, "TxnType": "Payment"}
                for pid in self.realm.applied.get((entity, (old or {}).get("Id")), {})
            ]
        else:
            row["RemainingCredit"] = row["Balance"]
        return row

    def _build_payment(self, body: dict, old: dict | None) -> dict:
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
                raise QboFault(
                    "2010",
                    "Request has invalid or unsupported property",
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

    # -- committing and derived balances ------------------------------------------------------------------
    def _commit(self, entity: str, row: dict, old: dict | None) -> None:
        self.realm.table(entity)[row["Id"]] = row
        if entity == "Payment":
            applications = [
                (link["TxnType"], link["TxnId"], line["Amount"])
                for line in row.get("Line", [])
                for link in line.get("LinkedTxn", [])
            ]
            self._apply_payment(row["Id"], applications)
        if entity in TRANSACTIONS:
            self._adjust_customer_balance(old, row, entity)

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
            else:
                target["RemainingCredit"] = target["Balance"]
            # A payment changes the invoice's balance but not its SyncToken; CDC still sees the change.
            target["MetaData"] = {**target["MetaData"], "LastUpdatedTime": meta_time()}
            self._adjust_customer_balance(before, target, txn_type)

    @staticmethod
    def _contribution(row: dict | None, entity: str) -> tuple[str | None, Decimal]:
        if row is None:
            return None, Decimal(0)
        customer = _ref_value(row.get("CustomerRef"))
        if entity == "Invoice":
            return customer, Decimal(str(row.get("Balance", 0)))
        if entity == "CreditMemo":
            return customer, -Decimal(str(row.get("Balance", 0)))
        return customer, -Decimal(str(row.get("UnappliedAmt", 0)))

    def _adjust_customer_balance(self, old: dict | None, new: dict | None, entity: str) -> None:
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
                parent_id = _ref_value(customer.get("ParentRef"))
                customer = self.realm.get("Customer", parent_id) if parent_id else None
                depth += 1

    # -- queries, CDC, batch -------------------------------------------------------------------------------
    def resolve_entity(self, name: str) -> str:
        entity = ENTITIES.get(name.lower())
        if entity is None:
            raise faults.query_invalid(f"invalid context declaration: {name}")
        return entity

    def query(self, text: str, include: str = "") -> dict:
        parsed = query.parse(text)
        entity = self.resolve_entity(parsed.entity)
        rows = list(self.realm.table(entity).values())
        if entity in NAME_LISTS and not parsed.filters_field("Active"):
            rows = [row for row in rows if row.get("Active", True) is not False]
        order = "Id" if parsed.picks_ids() else DEFAULT_ORDER.get(entity, "Id")
        page, total = query.evaluate(parsed, rows, order)
        if parsed.count:
            return {"totalCount": total}
        if not page:
            return {}
        if entity == "Attachable":
            attachments = Attachments(self)
            page = [attachments.with_download_link(row, self.base_url) for row in page]
        elif include:
            page = [self._with_includes(entity, row, include) for row in page]
        return {entity: page, "startPosition": parsed.start_position, "maxResults": len(page)}

    def exchange_rate(self, source: str, as_of: str | None) -> dict:
        """GET /exchangerate?sourcecurrencycode=…[&asofdate=…]: the rate in force on that date."""
        if not self.preferences().get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"):
            raise faults.business("Multicurrency is not enabled for this company.")
        if not source:
            raise faults.required("sourcecurrencycode")
        day = _parse_date(as_of, "asofdate").isoformat() if as_of else _today().isoformat()
        rate = reference_data.best_rate(list(self.realm.table("ExchangeRate").values()), source, day)
        if rate is None:
            raise faults.not_found()
        return rate

    def cdc(self, entities: str, changed_since: str, limit: int = 1000) -> list[dict]:
        since = query.parse_moment(changed_since or "")
        if not changed_since:
            raise faults.required("changedSince")
        if since is None:
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
                f"Property Name:changedSince {changed_since} specified is unsupported or invalid",
                element="changedSince",
            )
        names = [self.resolve_entity(name.strip()) for name in (entities or "").split(",") if name.strip()]
        if not names:
            raise faults.required("entities")
        results, budget = [], limit
        for entity in names:
            changed = [
                r
                for r in self.realm.table(entity).values()
                if query.parse_moment(r["MetaData"]["LastUpdatedTime"]) >= since
            ]
            changed.sort(key=lambda r: query.parse_moment(r["MetaData"]["LastUpdatedTime"]))
            gone = [
                t
                for t in self.realm.deleted.get(entity, {}).values()
                if query.parse_moment(t["MetaData"]["LastUpdatedTime"]) >= since
            ]
            gone.sort(key=lambda t: query.parse_moment(t["MetaData"]["LastUpdatedTime"]))
            objects = (changed + gone)[: max(budget, 0)]
            budget -= len(objects)
            if objects:
                group = {entity: objects, "startPosition": 1, "maxResults": len(objects)}
                if any(obj.get("status") == "Deleted" for obj in objects):
                    # Intuit's documented sample carries totalCount only on the group holding tombstones.
                    group["totalCount"] = len(objects)
                results.append(group)
            else:
                results.append({})
        return [{"QueryResponse": results}]

    def batch(self, items: object) -> list[dict]:
        if not isinstance(items, list):
            raise faults.required("BatchItemRequest")
        if len(items) > 30:
            raise QboFault(
                "1040",
                "Batch size exceeds allowed limit",
                f"Batch size exceeds allowed limit. Max allowed: 30, supplied: {len(items)}",
                element="",
            )
        responses = []
        self._batch_created = set()
        try:
            for item in items:
                bid = item.get("bId") if isinstance(item, dict) else None
                try:
                    result = self._batch_item(item)
                except QboFault as fault:
                    responses.append({"Fault": fault.fault_dict(), "bId": bid})
                    continue
                responses.append({**result, "bId": bid})
                entity, row = next(iter(result.items()))
                if isinstance(item, dict) and (item.get("operation") or "create") == "create" and "Id" in row:
                    self._batch_created.add((entity, row["Id"]))
        finally:
            self._batch_created = set()
        return responses

    def _batch_item(self, item: object) -> dict:
        if not isinstance(item, dict):
            raise faults.required("BatchItemRequest")
        if "Query" in item:
            return {"QueryResponse": self.query(str(item["Query"]))}
        entity_keys = [k for k in item if k.lower() in ENTITIES]
        if len(entity_keys) != 1:
            unknown = [k for k in item if k not in ("bId", "operation", "optionsData")]
            raise faults.unsupported(f"Operation {', '.join(unknown) or 'batch item'} is not supported.")
        entity = ENTITIES[entity_keys[0].lower()]
        operation = (item.get("operation") or "create").lower()
        options = str(item.get("optionsData") or "").lower()
        if operation == "update" and options == "void":
            result = self.void(entity, item[entity_keys[0]])
        else:
            result = self.write(entity, item[entity_keys[0]], operation=operation)
        return {entity: result}

    # -- inspection and planting ---------------------------------------------------------------------------
    def count(self, entity: str, filters: dict[str, str]) -> int:
        total = 0
        for row in self.realm.table(entity).values():
            if all(
                str(query.field_value(row, k) or "").strip().lower() == v.strip().lower()
                for k, v in filters.items()
            ):
                total += 1
        return total

    def duplicates(self, entity: str, fields: list[str] | str = "DocNumber") -> list[dict]:
        """Groups of rows sharing the values of `fields` (names compared trimmed and case-insensitively).

        Deleted rows are gone; inactive ones count, since a twin made inactive is still a twin.
        """
        names = [fields] if isinstance(fields, str) else list(fields)
        seen: dict[tuple[str, ...], list[dict]] = {}
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

    def open_balances(self) -> dict:
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

    def find_by_name(self, entity: str, name: str) -> dict | None:
        wanted = name.strip().lower()
        return next(
            (
                r
                for r in self.realm.table(entity).values()
                if (self._name_of(entity, r) or "").strip().lower() == wanted
            ),
            None,
        )

    def plant(self, spec: dict) -> dict:
        """Create conflict fixtures the console's demo needs, without the sandbox knowing the demo book."""
        result: dict = {
            "vendors": [],
            "customers": [],
            "items": [],
            "invoices": [],
            "inactive_items": [],
            "errors": [],
        }

        def attempt(kind: str, label: str, action):
            try:
                return action()
            except QboFault as fault:
                result["errors"].append(
                    {"kind": kind, "name": label, "code": fault.code, "detail": fault.detail}
                )
                return None

        for name in spec.get("vendors", []):
            row = attempt("vendor", name, lambda n=name: self.create("Vendor", {"DisplayName": n}))
            if row:
                result["vendors"].append(row["Id"])
        income = self.find_by_name("Account", "Services")
        for name in spec.get("items", []):
            body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}}
            row = attempt("item", name, lambda b=body: self.create("Item", b))
            if row:
                result["items"].append(row["Id"])
        for name in spec.get("customers", []):
            row = attempt("customer", name, lambda n=name: self.create("Customer", {"DisplayName": n}))
            if row:
                result["customers"].append(row["Id"])
        service = self.find_by_name("Item", "Services")
        for invoice in spec.get("invoices", []):
            customer = self.find_by_name("Customer", invoice["CustomerName"])
            if customer is None:
                customer = attempt(
                    "customer",
                    invoice["CustomerName"],
                    lambda n=invoice["CustomerName"]: self.create("Customer", {"DisplayName": n}),
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
                lambda b=body: self.create("Invoice", b, allow_duplicate_docnum=True),
            )
            if row:
                result["invoices"].append(row["Id"])
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
            new_prefs.setdefault("AccountingInfoPrefs", {})["BookCloseDate"] = _parse_date(
                spec["closing_date"], "closing_date"
            ).isoformat()
            self.realm.table("Preferences")["1"] = self._stamp_update(prefs, new_prefs)
            result["closing_date"] = new_prefs["AccountingInfoPrefs"]["BookCloseDate"]
        return result
