"""The qbsync command line: init is harmless twice, demo writes a book, bad config names the variable."""

import subprocess
import sys

import pytest

from qbcore.db import current_revision, head_revision, make_engine


def _qbsync(*args, env_extra=None, cwd=None, monkeypatch=None):
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "qbcore.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


@pytest.fixture
def cli_env(tmp_path):
    return {"QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "QBSYNC_DATA_DIR": str(tmp_path / "data")}


def test_init_twice_creates_then_changes_nothing(cli_env, tmp_path):
    first = _qbsync("init", env_extra=cli_env)
    second = _qbsync("init", env_extra=cli_env)
    assert first.returncode == 0 and "applied 0001" in first.stdout
    assert second.returncode == 0 and second.stdout.strip() == "database already up to date"
    assert current_revision(make_engine(cli_env["QBSYNC_DATABASE_URL"])) == head_revision()


def test_demo_writes_a_book_once_and_refuses_a_second(cli_env):
    first = _qbsync("demo", "--invoices", "40", "--seed", "5", "--as-of", "2026-11-29", env_extra=cli_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote 40 invoices")
    again = _qbsync("demo", "--invoices", "40", env_extra=cli_env)
    assert again.returncode == 2
    assert "already holds a billing book" in again.stderr


def test_a_bad_setting_stops_the_cli_with_the_variable_named(cli_env):
    result = _qbsync("init", env_extra={**cli_env, "QBSYNC_QBO_ENV": "staging"})
    assert result.returncode == 2
    assert "QBSYNC_QBO_ENV" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_date_is_a_clear_error(cli_env):
    result = _qbsync("demo", "--as-of", "29/11/2026", env_extra=cli_env)
    assert result.returncode == 2 and "YYYY-MM-DD" in result.stderr


def test_schedule_queues_the_waiting_book_once_for_cron(cli_env):
    from qbcore.db import make_session_factory, transaction
    from qbcore.models import ConnectionStatus, QboConnection

    assert _qbsync("demo", "--invoices", "10", "--as-of", "2026-11-29", env_extra=cli_env).returncode == 0
    unconnected = _qbsync("schedule", env_extra=cli_env)
    assert unconnected.returncode == 0 and "sync" in unconnected.stdout and "pull" not in unconnected.stdout
    engine = make_engine(cli_env["QBSYNC_DATABASE_URL"])
    with transaction(make_session_factory(engine)) as session:
        session.add(QboConnection(realm_id="9341", environment="local", status=ConnectionStatus.CONNECTED))
    engine.dispose()
    first = _qbsync("schedule", env_extra=cli_env)
    second = _qbsync("schedule", env_extra=cli_env)
    assert first.returncode == 0 and "pull" in first.stdout
    assert second.stdout.strip() == "nothing to queue"


def test_rotate_key_reencrypts_tokens_so_the_old_key_can_go(cli_env):
    from cryptography.fernet import Fernet
    from sqlalchemy import select

    from qbcore.db import make_session_factory, migrate, transaction
    from qbcore.models import QboConnection
    from qbcore.secrets_box import SecretBox

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    engine = make_engine(cli_env["QBSYNC_DATABASE_URL"])
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        session.add(QboConnection(realm_id="1", environment="local", refresh_token_enc=SecretBox(old).encrypt("r-9")))
    result = _qbsync("rotate-key", env_extra={**cli_env, "QBSYNC_SECRET_KEY": f"{new},{old}"})
    assert result.returncode == 0 and "re-encrypted 1 token" in result.stdout
    with factory() as session:
        sealed = session.scalar(select(QboConnection.refresh_token_enc))
    assert SecretBox(new).decrypt(sealed) == "r-9"
    wrong = _qbsync("rotate-key", env_extra={**cli_env, "QBSYNC_SECRET_KEY": Fernet.generate_key().decode()})
    assert wrong.returncode == 2 and "cannot be re-encrypted" in wrong.stderr


def test_problems_for_items_points_to_the_invoices_they_block(cli_env):
    result = _qbsync("problems", "--entity", "items", "--out", "/dev/null", env_extra=cli_env)
    assert result.returncode == 2 and "--entity invoices" in result.stderr and "Traceback" not in result.stderr


def test_sandbox_serves_the_throttle_body_format_asked_for(cli_env):
    import os
    import re
    import time

    import requests

    process = subprocess.Popen(
        [sys.executable, "-m", "qbcore.cli", "sandbox", "--port", "0", "--throttle-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **cli_env},
    )
    try:
        assert process.stdout is not None
        url = None
        for _ in range(20):
            found = re.search(r"QBO sandbox on (http://\S+)", process.stdout.readline())
            if found:
                url = found.group(1)
                break
        assert url, "the sandbox did not print its address"
        deadline = time.monotonic() + 15
        while True:
            try:
                config = requests.get(f"{url}/_sandbox/config", timeout=1).json()
                break
            except requests.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not come up"
                time.sleep(0.1)
        assert config["throttle_format"] == "json"
    finally:
        process.terminate()
        process.wait(timeout=10)
    refused = _qbsync("sandbox", "--throttle-format", "yaml", env_extra=cli_env)
    assert refused.returncode == 2 and "--throttle-format must be xml or json" in refused.stderr
