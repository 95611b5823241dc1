"""Malformed or hostile QuickBooks answers become a classified QboError with a plain message, never a crash."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.db import transaction
from qbcore.errors import ErrorKind, QboCallError, QboError
from qbcore.models import Customer, EntityType, SyncRecord, SyncStatus
from qbcore.qbo.gateway import QboGateway, RetryPolicy
from qbcore.qbo.response import entity_of, fault_error, parse_response
from qbcore.sync.records import ensure_sync_records
from qbcore.sync.runner import sync_now

NO_RETRY = RetryPolicy(attempts=2, base_delay_s=0.001, max_delay_s=0.002, throttle_delay_s=0.002)

XML_401 = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<IntuitResponse time="2015-03-03T10:05:14.447-08:00">'
           '<Fault type="AUTHENTICATION"><Error code="3200"><Message>message=ApplicationAuthenticationFailed; '
           'errorCode=003200; statusCode=401</Message></Error></Fault></IntuitResponse>')
XML_429 = ('<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="SERVICE"><Error code="3001">'
           '<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>'
           '<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>')
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def _fault(code: Any = "6240", message: Any = "Duplicate Name Exists Error", **extra: Any) -> str:
    error = {"Message": message, "Detail": "The name supplied already exists.", **extra}
    if code is not None:
        error["code"] = code
    return json.dumps({"Fault": {"Error": [error], "type": "ValidationFault"}, "time": "2026-11-29T08:04:02Z"})


def _assert_plain(error: QboError) -> None:
    assert isinstance(error, QboError) and isinstance(error.kind, ErrorKind)
    assert error.message and "Traceback" not in error.message and len(error.message) < 1_000
    assert len(error.detail) <= 1_000


@pytest.mark.parametrize(("status", "body", "kind"), [
    (200, HTML_502, ErrorKind.MALFORMED),
    (502, HTML_502, ErrorKind.SERVER),
    (200, "", ErrorKind.MALFORMED),
    (503, "", ErrorKind.SERVER),
    (200, "\x00\xff\xfe garbage \x89PNG\r\n\x1a\n", ErrorKind.MALFORMED),
    (200, "[1, 2, 3]", ErrorKind.MALFORMED),
    (200, '"just a string"', ErrorKind.MALFORMED),
    (200, "null", ErrorKind.MALFORMED),
    (200, "{\"Invoice\": {\"Id\": \"1\"", ErrorKind.MALFORMED),  # cut off mid-answer
    (200, _fault(), ErrorKind.DUPLICATE),  # a Fault inside HTTP 200
    (400, _fault(code=None), ErrorKind.MALFORMED),  # a Fault without "code"
    (200, _fault(code=None, message=None), ErrorKind.MALFORMED),
    (401, XML_401, ErrorKind.AUTH),
    (429, XML_429, ErrorKind.THROTTLED),
    (401, json.dumps({"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; "
                                                     "statusCode=401", "detail": "Malformed bearer token",
                                           "code": "3200"}], "type": "AUTHENTICATION"}}), ErrorKind.AUTH),
    (429, json.dumps({"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                                           "Detail": "The request limit was reached."}], "type": "SERVICE"}}),
     ErrorKind.THROTTLED),  # the code only embedded in the message
    (200, json.dumps({"Fault": "boom"}), ErrorKind.MALFORMED),
    (200, json.dumps({"Fault": {"Error": "not a list"}}), ErrorKind.MALFORMED),
    (200, json.dumps({"Fault": {"Error": [None, 3]}}), ErrorKind.MALFORMED),
    (200, json.dumps({"Fault": {"Error": [{"code": 6240, "Message": ["x"], "Detail": {"a": None}}]}}),
     ErrorKind.DUPLICATE),  # wrong types
    pytest.param(200, "[" * 100_000, ErrorKind.MALFORMED, id="nested-100k"),  # deeper than the parser's stack
    pytest.param(200, '{"a": ' * 50_000 + "1" + "}" * 50_000, ErrorKind.MALFORMED, id="nested-objects"),
    pytest.param(500, "x" * 5_000_000, ErrorKind.SERVER, id="huge-5MB"),
])
def test_a_hostile_answer_becomes_a_classified_error(status, body, kind):
    result = parse_response(status, body, name="ACME Logistics")
    assert isinstance(result, QboError), result
    _assert_plain(result)
    assert result.kind is kind


def test_a_huge_valid_answer_is_read_but_its_detail_stays_bounded():
    data = {"Invoice": {"Id": "1", "SyncToken": "0", "Line": [{"Description": "x" * 4000}] * 2_000}}
    assert parse_response(200, json.dumps(data))["Invoice"]["Id"] == "1"
    error = entity_of({"Customer": None, "junk": "y" * 1_000_000}, "Customer")
    _assert_plain(error)
    assert error.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize("data", [
    {},
    {"Invoice": None},
    {"Invoice": {}},
    {"Invoice": {"Id": None, "SyncToken": "0"}},
    {"Invoice": {"Id": "", "SyncToken": "0"}},
    {"Invoice": []},
    {"Invoice": "17"},
    {"invoice": {"Id": "17"}},
    {"Invoice": {"Id": 0}},
])
def test_an_answer_without_the_entity_or_its_id_is_malformed(data):
    error = entity_of(data, "Invoice")
    assert isinstance(error, QboError)
    _assert_plain(error)
    assert error.kind is ErrorKind.MALFORMED and error.retryable


@pytest.mark.parametrize("fault", [None, "x", 3, [], {}, {"Error": []}, {"Error": [{}]}, {"error": [{"code": ""}]}])
def test_a_fault_the_console_cannot_read_is_malformed(fault):
    error = fault_error(fault)
    _assert_plain(error)
    assert error.kind is ErrorKind.MALFORMED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["Fault", "fault", "Error", "error", "code", "Message", "Detail", "Invoice", "Id",
                         "SyncToken", "QueryResponse"]) | st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
bodies = (st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
          | json_values.map(json.dumps)
          | st.builds(lambda code, msg: f'<Fault><Error code="{code}"><Message>{msg}</Message></Error></Fault>',
                      st.integers(0, 10**12), st.text(max_size=40)))


@settings(max_examples=400, deadline=None)
@given(status=st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502, 503]) | st.integers(100, 599), body=bodies)
@example(status=200, body='{"Fault":null,"fault":true}')  # found by this test on a CI-like run
def test_parse_response_never_raises_on_arbitrary_bodies(status, body):
    result = parse_response(status, body)
    if isinstance(result, QboError):
        _assert_plain(result)
        return
    assert status == 200 and isinstance(result, dict) and not result.get("Fault") and not result.get("fault")
    entity = entity_of(result, "Invoice")
    assert isinstance(entity, QboError) or entity.get("Id")


# -- through HTTP: QboGateway.call and one engine step against a stub serving hostile bodies ------------------
class _Stub(BaseHTTPRequestHandler):
    answer: tuple[int, str, bytes] = (200, "application/json", b"{}")
    hits = 0
    sandbox_url = ""
    url = ""
    pass_queries = False  # True: queries (name lists, look-ups) reach the real sandbox, the rest is hostile

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        data = self.rfile.read(length)
        is_query = self.path.split("?")[0].endswith("/query")
        if self.path.startswith("/v3/") and not (is_query and type(self).pass_queries):
            type(self).hits += 1
            status, content_type, body = type(self).answer
        else:  # OAuth discovery and tokens (and queries when asked) come from the real sandbox
            upstream = requests.request(self.command, type(self).sandbox_url + self.path, data=data, timeout=10,
                                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                                        allow_redirects=False)
            status, content_type, body = (upstream.status_code, upstream.headers.get("content-type", ""),
                                          upstream.content)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _serve

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub(sandbox) -> Iterator[type[_Stub]]:
    handler: type[_Stub] = type("Stub", (_Stub,), {"hits": 0, "sandbox_url": sandbox.url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stub_config(connected: Config, stub: type[_Stub]) -> Config:
    """Tokens from the real sandbox, calls answered by the stub."""
    return dataclasses.replace(connected, qbo_base_url=stub.url)


ANSWERS = [
    (200, "text/html", HTML_502.encode(), ErrorKind.MALFORMED),
    (502, "text/html", HTML_502.encode(), ErrorKind.SERVER),
    (200, "application/json", b"", ErrorKind.MALFORMED),
    (200, "application/octet-stream", bytes(range(256)) * 8, ErrorKind.MALFORMED),
    (200, "application/json", _fault().encode(), ErrorKind.DUPLICATE),
    (400, "application/json", _fault(code=None).encode(), ErrorKind.MALFORMED),
    (429, "text/xml", XML_429.encode(), ErrorKind.THROTTLED),
    (200, "application/json", json.dumps({"Customer": {"SyncToken": "0", "DisplayName": "x"}}).encode(),
     ErrorKind.MALFORMED),  # no Id
    (200, "application/json", json.dumps({"Customer": {"Id": None, "SyncToken": None}}).encode(), ErrorKind.MALFORMED),
    (200, "application/json", b"x" * 3_000_000, ErrorKind.MALFORMED),
]


@pytest.mark.parametrize(("status", "content_type", "body", "kind"), ANSWERS,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(ANSWERS)])
def test_the_gateway_turns_a_hostile_answer_into_a_classified_call_error(
    demo_factory: sessionmaker[Session], stub_config: Config, stub: type[_Stub], status, content_type, body, kind
) -> None:
    stub.answer = (status, content_type, body)
    gateway = QboGateway(demo_factory, stub_config, retry=NO_RETRY, timeout_s=5)
    with pytest.raises(QboCallError) as caught:
        gateway.write("Customer", {"DisplayName": "ACME Logistics"}, request_id="hostile-1")
    _assert_plain(caught.value.error)
    assert caught.value.error.kind is kind
    assert stub.hits >= 1


def test_a_401_xml_fault_asks_for_a_refresh_and_ends_as_an_error_not_a_crash(
    demo_factory: sessionmaker[Session], stub_config: Config, stub: type[_Stub]
) -> None:
    stub.answer = (401, "text/xml", XML_401.encode())
    gateway = QboGateway(demo_factory, stub_config, retry=NO_RETRY, timeout_s=5)
    try:
        gateway.call("GET", "customer/1")
    except QboCallError as exc:
        _assert_plain(exc.error)
        assert exc.error.kind is ErrorKind.AUTH
    except Exception as exc:  # the refresh path may refuse; it must say so in its own words
        from qbcore.qbo.tokens import NotConnected, ReconnectRequired

        assert isinstance(exc, NotConnected | ReconnectRequired), repr(exc)


def _linked_customer_record(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        ensure_sync_records(session)
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        record = session.scalars(select(SyncRecord).where(SyncRecord.entity_type == EntityType.CUSTOMER.value,
                                                          SyncRecord.entity_id == customer.id)).one()
        record.qbo_id, record.qbo_sync_token, record.status = "4242", "3", SyncStatus.OUT_OF_DATE
        return record.id


STEP_ANSWERS = [ANSWERS[0], ANSWERS[2], ANSWERS[4], ANSWERS[5], ANSWERS[7], ANSWERS[8]]


@pytest.mark.parametrize(("status", "content_type", "body", "kind"), STEP_ANSWERS,
                         ids=[f"{a[0]}-{a[3].value}-{i}" for i, a in enumerate(STEP_ANSWERS)])
def test_a_sync_step_records_the_error_and_keeps_the_previous_link(
    demo_factory: sessionmaker[Session], stub_config: Config, stub: type[_Stub], status, content_type, body, kind
) -> None:
    record_id = _linked_customer_record(demo_factory)
    stub.answer, stub.pass_queries = (status, content_type, body), True
    gateway = QboGateway(demo_factory, stub_config, retry=NO_RETRY, timeout_s=5)
    summary = sync_now(demo_factory, stub_config, record_ids=[record_id], gateway=gateway)
    assert summary.failed == 1 and stub.hits >= 1
    with demo_factory() as session:
        after = session.get(SyncRecord, record_id)
        assert (after.qbo_id, after.qbo_sync_token) == ("4242", "3")
        assert after.status == SyncStatus.FAILED
        assert after.error_kind and after.error_message and "Traceback" not in after.error_message


def test_a_hostile_answer_to_the_name_lists_stops_the_run_with_a_classified_error_and_touches_no_record(
    demo_factory: sessionmaker[Session], stub_config: Config, stub: type[_Stub]
) -> None:
    record_id = _linked_customer_record(demo_factory)
    with demo_factory() as session:
        row = session.get(SyncRecord, record_id)
        before = (row.qbo_id, row.qbo_sync_token, row.status, row.error_kind)
    stub.answer = ANSWERS[0][:3]
    gateway = QboGateway(demo_factory, stub_config, retry=NO_RETRY, timeout_s=5)
    with pytest.raises(QboCallError) as caught:
        sync_now(demo_factory, stub_config, record_ids=[record_id], gateway=gateway)
    _assert_plain(caught.value.error)
    assert caught.value.error.kind is ErrorKind.MALFORMED
    with demo_factory() as session:
        after = session.get(SyncRecord, record_id)
        assert (after.qbo_id, after.qbo_sync_token, after.status, after.error_kind) == before
