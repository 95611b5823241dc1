"""`qbsync pull` against the sandbox: pulls here and prints what it did, or queues a job."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from qbcore.cli import app
from qbcore.config import Config
from qbcore.models import Job
from tests.qbcore.pull.arrange import invoice_status, open_synced_invoices, pay_in_quickbooks


def env_of(config: Config) -> dict[str, str]:
    return {"QBSYNC_DATABASE_URL": config.database_url, "QBSYNC_QBO_ENV": "local",
            "QBSYNC_QBO_BASE_URL": config.qbo_base_url or "", "QBSYNC_SECRET_KEY": config.secret_key or "",
            "QBSYNC_DATA_DIR": str(config.data_dir), "QBSYNC_REDIRECT_URI": config.redirect_uri}


def test_qbsync_pull_applies_a_payment_made_in_quickbooks_and_says_so(
    synced: sessionmaker[Session], connected: Config, qb
) -> None:
    (invoice_id, qbo_id, total), = open_synced_invoices(synced, 1)
    pay_in_quickbooks(qb, qbo_id, total)
    result = CliRunner().invoke(app, ["pull"], env=env_of(connected))
    assert result.exit_code == 0, result.output
    assert "1 payments applied" in result.output
    assert invoice_status(synced, invoice_id) == "paid"
    queued = CliRunner().invoke(app, ["pull", "--queue"], env=env_of(connected))
    assert queued.exit_code == 0 and "queued pull job" in queued.output
    with synced() as session:
        assert session.scalars(select(Job.kind)).all() == ["pull"]
