"""`qbsync sync --wait`, `qbsync sync` + `qbsync worker --once`, and `qbsync problems` against the sandbox."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qbcore.cli import app
from qbcore.config import Config
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import statuses


@pytest.fixture
def env(connected: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    values = {"QBSYNC_DATABASE_URL": connected.database_url, "QBSYNC_QBO_ENV": "local",
              "QBSYNC_QBO_BASE_URL": connected.qbo_base_url or "", "QBSYNC_SECRET_KEY": connected.secret_key,
              "QBSYNC_DATA_DIR": str(tmp_path)}
    monkeypatch.chdir(tmp_path)  # no stray .streamlit/secrets.toml
    return values


def test_sync_wait_pushes_the_chosen_entity_and_prints_a_summary(demo_factory, env, sandbox: SandboxClient) -> None:
    result = CliRunner().invoke(app, ["sync", "--entity", "customers", "--wait"], env=env)
    assert result.exit_code == 0, result.output
    assert "40 synced, 0 failed, 0 blocked" in result.output
    assert statuses(demo_factory)["synced"] == 40


def test_sync_without_wait_queues_a_job_that_a_worker_runs(demo_factory, env, sandbox: SandboxClient) -> None:
    queued = CliRunner().invoke(app, ["sync", "--entity", "invoices"], env=env)
    assert queued.exit_code == 0 and "queued job" in queued.output
    ran = CliRunner().invoke(app, ["worker", "--once"], env=env)
    assert ran.exit_code == 0 and "after 1 job(s)" in ran.output, ran.output
    assert statuses(demo_factory)["synced"] >= 120


def test_problems_export_writes_a_spreadsheet_safe_csv(demo_factory, env, sandbox: SandboxClient,
                                                       tmp_path: Path) -> None:
    sandbox.plant(vendors=["ACME Logistics"])
    CliRunner().invoke(app, ["sync", "--entity", "customers", "--wait"], env=env)
    out = tmp_path / "problems.csv"
    result = CliRunner().invoke(app, ["problems", "--entity", "customers", "--out", str(out)], env=env)
    assert result.exit_code == 0 and "wrote 1 problem record" in result.output, result.output
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 2 and "6240" in rows[1]


def test_an_unknown_entity_is_refused_plainly(env) -> None:
    result = CliRunner().invoke(app, ["sync", "--entity", "vendors"], env=env)
    assert result.exit_code == 2 and "--entity must be one of" in result.output
