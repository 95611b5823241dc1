"""QuickBooks webhooks: intuit-signature checked in constant time, both payload formats, a pull queued (or not)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from qbcore.models import Job
from qbcore.webhooks import (
    VERIFIER_ENV,
    WebhookError,
    handle_notification,
    is_valid_signature,
    parse_notification,
    sign,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient warns about httpx at import
    from starlette.testclient import TestClient

TOKEN = "verifier-token-123"
LEGACY = json.dumps({"eventNotifications": [{"realmId": "9341455130166501", "dataChangeEvent": {"entities": [
    {"name": "Payment", "id": "41", "operation": "Create", "lastUpdated": "2026-11-29T08:00:00-0800"},
    {"name": "Invoice", "id": "12", "operation": "Update", "lastUpdated": "2026-11-29T08:00:01-0800"}]}}]}).encode()
CLOUD = json.dumps([{"specversion": "1.0", "id": "88cd52aa", "source": "intuit.dsnBgb", "type": "qbo.invoice.voided.v1",
                     "datacontenttype": "application/json", "time": "2026-11-29T16:31:25.179Z",
                     "intuitentityid": "12", "intuitaccountid": "9341455130166501", "data": {}}]).encode()
CUSTOMER_ONLY = json.dumps([{"specversion": "1.0", "id": "1", "type": "qbo.customer.created.v1",
                             "intuitentityid": "3", "intuitaccountid": "9341455130166501"}]).encode()


def jobs(factory: sessionmaker[Session]) -> list[Job]:
    with factory() as session:
        return list(session.scalars(select(Job)))


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body_as_python_quickbooks_computes_it() -> None:
    assert sign(b'{"stuff":"5"}', "verify_me") == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="
    assert is_valid_signature(b'{"stuff":"5"}', "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=", "verify_me")
    assert not is_valid_signature(b'{"stuff":"6"}', "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=", "verify_me")
    assert not is_valid_signature(b"{}", None, "verify_me") and not is_valid_signature(b"{}", "x", "")


@pytest.mark.parametrize(("body", "expected"), [
    (LEGACY, [("payment", "41", "Create"), ("invoice", "12", "Update")]),
    (CLOUD, [("invoice", "12", "voided")]),
])
def test_legacy_and_cloudevents_payloads_give_the_same_events(body: bytes, expected: list) -> None:
    events = parse_notification(body)
    assert [(e.entity, e.entity_id, e.operation) for e in events] == expected
    assert {e.realm_id for e in events} == {"9341455130166501"}


@pytest.mark.parametrize("body", [b"not json", b'{"hello": 1}', b'[{"type": "nope"}]'])
def test_bodies_that_are_not_notifications_are_refused(body: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_notification(body)


def test_a_bad_signature_is_refused_with_401_and_nothing_is_queued(factory: sessionmaker[Session]) -> None:
    result = handle_notification(factory, LEGACY, sign(LEGACY, "someone-else"), token=TOKEN)
    assert (result.status, result.job_id) == (401, None)
    assert handle_notification(factory, LEGACY, None, token=TOKEN).status == 401
    assert handle_notification(factory, LEGACY, sign(LEGACY, TOKEN), token=None).status == 503
    assert jobs(factory) == []


def test_good_notifications_queue_one_pull_and_other_entities_queue_nothing(factory: sessionmaker[Session]) -> None:
    first = handle_notification(factory, LEGACY, sign(LEGACY, TOKEN), token=TOKEN)
    second = handle_notification(factory, CLOUD, sign(CLOUD, TOKEN), token=TOKEN)
    customers = handle_notification(factory, CUSTOMER_ONLY, sign(CUSTOMER_ONLY, TOKEN), token=TOKEN)
    assert (first.status, second.status, customers.status) == (200, 200, 200)
    assert first.job_id is not None and second.job_id == first.job_id and customers.job_id is None
    (job,) = jobs(factory)
    assert job.kind == "pull" and "payment Create" in job.params["reason"]
    malformed = b"[1]"
    assert handle_notification(factory, malformed, sign(malformed, TOKEN), token=TOKEN).status == 400


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[TestClient]:
    import asgi

    monkeypatch.setenv("QBSYNC_DATABASE_URL", db_url)
    monkeypatch.setenv(VERIFIER_ENV, TOKEN)
    asgi._factory.cache_clear()
    with TestClient(Starlette(routes=asgi.routes)) as test_client:
        yield test_client
    asgi._factory.cache_clear()


def test_the_route_refuses_a_bad_signature_and_queues_a_pull_on_a_good_one(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    bad = client.post("/webhooks/quickbooks", content=LEGACY, headers={"intuit-signature": sign(LEGACY, "wrong")})
    assert bad.status_code == 401 and jobs(factory) == []
    good = client.post("/webhooks/quickbooks", content=CLOUD, headers={"intuit-signature": sign(CLOUD, TOKEN)})
    assert good.status_code == 200 and good.json()["job_id"] == jobs(factory)[0].id
    assert client.get("/webhooks/quickbooks").status_code == 405


def test_the_streamlit_app_serves_the_webhook_route(monkeypatch: pytest.MonkeyPatch, db_url: str,
                                                    factory: sessionmaker[Session]) -> None:
    import asgi

    monkeypatch.setenv("QBSYNC_DATABASE_URL", db_url)
    monkeypatch.setenv(VERIFIER_ENV, TOKEN)
    asgi._factory.cache_clear()
    try:
        answer = TestClient(asgi.app).post("/webhooks/quickbooks", content=LEGACY,
                                           headers={"intuit-signature": sign(LEGACY, TOKEN)})
    finally:
        asgi._factory.cache_clear()
    assert answer.status_code == 200 and jobs(factory)[0].kind == "pull"
