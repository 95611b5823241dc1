"""Problem Sync at a real book's size: 100k invoices, 20k problems; prints page-script, grid and selection times.

Usage: python bench/page_problem_sync.py [--db PATH] [--invoices 100000] [--problems 20000] [--runs 5] [--no-browser]
The database is built once (about 25 s on SQLite) and reused when PATH already holds a book.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import String, and_, cast, func, select, update  # noqa: E402

from qbcore.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from qbcore.demo import has_book, write_demo_book  # noqa: E402
from qbcore.models import EntityType, SyncRecord  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
NOW = datetime.now(UTC)

# (share of problems, status, kind, code, blocked_by, message)
PROBLEM_MIX = [
    (4, "failed", "mapping", None, "charge_code:CHASSIS", "Charge code CHASSIS has no QuickBooks item"),
    (1, "failed", "duplicate", "6240", "customer:ACME Logistics", "Duplicate Name Exists Error"),
    (1, "failed", "closed_period", "6200", None, "The date is before the books' closing date"),
    (1, "blocked", "dependency", None, "customer:Atlas Import Group", "Waiting for the customer to sync"),
    (1, "failed", "validation", "6000", None, "A business validation error occurred"),
    (1, "out_of_date", None, None, None, None),
    (1, "never_synced", None, None, None, None),
]


def build_book(url: str, invoices: int, problems: int) -> None:
    """A demo book with every record synced except `problems` invoices spread over the mix above."""
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        reuse = has_book(session)
        marked = reuse and session.scalar(select(func.count()).select_from(
            select(SyncRecord.id).where(SyncRecord.status == "synced").limit(1).subquery())) != 0
    if marked:
        print(f"reusing the book in {url}")
        return
    if reuse:
        print(f"reusing the demo book in {url}; marking its problems")
    else:
        started = time.perf_counter()
        with transaction(factory) as session:
            write_demo_book(session, invoices=invoices, seed=7)
        print(f"book written in {time.perf_counter() - started:.1f} s")
    mark_problems(factory, invoices, problems)
    if engine.dialect.name == "postgresql":
        # Marking rewrote every sync record: a live database's autovacuum would vacuum and analyze before anyone
        # looks, so the pages are timed after it has (else every index-only count reads the whole table).
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"vacuumed and analyzed in {time.perf_counter() - started:.1f} s")


def mark_problems(factory: Any, invoices: int, problems: int) -> None:
    """Every record synced except `problems` invoices spread over the mix above (and a few payments, customers)."""
    started = time.perf_counter()
    step = max(1, invoices // problems)
    shares = sum(share for share, *_ in PROBLEM_MIX)
    with transaction(factory) as session:
        session.execute(update(SyncRecord).values(status="synced", qbo_id=cast(SyncRecord.id, String),
                                                  last_synced_at=NOW - timedelta(hours=3)))
        # Each record synced at its own moment, as a real sync stamps them (one moment for all would make every
        # newest-first list a sort of ties): 1,000 slabs of ids, a minute apart, the newest ids last synced.
        top = session.scalar(select(func.max(SyncRecord.id))) or 0
        slab = max(1, -(-top // 1000))
        for k in range(0, top // slab + 1):
            session.execute(update(SyncRecord).where(SyncRecord.id > k * slab, SyncRecord.id <= (k + 1) * slab)
                            .values(last_synced_at=NOW - timedelta(hours=3, minutes=1000 - k)))
        is_problem = and_(SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.entity_id % step == 0)
        slot = (SyncRecord.entity_id / step) % shares
        low = 0
        for share, status, kind, code, blocked_by, message in PROBLEM_MIX:
            failed = status in ("failed", "blocked")
            session.execute(update(SyncRecord).where(is_problem, slot >= low, slot < low + share).values(
                status=status, error_kind=kind, error_code=code, blocked_by=blocked_by, error_message=message,
                qbo_id=None, attempts=3 if failed else 0,
                first_failed_at=NOW - timedelta(days=12) if failed else None,
                last_attempt_at=NOW - timedelta(hours=2) if failed else None,
            ))
            low += share
        for entity, count in ((EntityType.PAYMENT, 300), (EntityType.CUSTOMER, 4), (EntityType.CREDIT_MEMO, 40)):
            ids = select(SyncRecord.id).where(SyncRecord.entity_type == entity.value).limit(count).scalar_subquery()
            session.execute(update(SyncRecord).where(SyncRecord.id.in_(ids)).values(
                status="failed", error_kind="validation", error_code="6000", qbo_id=None, attempts=1,
                error_message="A business validation error occurred", first_failed_at=NOW - timedelta(days=3)))
        total = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type == "invoice", SyncRecord.status != "synced"))
    print(f"{total:,} invoice problems marked in {time.perf_counter() - started:.1f} s")


def time_page_script(url: str, data_dir: str, runs: int) -> list[float]:
    """Wall time of the page's script (AppTest, in-process), one run per sample after a warm-up."""
    os.environ.update(QBSYNC_DATABASE_URL=url, QBSYNC_DATA_DIR=data_dir, QBSYNC_BACKGROUND="off",
                      QBSYNC_DEMO_INVOICES="0")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120)
    at.run()
    at.switch_page(str(ROOT / "pages" / "4_Problem_Sync.py")).run()
    assert not at.exception, at.exception
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        samples.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return samples


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_browser(url: str, data_dir: str, runs: int) -> tuple[list[float], list[float]]:
    """Grid-visible time after navigation and the selection round-trip, in Debian's Chromium."""
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    env = {**os.environ, "QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": data_dir, "QBSYNC_BACKGROUND": "off",
           "QBSYNC_DEMO_INVOICES": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    visible, selection = [], []
    try:
        import urllib.request

        for _ in range(120):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            for attempt in range(runs + 1):
                context = browser.new_context(viewport={"width": 1600, "height": 1000})
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/Problem_Sync", wait_until="domcontentloaded")
                grid = page.frame_locator('iframe[title="st_aggrid.AgGrid.agGrid"]')
                expect(grid.locator(".ag-center-cols-container .ag-row").first).to_be_visible(timeout=120_000)
                shown = time.perf_counter() - started
                expect(page.get_by_text("Select all", exact=False)).to_be_visible(timeout=60_000)
                started = time.perf_counter()
                grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
                expect(page.get_by_text("1 selected", exact=False)).to_be_visible(timeout=60_000)
                picked = time.perf_counter() - started
                if attempt:  # the first visit warms the server's caches and the component bundle
                    visible.append(shown)
                    selection.append(picked)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return visible, selection


def main() -> None:
    """Build (or reuse) the book, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "qbsync_bench_100k.db"))
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--problems", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    data_dir = tempfile.mkdtemp(prefix="qbsync-bench-")
    build_book(url, args.invoices, args.problems)
    script = time_page_script(url, data_dir, args.runs)
    print(f"page script (AppTest, {len(script)} runs): median {statistics.median(script):.3f} s, "
          f"max {max(script):.3f} s")
    if args.no_browser or not Path(CHROMIUM).exists():
        print("browser timings skipped (no Chromium or --no-browser)")
        return
    visible, selection = time_browser(url, data_dir, args.runs)
    print(f"grid visible in Chromium ({len(visible)} runs): median {statistics.median(visible):.2f} s, "
          f"max {max(visible):.2f} s")
    print(f"selection round-trip ({len(selection)} runs): median {statistics.median(selection):.2f} s, "
          f"max {max(selection):.2f} s")


if __name__ == "__main__":
    main()
