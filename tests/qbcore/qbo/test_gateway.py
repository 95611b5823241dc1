"""The gateway over HTTP: queries, writes with requestid, batches, refresh on 401, faults as data."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.errors import ErrorKind, QboCallError
from qbcore.qbo.gateway import QboGateway, RetryPolicy, chunk_values, is_qbo_id
from qbcore.qbo.response import parse_response
from tests.qbcore.qbo.conftest import SandboxClient

FAST = RetryPolicy(attempts=3, base_delay_s=0.01, throttle_delay_s=0.01)


@pytest.fixture
def gateway(factory: sessionmaker[Session], connected: Config) -> QboGateway:
    return QboGateway(factory, connected, retry=FAST, timeout_s=3)


def test_query_in_finds_rows_by_name(gateway: QboGateway) -> None:
    rows = gateway.query_in("Term", "Name", ["Net 30", "Net 15", "Nope"])
    assert sorted(r["Name"] for r in rows) == ["Net 15", "Net 30"]


def test_query_in_reads_every_page_when_more_rows_than_one_answer_holds_match(gateway: QboGateway) -> None:
    # Bill numbers are unique per vendor only: two carriers numbering their invoices alike share every number.
    account = gateway.query_in("Account", "Name", ["Carrier Costs"])[0]["Id"]
    vendors = [gateway.write("Vendor", {"DisplayName": f"Numbering Carrier {n}"}, request_id=f"qbs-test-v{n}")["Id"]
               for n in (1, 2)]
    numbers = [str(1000 + n) for n in range(501)]
    bills = [{"VendorRef": {"value": vendor}, "DocNumber": number, "Line": [{
        "Amount": 10, "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}}}]}
        for vendor in vendors for number in numbers]
    for start in range(0, len(bills), 30):
        answers = gateway.batch([{"bId": str(i), "operation": "create", "Bill": bill}
                                 for i, bill in enumerate(bills[start:start + 30])], request_id=None)
        assert all("Bill" in answer for answer in answers.values())
    rows = gateway.query_in("Bill", "DocNumber", numbers)
    assert len(rows) == 1002 and len({r["Id"] for r in rows}) == 1002


def test_a_write_replayed_with_the_same_request_id_creates_one_record(
    gateway: QboGateway, sandbox: SandboxClient
) -> None:
    first = gateway.write("Customer", {"DisplayName": "Replay Co"}, request_id="qbs-test-1")
    again = gateway.write("Customer", {"DisplayName": "Replay Co"}, request_id="qbs-test-1")
    assert first["Id"] == again["Id"] and sandbox.count("Customer", DisplayName="Replay Co") == 1


def test_a_reset_after_commit_is_retried_with_the_same_request_id(gateway: QboGateway, sandbox: SandboxClient) -> None:
    sandbox.configure(force_faults=["reset"])
    created = gateway.write("Customer", {"DisplayName": "Reset Co"}, request_id="qbs-test-2")
    assert created["DisplayName"] == "Reset Co" and sandbox.count("Customer", DisplayName="Reset Co") == 1


def test_an_expired_access_token_is_refreshed_once_and_the_call_succeeds(
    gateway: QboGateway, sandbox: SandboxClient
) -> None:
    gateway.query("SELECT * FROM Term")
    sandbox.expire_tokens()
    assert gateway.query("SELECT * FROM Term")


def test_a_duplicate_name_comes_back_as_a_classified_error_with_the_exchange(gateway: QboGateway) -> None:
    with pytest.raises(QboCallError) as err:
        gateway.write("Customer", {"DisplayName": "Hicks Hardware"}, request_id="qbs-test-3", name="Hicks Hardware")
    assert (err.value.error.kind, err.value.error.code) == (ErrorKind.DUPLICATE, "6240")
    assert "Hicks Hardware" in err.value.error.fix_hint
    assert "Authorization" not in (err.value.request or "") and "Bearer" not in (err.value.request or "")
    assert err.value.response and "6240" in err.value.response


def test_transient_server_errors_are_retried_then_succeed(gateway: QboGateway, sandbox: SandboxClient) -> None:
    sandbox.configure(force_faults=["http500", "http503"])
    assert gateway.write("Customer", {"DisplayName": "Flaky Co"}, request_id="qbs-test-4")["Id"]


def test_a_batch_answers_each_item_by_bid(gateway: QboGateway) -> None:
    answers = gateway.batch([
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Hicks Hardware"}},
    ], request_id="qbsb-test-5")
    assert answers["1"]["Customer"]["DisplayName"] == "Batch One"
    assert answers["2"]["Fault"]["Error"][0]["code"] == "6240"


@pytest.mark.parametrize(
    ("status", "text", "kind", "code"),
    [
        (200, '{"Fault": {"Error": [{"code": "10000", "Message": "x"}], "type": "SystemFault"}}', ErrorKind.SERVER,
         "10000"),
        (200, "<html>not json</html>", ErrorKind.MALFORMED, ""),
        (200, "[1, 2]", ErrorKind.MALFORMED, ""),
        (429, '<IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>m</Message></Error></Fault>'
              "</IntuitResponse>", ErrorKind.THROTTLED, "3001"),
        (401, '{"fault": {"error": [{"message": "m", "code": "3200"}], "type": "AUTHENTICATION"}}', ErrorKind.AUTH,
         "3200"),
        (400, '{"Fault": {"Error": [{"Message": "no code"}]}}', ErrorKind.MALFORMED, ""),
        (503, "<html>503</html>", ErrorKind.SERVER, "HTTP 503"),
        (429, '{"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429"}]}}',
         ErrorKind.THROTTLED, "3001"),
    ],
)
def test_malformed_or_faulty_answers_become_errors_never_crashes(status, text, kind, code) -> None:
    error = parse_response(status, text)
    assert not isinstance(error, dict)
    assert (error.kind, error.code) == (kind, code)


def test_in_lists_are_cut_at_1000_values() -> None:
    chunks = chunk_values([f"N{i}" for i in range(2500)])
    assert [len(c) for c in chunks] == [1000, 1000, 500]


def test_a_token_about_to_expire_is_refreshed_before_the_call(
    factory: sessionmaker[Session], connected: Config, gateway: QboGateway
) -> None:
    from datetime import timedelta

    from qbcore.db import transaction
    from qbcore.models import QboConnection, utcnow

    gateway.query("SELECT * FROM Term")
    old = gateway._tokens.access_token
    with transaction(factory) as session:
        session.query(QboConnection).update({QboConnection.access_expires_at: utcnow() + timedelta(minutes=2)})
    gateway._tokens = type(gateway._tokens)(**{**gateway._tokens.__dict__,
                                              "access_expires_at": utcnow() + timedelta(minutes=2)})
    gateway.query("SELECT * FROM Term")
    assert gateway._tokens.access_token != old


@pytest.mark.parametrize(("text", "expected"), [
    ("145", True), ("1", True), ("9" * 20, True), ("0", False), ("0145", False), ("-5", False), ("14.5", False),
    ("145 ", False), ("145\n", False), ("", False), ("9" * 21, False), ("abc", False), ("١٤٥", False),
])
def test_one_quickbooks_id_check_for_every_typed_id(text, expected):
    assert is_qbo_id(text) is expected
