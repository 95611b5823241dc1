"""Pushing prepared records: batches of 30 while the batch quota has room, single writes with the minute's rest."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from qbcore.entities.registry import spec_for
from qbcore.errors import ErrorKind, QboCallError
from qbcore.models import EntityType
from qbcore.qbo.faults import classify_local
from qbcore.qbo.gateway import BATCH_MAX
from qbcore.qbo.limiter import QuotaSpent
from qbcore.qbo.response import fault_error
from qbcore.qbo.tokens import NotConnected, ReconnectRequired
from qbcore.sync.requestids import batch_item_id, batch_request_id, is_current, make_request_id
from qbcore.sync.run import Run
from qbcore.sync.steps import Send, commit_request_ids, record_synced

RETRY_ROUNDS = 2


class Backlog:
    """The records of one push still to send; each worker thread takes a batch, or one record when batches are spent."""

    def __init__(self, sends: list[Send]) -> None:
        self._lock = threading.Lock()
        self._sends = list(sends)

    def take(self, batch_room: bool) -> list[Send]:
        """Up to 30 records while a batch call has room this minute, else one (to send alone); [] when done."""
        with self._lock:
            count = BATCH_MAX if batch_room else 1
            taken, self._sends = self._sends[:count], self._sends[count:]
            return taken

    def give_back(self, sends: list[Send]) -> None:
        """Records a batch could not carry after all (its minute filled meanwhile): first in line again."""
        with self._lock:
            self._sends = sends + self._sends


def push(run: Run, entity_type: EntityType, sends: list[Send]) -> None:
    """Send every record, spending the whole request budget; a reconnect need stops new calls and is raised."""
    if not sends:
        return
    for send in sends:
        if not is_current(send.request_id, send.payload_hash, update=send.update):
            send.request_id = make_request_id(entity_type.value, send.entity_id, send.payload_hash,
                                              send.attempts + 1, update=send.update)
    backlog = Backlog(sends)
    threads = min(run.concurrency, len(sends))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="qbsync-push") as pool:
        futures = [pool.submit(_drain, run, entity_type, backlog) for _ in range(threads)]
        error: BaseException | None = None
        for future in futures:
            try:
                future.result()
            except (ReconnectRequired, NotConnected) as exc:
                run.stop_event.set()  # no further call starts; the ones in flight finish
                error = exc
        if error is not None:
            raise error


def _drain(run: Run, entity_type: EntityType, backlog: Backlog) -> None:
    """One worker thread: batches while the batch quota has room this minute; otherwise single writes.

    A backlog larger than this minute's batch budget spends the rest of the per-minute requests on single writes
    (spare ones, which leave room for the batches still allowed), so a small backlog stays all batches.
    """
    limiter = run.gateway.limiter
    while not run.stop_event.is_set():
        room = limiter.batch_room()
        taken = backlog.take(room)
        if not taken:
            return
        if not room:
            commit_request_ids(run.factory, taken)  # committed before the call: a crash retries with the same id
            push_one(run, entity_type, taken[0], spare=True)
            continue
        try:
            push_batch(run, entity_type, taken, wait=False)
        except QuotaSpent:
            backlog.give_back(taken)


def _body(send: Send) -> dict[str, Any]:
    body = dict(send.payload)
    if send.update:
        body.update({"Id": send.qbo_id, "SyncToken": send.sync_token or "0", "sparse": True})
    return body


def push_batch(run: Run, entity_type: EntityType, batch: list[Send], *, wait: bool = True) -> None:
    """One batch call; items QuickBooks may take on a retry go one by one. QuotaSpent when wait=False and no room."""
    commit_request_ids(run.factory, batch)  # committed before the call: a crash retries with the same ids
    entity = spec_for(entity_type).qbo_object
    items: list[dict[str, Any]] = [{"bId": batch_item_id(send.record_id),
                                    "operation": "update" if send.update else "create", entity: _body(send)}
                                   for send in batch]
    try:
        answers = run.gateway.batch(items, request_id=batch_request_id(s.request_id or "" for s in batch), wait=wait)
    except QboCallError as exc:
        # Unknown outcome for every item: keep the request ids; the next run looks them up before creating.
        for send in batch:
            run.fail_send(send, exc.error, exc.request, exc.response)
        return
    retry: list[Send] = []
    for send, item in zip(batch, items, strict=True):
        answer = answers.get(item["bId"])
        if answer is None:
            run.fail_send(send, classify_local(ErrorKind.MALFORMED, "QuickBooks' batch answer skipped this record",
                                               retryable=True))
            continue
        if "Fault" in answer:
            error = fault_error(answer["Fault"], name=send.name)
            if (error.kind is ErrorKind.STALE and send.update) or error.retryable:
                retry.append(send)
            else:
                run.fail_send(send, error, _exchange(item), _exchange(answer))
            continue
        saved = answer.get(entity)
        if not isinstance(saved, dict) or not saved.get("Id"):
            run.fail_send(send, classify_local(ErrorKind.MALFORMED, f"QuickBooks' answer has no {entity} Id",
                                               retryable=True), _exchange(item), _exchange(answer))
            continue
        record_synced(run.factory, send, qbo_id=str(saved["Id"]), sync_token=saved.get("SyncToken"),
                      job_id=run.job_id)
        run.tally.add("synced")
    for send in retry:
        push_one(run, entity_type, send)


def push_one(run: Run, entity_type: EntityType, send: Send, *, spare: bool = False) -> None:
    """A single write under the record's own requestid; on 5010 re-read the SyncToken and retry once."""
    entity = spec_for(entity_type).qbo_object
    for round_ in range(RETRY_ROUNDS):
        try:
            row = run.gateway.write(entity, _body(send), request_id=send.request_id or "", name=send.name,
                                    spare=spare)
        except QboCallError as exc:
            if exc.error.kind is ErrorKind.STALE and send.update and round_ == 0:
                try:
                    current = run.gateway.read(entity, send.qbo_id or "")
                except QboCallError as read_exc:
                    run.fail_send(send, read_exc.error, read_exc.request, read_exc.response)
                    return
                send.sync_token = str(current.get("SyncToken", send.sync_token))
                # A new SyncToken is a new request: a replay of the stale one would fail again.
                send.request_id = make_request_id(entity_type.value, send.entity_id, send.payload_hash,
                                                  send.attempts + 2, update=True)
                commit_request_ids(run.factory, [send])
                continue
            run.fail_send(send, exc.error, exc.request, exc.response)
            return
        record_synced(run.factory, send, qbo_id=str(row["Id"]), sync_token=row.get("SyncToken"), job_id=run.job_id)
        run.tally.add("synced")
        return


def _exchange(value: Any) -> str:
    return json.dumps(value, default=str)[:20000]
