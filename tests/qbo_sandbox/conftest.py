"""Fixtures: one in-process sandbox on a free port, a fresh realm per test, and real QBO client objects."""

from __future__ import annotations

import os
import random

import pytest
import requests

from qbo_sandbox import SandboxOptions, start_in_thread

# requests-oauthlib refuses plain http:// without this; the sandbox is loopback only.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With QBSYNC_REQUIRE_REPLAYS=1 (CI sets it) a skipped replay of a recording is a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("replay") and os.environ.get("QBSYNC_REQUIRE_REPLAYS") == "1":
        report.outcome = "failed"
        report.longrepr = f"replay test {item.nodeid} was skipped, and QBSYNC_REQUIRE_REPLAYS=1 forbids it"

CLIENT_ID, CLIENT_SECRET, REDIRECT = "test-client", "test-secret", "http://localhost:8501/callback"


@pytest.fixture(scope="session")
def sandbox():
    with start_in_thread(SandboxOptions(quotas="off", slow_response_s=0.5)) as running:
        yield running


class Realm:
    """A fresh company in the sandbox plus an access token for it."""

    def __init__(self, sandbox, realm_id: str, profile: str | None = None):
        self.sandbox = sandbox
        self.id = realm_id
        if profile:
            made = requests.post(
                f"{sandbox.url}/_sandbox/realms", json={"realm_id": realm_id, "profile": profile}, timeout=30
            )
            assert made.status_code == 201, made.text
        self.tokens = requests.post(
            f"{sandbox.url}/_sandbox/realms/{realm_id}/tokens", json={"client_id": CLIENT_ID}, timeout=5
        ).json()
        self.base = f"{sandbox.url}/v3/company/{realm_id}"
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {self.tokens['access_token']}", "Accept": "application/json"}
        )

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(
            f"{self.base}/{path}", params={"minorversion": 75, **kw.pop("params", {})}, timeout=10, **kw
        )

    def post(self, path: str, body=None, **kw) -> requests.Response:
        return self.http.post(f"{self.base}/{path}", json=body, timeout=10, **kw)

    def query(self, text: str) -> dict:
        response = self.get("query", params={"query": text})
        assert response.status_code == 200, response.text
        return response.json()["QueryResponse"]

    def count(self, entity: str, **filters) -> int:
        response = requests.get(
            f"{self.sandbox.url}/_sandbox/realms/{self.id}/count",
            params={"entity": entity, **filters},
            timeout=5,
        )
        return response.json()["count"]

    def auth_client(self, **kw):
        from intuitlib.client import AuthClient

        return AuthClient(
            CLIENT_ID, CLIENT_SECRET, REDIRECT, self.sandbox.url + "/.well-known/openid_configuration", **kw
        )

    def qb(self):
        from quickbooks import QuickBooks

        class LocalQuickBooks(QuickBooks):
            api_url_v3 = sandbox_api_url_v3 = self.sandbox.url + "/v3"

        auth = self.auth_client(
            access_token=self.tokens["access_token"],
            refresh_token=self.tokens["refresh_token"],
            realm_id=self.id,
        )
        return LocalQuickBooks(
            auth_client=auth, refresh_token=auth.refresh_token, company_id=self.id, minorversion=75
        )


def new_realm_id() -> str:
    return str(random.randint(10**15, 10**16 - 1))


@pytest.fixture
def realm(sandbox) -> Realm:
    """A fresh lists company (the console's kind: lists, no transactions)."""
    return Realm(sandbox, new_realm_id())


@pytest.fixture
def sample(sandbox) -> Realm:
    """A fresh copy of Intuit's sample company, with its transactions."""
    return Realm(sandbox, new_realm_id(), profile="sample")


@pytest.fixture
def configure(sandbox):
    """Change runtime config for one test and put the defaults back afterwards."""

    def apply(**settings):
        response = requests.post(f"{sandbox.url}/_sandbox/config", json=settings, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    yield apply
    apply(
        quotas="off",
        fault_rate=0.0,
        latency_ms=0,
        access_token_ttl_s=3600,
        reset_quotas=True,
        throttle_format="xml",
        slow_response_s=0.5,
        quota_limits={
            "realm_minute": {"count": 500, "window_s": 60},
            "realm_second": {"count": 10, "window_s": 1},
            "batch_app_minute": {"count": 40, "window_s": 60},
            "batch_realm_minute": {"count": 120, "window_s": 60},
        },
        max_concurrent=10,
    )
