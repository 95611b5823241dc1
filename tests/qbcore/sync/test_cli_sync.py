"""`qbsync sync --wait`, `qbsync sync` + `qbsync worker --once`, and `qbsync problems` against the sandbox."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qbcore.cli import app
from qbcore.config import Config
from qbcore.models import EntityType
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
    assert ran.exit_code == 0 and "after 1 job" in ran.output, ran.output
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
    result = CliRunner().invoke(app, ["sync", "--entity", "vendor-bills"], env=env)
    assert result.exit_code == 2 and "--entity must be one of" in result.output


def _hold_company(factory, owner: str, seconds: float, label: str) -> int:
    """Another run holds the sandbox company's lease for `seconds`, as a running job of `owner` would."""
    from datetime import timedelta

    from qbcore.db import transaction
    from qbcore.jobs.lease import acquire_lease
    from qbcore.models import Job, JobStatus
    from tests.qbcore.qbo.conftest import REALM

    with transaction(factory) as session:
        job = Job(kind="sync", params={"label": label}, status=JobStatus.RUNNING, total=5, created_by="ops@x.com",
                  lease_owner=owner)
        session.add(job)
        session.flush()
        job_id = job.id
    assert acquire_lease(factory, REALM, owner, ttl=timedelta(seconds=seconds))
    return job_id


def test_sync_wait_says_whom_it_waits_for_then_syncs_when_the_lease_is_free(demo_factory, env,
                                                                           sandbox: SandboxClient) -> None:
    job_id = _hold_company(demo_factory, "ops-box:4242:77", 2.0, "Nightly sync")
    result = CliRunner().invoke(app, ["sync", "--entity", "customers", "--wait"], env=env)
    assert result.exit_code == 0, result.output
    assert (f"waiting up to 60 s for the QuickBooks company: a worker on host ops-box, process 4242 "
            f"(job #{job_id} Nightly sync), lease until ") in result.output
    assert "40 synced, 0 failed, 0 blocked" in result.output


def test_a_company_held_too_long_is_refused_naming_the_holder(demo_factory, connected: Config) -> None:
    from qbcore.jobs.lease import CompanyBusy, wait_for_lease
    from tests.qbcore.qbo.conftest import REALM

    job_id = _hold_company(demo_factory, "sync-now:ops-box:4242:77", 30.0, "")
    heard = []
    with pytest.raises(CompanyBusy) as refused:
        wait_for_lease(demo_factory, REALM, "me:here:1:1", wait_s=0, on_wait=lambda h, s: heard.append((h, s)))
    assert [(h.owner, h.job_id, s) for h, s in heard] == [("sync-now:ops-box:4242:77", job_id, 0)]
    assert (f"another run is syncing QuickBooks company {REALM}: sync-now on host ops-box, process 4242 "
            f"(job #{job_id}), lease until ") in str(refused.value)


def test_after_a_local_reconnect_the_summary_counts_both_passes(demo_factory, connected: Config,
                                                                sandbox: SandboxClient) -> None:
    import requests

    from qbcore.sync.runner import sync_now
    from tests.qbcore.qbo.conftest import REALM

    revoked: list[dict] = []

    def progress(summary) -> None:
        # Ten records in, the company's admin disconnects the app: the run pauses, reconnects, carries on.
        if summary.synced >= 10 and not revoked:
            revoked.append(requests.post(f"{sandbox.url}/_sandbox/realms/{REALM}/disconnect", timeout=10).json())

    summary = sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER], progress=progress)
    assert revoked and revoked[0]["revoked"]
    assert statuses(demo_factory, EntityType.CUSTOMER) == {"synced": 40}
    assert (summary.synced, summary.failed, summary.blocked, summary.paused) == (40, 0, 0, False)
    assert summary.total == 40
