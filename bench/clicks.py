"""What a person waits for: click → page settled, in Chromium, on the embedded default's 2,000-invoice demo book.

Usage: python bench/clicks.py [--invoices 2000] [--problems N] [--book PATH] [--cycles 3] [--phases both|idle|sync]
The console runs as `streamlit run Home.py` with its background services on (local sandbox, worker, scheduler) on
a fresh data dir. A click counts as settled when its target (the new page's title and content, the new tab's
headline, the filtered count, the detail panel, the dialog) is drawn and Streamlit's script state is back to
"notRunning". Each cycle clicks through Home, Problem Sync (filter, tick a row, switch tabs, open and cancel a
confirmation), QuickBooks IDs and Settings: first idle, then while the worker pushes the whole book to the
local QuickBooks (production quotas). Prints median, p90 and max per click; the issue's goal is ≤ 0.5 s.
With --problems N every record is marked synced except N invoices spread over the problem mix of
bench/page_problem_sync.py (the issue's book: --invoices 100000 --problems 20000); the sync phase then pushes
those. --book PATH keeps that book in PATH (built once) and copies it for each run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from qbcore.access import LOCAL_ADMIN  # noqa: E402
from qbcore.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from qbcore.demo import write_demo_book  # noqa: E402
from qbcore.jobs.queue import enqueue_sync_job, has_active_job  # noqa: E402
from qbcore.models import Customer, Job  # noqa: E402
from qbcore.settings import save_settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
GRID = 'iframe[title="st_aggrid.AgGrid.agGrid"]'
GOAL_S = 0.5
NOT_RUNNING = "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_book(data_dir: Path, invoices: int, problems: int = 0, book: Path | None = None) -> str:
    """The database the embedded default would write on first start, with syncs on demand so 'idle' stays idle."""
    target = data_dir / "qbsync.db"
    if book is not None and book.exists():
        shutil.copyfile(book, target)
        return f"sqlite:///{target}"
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=invoices, seed=7)  # the same book and seed the console writes itself
        save_settings(session, LOCAL_ADMIN, {"trigger": "on_demand"})
    if problems:
        from bench.page_problem_sync import mark_problems

        mark_problems(factory, invoices, problems)
    engine.dispose()
    if book is not None:
        shutil.copyfile(target, book)
    return url


def start_console(url: str, data_dir: Path, invoices: int, entry: str = "Home.py") -> tuple[subprocess.Popen, str]:
    """`streamlit run Home.py` on the embedded default (sandbox, worker, scheduler in the process)."""
    port = _free_port()
    env = {**os.environ, "QBSYNC_DATABASE_URL": url, "QBSYNC_DATA_DIR": str(data_dir), "QBSYNC_BACKGROUND": "on",
           "QBSYNC_DEMO_INVOICES": str(invoices)}
    log = (data_dir / "streamlit.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / entry), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                return server, base
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError(f"streamlit did not start; see {data_dir / 'streamlit.log'}")


def settle(page: Page, *targets: Callable[[], None]) -> None:
    """Every target drawn and Streamlit's script state back to notRunning, then every target again.

    The second look is at the finished page: until the run ends, a target may still match the previous state's
    element (the old tab's grid, say), which Streamlit removes only then.
    """
    for target in targets:
        target()
    page.wait_for_function(NOT_RUNNING, timeout=TIMEOUT_MS)
    for target in targets:
        target()


def visible(locator) -> Callable[[], None]:
    """A target: this locator is on screen."""
    return lambda: expect(locator).to_be_visible(timeout=TIMEOUT_MS)


def changed(locator, before: str) -> Callable[[], None]:
    """A target: this locator is on screen and no longer reads as it did before the click."""
    def target() -> None:
        expect(locator).to_be_visible(timeout=TIMEOUT_MS)
        expect(locator).not_to_have_text(before, timeout=TIMEOUT_MS)
    return target


class Clicks:
    """One browser page clicking through the console, recording each click's seconds under its name."""

    def __init__(self, page: Page, search: str) -> None:
        self.page = page
        self.search = search
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.current = ""  # the click under way, named when one is lost

    def click(self, name: str, locator, *targets: Callable[[], None]) -> None:
        """Click, then wait until the page has settled with the targets drawn; record the seconds."""
        self.current = name
        locator.wait_for(state="visible", timeout=TIMEOUT_MS)
        self.page.wait_for_function(NOT_RUNNING, timeout=TIMEOUT_MS)  # start from a settled page
        started = time.perf_counter()
        locator.click()
        settle(self.page, *targets)
        self.samples[name].append(time.perf_counter() - started)

    def nav(self, label: str):
        return self.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True)

    def heading(self, text: str):
        return self.page.get_by_role("heading", name=text, exact=True)

    def cycle(self) -> None:
        """Home → Problem Sync (filter, tick, tabs, confirmation) → QuickBooks IDs → Settings."""
        page = self.page
        grid = page.frame_locator(GRID)  # one grid, kept across tabs
        first_row = grid.locator(".ag-center-cols-container .ag-row").first
        self.click("open Problem Sync", self.nav("Problem Sync"), visible(self.heading("Problem Sync")),
                   visible(first_row))
        info = page.get_by_text(re.compile(r"matching · .* · rows ")).first
        before = info.inner_text()
        box = page.get_by_label("Search reference, customer or message")
        box.fill(self.search)
        started = time.perf_counter()
        box.press("Enter")
        expect(info).not_to_have_text(before, timeout=TIMEOUT_MS)
        settle(page, visible(first_row))
        self.samples["apply a filter (search)"].append(time.perf_counter() - started)
        self.click("tick a row (detail opens)",
                   grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first,
                   visible(page.get_by_text("1 selected", exact=False)),
                   visible(page.get_by_text(re.compile("^Details of ")).first))
        self.click("open a confirmation", page.get_by_role("button", name=re.compile(r"^Resync all [\d,]+ matching")),
                   visible(page.get_by_role("dialog").get_by_role("button", name="Cancel")))
        self.click("cancel a confirmation", page.get_by_role("dialog").get_by_role("button", name="Cancel"),
                   lambda: expect(page.get_by_role("dialog")).to_have_count(0, timeout=TIMEOUT_MS))
        # The grid stays across tabs: a switch has settled when its first row holds the new tab's record.
        self.click("switch a tab", page.get_by_role("tab", name="Payments"),
                   visible(page.get_by_text(re.compile(r"payments? needs? attention|no payments are waiting"))),
                   changed(first_row, first_row.inner_text()))
        self.click("switch a tab", page.get_by_role("tab", name="Invoices"),
                   visible(page.get_by_text(re.compile(r"invoices? needs? attention|no invoices are waiting"))),
                   changed(first_row, first_row.inner_text()))
        self.click("open QuickBooks IDs", self.nav("QuickBooks IDs"), visible(self.heading("QuickBooks IDs")),
                   visible(page.get_by_text(re.compile(r"tick rows to act on them|^No record matches")).first))
        self.click("open Settings", self.nav("Settings"), visible(self.heading("Settings")),
                   visible(page.get_by_role("tab", name="What syncs")))
        self.click("open Home", self.nav("Home"), visible(self.heading("QuickBooks Sync Console")),
                   visible(self.heading("The billing book")))


