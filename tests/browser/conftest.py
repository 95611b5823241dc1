"""Browser tests: Streamlit on a free port against a prepared database, driven by Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.models import Job
from tests.conftest import DEMO_AS_OF
from tests.qbcore.problems.problem_data import ProblemBook, seed_problems

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip every browser test cleanly when Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason="needs /usr/bin/chromium (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium instead of a downloaded one; nothing phones home."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A wide window, so every grid column and button is on screen; downloads allowed."""
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1100}, "accept_downloads": True}


@dataclass(frozen=True)
class ConsoleApp:
    """A running console: its URL and a session factory on its database."""

    url: str
    factory: sessionmaker[Session]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def console_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleApp]:
    """Streamlit serving the console (no background services) on a demo book; stopped at the end."""
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    data_dir = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{data_dir / 'qbsync.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=120, seed=11, as_of=DEMO_AS_OF)
    port = _free_port()
    env = {**os.environ, "QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": str(data_dir), "QBSYNC_BACKGROUND": "off",
           "QBSYNC_DEMO_INVOICES": "0"}
    log = (data_dir / "streamlit.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
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
                    raise RuntimeError(f"streamlit did not start; see {data_dir / 'streamlit.log'}") from None
                time.sleep(0.3)
        yield ConsoleApp(url=base, factory=factory)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        engine.dispose()


@pytest.fixture
def problem_app(console_app: ConsoleApp) -> tuple[ConsoleApp, ProblemBook]:
    """The running console with a fresh problem list (statuses reset, no jobs)."""
    with transaction(console_app.factory) as session:
        session.execute(delete(Job))
        book = seed_problems(session)
    return console_app, book
