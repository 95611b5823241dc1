"""Pull tests: the sandbox over HTTP, the demo book synced into it, a python-quickbooks client for QBO users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from intuitlib.client import AuthClient
from quickbooks import QuickBooks
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.qbo.gateway import QboGateway
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import REALM, SandboxClient
from tests.qbcore.sync.conftest import _no_client_quota, config, connected, sandbox  # noqa: F401
from tests.qbcore.sync.state import FAST_RETRY


def gateway_for(factory: sessionmaker[Session], cfg: Config) -> QboGateway:
    return QboGateway(factory, cfg, retry=FAST_RETRY, timeout_s=10)


@pytest.fixture
def synced(demo_factory: sessionmaker[Session], connected: Config) -> sessionmaker[Session]:  # noqa: F811
    """The demo book, synced to the sandbox."""
    summary = sync_now(demo_factory, connected, gateway=gateway_for(demo_factory, connected))
    assert (summary.failed, summary.blocked) == (0, 0)
    return demo_factory


@pytest.fixture
def qb(sandbox: SandboxClient) -> Iterator[QuickBooks]:  # noqa: F811
    """Someone working directly in QuickBooks: the unmodified python-quickbooks client on a minted token."""
    tokens = requests.post(f"{sandbox.url}/_sandbox/realms/{REALM}/tokens", json={}, timeout=10).json()
    auth = AuthClient("their-app", "secret", "http://localhost/cb", f"{sandbox.url}/.well-known/openid_configuration",
                      access_token=tokens["access_token"], refresh_token=tokens["refresh_token"], realm_id=REALM)
    client = QuickBooks(auth_client=auth, refresh_token=tokens["refresh_token"], company_id=REALM, minorversion=75)
    client.api_url_v3 = client.sandbox_api_url_v3 = f"{sandbox.url}/v3"
    yield client
