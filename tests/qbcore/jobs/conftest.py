"""Sync tests reuse the sandbox fixtures of the gateway tests; the quota-free sandbox needs no client limiter."""

from __future__ import annotations

import pytest

from qbcore.qbo import limiter
from tests.qbcore.qbo.conftest import config, connected, sandbox  # noqa: F401


@pytest.fixture(autouse=True)
def _no_client_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "DEFAULT_POLICY", limiter.UNLIMITED)
