"""Per-realm in-memory state behind one lock, with optional SQLite snapshot persistence."""

from __future__ import annotations

import pickle
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Realm:
    """Everything one company holds: rows by entity and id, id counters, tombstones, replay cache."""

    realm_id: str
    rows: dict[str, dict[str, dict]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)
    # entity -> id -> tombstone dict ({"status": "Deleted", ...}) for CDC.
    deleted: dict[str, dict[str, dict]] = field(default_factory=dict)
    voided: set[tuple[str, str]] = field(default_factory=set)
    # requestid -> (status, body bytes, content type, request digest, stored at): replayed byte-for-byte.
    replies: dict[str, tuple[int, bytes, str, str, float]] = field(default_factory=dict)
    # (TxnType, TxnId) -> {payment id: amount applied}; keeps balance updates cheap.
    applied: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def table(self, entity: str) -> dict[str, dict]:
        return self.rows.setdefault(entity, {})

    def new_id(self, entity: str) -> str:
        value = self.next_id.get(entity, 1)
        self.next_id[entity] = value + 1
        return str(value)

    def get(self, entity: str, row_id: object) -> dict | None:
        return self.rows.get(entity, {}).get(str(row_id))


class Store:
    """All realms. Callers hold `lock` for any read-modify-write across rows."""

    def __init__(self, data_dir: str | None = None, seeder=None):
        self.lock = threading.RLock()
        self.realms: dict[str, Realm] = {}
        self.extra: dict[str, object] = {}  # other components' persistent state (tokens)
        self._seeder = seeder
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
                realm = Realm(realm_id)
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
