"""Shared fixtures: a real migrated database (SQLite, or PostgreSQL when QBSYNC_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from local_oidc import RunningProvider
from qbcore.db import make_engine, make_session_factory, migrate, transaction

# Local sandbox over plain http: requests-oauthlib refuses http:// without this.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

PG_URL = os.environ.get("QBSYNC_TEST_DATABASE_URL")
DEMO_AS_OF = date(2026, 11, 29)


class _SqliteTemplates:
    """Migrated SQLite files, made once per run and copied per test (migrating each time would be slow)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._made: dict[str, Path] = {}

    def template(self, kind: str) -> Path:
        """The template file of this kind ("empty" or "demo"), made on first use."""
        if kind not in self._made:
            path = self._folder / f"{kind}.db"
            engine = make_engine(f"sqlite:///{path}")
            migrate(engine)
            if kind == "demo":
                _write_demo(make_session_factory(engine))
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            self._made[kind] = path
        return self._made[kind]


class _PostgresTemplates:
    """Migrated template databases on the test server, cloned per test.

    CREATE DATABASE … TEMPLATE copies a migrated database in about 0.1 s, where running the migrations takes
    0.5-0.8 s and writing the demo book another 0.8 s: over a thousand database tests that is most of CI's wait.
    """

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        # Every name carries this run's prefix, so two runs (or xdist workers) on one server never collide.
        self._prefix = f"qbt_{uuid.uuid4().hex[:10]}"
        self._admin = create_engine(self._url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._made: dict[str, str] = {}
        self._clones: list[str] = []
        # Dropping a finished test's database (~0.2 s) need not hold up the next test.
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-db")

    def url_of(self, database: str) -> str:
        """The URL of one database on the test server (with its password, for subprocesses)."""
        return self._url.set(database=database).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self._admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def template(self, kind: str) -> str:
        """The template database of this kind ("empty" or "demo"), made on first use."""
        if kind not in self._made:
            name = f"{self._prefix}_tpl_{kind}"
            if kind == "empty":
                self._execute(f'CREATE DATABASE "{name}"')
                engine = make_engine(self.url_of(name))
                migrate(engine)
            else:
                self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template("empty")}"')
                engine = make_engine(self.url_of(name))
                _write_demo(make_session_factory(engine))
            # A template takes no connections while it is being copied.
            engine.dispose()
            self._made[kind] = name
        return self._made[kind]

    def clone(self, kind: str) -> str:
        """A new database copied from the template of this kind; its name."""
        template = self.template(kind)
        name = f"{self._prefix}_{len(self._clones)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._clones.append(name)
        return name

    def drop_later(self, name: str) -> None:
        """Drop a test's database in the background; FORCE ends any connection a test left behind."""
        self._dropper.submit(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Wait for the pending drops, then drop the templates."""
        self._dropper.shutdown(wait=True)
        for name in self._made.values():
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()


def _write_demo(factory: sessionmaker[Session]) -> None:
    from qbcore.demo import write_demo_book

    with transaction(factory) as session:
        write_demo_book(session, invoices=120, seed=11, as_of=DEMO_AS_OF)


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> _SqliteTemplates:
    """This run's SQLite template files."""
    return _SqliteTemplates(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def _postgres_templates() -> Iterator[_PostgresTemplates | None]:
    """This run's PostgreSQL template databases (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    templates = _PostgresTemplates(PG_URL)
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path, _sqlite_templates: _SqliteTemplates,
           _postgres_templates: _PostgresTemplates | None) -> Iterator[Engine]:
    """A migrated database for one test: empty, or already holding the demo book when the test asks for it."""
    kind = "demo" if "demo_factory" in request.fixturenames else "empty"
    if _postgres_templates is not None:
        name = _postgres_templates.clone(kind)
        eng = make_engine(_postgres_templates.url_of(name))
        try:
            yield eng
        finally:
            # A session a test left open still holds its connection: collecting it returns the connection.
            gc.collect()
            eng.dispose()
            _postgres_templates.drop_later(name)
        return
    path = tmp_path / "qbsync.db"
    shutil.copy(_sqlite_templates.template(kind), path)
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
    """The test database holding a small deterministic demo book (120 invoices), copied from a template."""
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
