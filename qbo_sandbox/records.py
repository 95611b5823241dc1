"""Store and identity: new and updated rows (ids, SyncToken, MetaData), references, unique names."""

from __future__ import annotations

from datetime import date

from qbo_sandbox import faults, reference_data
from qbo_sandbox import preferences as prefs
from qbo_sandbox.faults import QboFault, meta_time
from qbo_sandbox.schema import (
    DELETED_SUFFIX,
    HEADER_REFS,
    NAME_KNOWN,
    NAME_LISTS,
    PAYABLE_KNOWN,
    PAYABLE_REFS,
    PAYABLES,
    PEOPLE,
    TRANSACTIONS,
    TXN_KNOWN,
    TXN_LIMITS,
)
from qbo_sandbox.store import JsonDict, Realm
from qbo_sandbox.values import as_int, check_lengths, company_today, parse_date, ref_value


class CompanyCore:
    """One realm's rows as QBO keeps them, which every concern builds on. The caller holds the store lock."""

    def __init__(self, realm: Realm, base_url: str = "http://127.0.0.1"):
        self.realm = realm
        self.base_url = base_url  # where this sandbox is reached, for links it hands out
        # Rows created earlier in the same batch: QBO does not let later items of that batch see them.
        self._batch_created: set[tuple[str, str]] = set()

    def preferences(self) -> JsonDict:
        return self.realm.must("Preferences", "1")

    def _stamp_new(self, entity: str, row: JsonDict, row_id: str | None = None) -> JsonDict:
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

    def _stamp_update(self, old: JsonDict, row: JsonDict) -> JsonDict:
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

    def _name_of(self, entity: str, row: JsonDict) -> str:
        name = row.get("DisplayName") if entity in PEOPLE or entity == "TaxAgency" else row.get("Name", "")
        return str(name or "")

    @staticmethod
    def _unique_name(entity: str, row: JsonDict) -> str:
        """The name that must be unique: a customer's full name (a job "Parent:Job" may reuse a name)."""
        # Recorded (all/customers): "Jack Doe" is both customer 60 and a job of customer 62.
        if entity == "Customer":
            return str(row.get("FullyQualifiedName") or row.get("DisplayName") or "")
        return str((row.get("DisplayName") if entity in PEOPLE else row.get("Name", "")) or "")

    def _named_ref(self, entity: str, ref: JsonDict) -> JsonDict:
        target = self.realm.get(entity, ref["value"])
        out = {"value": str(ref["value"])}
        if target is not None and self._name_of(entity, target):
            out["name"] = self._name_of(entity, target)
        return out

    def _check_ref(self, field: str, entity: str, ref: object) -> JsonDict | None:
        """Validate a reference: unknown ids -> 2500, inactive targets -> 610 (the inactive detail)."""
        value = ref_value(ref)
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

    def _check_unknown_fields(self, entity: str, body: JsonDict) -> None:
        known: frozenset[str] | set[str] | None = (
            TXN_KNOWN
            if entity in TRANSACTIONS
            else PAYABLE_KNOWN
            if entity in PAYABLES
            else NAME_KNOWN
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

    def _existing(self, entity: str, body: JsonDict) -> JsonDict:
        row_id = body.get("Id")
        if row_id in (None, ""):
            raise faults.required("Id")
        row = self.realm.get(entity, str(as_int(row_id)))
        if row is None:
            deleted = str(row_id) in self.realm.deleted.get(entity, {})
            raise faults.not_found(faults.DELETED_DETAIL if deleted else faults.INACTIVE_DETAIL)
        return row

    def _check_sync_token(self, entity: str, row: JsonDict, body: JsonDict) -> None:
        token = body.get("SyncToken")
        if token in (None, ""):
            raise faults.required("SyncToken")
        if str(as_int(token, "SyncToken")) != row["SyncToken"]:
            raise faults.stale()

    def _closing_check(self, *txn_dates: object) -> None:
        close = self.preferences().get("AccountingInfoPrefs", {}).get("BookCloseDate")
        if not close:
            return
        close_date = date.fromisoformat(close)
        for txn_date in txn_dates:
            if txn_date and parse_date(txn_date, "TxnDate") <= close_date:
                raise faults.period_closed(close)

    def _check_unique(self, entities: tuple[str, ...], name: str, old: JsonDict | None, own: str) -> None:
        wanted = name.strip().lower()
        for entity in entities:
            for row_id, row in self.realm.table(entity).items():
                if entity == own and old is not None and row_id == old["Id"]:
                    continue
                # Inactive names still block: QBO keeps them reserved (documented sandbox decision).
                if (self._unique_name(entity, row) or "").strip().lower() == wanted:
                    raise faults.duplicate_name()

    @staticmethod
    def _lifecycle_name(entity: str, name: str, body: JsonDict, old: JsonDict | None) -> str:
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

    def _txn_header(
        self, entity: str, body: JsonDict, old: JsonDict | None, party: str = "CustomerRef"
    ) -> JsonDict:
        """A transaction's header: its party (customer or vendor) required, TxnDate, closing date, references."""
        check_lengths(body, TXN_LIMITS)
        if party not in body or ref_value(body.get(party)) is None:
            raise faults.required(party)
        txn_date = body.get("TxnDate") or (old or {}).get("TxnDate") or company_today().isoformat()
        body["TxnDate"] = parse_date(txn_date, "TxnDate").isoformat()
        self._closing_check(body["TxnDate"], (old or {}).get("TxnDate"))
        for field, target in (PAYABLE_REFS if party == "VendorRef" else HEADER_REFS).items():
            if field in body:
                checked = self._check_ref(field, target, body[field])
                if checked is None:
                    body.pop(field)
                else:
                    body[field] = checked
        return body
