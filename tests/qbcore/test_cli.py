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


BAD_INPUTS = [
    ("no such command", ("nosuch",), "No such command"),
    ("init: an unknown option", ("init", "--force"), "No such option: --force"),
    ("demo: a negative count", ("demo", "--invoices", "-1"), "--invoices"),
    ("demo: a word for a count", ("demo", "--invoices", "many"), "--invoices"),
    ("demo: a date in the wrong form", ("demo", "--as-of", "29/11/2026"), "YYYY-MM-DD"),
    ("sandbox: a port past 65535", ("sandbox", "--port", "99999"), "--port"),
    ("sandbox: a port that is not a number", ("sandbox", "--port", "x"), "--port"),
    ("sandbox: unknown quotas", ("sandbox", "--quotas", "some"), "--quotas"),
    ("sandbox: a fault rate above 1", ("sandbox", "--fault-rate", "2"), "--fault-rate"),
    ("sync: ids that are not numbers", ("sync", "--ids", "abc"), "--ids"),
    ("sync: an unknown option", ("sync", "--wat"), "No such option: --wat"),
    ("worker: an unknown option", ("worker", "--fast"), "No such option: --fast"),
    ("schedule: an extra argument", ("schedule", "now"), "unexpected extra argument"),
    ("pull: an unknown option", ("pull", "--all"), "No such option: --all"),
    ("problems: an unwritable path", ("problems", "--entity", "invoices", "--out", "/nonexistent/dir/x.csv"),
     "/nonexistent/dir/x.csv"),
    ("problems: a folder for a file", ("problems", "--entity", "invoices", "--out", "/tmp"), "/tmp"),
    ("problems: an unknown entity", ("problems", "--entity", "widgets"), "--entity"),
    ("import: the same flag twice", ("import", "--customers", "a.csv", "--customers", "b.csv"),
     "--customers was given 2 times"),
]


@pytest.mark.parametrize(("case", "args", "says"), BAD_INPUTS, ids=[case for case, _, _ in BAD_INPUTS])
def test_every_command_answers_bad_input_with_one_plain_line_and_exit_2(cli_env, case, args, says):
    result = _qbsync(*args, env_extra=cli_env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and says.lower() in lines[0].lower(), lines
    assert "Traceback" not in result.stderr + result.stdout


def test_a_header_only_file_imports_nothing_and_writes_no_audit_event(cli_env, tmp_path):
    from sqlalchemy import func, select

    from qbcore.db import make_session_factory
    from qbcore.models import AuditEvent

    header_only = tmp_path / "customers.csv"
    header_only.write_text("customer_code,name,billing_email,terms\n", encoding="utf-8")
    result = _qbsync("import", "--customers", str(header_only), env_extra=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nothing was imported: the files hold only their header rows"
    with make_session_factory(make_engine(cli_env["QBSYNC_DATABASE_URL"]))() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
