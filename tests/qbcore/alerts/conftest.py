"""Alert test fixtures: the real receivers of receivers.py, a fresh secret box, the sandbox fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from qbcore.qbo import limiter
from qbcore.secrets_box import SecretBox
from tests.qbcore.alerts.receivers import Mailbox, Receiver, run_smtp_server, run_webhook_receiver
from tests.qbcore.qbo.conftest import config, connected, sandbox  # noqa: F401


@pytest.fixture(autouse=True)
def _no_client_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "DEFAULT_POLICY", limiter.UNLIMITED)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A local SMTP server collecting what it receives."""
    with run_smtp_server() as box:
        yield box


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A local webhook receiver recording each POSTed body."""
    with run_webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def box() -> SecretBox:
    """A secret box with a fresh key."""
    return SecretBox(Fernet.generate_key().decode())