def print_table(title: str, samples: dict[str, list[float]]) -> None:
    """click, median, p90, max, n."""
    print(f"\n{title}")
    print(f"{'click':<28} {'median s':>9} {'p90 s':>7} {'max s':>7} {'n':>3}  ≤ {GOAL_S} s?")
    for name, values in samples.items():
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        median = statistics.median(ordered)
        print(f"{name:<28} {median:9.2f} {p90:7.2f} {ordered[-1]:7.2f} {len(ordered):3}  "
              f"{'yes' if median <= GOAL_S else 'no'}")


def main() -> None:
    """Prepare the book, start the console, click through it idle and during a full sync, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--problems", type=int, default=0,
                        help="mark every record synced except this many invoice problems (0: the demo as written)")
    parser.add_argument("--book", type=Path, help="keep the prepared book here and reuse it on later runs")
    parser.add_argument("--cycles", type=int, default=3, help="clicks through the console per phase")
    parser.add_argument("--entry", default="Home.py", help="the script `streamlit run` starts (asgi.py, say)")
    parser.add_argument("--phases", choices=["both", "idle", "sync"], default="both",
                        help="idle, while a sync runs, or both (the default)")
    args = parser.parse_args()
    # Stopped from outside (timeout, Ctrl-C): still stop the console it started, in the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="qbsync-clicks-"))
    url = prepare_book(data_dir, args.invoices, args.problems, args.book)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        search = session.scalar(select(Customer.name).order_by(Customer.id).limit(1)) or "a"
    server, base = start_console(url, data_dir, args.invoices, args.entry)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                              "--disable-background-networking", "--disable-component-update"])
            page = browser.new_context(viewport={"width": 1600, "height": 1100}).new_page()
            started = time.perf_counter()
            page.goto(base, wait_until="domcontentloaded")
            settle(page, visible(page.get_by_role("heading", name="The billing book")))
            print(f"console ready in the browser {time.perf_counter() - started:.1f} s after start "
                  f"(book of {args.invoices:,} invoices, search {search!r})", flush=True)
            clicks = Clicks(page, search)
            clicks.cycle()  # warm-up: the first visit imports each page's modules and loads the grid bundle
            clicks.samples.clear()
            if args.phases != "sync":
                for _ in range(args.cycles):
                    clicks.cycle()
                print_table(f"idle ({args.cycles} cycles)", clicks.samples)
            if args.phases != "idle":
                job_id = enqueue_sync_job(factory, entity_types=None, record_ids=None)
                with factory() as session:
                    total = session.get_one(Job, job_id).total
                print(f"\nqueued job #{job_id}: a first full sync of {total:,} records", flush=True)
                during = Clicks(page, search)
                for _ in range(args.cycles):
                    with factory() as session:
                        running = has_active_job(session)
                    if not running:
                        print("the sync finished before this cycle; stopping the during-sync phase")
                        break
                    try:
                        during.cycle()
                    except AssertionError as error:  # a click whose new state never came: say so, go on
                        lines = str(error).splitlines()
                        print(f"a click was lost during the sync: {during.current!r} (its target never drew in "
                              f"{TIMEOUT_MS // 1000} s: {lines[0] if lines else error!r})", flush=True)
                        page.goto(base, wait_until="domcontentloaded")
                        settle(page, visible(page.get_by_role("heading", name="The billing book")))
                with factory() as session:
                    job = session.get_one(Job, job_id)
                    print(f"job #{job_id} {job.status}: {job.done:,} of {job.total:,} records done meanwhile")
                print_table("while the console's worker pushes the book", during.samples)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a sync in flight may hold the server past its stop signal
            server.kill()
            server.wait(timeout=30)
        engine.dispose()
    print(f"\nbench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
