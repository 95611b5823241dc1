"""Serve the console with `streamlit run` on a free port for browser tests, and a demo database for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from tests.conftest import DEMO_AS_OF

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Skip without Chromium, unless QBSYNC_REQUIRE_BROWSER=1 says the run must have it (then fail)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("QBSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail("QBSYNC_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing (apt-get install chromium)")
    pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_database(data_dir: Path) -> tuple[str, Engine, sessionmaker[Session]]:
    """A migrated SQLite file holding the 120-invoice test book: its URL, engine and session factory."""
    url = f"sqlite:///{data_dir / 'qbsync.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=120, seed=11, as_of=DEMO_AS_OF)
    return url, engine, factory


@contextmanager
def serve_console(
    env_extra: dict[str, str], data_dir: Path, port: int | None = None, secrets_file: Path | None = None,
) -> Iterator[str]:
    """Run `streamlit run Home.py` (no background services) until the block ends; yields its base URL.

    secrets_file replaces .streamlit/secrets.toml (a test's own [auth] section, say).
    """
    port = port or free_port()
    env = {**os.environ, "QBSYNC_DATA_DIR": str(data_dir), "QBSYNC_BACKGROUND": "off",
           "QBSYNC_DEMO_INVOICES": "0", **env_extra}
    log_path = data_dir / "streamlit.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none",
             *(["--secrets.files", str(secrets_file)] if secrets_file else [])],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"streamlit did not start; see {log_path}") from None
                    time.sleep(0.3)
            yield base
        finally:
            stop_console(server)


def stop_console(server: subprocess.Popen[bytes]) -> None:
    """Stop the console as Ctrl-C does, then for good if it lingers.

    Streamlit's uvicorn server waits, without a time limit, for the browser's open connections to close; under CI
    load one stop waited more than 38 s for a page the test still held. What a test checks is written by then.
    """
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
