"""Every page at a real book's size (100k or 1M invoices, a fifth of them problems): script times, export, memory.

Usage: python bench/pages_at_scale.py [--db PATH | --database-url URL] [--invoices 100000] [--problems N]
                                      [--runs 3] [--no-browser] [--save FILE.json] [--compare FILE.json]
The book is built once (reusing bench/page_problem_sync.py's builder) and reused when the database already
holds one (a bare demo book gets its problems marked). --problems defaults to a fifth of the invoices (20,000 at
100k, 200,000 at 1M). Script times are the median of `--runs` AppTest runs after one warm-up, with
QBSYNC_BACKGROUND=off, each after the reads the console keeps until the database changes were forgotten (what a
page costs after any commit, as during a sync); "rerun" is one more run with nothing changed since. The CSV export
is Problem Sync's Export button's own call (problems_csv_bytes) over every problem of the biggest tab. Memory is
the peak (VmHWM) and current (VmRSS) resident size of a real `streamlit run Home.py` process after headless
Chromium has opened every page once; the Problem Sync grid-visible and tick round-trip times come from
bench/page_problem_sync.py's browser run. Every figure carries the 1-minute load
average when it was taken (the machine is shared). --save writes the figures; --compare prints them beside a saved
run's with the ratio (this run / that run).
"""

from __future__ import annotations

import argparse
import json
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

from page_problem_sync import build_book, time_browser  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PAGES = ["Home.py", *sorted(p.name for p in (ROOT / "pages").glob("*.py"))]


def _console_env(url: str, data_dir: str) -> dict[str, str]:
    return {"QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": data_dir, "QBSYNC_BACKGROUND": "off",
            "QBSYNC_DEMO_INVOICES": "0"}


def _load() -> float:
    return os.getloadavg()[0]


def time_page_scripts(url: str, data_dir: str, runs: int
                      ) -> dict[str, tuple[float, float, float, str, float, float, float]]:
    """Per page: first-run, median and max script seconds (after the warm-up), exception, load, median CPU seconds,
    and the seconds of a rerun with nothing changed.

    CPU seconds are the process's own (the script runs in-process): what the page costs whatever the machine's load.
    """
    os.environ.update(_console_env(url, data_dir))
    from streamlit.testing.v1 import AppTest

    from qbcore.read_cache import forget_all

    results: dict[str, tuple[float, float, float, str, float, float, float]] = {}
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=300)
        started = time.perf_counter()
        at.run()  # warm-up (Home), also opens the runtime
        if page != "Home.py":
            started = time.perf_counter()
            at.switch_page(str(ROOT / "pages" / page)).run()  # warm-up of the page itself
        first = time.perf_counter() - started
        problem = "; ".join(str(e.message).splitlines()[0] for e in at.exception)
        samples, cpu = [], []
        for _ in range(runs):
            forget_all()
            started, cpu_started = time.perf_counter(), time.process_time()
            at.run()
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            if at.exception and not problem:
                problem = "; ".join(str(e.message).splitlines()[0] for e in at.exception)
        started = time.perf_counter()
        at.run()
        rerun = time.perf_counter() - started
        results[page] = (first, statistics.median(samples), max(samples), problem, _load(), statistics.median(cpu),
                         rerun)
        print(f"  {page:<26} first {first:7.3f} s  median {results[page][1]:7.3f} s  max {results[page][2]:7.3f} s"
              f"  CPU {results[page][5]:.3f} s  rerun {rerun:.3f} s  load {results[page][4]:.2f}"
              f"{'  EXCEPTION: ' + problem if problem else ''}", flush=True)
    return results


def time_export(url: str) -> tuple[float, float, int, int]:
    """Seconds, CPU seconds, rows and bytes of the Export button's CSV of every problem on the invoices tab."""
    from qbcore.db import make_engine, make_session_factory
    from qbcore.models import EntityType
    from qbcore.problems.queries import ProblemFilter, problems_csv_bytes

    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started, cpu_started = time.perf_counter(), time.process_time()
        data = problems_csv_bytes(session, EntityType.INVOICE, ProblemFilter())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    engine.dispose()
    return seconds, cpu, data.count(b"\n") - 1, len(data)


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


