"""Shared fixtures: a real migrated database (SQLite, or PostgreSQL when QBSYNC_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from local_oidc import RunningProvider
from qbcore.db import make_engine, make_session_factory, migrate, transaction

# Local sandbox over plain http: requests-oauthlib refuses http:// without this.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

PG_URL = os.environ.get("QBSYNC_TEST_DATABASE_URL")
DEMO_AS_OF = date(2026, 11, 29)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied per test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _postgres_engine() -> Iterator[Engine]:
    """A fresh schema in the test PostgreSQL database, dropped afterwards."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL, so subprocesses and pages given db_url see the same tables.
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    migrate(engine)
    try:
        yield engine
    finally:
        # A session a test left open still holds its connection in a transaction (and its locks): collecting it
        # returns the connection, rolled back, so dispose closes it and the drop is not blocked.
        gc.collect()
        engine.dispose()
        with admin.begin() as conn:
            # Anything else still holding the schema's locks fails this test's teardown in words within a minute,
            # instead of hanging the run.
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(tmp_path: Path, _sqlite_template: Path) -> Iterator[Engine]:
    """A migrated, empty database for one test."""
    if PG_URL:
        yield from _postgres_engine()
        return
    path = tmp_path / "qbsync.db"
    shutil.copy(_sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def db_url(engine: Engine) -> str:
    """The URL of the test database (with its password, for subprocesses)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to the test database."""
    return make_session_factory(engine)


@pytest.fixture
def demo_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The test database holding a small deterministic demo book (120 invoices)."""
    from qbcore.demo import write_demo_book

    with transaction(factory) as session:
        write_demo_book(session, invoices=120, seed=11, as_of=DEMO_AS_OF)
    return factory


@contextmanager
def local_identity_provider(redirect_uris: Sequence[str]) -> Iterator[RunningProvider]:
    """The local OpenID Connect provider (local_oidc); without Node.js a skip, or a failure where CI requires it."""
    from local_oidc import ProviderUnavailable, ensure_installed, run_provider

    try:
        ensure_installed()
    except ProviderUnavailable as exc:
        if os.environ.get("QBSYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"QBSYNC_REQUIRE_BROWSER=1 but {exc}")
        pytest.skip(str(exc))
    with run_provider(redirect_uris) as provider:
        yield provider
