"""`qbsync init` on a database the single-company release (0011) made and synced: one company, nothing lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from qbcore.db import current_revision, head_revision, make_engine
from tests.fixtures.releases.make_release_db import FIXTURE_SECRET_KEY
from tests.qbcore.test_cli import _qbsync

RELEASE_0011 = Path(__file__).parents[1] / "fixtures" / "releases" / "0011.sqlite"
# Tables whose every row must survive the upgrade, compared column by column (company_id is new).
KEPT = ("customers", "invoices", "charge_lines", "payments", "credit_memos", "sync_records", "sync_attempts",
        "qbo_connections", "audit_events", "jobs", "vendors", "settlements", "carrier_bills")


def _rows(engine: Engine, table: str, columns: list[str]) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"))]


@pytest.fixture
def old_database(tmp_path: Path) -> tuple[str, dict[str, str]]:
    copy = tmp_path / "release-0011.sqlite"
    shutil.copy(RELEASE_0011, copy)
    url = f"sqlite:///{copy}"
    return url, {"QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": str(tmp_path / "data"),
                 "QBSYNC_SECRET_KEY": FIXTURE_SECRET_KEY}


def test_the_single_company_release_upgrades_in_place_with_every_row_and_quickbooks_id(old_database) -> None:
    url, env = old_database
    engine = make_engine(url)
    assert current_revision(engine) == "0011"
    columns = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in KEPT}
    before = {t: _rows(engine, t, columns[t]) for t in KEPT}
    assert len(before["sync_records"]) > 100 and sum(1 for r in before["sync_records"] if r[3]) > 100
    engine.dispose()

    upgraded = _qbsync("init", env_extra=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied 0012" in upgraded.stdout

    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    # Every row, every old column, unchanged: QuickBooks ids, tokens, attempts, the audit log.
    assert {t: _rows(engine, t, columns[t]) for t in KEPT} == before
    with engine.connect() as conn:
        companies = conn.execute(text("SELECT id, name, is_default, driver_pay, carrier_pay FROM companies")).all()
        owners = {t: set(conn.execute(text(f"SELECT DISTINCT company_id FROM {t}")).scalars())
                  for t in ("customers", "sync_records", "qbo_connections")}
    # The one connection became the first company, named as QuickBooks names it, with everything in it.
    assert [tuple(c) for c in companies] == [(1, "Sandbox Company_US_1", 1, 1, 1)]
    assert owners == {"customers": {1}, "sync_records": {1}, "qbo_connections": {1}}
    engine.dispose()

    listed = _qbsync("companies", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("1  Sandbox Company_US_1  realm 9341455130166501  connected")
    assert "(default for new customers, driver pay, carrier pay)" in listed.stdout
    again = _qbsync("init", env_extra=env)
    assert again.stdout.strip() == "database already up to date"
