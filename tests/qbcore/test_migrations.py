"""Upgrading a database made by the previous release keeps its data and adds what this release needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbcore.db import current_revision, head_revision, make_engine, migrate
from tests.conftest import PG_URL

PREVIOUS_RELEASE = "0005"


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database (its own PostgreSQL schema when QBSYNC_TEST_DATABASE_URL is set)."""
    if not PG_URL:
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _previous_release(engine: Engine) -> Engine:
    migrate(engine, PREVIOUS_RELEASE)
    assert current_revision(engine) == PREVIOUS_RELEASE
    return engine


def test_a_company_the_previous_release_left_disconnected_stays_disconnected_by_whoever_did_it(
    empty_engine: Engine,
) -> None:
    engine = _previous_release(empty_engine)
    when = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qbo_connections (id, realm_id, environment, status, connected_at) "
                          "VALUES (1, '9130', 'local', 'disconnected', :t)"), {"t": when})
        conn.execute(text("INSERT INTO audit_events (at, actor, role, action, outcome) VALUES "
                          "(:early, 'old@co.com', 'admin', 'disconnect_quickbooks', 'ok'), "
                          "(:t, 'dana@co.com', 'admin', 'disconnect_quickbooks', 'ok')"),
                     {"t": when, "early": datetime(2026, 11, 1, tzinfo=UTC)})
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        row = conn.execute(text("SELECT realm_id, status, disconnected_by, disconnected_at FROM qbo_connections"
                                )).one()
    assert (row.realm_id, row.status, row.disconnected_by) == ("9130", "disconnected", "dana@co.com")
    assert row.disconnected_at is not None


def test_a_connected_company_of_the_previous_release_is_not_marked_disconnected(empty_engine: Engine) -> None:
    engine = _previous_release(empty_engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qbo_connections (id, realm_id, environment, status, connected_at) "
                          "VALUES (1, '9130', 'local', 'connected', :t)"), {"t": datetime(2026, 11, 20, tzinfo=UTC)})
        conn.execute(text("INSERT INTO audit_events (at, actor, role, action, outcome) VALUES "
                          "(:t, 'dana@co.com', 'admin', 'disconnect_quickbooks', 'ok')"),
                     {"t": datetime(2026, 11, 19, tzinfo=UTC)})
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT disconnected_by FROM qbo_connections")).scalar_one() is None


def test_customers_of_the_previous_release_keep_their_names_and_go_to_quickbooks_under_them(
    empty_engine: Engine,
) -> None:
    engine = _previous_release(empty_engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, code, name, terms, country, active, updated_at) "
                          "VALUES (1, 'C1', 'ACME Logistics', 'Net 30', 'USA', :yes, :t)"),
                     {"yes": True, "t": datetime(2026, 11, 1, tzinfo=UTC)})
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT code, name, qbo_display_name FROM customers")).one()
    assert tuple(row) == ("C1", "ACME Logistics", None)
