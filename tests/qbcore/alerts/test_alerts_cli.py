"""`qbsync alerts`: add a channel, send a test, and a tick that sends once — run as a person would, in a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.models import AlertChannel, ConnectionStatus, QboConnection
from tests.qbcore.alerts.receivers import Mailbox, Receiver


def qbsync(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qbcore.cli", "alerts", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, input=stdin, timeout=120)


def test_add_test_and_tick_send_one_email_and_one_webhook_call_and_a_second_tick_sends_nothing(
        tmp_path: Path, smtp_server: Mailbox, webhook: Receiver) -> None:
    env = {"QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "QBSYNC_DATA_DIR": str(tmp_path / "data")}
    added = qbsync(env, "add-email", "Finance email", "--to", "ops@co.com", "--sender", "qbsync@co.com",
                   "--host", smtp_server.host, "--port", str(smtp_server.port), "--security", "none")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == (
        f"channel 'Finance email' sends email to ops@co.com through 127.0.0.1:{smtp_server.port}")
    hooked = qbsync(env, "add-webhook", "Ops Slack", stdin=webhook.url + "\n")
    assert hooked.returncode == 0, hooked.stderr
    assert "posts to 127.0.0.1" in hooked.stdout and "secret-hook-token" not in hooked.stdout + hooked.stderr
    tested = qbsync(env, "send-test", "Finance email")
    assert (tested.returncode, tested.stdout.strip()) == (0, "The test to Finance email was delivered to ops@co.com.")
    assert smtp_server.messages[0]["Subject"] == "[QuickBooks sync] Test message from the QuickBooks Sync Console"

    engine = make_engine(env["QBSYNC_DATABASE_URL"])
    migrate(engine)
    with transaction(make_session_factory(engine)) as session:
        session.add(QboConnection(realm_id="9130", environment="local", company_name="Harbor Drayage",
                                  status=ConnectionStatus.DISCONNECTED, connected_at=datetime(2026, 11, 1, tzinfo=UTC),
                                  disconnected_at=datetime(2026, 12, 1, tzinfo=UTC), disconnected_by="dana@co.com"))
        assert session.query(AlertChannel).count() == 2
    engine.dispose()
    first = qbsync(env, "tick")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "queued 2, sent 2, retrying 0, failed 0"
    second = qbsync(env, "tick")
    assert second.stdout.strip() == "queued 0, sent 0, retrying 0, failed 0"
    assert len(smtp_server.messages) == 2 and len(webhook.bodies) == 1
    assert "QuickBooks is disconnected by dana@co.com: nothing syncs with Harbor Drayage" in webhook.bodies[0]["text"]
    history = qbsync(env, "history")
    assert history.returncode == 0 and history.stdout.count("Sent") == 3


def test_a_missing_channel_and_a_bad_setting_are_one_plain_line_and_exit_2(tmp_path: Path) -> None:
    env = {"QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "QBSYNC_DATA_DIR": str(tmp_path / "data")}
    missing = qbsync(env, "send-test", "Nowhere")
    assert (missing.returncode, missing.stderr.strip()) == (
        2, "error: no channel named 'Nowhere'; channels: none yet (qbsync alerts add-email)")
    bad = qbsync(env, "add-email", "Mail", "--to", "not-an-address", "--sender", "qbsync@co.com",
                 "--host", "smtp.example.com")
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: Email: give one or more recipients as addresses separated by commas")
