"""The engine: plan, look up, batch, push, and record each outcome — every record reaches QuickBooks once."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.entities.registry import ENTITIES, spec_for
from qbcore.errors import ErrorKind, MappingError, QboCallError, QboError
from qbcore.mapping.common import hash_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import Customer, EntityType, SyncRecord, SyncStatus
from qbcore.qbo.faults import classify_local, docnumber_clash, inactive_reference
from qbcore.qbo.gateway import BATCH_MAX, QboGateway
from qbcore.qbo.response import fault_error
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.settings import SyncSettings, load_settings
from qbcore.sync.context import (
    NameLists,
    build_refs,
    ensure_branch_refs,
    load_billing_rows,
    read_name_lists,
)
from qbcore.sync.plan import Phase, plan_sync
from qbcore.sync.requestids import batch_item_id, batch_request_id, is_current, make_request_id
from qbcore.sync.steps import (
    MAPPING_PREFIXES,
    Send,
    commit_request_ids,
    record_blocked,
    record_failed,
    record_synced,
    record_unchanged,
)

# Statuses the engine never touches: someone decided these must not sync.
HANDS_OFF = (SyncStatus.CLEARED.value, SyncStatus.PAID_OUTSIDE.value)
RETRY_ROUNDS = 2

Progress = Callable[["SyncSummary"], None]


@dataclass(frozen=True)
class SyncSummary:
    """What a run did: counts per outcome and per error kind, whether it paused, and its cost in requests."""

    total: int
    synced: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    paused: bool = False
    stopped: bool = False
    requests: int = 0
    seconds: float = 0.0

    @property
    def done(self) -> int:
        """Records with an outcome so far."""
        return self.synced + self.failed + self.blocked + self.skipped

    def job_counts(self) -> dict[str, Any]:
        """The counts a sync job's row keeps."""
        return {
            "total": max(self.total, self.done),
            "done": self.done, "succeeded": self.synced + self.skipped,
            "failed": self.failed + self.blocked,
            "summary": {"by_kind": self.by_kind, "blocked": self.blocked, "skipped": self.skipped,
                        "requests": self.requests, "seconds": round(self.seconds, 2), "paused": self.paused},
        }


class _Tally:
    """Thread-safe running counts, reported through the progress callback."""

    def __init__(self, total: int, progress: Progress | None, gateway: QboGateway) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.total = total
        self.progress = progress
        self.gateway = gateway
        self.started = time.perf_counter()
        self.paused = False
        self.stopped = False

    def add(self, outcome: str, kind: str | None = None) -> None:
        with self.lock:
            self.counts[outcome] += 1
            if kind:
                self.kinds[kind] += 1
            summary = self.summary()
        if self.progress is not None:
            self.progress(summary)

    def summary(self) -> SyncSummary:
        return SyncSummary(total=self.total, synced=self.counts["synced"], failed=self.counts["failed"],
                           blocked=self.counts["blocked"], skipped=self.counts["skipped"], by_kind=dict(self.kinds),
                           paused=self.paused, stopped=self.stopped, requests=self.gateway.calls,
                           seconds=time.perf_counter() - self.started)


def build_payload(entity_type: EntityType, row: Any, settings: SyncSettings, refs: QboRefs,
                  extras: dict[str, Any]) -> dict[str, Any]:
    """The QuickBooks JSON of one billing row (MappingError when it cannot be built)."""
    return spec_for(entity_type).build_payload(row, settings, refs, extras)


def natural_key(entity_type: EntityType, payload: dict[str, Any], *, customer_matching: str = "name"
                ) -> tuple[str, str] | None:
    """The field QuickBooks can find this record by before we create it."""
    return spec_for(entity_type).natural_key(payload, customer_matching)


def _field_text(row: dict[str, Any], field_name: str) -> str:
    """A record's look-up field as comparable text (an email address lives in an object)."""
    value = row.get(field_name, "")
    if isinstance(value, dict):
        value = value.get("Address", "")
    return str(value).strip().lower()


def payload_total(payload: dict[str, Any]) -> Decimal:
    """What QuickBooks will compute as TotalAmt for a sales form or payment."""
    if "TotalAmt" in payload:
        return Decimal(str(payload["TotalAmt"]))
    return sum((Decimal(str(line.get("Amount", 0))) for line in payload.get("Line", [])), Decimal(0))


def enabled_types(settings: SyncSettings) -> set[EntityType]:
    """Entity types the settings let sync (items always: invoices need them)."""
    return {spec.entity_type for spec in ENTITIES if spec.is_enabled(settings)}


