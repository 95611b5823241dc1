"""`qbsync import`: a valid set imports (and again changes nothing), a bad row exits 2 with the row named."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, select

from qbcore.db import make_engine, make_session_factory
from qbcore.importer import FileKind
from qbcore.models import Invoice
from tests.qbcore.importer.conftest import FIXTURES, read_rows, to_csv

ARGS = ["--customers", str(FIXTURES / "customers.csv"), "--invoices", str(FIXTURES / "invoice_lines.csv"),
        "--payments", str(FIXTURES / "payments.csv"), "--credit-memos", str(FIXTURES / "credit_memos.csv"),
        "--vendors", str(FIXTURES / "vendors.csv"), "--settlements", str(FIXTURES / "settlements.csv"),
        "--carrier-bills", str(FIXTURES / "carrier_bills.csv")]


def _qbsync(db_url, tmp_path, *args):
    env = {**os.environ, "QBSYNC_DATABASE_URL": db_url, "QBSYNC_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "qbcore.cli", "import", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _invoices(db_url):
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Invoice))
    finally:
        engine.dispose()


def test_the_cli_imports_a_valid_set_then_finds_nothing_to_change(db_url, tmp_path):
    first = _qbsync(db_url, tmp_path, *ARGS)
    assert first.returncode == 0, first.stderr
    assert "invoices: 3 created, 0 updated, 0 unchanged" in first.stdout
    assert "settlements: 3 created, 0 updated, 0 unchanged" in first.stdout
    assert "carrier bills: 2 created, 0 updated, 0 unchanged" in first.stdout
    assert "pay codes: 4 created" in first.stdout and "trucks: 2 created" in first.stdout
    assert "new pay codes (map them to QuickBooks expense accounts in Settings → Pay codes): DET, FSC, LH, TARP" \
        in first.stdout
    assert "new charge codes (map them to QuickBooks items in Settings): BASE, CHASSIS, DETENTION, FSC, PIERPASS2" \
        in first.stdout
    second = _qbsync(db_url, tmp_path, *ARGS)
    assert second.returncode == 0, second.stderr
    assert "invoices: 0 created, 0 updated, 3 unchanged" in second.stdout
    assert "settlements: 0 created, 0 updated, 3 unchanged" in second.stdout
    assert _invoices(db_url) == 3


def test_a_dry_run_says_what_would_change_and_writes_nothing(db_url, tmp_path):
    result = _qbsync(db_url, tmp_path, *ARGS, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "payments: 2 created" in result.stdout and "dry run: nothing was written" in result.stdout
    assert _invoices(db_url) == 0


def test_a_bad_row_exits_2_with_the_row_and_column_named_and_nothing_written(db_url, tmp_path):
    rows = read_rows(FileKind.INVOICES)
    rows[2]["amount"] = "130.00"
    bad = tmp_path / "invoice_lines.csv"
    bad.write_bytes(to_csv(rows))
    args = [*ARGS]
    args[3] = str(bad)
    result = _qbsync(db_url, tmp_path, *args)
    assert result.returncode == 2
    assert "Invoice lines row 4, column amount: amount $130.00 is not quantity × rate" in result.stderr
    assert "1 error; nothing was written" in result.stderr
    assert "Traceback" not in result.stderr
    assert _invoices(db_url) == 0


def test_no_files_or_a_missing_file_is_a_clear_error(db_url, tmp_path):
    none = _qbsync(db_url, tmp_path)
    missing = _qbsync(db_url, tmp_path, "--customers", str(tmp_path / "nope.csv"))
    assert none.returncode == 2 and "give at least one file" in none.stderr
    assert missing.returncode == 2 and "cannot read" in missing.stderr and "Traceback" not in missing.stderr
