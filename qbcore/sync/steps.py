"""One record, one transaction: the state changes of a sync record around each QuickBooks call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from qbcore.errors import ErrorKind, QboError
from qbcore.models import EntityType, SyncAttempt, SyncRecord, SyncStatus, utcnow

# What a blocked_by prefix points at: a setting to fix (mapping) or another record (dependency).
MAPPING_PREFIXES = ("item:", "term:", "class:", "location:", "account:", "pay_code:", "deduction_code:")


@dataclass
class Send:
    """One record on its way to QuickBooks."""

    record_id: int
    entity_type: EntityType
    entity_id: int
    name: str
    payload: dict[str, Any]
    payload_hash: str
    update: bool = False
    delete: bool = False  # voided in billing: its QuickBooks twin is deleted (payload empty)
    qbo_id: str | None = None
    sync_token: str | None = None
    request_id: str | None = None
    attempts: int = 0


def commit_request_ids(factory: sessionmaker[Session], sends: Sequence[Send]) -> None:
    """Store the request ids about to be used, committed before any call (a crash then retries with them)."""
    with factory() as session, session.begin():
        for send in sends:
            record = session.get(SyncRecord, send.record_id)
            if record is not None:
                record.request_id = send.request_id
                record.status = SyncStatus.PENDING


def _attempt(session: Session, record: SyncRecord, outcome: str, job_id: int | None, *,
             error: QboError | None = None, message: str | None = None) -> None:
    now = utcnow()
    record.attempts = (record.attempts or 0) + 1
    record.last_attempt_at = now
    session.add(SyncAttempt(sync_record_id=record.id, at=now, outcome=outcome, request_id=record.request_id,
                            error_kind=error.kind.value if error else None, error_code=error.code if error else None,
                            message=message or (error.message if error else None), job_id=job_id))


def record_synced(factory: sessionmaker[Session], send: Send, *, qbo_id: str, sync_token: str | None,
                  job_id: int | None, outcome: str = "synced") -> None:
    """The record is in QuickBooks: keep its id and SyncToken, clear the error."""
    with factory() as session, session.begin():
        record = session.get(SyncRecord, send.record_id)
        if record is None:
            return
        record.qbo_id = qbo_id
        record.qbo_sync_token = None if sync_token is None else str(sync_token)
        record.payload_hash = send.payload_hash
        record.status = SyncStatus.SYNCED
        record.last_synced_at = utcnow()
        record.first_failed_at = None
        record.error_kind = record.error_code = record.error_message = record.error_detail = None
        record.blocked_by = None
        record.last_request = record.last_response = None
        _attempt(session, record, outcome, job_id)


def record_failed(factory: sessionmaker[Session], send: Send, error: QboError, *, job_id: int | None,
                  request: str | None = None, response: str | None = None) -> None:
    """The record stays on the problem list with a classified error and the last exchange (no secrets)."""
    with factory() as session, session.begin():
        record = session.get(SyncRecord, send.record_id)
        if record is None:
            return
        record.status = SyncStatus.FAILED
        record.error_kind = error.kind.value
        record.error_code = error.code or None
        record.error_message = error.message
        record.error_detail = error.detail or None
        record.blocked_by = None
        record.first_failed_at = record.first_failed_at or utcnow()
        record.last_request = request
        record.last_response = response
        _attempt(session, record, "failed", job_id, error=error)
        if not error.retryable:
            # QuickBooks gave a definite answer: replaying this requestid would replay that answer forever.
            record.request_id = None


def record_blocked(factory: sessionmaker[Session], record_id: int, *, blocked_by: str | None, message: str,
                   job_id: int | None) -> None:
    """The record was not sent: a dependency or a mapping is missing (named in blocked_by)."""
    kind = ErrorKind.MAPPING if blocked_by is None or blocked_by.startswith(MAPPING_PREFIXES) else \
        ErrorKind.DEPENDENCY
    with factory() as session, session.begin():
        record = session.get(SyncRecord, record_id)
        if record is None:
            return
        record.status = SyncStatus.BLOCKED if blocked_by else SyncStatus.FAILED
        record.error_kind = kind.value
        record.error_code = None
        record.error_message = message
        record.error_detail = None
        record.blocked_by = blocked_by
        record.first_failed_at = record.first_failed_at or utcnow()
        _attempt(session, record, "blocked" if blocked_by else "failed", job_id,
                 error=QboError(kind, "", message), message=message)


def record_unchanged(factory: sessionmaker[Session], record_id: int) -> None:
    """A synced record whose payload did not change: back to SYNCED without a call."""
    with factory() as session, session.begin():
        record = session.get(SyncRecord, record_id)
        if record is not None and record.qbo_id:
            record.status = SyncStatus.SYNCED
            record.error_kind = record.error_code = record.error_message = record.blocked_by = None


def record_removed(factory: sessionmaker[Session], send: Send, *, note: str, job_id: int | None) -> None:
    """Voided in billing and its QuickBooks twin deleted: the record is closed; the old id is kept in its note."""
    with factory() as session, session.begin():
        record = session.get(SyncRecord, send.record_id)
        if record is None:
            return
        record.qbo_id = record.qbo_sync_token = None  # a pull's tombstone of our own delete is not drift
        record.payload_hash = send.payload_hash
        record.status = SyncStatus.REMOVED
        record.note = note
        record.last_synced_at = utcnow()
        record.first_failed_at = None
        record.error_kind = record.error_code = record.error_message = record.error_detail = None
        record.blocked_by = None
        record.last_request = record.last_response = None
        _attempt(session, record, "removed", job_id, message=note)


def drop_record(factory: sessionmaker[Session], record_id: int) -> None:
    """A record voided in billing before anything reached QuickBooks: it needs no sync record (like a draft)."""
    with factory() as session, session.begin():
        session.execute(delete(SyncAttempt).where(SyncAttempt.sync_record_id == record_id))
        session.execute(delete(SyncRecord).where(SyncRecord.id == record_id))