class SyncEngine:
    """Pushes a set of sync records to one QuickBooks company."""

    def __init__(self, factory: sessionmaker[Session], gateway: QboGateway, *,
                 job_id: int | None = None, progress: Progress | None = None, concurrency: int = 4,
                 stop_event: threading.Event | None = None) -> None:
        self.factory = factory
        self.gateway = gateway
        self.job_id = job_id
        self.progress = progress
        self.concurrency = concurrency
        self.stop_event = stop_event or threading.Event()
        self.settings = SyncSettings()
        self.lists: NameLists | None = None
        self.tally: _Tally | None = None

    # -- run ---------------------------------------------------------------------------------------------
    def run(self, record_ids: Sequence[int]) -> SyncSummary:
        """Sync these records in dependency order; pause (failing nothing) when QuickBooks needs a reconnect."""
        with self.factory() as session:
            self.settings = load_settings(session)
            rows = self._rows_chunked(session, record_ids)
            parents = dict(session.execute(select(Customer.id, Customer.parent_id)).all())
        if self.settings.paused:
            # The master pause in Settings: nothing moves, nothing is marked.
            return SyncSummary(total=len(rows), paused=True)
        enabled = enabled_types(self.settings)
        rows = [row for row in rows if EntityType(row[1]) in enabled]
        tally = self.tally = _Tally(len(rows), self.progress, self.gateway)
        customer_ids = {eid for _, etype, eid in rows if etype == EntityType.CUSTOMER.value}
        phases = plan_sync(((rid, EntityType(et), eid) for rid, et, eid in rows),
                           {cid: parents.get(cid) for cid in customer_ids})
        try:
            if rows:
                self.lists = read_name_lists(self.gateway)
            for phase in phases:
                if self.stop_event.is_set():
                    tally.stopped = True
                    break
                self._run_phase(phase)
        except (ReconnectRequired, NotConnected):
            # Someone must reconnect (or the company was disconnected): pause, fail nothing.
            tally.paused = True
        return tally.summary()

    def detect_changes(self, entity_types: Sequence[EntityType]) -> int:
        """Mark synced records whose billing data changed since their sync as OUT_OF_DATE; returns how many."""
        with self.factory() as session:
            self.settings = load_settings(session)
        if self.lists is None:
            self.lists = read_name_lists(self.gateway)
        changed = 0
        for entity_type in (spec.entity_type for spec in ENTITIES if spec.entity_type in set(entity_types)):
            with self.factory() as session:
                synced = session.execute(select(SyncRecord.id, SyncRecord.entity_id, SyncRecord.payload_hash).where(
                    SyncRecord.entity_type == entity_type.value, SyncRecord.status == SyncStatus.SYNCED.value,
                    SyncRecord.qbo_id.is_not(None))).all()
                refs = build_refs(session, self.lists, self.settings)
                extras = self._extras(session, entity_type, {})
                stale: list[int] = []
                for start in range(0, len(synced), 1000):
                    chunk = synced[start:start + 1000]
                    rows = load_billing_rows(session, entity_type, [eid for _, eid, _ in chunk])
                    if spec_for(entity_type).extras_from_rows:
                        extras = self._extras(session, entity_type, rows)
                    for record_id, entity_id, old_hash in chunk:
                        row = rows.get(entity_id)
                        try:
                            new_hash = hash_payload(build_payload(entity_type, row, self.settings, refs, extras)) \
                                if row is not None else None
                        except MappingError:
                            new_hash = None
                        if new_hash != old_hash and old_hash != "mapped":
                            stale.append(record_id)
            with self.factory() as session, session.begin():
                for start in range(0, len(stale), 900):
                    session.execute(update(SyncRecord).where(SyncRecord.id.in_(stale[start:start + 900]))
                                    .values(status=SyncStatus.OUT_OF_DATE.value))
            changed += len(stale)
        return changed

    @staticmethod
    def _extras(session: Session, entity_type: EntityType, rows: dict[int, Any]) -> dict[str, Any]:
        load = spec_for(entity_type).load_extras
        return load(session, rows) if load is not None else {}

    @staticmethod
    def _rows_chunked(session: Session, record_ids: Sequence[int]) -> list[Any]:
        ids = list(record_ids)
        out: list[Any] = []
        for start in range(0, len(ids), 30000):
            out.extend(session.execute(
                select(SyncRecord.id, SyncRecord.entity_type, SyncRecord.entity_id)
                .where(SyncRecord.id.in_(ids[start:start + 30000]), SyncRecord.status.not_in(HANDS_OFF))).all())
        return out

    # -- one phase ---------------------------------------------------------------------------------------
    def _run_phase(self, phase: Phase) -> None:
        sends = self._prepare(phase)
        creates = [s for s in sends if not s.update]
        updates = [s for s in sends if s.update]
        if creates:
            creates = self._link_existing(phase.entity_type, creates)
        self._push(phase.entity_type, creates)
        self._push(phase.entity_type, updates)

    def _prepare(self, phase: Phase) -> list[Send]:
        """Build payloads; records that cannot be built are blocked or failed here, without a call."""
        assert self.lists is not None and self.tally is not None
        entity_type = phase.entity_type
        sends: list[Send] = []
        with self.factory() as session:
            records = list(session.scalars(select(SyncRecord).where(SyncRecord.id.in_(phase.record_ids))))
            rows = load_billing_rows(session, entity_type, [r.entity_id for r in records])
            if spec_for(entity_type).sales_form:
                branches = {row.customer.branch for row in rows.values() if row.customer and row.customer.branch}
                ensure_branch_refs(self.gateway, self.lists, self.settings, branches)
            refs = build_refs(session, self.lists, self.settings)
            extras = self._extras(session, entity_type, rows)
            for record in records:
                row = rows.get(record.entity_id)
                if row is None:
                    self._fail(record.id, classify_local(ErrorKind.MAPPING, "The billing record no longer exists"))
                    continue
                name = spec_for(entity_type).record_name(row)
                mapping = extras.get("item_mappings", {}).get(row.id) if entity_type is EntityType.ITEM else None
                if mapping is not None and mapping.qbo_item_id and record.qbo_id == mapping.qbo_item_id:
                    record_unchanged(self.factory, record.id)  # a hand-mapped item is never rewritten by us
                    self.tally.add("skipped")
                    continue
                if mapping is not None and mapping.qbo_item_id:
                    # Mapped by hand in Settings: that QuickBooks item is the twin; nothing to create.
                    send = Send(record_id=record.id, entity_type=entity_type, entity_id=record.entity_id,
                                name=str(row.code), payload={}, payload_hash="mapped")
                    record_synced(self.factory, send, qbo_id=mapping.qbo_item_id, sync_token=None,
                                  job_id=self.job_id, outcome="mapped")
                    self.tally.add("synced")
                    continue
                try:
                    payload = build_payload(entity_type, row, self.settings, refs, extras)
                except MappingError as exc:
                    record_blocked(self.factory, record.id, blocked_by=exc.blocked_by, message=exc.message,
                                   job_id=self.job_id)
                    is_mapping = not exc.blocked_by or exc.blocked_by.startswith(MAPPING_PREFIXES)
                    self.tally.add("blocked" if exc.blocked_by else "failed",
                                   (ErrorKind.MAPPING if is_mapping else ErrorKind.DEPENDENCY).value)
                    continue
                payload_hash = hash_payload(payload)
                if record.qbo_id and record.payload_hash == payload_hash and record.status in (
                        SyncStatus.SYNCED.value, SyncStatus.PENDING.value, SyncStatus.OUT_OF_DATE.value,
                        SyncStatus.FAILED.value, SyncStatus.BLOCKED.value):
                    record_unchanged(self.factory, record.id)
                    self.tally.add("skipped")
                    continue
                sends.append(Send(record_id=record.id, entity_type=entity_type, entity_id=record.entity_id,
                                  name=str(name), payload=payload, payload_hash=payload_hash,
                                  update=bool(record.qbo_id), qbo_id=record.qbo_id,
                                  sync_token=record.qbo_sync_token, request_id=record.request_id,
                                  attempts=record.attempts or 0))
        return sends

    # -- look up before creating -------------------------------------------------------------------------
    def _link_existing(self, entity_type: EntityType, creates: list[Send]) -> list[Send]:
        """Re-link records QuickBooks already has (a lost answer, a manual entry); return those still to create."""
        assert self.tally is not None
        matching = self.settings.customer_matching
        if entity_type is EntityType.CUSTOMER and matching == "existing_id":
            # The team links every customer by hand (QuickBooks IDs page); never guess, never create.
            for send in creates:
                record_failed(self.factory, send, classify_local(
                    ErrorKind.MAPPING, f"Customer {send.name} has no QuickBooks id and customer matching is set to "
                    "'existing id'. Link it on the QuickBooks IDs page, or change the matching rule in Settings.",
                    retryable=False), job_id=self.job_id)
                self.tally.add("failed", ErrorKind.MAPPING.value)
            return []
        keyed = [(s, natural_key(entity_type, s.payload, customer_matching=matching)) for s in creates]
        lookups = [(s, key) for s, key in keyed if key is not None]
        if not lookups:
            return creates
        entity = spec_for(entity_type).qbo_object
        by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        inactive_keys: set[tuple[str, str]] = set()
        # Customers matched by email fall back to their name when they have none: one look-up per field.
        for field_name in dict.fromkeys(key[0] for _, key in lookups):
            values = [key[1] for _, key in lookups if key[0] == field_name]
            try:
                found = self.gateway.query_in(entity, field_name, values)
                inactive = self.gateway.query_in(entity, field_name, values, extra=" AND Active = false") \
                    if entity_type is EntityType.ITEM else []
            except QboCallError as exc:
                for send in creates:
                    self._fail_send(send, exc.error, exc.request, exc.response)
                return []
            for row in found:
                by_key.setdefault((field_name, _field_text(row, field_name)), []).append(row)
            inactive_keys |= {(field_name, _field_text(row, field_name)) for row in inactive}
        remaining: list[Send] = []
        for send, key in keyed:
            if key is None:
                remaining.append(send)
                continue
            wanted = (key[0], key[1].strip().lower())
            matches = by_key.get(wanted, [])
            if "VendorRef" in send.payload:  # bill numbers are unique per vendor only: another vendor's is not ours
                matches = [m for m in matches if _party(m, "VendorRef") == _party(send.payload, "VendorRef")]
            if entity_type is EntityType.ITEM and not matches and wanted in inactive_keys:
                self._fail_send(send, inactive_reference("item", key[1]))
                continue
            if not matches:
                if entity_type is EntityType.ITEM and not self.settings.create_missing_items:
                    record_failed(self.factory, send, classify_local(
                        ErrorKind.MAPPING, f"Charge code {send.name} has no QuickBooks item and creating items is off",
                        retryable=False), job_id=self.job_id)
                    self.tally.add("failed", ErrorKind.MAPPING.value)
                    continue
                remaining.append(send)
                continue
            self._resolve_match(entity_type, send, matches)
        return remaining

    def _resolve_match(self, entity_type: EntityType, send: Send, matches: list[dict[str, Any]]) -> None:
        assert self.tally is not None
        spec = spec_for(entity_type)
        if spec.linked_by_name:
            row = matches[0]
            record_synced(self.factory, send, qbo_id=row["Id"], sync_token=row.get("SyncToken"), job_id=self.job_id,
                          outcome="linked")
            self.tally.add("synced")
            return
        party = "VendorRef" if "VendorRef" in send.payload else "CustomerRef"
        ours_customer = _party(send.payload, party)
        ours_total = payload_total(send.payload)
        for row in matches:
            theirs_customer = _party(row, party)
            theirs_total = Decimal(str(row.get("TotalAmt", "0")))
            if theirs_customer == ours_customer and theirs_total == ours_total:
                record_synced(self.factory, send, qbo_id=row["Id"], sync_token=row.get("SyncToken"),
                              job_id=self.job_id, outcome="linked")
                self.tally.add("synced")
                return
        if not spec.sales_form:
            # A reference number is not unique in QuickBooks; a different payment with it is not ours.
            record_failed(self.factory, send, classify_local(
                ErrorKind.DUPLICATE, f"QuickBooks has another {spec.nouns[0]} with reference "
                f"{(natural_key(entity_type, send.payload) or ('', ''))[1]}", retryable=False), job_id=self.job_id)
            self.tally.add("failed", ErrorKind.DUPLICATE.value)
            return
        row = matches[0]
        their_ref = row.get("CustomerRef") or {}
        their_total = Decimal(str(row.get("TotalAmt", "0")))
        theirs = f"customer {their_ref.get('name') or their_ref.get('value')}, total {their_total:.2f}"
        ours = f"customer Id {ours_customer}, total {ours_total:.2f}"
        self._fail_send(send, docnumber_clash(spec.nouns[0], send.payload.get("DocNumber", ""), theirs=theirs,
                                              ours=ours, qbo_id=str(row.get("Id"))))

    # -- push --------------------------------------------------------------------------------------------
    def _push(self, entity_type: EntityType, sends: list[Send]) -> None:
        if not sends:
            return
        for send in sends:
            if not is_current(send.request_id, send.payload_hash, update=send.update):
                send.request_id = make_request_id(entity_type.value, send.entity_id, send.payload_hash,
                                                  send.attempts + 1, update=send.update)
        batches = [sends[i:i + BATCH_MAX] for i in range(0, len(sends), BATCH_MAX)]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="qbsync-push") as pool:
            futures = [pool.submit(self._push_batch, entity_type, batch) for batch in batches]
            error: BaseException | None = None
            for future in futures:
                try:
                    future.result()
                except (ReconnectRequired, NotConnected) as exc:
                    self.stop_event.set()  # no further batch starts; the ones in flight finish
                    error = exc
            if error is not None:
                raise error

    def _push_batch(self, entity_type: EntityType, batch: list[Send]) -> None:
        if self.stop_event.is_set():
            return
        commit_request_ids(self.factory, batch)  # committed before the call: a crash retries with the same ids
        entity = spec_for(entity_type).qbo_object
        items: list[dict[str, Any]] = []
        for send in batch:
            body = dict(send.payload)
            if send.update:
                body.update({"Id": send.qbo_id, "SyncToken": send.sync_token or "0", "sparse": True})
            items.append({"bId": batch_item_id(send.record_id), "operation": "update" if send.update else "create",
                          entity: body})
        try:
            answers = self.gateway.batch(items, request_id=batch_request_id(s.request_id or "" for s in batch))
        except QboCallError as exc:
            # Unknown outcome for every item: keep the request ids; the next run looks them up before creating.
            for send in batch:
                self._fail_send(send, exc.error, exc.request, exc.response)
            return
        retry: list[Send] = []
        for send, item in zip(batch, items, strict=True):
            answer = answers.get(item["bId"])
            if answer is None:
                self._fail_send(send, classify_local(ErrorKind.MALFORMED, "QuickBooks' batch answer skipped this "
                                                     "record", retryable=True))
                continue
            if "Fault" in answer:
                error = fault_error(answer["Fault"], name=send.name)
                if (error.kind is ErrorKind.STALE and send.update) or error.retryable:
                    retry.append(send)
                else:
                    self._fail_send(send, error, _exchange(item), _exchange(answer))
                continue
            saved = answer.get(entity)
            if not isinstance(saved, dict) or not saved.get("Id"):
                self._fail_send(send, classify_local(ErrorKind.MALFORMED, f"QuickBooks' answer has no {entity} Id",
                                                     retryable=True), _exchange(item), _exchange(answer))
                continue
            record_synced(self.factory, send, qbo_id=str(saved["Id"]), sync_token=saved.get("SyncToken"),
                          job_id=self.job_id)
            self.tally.add("synced")  # type: ignore[union-attr]
        for send in retry:
            self._push_one(entity_type, send)

    def _push_one(self, entity_type: EntityType, send: Send) -> None:
        """A single write under the record's own requestid; on 5010 re-read the SyncToken and retry once."""
        entity = spec_for(entity_type).qbo_object
        for round_ in range(RETRY_ROUNDS):
            body = dict(send.payload)
            if send.update:
                body.update({"Id": send.qbo_id, "SyncToken": send.sync_token or "0", "sparse": True})
            try:
                row = self.gateway.write(entity, body, request_id=send.request_id or "", name=send.name)
            except QboCallError as exc:
                if exc.error.kind is ErrorKind.STALE and send.update and round_ == 0:
                    try:
                        current = self.gateway.read(entity, send.qbo_id or "")
                    except QboCallError as read_exc:
                        self._fail_send(send, read_exc.error, read_exc.request, read_exc.response)
                        return
                    send.sync_token = str(current.get("SyncToken", send.sync_token))
                    # A new SyncToken is a new request: a replay of the stale one would fail again.
                    send.request_id = make_request_id(entity_type.value, send.entity_id, send.payload_hash,
                                                      send.attempts + 2, update=True)
                    commit_request_ids(self.factory, [send])
                    continue
                self._fail_send(send, exc.error, exc.request, exc.response)
                return
            record_synced(self.factory, send, qbo_id=str(row["Id"]), sync_token=row.get("SyncToken"),
                          job_id=self.job_id)
            self.tally.add("synced")  # type: ignore[union-attr]
            return

    # -- outcomes ----------------------------------------------------------------------------------------
    def _fail_send(self, send: Send, error: QboError, request: str | None = None, response: str | None = None) -> None:
        record_failed(self.factory, send, error, job_id=self.job_id, request=request, response=response)
        self.tally.add("failed", error.kind.value)  # type: ignore[union-attr]

    def _fail(self, record_id: int, error: QboError) -> None:
        send = Send(record_id=record_id, entity_type=EntityType.CUSTOMER, entity_id=0, name="", payload={},
                    payload_hash="")
        self._fail_send(send, error)


def _party(row: dict[str, Any], field_name: str) -> str | None:
    """The id a record's CustomerRef or VendorRef points at."""
    return (row.get(field_name) or {}).get("value")


def _exchange(value: Any) -> str:
    return json.dumps(value, default=str)[:20000]
