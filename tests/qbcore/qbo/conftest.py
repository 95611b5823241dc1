"""The local QuickBooks sandbox over HTTP, a Config pointing at it, and a connected console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config, QboEnvironment
from qbo_sandbox.server import SandboxOptions, start_in_thread

REALM = "9341455130166501"


class SandboxClient:
    """The sandbox's inspection surface (outside /v3), for arranging and asserting."""

    def __init__(self, url: str) -> None:
        self.url = url

    def configure(self, **values: Any) -> dict:
        return requests.post(f"{self.url}/_sandbox/config", json=values, timeout=10).json()

    def count(self, entity: str, **filters: str) -> int:
        params = {"entity": entity, **filters}
        return requests.get(f"{self.url}/_sandbox/realms/{REALM}/count", params=params, timeout=10).json()["count"]

    def duplicates(self, entity: str = "Invoice", *fields: str) -> list[dict]:
        """Groups of rows sharing these fields (DocNumber when none is named; a Ref compares by its id)."""
        params = {"entity": entity, "field": list(fields) or ["DocNumber"]}
        return requests.get(f"{self.url}/_sandbox/realms/{REALM}/duplicates", params=params,
                            timeout=10).json()["duplicates"]

    def plant(self, **spec: Any) -> dict:
        return requests.post(f"{self.url}/_sandbox/realms/{REALM}/plant", json=spec, timeout=10).json()

    def expire_tokens(self) -> dict:
        return requests.post(f"{self.url}/_sandbox/tokens/expire", timeout=10).json()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/stats", timeout=10).json()


@pytest.fixture
def sandbox() -> Iterator[SandboxClient]:
    """A fresh sandbox (no latency, quotas off) on a free port."""
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off", default_realm=REALM)) as running:
        yield SandboxClient(running.url)


@pytest.fixture
def config(sandbox: SandboxClient, db_url: str, tmp_path: Path) -> Config:
    """Local mode against the sandbox, with a fresh token key."""
    return Config(database_url=db_url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                  secret_key=Fernet.generate_key().decode(), data_dir=tmp_path,
                  redirect_uri="http://127.0.0.1:8501/Settings")


@pytest.fixture
def connected(factory: sessionmaker[Session], config: Config) -> Config:
    """The console connected to the sandbox through the real authorization-code flow."""
    from qbcore.qbo.oauth import ensure_local_connection

    ensure_local_connection(factory, config)
    return config