def _compare(figures: dict[str, list[float]], other_path: str) -> None:
    """This run's figures beside a saved run's, with the ratio (this / that)."""
    other = json.loads(Path(other_path).read_text())
    mine, theirs = figures["_book"], other["_book"]
    print()
    print(f"{'figure':<40} {int(theirs[0]):>10,} inv {'load':>5} {int(mine[0]):>10,} inv {'load':>5} {'ratio':>7}")
    for name, (value, load) in figures.items():
        if name == "_book" or name not in other:
            continue
        then, then_load = other[name]
        ratio = f"{value / then:7.1f}" if then else "      -"
        print(f"{name:<40} {then:14.3f} {then_load:5.2f} {value:14.3f} {load:5.2f} {ratio}")


def main() -> None:
    """Build (or reuse) the book, then print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "qbsync_bench_100k.db"))
    parser.add_argument("--database-url", help="use this database (built there if empty) instead of --db")
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--problems", type=int, default=None, help="default: a fifth of the invoices")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--save", help="write the figures to this JSON file")
    parser.add_argument("--compare", help="print the figures beside those of a saved run")
    args = parser.parse_args()
    problems = args.problems if args.problems is not None else args.invoices // 5
    url = args.database_url or f"sqlite:///{args.db}"
    data_dir = tempfile.mkdtemp(prefix="qbsync-bench-")
    build_book(url, args.invoices, problems)
    print_book_size(url)
    figures: dict[str, list[float]] = {"_book": [float(args.invoices), float(problems)]}
    seconds, cpu, rows, size = time_export(url)
    figures["Problem Sync CSV export s"] = [seconds, _load()]
    figures["Problem Sync CSV export CPU s"] = [cpu, _load()]
    print(f"CSV export of every invoice problem: {rows:,} rows, {size / 2**20:.1f} MiB in {seconds:.2f} s "
          f"(CPU {cpu:.2f} s, load {_load():.2f})", flush=True)
    print(f"page scripts (AppTest, median of {args.runs} after one warm-up, background off):", flush=True)
    scripts = time_page_scripts(url, data_dir, args.runs)
    print()
    print(f"{'page':<26} {'warm-up s':>9} {'median s':>9} {'max s':>8} {'CPU s':>7} {'rerun s':>8} {'load':>5}"
          "  exception")
    for page, (first, median, worst, problem, load, cpu, rerun) in scripts.items():
        print(f"{page:<26} {first:9.3f} {median:9.3f} {worst:8.3f} {cpu:7.3f} {rerun:8.3f} {load:5.2f}"
              f"  {problem or '-'}")
        figures[f"script {page} median s"] = [median, load]
        figures[f"script {page} CPU s"] = [cpu, load]
        figures[f"script {page} rerun s"] = [rerun, load]
    if args.no_browser or not Path(CHROMIUM).exists():
        print("server memory and Problem Sync browser timings skipped (no Chromium or --no-browser)")
    else:
        idle, after, visits = measure_server_memory(url, data_dir)
        print()
        print("streamlit run Home.py, Chromium opened each page once:")
        for name, seconds in visits:
            print(f"  {name:<26} settled after {seconds:6.2f} s (includes a 1.5 s settle wait)")
        print(f"  RSS at start     {idle['VmRSS'] / 1024:8.1f} MiB (peak {idle['VmHWM'] / 1024:.1f} MiB)")
        print(f"  RSS after pages  {after['VmRSS'] / 1024:8.1f} MiB (peak VmHWM {after['VmHWM'] / 1024:.1f} MiB, "
              f"load {_load():.2f})")
        figures["console peak RSS MiB"] = [after["VmHWM"] / 1024, _load()]
        visible, selection = time_browser(url, data_dir, args.runs)
        load = _load()
        print(f"Problem Sync grid visible ({len(visible)} runs): median {statistics.median(visible):.2f} s, "
              f"max {max(visible):.2f} s (load {load:.2f})")
        print(f"Problem Sync tick round-trip ({len(selection)} runs): median {statistics.median(selection):.2f} s, "
              f"max {max(selection):.2f} s (load {load:.2f})")
        figures["Problem Sync grid visible s"] = [statistics.median(visible), load]
        figures["Problem Sync click s"] = [statistics.median(selection), load]
    if args.save:
        Path(args.save).write_text(json.dumps(figures, indent=1))
    if args.compare:
        _compare(figures, args.compare)


if __name__ == "__main__":
    main()
