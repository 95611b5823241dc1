"""Per-realm in-memory state behind one lock, with optional SQLite snapshot persistence."""

from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

JsonDict = dict[str, Any]

# Id sequences QuickBooks shares between entity types. The recordings show it: customers 58-70, vendors
# 56, 57, 61 and 71 and employees 54-55 interleave (all/customers, get/inactive_vendors, batch/basic), and
# estimates 46/48 link invoices 49/69 created after them (cdc/basic): one sequence for names, one for txns.
NAME_LIST_SEQUENCE = ("Customer", "Vendor", "Employee")
TRANSACTION_SEQUENCE = ("Invoice", "Payment", "CreditMemo", "Bill", "BillPayment", "VendorCredit")
# Attachable ids are 19 digits on the wire (attachment/create_for_invoice: 5000000000000503624).
FIRST_ID = {"Attachable": 5000000000000000001}
PROFILES = ("lists", "sample")


def sequence_of(entity: str) -> str:
    """The id sequence an entity draws from."""
    if entity in NAME_LIST_SEQUENCE:
        return "Names"
    if entity in TRANSACTION_SEQUENCE:
        return "Transactions"
    return entity


@dataclass
class Realm:
    """Everything one company holds: rows by entity and id, id counters, tombstones, replay cache."""

    realm_id: str
    profile: str = "lists"
    company_name: str = ""
    multicurrency: bool = False
    rows: dict[str, dict[str, JsonDict]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)
    # entity -> id -> tombstone dict ({"status": "Deleted", ...}) for CDC.
    deleted: dict[str, dict[str, JsonDict]] = field(default_factory=dict)
    voided: set[tuple[str, str]] = field(default_factory=set)
    # requestid -> (status, body bytes, content type, request digest, stored at): replayed byte-for-byte.
    replies: dict[str, tuple[int, bytes, str, str, float]] = field(default_factory=dict)
    # (TxnType, TxnId) -> {payment id: amount applied}; keeps balance updates cheap.
    applied: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    # Attachable id -> uploaded file bytes.
    files: dict[str, bytes] = field(default_factory=dict)

    def __setstate__(self, state: JsonDict) -> None:
        # Snapshots written by an older sandbox lack newer fields; give them their defaults.
        fresh = Realm(str(state.get("realm_id", "")))
        for spec in fields(Realm):
            setattr(self, spec.name, state.get(spec.name, getattr(fresh, spec.name)))

    def table(self, entity: str) -> dict[str, JsonDict]:
        return self.rows.setdefault(entity, {})

    def new_id(self, entity: str) -> str:
        key = sequence_of(entity)
        value = self.next_id.get(key, FIRST_ID.get(entity, 1))
        self.next_id[key] = value + 1
        return str(value)

    def reserve_id(self, entity: str, row_id: str) -> None:
        """Keep the sequence past an id chosen by the seeder (sample data uses Intuit's own ids)."""
        key = sequence_of(entity)
        if row_id.isdigit():
            self.next_id[key] = max(self.next_id.get(key, FIRST_ID.get(entity, 1)), int(row_id) + 1)

    def get(self, entity: str, row_id: object) -> JsonDict | None:
        return self.rows.get(entity, {}).get(str(row_id))

    def must(self, entity: str, row_id: object) -> JsonDict:
        """A row the realm always has once seeded (Preferences, CompanyInfo); KeyError if it does not."""
        row = self.get(entity, row_id)
        if row is None:
            raise KeyError(f"{entity} {row_id}")
        return row


Seeder = Callable[[Realm], None]


class RealmExists(Exception):
    """A realm with that id exists already."""


class Store:
    """All realms. Callers hold `lock` for any read-modify-write across rows."""

    def __init__(
        self,
        data_dir: str | None = None,
        seeder: Seeder | None = None,
        profiles: dict[str, str] | None = None,
    ):
        self.lock = threading.RLock()
        self.realms: dict[str, Realm] = {}
        self.extra: dict[str, object] = {}  # other components' persistent state (tokens)
        self._seeder = seeder
        # Realm id -> profile for realms made on first use with a profile other than "lists".
        self._profiles = dict(profiles or {})
        self._dirty = False
        self._path = Path(data_dir) / "qbo_sandbox.sqlite3" if data_dir else None
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if self._path:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._load()
            # Snapshots are written by a background thread at most once a second, so writes stay fast.
            self._flusher = threading.Thread(target=self._flush_loop, name="qbo-sandbox-flush", daemon=True)
            self._flusher.start()

    def realm(self, realm_id: str) -> Realm:
        """The realm, created and seeded on first use."""
        with self.lock:
            realm = self.realms.get(realm_id)
            if realm is None:
                realm = self._make(realm_id, self._profiles.get(realm_id, "lists"), "", False)
            return realm

    def create(self, realm_id: str, profile: str, company_name: str = "", multicurrency: bool = False) -> Realm:
        """A new realm with the given profile; RealmExists if the id is taken."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
        with self.lock:
            if realm_id in self.realms:
                raise RealmExists(realm_id)
            return self._make(realm_id, profile, company_name, multicurrency)

    def _make(self, realm_id: str, profile: str, company_name: str, multicurrency: bool) -> Realm:
        realm = Realm(realm_id, profile=profile, company_name=company_name, multicurrency=multicurrency)
        self.realms[realm_id] = realm
        if self._seeder:
            self._seeder(realm)
        self._dirty = True
        return realm

    def reset(self, realm_id: str | None = None) -> None:
        with self.lock:
            if realm_id is None:
                self.realms.clear()
            else:
                self.realms.pop(realm_id, None)
            self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    # -- persistence -------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        conn = sqlite3.connect(self._path)
        conn.execute("CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB)")
        return conn

    def _load(self) -> None:
        with self._connect() as conn:
            row = conn.execute("SELECT data FROM snapshot WHERE id = 1").fetchone()
        if row:
            # The file is written only by this process, so unpickling it is trusted.
            state = pickle.loads(row[0])  # noqa: S301
            self.realms = state.get("realms", {})
            self.extra = state.get("extra", {})

    def save(self) -> None:
        if not self._path:
            return
        with self.lock:
            blob = pickle.dumps({"realms": self.realms, "extra": self.extra})
            self._dirty = False
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO snapshot (id, data) VALUES (1, ?)", (blob,))

    def _flush_loop(self) -> None:
        while not self._stop.wait(1.0):
            if self._dirty:
                self.save()

    def close(self) -> None:
        self._stop.set()
        if self._flusher:
            self._flusher.join(timeout=5)
        if self._path:
            self.save()
