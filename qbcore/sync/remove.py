"""Bills voided in billing: their QuickBooks twin is deleted (QuickBooks cannot void a bill), once, retry-safe."""

from __future__ import annotations

from typing import Any

from qbcore.entities.registry import spec_for
from qbcore.entities.spec import EntitySpec
from qbcore.errors import ErrorKind, QboCallError
from qbcore.mapping.common import hash_payload
from qbcore.mapping.refs import QboRefs
from qbcore.models import EntityType, SyncRecord
from qbcore.qbo.faults import bill_has_payment, is_linked_refusal, payment_still_in_quickbooks
from qbcore.sync.requestids import is_current, make_request_id
from qbcore.sync.run import Run
from qbcore.sync.steps import Send, commit_request_ids, drop_record, record_removed

RETRY_ROUNDS = 2


def voided_send(run: Run, spec: EntitySpec, record: SyncRecord, row: Any, refs: QboRefs) -> Send | None:
    """What a record voided in billing needs: a delete in QuickBooks (a Send), or nothing (its record is dropped).

    One that never reached QuickBooks needs no record; one whose create got no answer may be there, so it is
    looked up (by its number and vendor) before it is dropped.
    """
    voidable = spec.voidable
    assert voidable is not None
    if record.qbo_id is None and (record.request_id is None or not voidable.removes_twin):
        drop_record(run.factory, record.id)
        run.tally.add("skipped")
        return None
    vendor = refs.vendors.get(voidable.vendor_id(row))
    return Send(record_id=record.id, entity_type=spec.entity_type, entity_id=record.entity_id,
                name=str(spec.record_name(row)), payload={"DocNumber": spec.record_name(row), "VendorRef": vendor},
                payload_hash=_delete_hash(record.qbo_id), delete=True, qbo_id=record.qbo_id,
                sync_token=record.qbo_sync_token, request_id=record.request_id, attempts=record.attempts or 0)


def _delete_hash(qbo_id: str | None) -> str:
    # The same twin gives the same hash, so a crash between commit and answer replays the same request id.
    return hash_payload({"operation": "delete", "Id": qbo_id})


def remove(run: Run, entity_type: EntityType, sends: list[Send]) -> None:
    """Delete the QuickBooks twins of records voided in billing, one call each (voids are few)."""
    spec = spec_for(entity_type)
    voidable = spec.voidable
    assert voidable is not None or not sends
    for send in sends:
        if run.stop_event.is_set():
            return
        assert voidable is not None
        if send.qbo_id is None and not _find_unanswered(run, spec, send):
            continue
        if not voidable.removes_twin:
            _close_payment(run, spec, send)
            continue
        _delete_one(run, spec, send)


def _find_unanswered(run: Run, spec: EntitySpec, send: Send) -> bool:
    """A create sent without an answer: find the bill it may have made (number and vendor); none, drop the record."""
    vendor = send.payload.get("VendorRef")
    try:
        rows = run.gateway.query_in(spec.qbo_object, "DocNumber", [str(send.payload["DocNumber"])]) if vendor else []
    except QboCallError as exc:
        run.fail_send(send, exc.error, exc.request, exc.response)
        return False
    ours = [r for r in rows if str((r.get("VendorRef") or {}).get("value")) == str(vendor)]
    if not ours:
        drop_record(run.factory, send.record_id)
        run.tally.add("skipped")
        return False
    send.qbo_id, send.sync_token = str(ours[0]["Id"]), str(ours[0].get("SyncToken") or "0")
    send.payload_hash = _delete_hash(send.qbo_id)
    return True


def _new_request_id(send: Send, generation: int) -> None:
    send.request_id = make_request_id(send.entity_type.value, send.entity_id, send.payload_hash, generation,
                                      delete=True)


def _delete_one(run: Run, spec: EntitySpec, send: Send) -> None:
    """One delete under the record's own requestid (committed first); gone already counts as done."""
    if not is_current(send.request_id, send.payload_hash, delete=True):
        _new_request_id(send, send.attempts + 1)
    commit_request_ids(run.factory, [send])  # committed before the call: a crash retries with the same id
    entity, qbo_id = spec.qbo_object, send.qbo_id or ""
    for round_ in range(RETRY_ROUNDS):
        try:
            run.gateway.delete(entity, qbo_id, send.sync_token or "0", request_id=send.request_id or "",
                               name=send.name)
        except QboCallError as exc:
            if exc.error.kind is ErrorKind.NOT_FOUND:
                break  # deleted already (a delete whose answer was lost, or by hand in QuickBooks): done
            if exc.error.kind is ErrorKind.STALE and round_ == 0:
                try:
                    current = run.gateway.read(entity, qbo_id)
                except QboCallError as read_exc:
                    if read_exc.error.kind is ErrorKind.NOT_FOUND:
                        break
                    run.fail_send(send, read_exc.error, read_exc.request, read_exc.response)
                    return
                send.sync_token = str(current.get("SyncToken", send.sync_token))
                _new_request_id(send, send.attempts + 2)  # a new SyncToken is a new request
                commit_request_ids(run.factory, [send])
                continue
            error = bill_has_payment(spec.nouns[0].capitalize(), send.name, exc.error) \
                if is_linked_refusal(exc.error) else exc.error
            run.fail_send(send, error, exc.request, exc.response)
            return
        break
    _removed(run, spec, send, qbo_id)


def _removed(run: Run, spec: EntitySpec, send: Send, qbo_id: str) -> None:
    noun = spec.nouns[0]
    record_removed(run.factory, send, job_id=run.job_id,
                   note=f"Voided in billing: QuickBooks {spec.qbo_object} Id {qbo_id} was deleted "
                        f"({noun} {send.name}).")
    run.tally.add("synced")


def _close_payment(run: Run, spec: EntitySpec, send: Send) -> None:
    """A voided bill's payment in QuickBooks: never deleted by us; its record closes once it is gone there."""
    qbo_id = send.qbo_id or ""
    try:
        run.gateway.read(spec.qbo_object, qbo_id)
    except QboCallError as exc:
        if exc.error.kind is ErrorKind.NOT_FOUND:
            _removed(run, spec, send, qbo_id)
            return
        run.fail_send(send, exc.error, exc.request, exc.response)
        return
    # "settlement payment" pays a settlement, "carrier bill payment" a carrier bill.
    run.fail_send(send, payment_still_in_quickbooks(spec.nouns[0].removesuffix(" payment").capitalize(), send.name))
