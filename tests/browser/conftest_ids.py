"""Browser fixtures for Settings and QuickBooks IDs: the console and a sandbox, with the OAuth redirect wired up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config, load_config
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.browser.console_server import demo_database, free_port, require_chromium, serve_console


@dataclass(frozen=True)
class ConnectedConsole:
    """A console served by Streamlit that talks to a sandbox; `config` is what the console itself loads."""

    url: str
    sandbox_url: str
    factory: sessionmaker[Session]
    config: Config




@pytest.fixture(scope="module")
def connected_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectedConsole]:
    """Streamlit on a demo book, pointed at a fresh sandbox, redirect URI = its own Settings page."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("browser_ids")
    db_url, engine, factory = demo_database(data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as sandbox:
        env = {"QBSYNC_DATABASE_URL": db_url, "QBSYNC_DATA_DIR": str(data_dir), "QBSYNC_QBO_ENV": "local",
               "QBSYNC_QBO_BASE_URL": sandbox.url, "QBSYNC_REDIRECT_URI": f"{base}/Settings",
               "QBSYNC_SECRET_KEY": Fernet.generate_key().decode(), "OAUTHLIB_INSECURE_TRANSPORT": "1"}
        config = load_config({k: v for k, v in env.items() if k.startswith("QBSYNC_")}, {})
        try:
            with serve_console(env, data_dir, port=port) as url:
                yield ConnectedConsole(url=url, sandbox_url=sandbox.url, factory=factory, config=config)
        finally:
            engine.dispose()
