"""Browser tests: Streamlit on a free port against a prepared database, driven by Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from qbcore.db import transaction
from qbcore.models import Job
from tests.browser.console_server import CHROMIUM, demo_database, require_chromium, serve_console
from tests.qbcore.problems.problem_data import ProblemBook, seed_problems


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip every browser test cleanly when Debian's Chromium is not installed (unless CI requires it)."""
    if CHROMIUM.exists() or os.environ.get("QBSYNC_REQUIRE_BROWSER") == "1":
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


@pytest.fixture(scope="session")
def console_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleApp]:
    """Streamlit serving the console (no background services) on a demo book; stopped at the end."""
    require_chromium()
    data_dir = tmp_path_factory.mktemp("browser")
    url, engine, factory = demo_database(data_dir)
    try:
        with serve_console({"QBSYNC_DATABASE_URL": url}, data_dir) as base:
            yield ConsoleApp(url=base, factory=factory)
    finally:
        engine.dispose()


@pytest.fixture
def problem_app(console_app: ConsoleApp) -> tuple[ConsoleApp, ProblemBook]:
    """The running console with a fresh problem list (statuses reset, no jobs)."""
    with transaction(console_app.factory) as session:
        session.execute(delete(Job))
        book = seed_problems(session)
    return console_app, book
