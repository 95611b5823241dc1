"""QuickBooks webhooks: verify intuit-signature, read legacy or CloudEvents payloads, and queue a pull."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM
from qbcore.models import QboConnection
from qbcore.pull.runner import enqueue_pull

# The verifier token's variable (Config.webhook_verifier), named in the 503 answer.
VERIFIER_ENV = "QBSYNC_WEBHOOK_VERIFIER"
SIGNATURE_HEADER = "intuit-signature"
# Entities whose changes a pull reads; anything else (customers, items, …) queues nothing.
PULLED = {"payment", "invoice", "creditmemo"}


class WebhookError(ValueError):
    """The body is not a QuickBooks notification."""


@dataclass(frozen=True)
class WebhookEvent:
    """One entity change QuickBooks told us about."""

    realm_id: str
    entity: str  # lower case: invoice, payment, creditmemo, customer, …
    entity_id: str
    operation: str
    at: str | None = None


@dataclass(frozen=True)
class WebhookResult:
    """What the endpoint answers: HTTP status, a short message, and the pull job queued (if any)."""

    status: int
    message: str
    job_id: int | None = None
    events: list[WebhookEvent] = field(default_factory=list)


def sign(body: bytes, token: str) -> str:
    """base64(HMAC-SHA256(verifier token, raw body)): what QuickBooks puts in intuit-signature."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def is_valid_signature(body: bytes, signature: str | None, token: str) -> bool:
    """True when the signature matches the raw body, compared in constant time."""
    if not signature or not token:
        return False
    return hmac.compare_digest(sign(body, token).encode(), signature.strip().encode())


def _legacy(data: dict[str, Any]) -> list[WebhookEvent]:
    events = []
    for note in data.get("eventNotifications") or []:
        realm = str((note or {}).get("realmId") or "")
        for entity in ((note or {}).get("dataChangeEvent") or {}).get("entities") or []:
            events.append(WebhookEvent(realm_id=realm, entity=str(entity.get("name") or "").lower(),
                                       entity_id=str(entity.get("id") or ""),
                                       operation=str(entity.get("operation") or ""),
                                       at=entity.get("lastUpdated")))
    return events


def _cloud_events(items: list[Any]) -> list[WebhookEvent]:
    events = []
    for item in items:
        if not isinstance(item, dict):
            raise WebhookError("a CloudEvents item is not an object")
        parts = str(item.get("type") or "").split(".")  # qbo.<entity>.<verb>.v1
        if len(parts) < 3 or parts[0] != "qbo":
            raise WebhookError(f"unknown CloudEvents type {item.get('type')!r}")
        events.append(WebhookEvent(realm_id=str(item.get("intuitaccountid") or ""), entity=parts[1].lower(),
                                   entity_id=str(item.get("intuitentityid") or ""), operation=parts[2],
                                   at=item.get("time")))
    return events


def parse_notification(body: bytes) -> list[WebhookEvent]:
    """The events of a legacy eventNotifications payload or of a CloudEvents array."""
    try:
        data = json.loads(body)
    except ValueError:
        raise WebhookError("the body is not JSON") from None
    if isinstance(data, list):
        return _cloud_events(data)
    if isinstance(data, dict) and "eventNotifications" in data:
        return _legacy(data)
    raise WebhookError("neither an eventNotifications payload nor a CloudEvents array")


def _our_realms(session: Session) -> dict[str, int]:
    """Realm id → our company, for every company connected at some point."""
    return {realm: company for realm, company in session.execute(
        select(QboConnection.realm_id, QboConnection.company_id).where(QboConnection.realm_id.is_not(None)))
        if realm is not None}


def handle_notification(factory: sessionmaker[Session], body: bytes, signature: str | None, *,
                        token: str | None) -> WebhookResult:
    """Verify, parse and queue one pull for the whole notification (cheap: QuickBooks wants 200 within 3 s)."""
    if not token:
        return WebhookResult(503, f"webhooks are not configured ({VERIFIER_ENV} is not set)")
    if not is_valid_signature(body, signature, token):
        return WebhookResult(401, "bad intuit-signature")
    try:
        events = parse_notification(body)
    except WebhookError as exc:
        return WebhookResult(400, str(exc))
    with factory() as session, session.begin():
        realms = _our_realms(session)
        # One pull per company the notification concerns; an event without a realm concerns the default company,
        # and a realm that is none of ours is ignored.
        by_company: dict[int | None, list[WebhookEvent]] = {}
        for event in events:
            if event.entity not in PULLED:
                continue
            if event.realm_id and realms and event.realm_id not in realms:
                continue
            by_company.setdefault(realms.get(event.realm_id) if event.realm_id else None, []).append(event)
        if not by_company:
            return WebhookResult(200, "nothing to pull", events=events)
        jobs = []
        for company_id, wanted in by_company.items():
            reason = "webhook: " + ", ".join(sorted({f"{e.entity} {e.operation}".strip() for e in wanted}))[:180]
            jobs.append(enqueue_pull(session, SYSTEM, reason=reason, company_id=company_id).id)
        queued = ", ".join(str(j) for j in jobs)
        return WebhookResult(200, f"pull queued (job {queued})", job_id=jobs[0], events=events)
