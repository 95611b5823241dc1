"""Browser fixtures for Settings and QuickBooks IDs: the console and a sandbox, with the OAuth redirect wired up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config, load_config
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbo_sandbox.server import SandboxOptions, start_in_thread
from tests.browser.conftest import CHROMIUM, ROOT, _free_port
from tests.conftest import DEMO_AS_OF


@dataclass(frozen=True)
class ConnectedConsole:
    """A console served by Streamlit that talks to a sandbox; `config` is what the console itself loads."""

    url: str
    sandbox_url: str
    factory: sessionmaker[Session]
    config: Config


def require_chromium() -> None:
    """Skip without Chromium, unless QBSYNC_REQUIRE_BROWSER=1 says the run must have it (then fail)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("QBSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail("QBSYNC_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
    pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")


def _wait_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"streamlit did not start; see {log}") from None
            time.sleep(0.3)


@pytest.fixture(scope="module")
def connected_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectedConsole]:
    """Streamlit on a demo book, pointed at a fresh sandbox, redirect URI = its own Settings page."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("browser_ids")
    db_url = f"sqlite:///{data_dir / 'qbsync.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=120, seed=11, as_of=DEMO_AS_OF)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as sandbox:
        env = {**os.environ, "QBSYNC_DATABASE_URL": db_url, "QBSYNC_DATA_DIR": str(data_dir),
               "QBSYNC_BACKGROUND": "off", "QBSYNC_DEMO_INVOICES": "0", "QBSYNC_QBO_ENV": "local",
               "QBSYNC_QBO_BASE_URL": sandbox.url, "QBSYNC_REDIRECT_URI": f"{base}/Settings",
               "QBSYNC_SECRET_KEY": Fernet.generate_key().decode(), "OAUTHLIB_INSECURE_TRANSPORT": "1"}
        config = load_config({k: v for k, v in env.items() if k.startswith("QBSYNC_")}, {})
        log_path = data_dir / "streamlit.log"
        log = log_path.open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(base, server, log_path)
            yield ConnectedConsole(url=base, sandbox_url=sandbox.url, factory=factory, config=config)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            engine.dispose()
