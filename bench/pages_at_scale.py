"""Every page at a real book's size (100k invoices, 20k problems): AppTest script times and the server's memory.

Usage: python bench/pages_at_scale.py [--db PATH | --database-url URL] [--invoices 100000] [--problems 20000]
                                      [--runs 3] [--no-browser]
The book is built once (reusing bench/page_problem_sync.py's builder) and reused when the database already
holds one. Script times are the median of `--runs` AppTest runs after one warm-up, with QBSYNC_BACKGROUND=off.
Memory is the peak (VmHWM) and current (VmRSS) resident size of a real `streamlit run Home.py` process after
headless Chromium has opened every page once.
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from page_problem_sync import build_book  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PAGES = ["Home.py", *sorted(p.name for p in (ROOT / "pages").glob("*.py"))]


def _console_env(url: str, data_dir: str) -> dict[str, str]:
    return {"QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": data_dir, "QBSYNC_BACKGROUND": "off",
            "QBSYNC_DEMO_INVOICES": "0"}


def time_page_scripts(url: str, data_dir: str, runs: int) -> dict[str, tuple[float, float, float, str]]:
    """Per page: first-run, median and max script seconds (runs after the warm-up), and any exception."""
    os.environ.update(_console_env(url, data_dir))
    from streamlit.testing.v1 import AppTest

    results: dict[str, tuple[float, float, float, str]] = {}
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=300)
        started = time.perf_counter()
        at.run()  # warm-up (Home), also opens the runtime
        if page != "Home.py":
            started = time.perf_counter()
            at.switch_page(str(ROOT / "pages" / page)).run()  # warm-up of the page itself
        first = time.perf_counter() - started
        problem = "; ".join(str(e.message).splitlines()[0] for e in at.exception)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - started)
            if at.exception and not problem:
                problem = "; ".join(str(e.message).splitlines()[0] for e in at.exception)
        results[page] = (first, statistics.median(samples), max(samples), problem)
        print(f"  {page:<26} first {first:7.3f} s  median {results[page][1]:7.3f} s  max {results[page][2]:7.3f} s"
              f"{'  EXCEPTION: ' + problem if problem else ''}", flush=True)
    return results


def print_book_size(url: str) -> None:
    """How big the book really is (a reused database may hold another size)."""
    from sqlalchemy import func, select

    from qbcore.db import make_engine, make_session_factory
    from qbcore.models import EntityType, Invoice, SyncRecord

    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        invoices = session.scalar(select(func.count()).select_from(Invoice))
        problems = session.scalar(select(func.count()).select_from(SyncRecord).where(
            SyncRecord.entity_type == EntityType.INVOICE.value, SyncRecord.status != "synced"))
    engine.dispose()
    print(f"book: {invoices:,} invoices, {problems:,} invoice problems")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


def _url_path(page: str) -> str:
    if page == "Home.py":
        return ""
    return page.removesuffix(".py").split("_", 1)[1]


def measure_server_memory(url: str, data_dir: str) -> tuple[dict[str, int], dict[str, int], list[tuple[str, float]]]:
    """RSS of `streamlit run Home.py` when idle after start, and after Chromium opened each page once."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env={**os.environ, **_console_env(url, data_dir)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    visits: list[tuple[str, float]] = []
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        idle = _memory_kib(server.pid)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            for name in PAGES:
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/{_url_path(name)}", wait_until="domcontentloaded")
                # The script is done when Streamlit's status widget stops showing "Running".
                page.wait_for_selector('[data-testid="stApp"]', timeout=300_000)
                page.wait_for_timeout(1500)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=300_000)
                visits.append((name, time.perf_counter() - started))
            browser.close()
        after = _memory_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return idle, after, visits


def main() -> None:
    """Build (or reuse) the book, then print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "qbsync_bench_100k.db"))
    parser.add_argument("--database-url", help="use this database (built there if empty) instead of --db")
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--problems", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.db}"
    data_dir = tempfile.mkdtemp(prefix="qbsync-bench-")
    build_book(url, args.invoices, args.problems)
    print_book_size(url)
    print(f"page scripts (AppTest, median of {args.runs} after one warm-up, background off):", flush=True)
    scripts = time_page_scripts(url, data_dir, args.runs)
    print()
    print(f"{'page':<26} {'warm-up s':>9} {'median s':>9} {'max s':>8}  exception")
    for page, (first, median, worst, problem) in scripts.items():
        print(f"{page:<26} {first:9.3f} {median:9.3f} {worst:8.3f}  {problem or '-'}")
    if args.no_browser or not Path(CHROMIUM).exists():
        print("server memory skipped (no Chromium or --no-browser)")
        return
    idle, after, visits = measure_server_memory(url, data_dir)
    print()
    print("streamlit run Home.py, Chromium opened each page once:")
    for name, seconds in visits:
        print(f"  {name:<26} settled after {seconds:6.2f} s (includes a 1.5 s settle wait)")
    print(f"  RSS at start     {idle['VmRSS'] / 1024:8.1f} MiB (peak {idle['VmHWM'] / 1024:.1f} MiB)")
    print(f"  RSS after pages  {after['VmRSS'] / 1024:8.1f} MiB (peak VmHWM {after['VmHWM'] / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
