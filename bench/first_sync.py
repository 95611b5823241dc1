"""First full sync of a real book: a sample pushed with production quotas, then scaled to a 100,000-invoice book.

Pushes a whole demo book (customers, items, invoices, credit memos, payments, credit applications) to the local
sandbox with production quotas and real latency, from empty quota windows, through the engine the worker runs.
The first minute runs on a fresh minute's quota; the rate from then to the end is taken as the steady one, but
never above the ceiling (a short sample's second minute still has room its first left). The projection for a
100,000-invoice book is that first minute's records, then the rest at that rate; the quota-bound minimum is
every record at the ceiling (each minute's batch calls full, its other requests single writes). The sample is
scaled, not pushed: customers and charge codes are the demo's fixed lists, the other records grow with the
invoices. The sample must run well past a minute (the default does).

Usage: python bench/first_sync.py [--invoices 1600] [--book 100000] [--latency-ms 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from qbcore.config import Config, QboEnvironment  # noqa: E402
from qbcore.db import make_engine, make_session_factory, migrate, transaction  # noqa: E402
from qbcore.demo import write_demo_book  # noqa: E402
from qbcore.models import ENTITY_NOUNS, EntityType  # noqa: E402
from qbcore.qbo.gateway import QboGateway  # noqa: E402
from qbcore.qbo.limiter import QuotaPolicy  # noqa: E402
from qbcore.qbo.oauth import ensure_local_connection  # noqa: E402
from qbcore.sync.projection import (  # noqa: E402
    SyncProjection,
    count_unsent,
    format_duration,
    quota_ceiling_per_minute,
)
from qbcore.sync.runner import sync_now  # noqa: E402
from qbcore.sync.summary import SyncSummary  # noqa: E402
from qbo_sandbox.server import SandboxOptions, start_in_thread  # noqa: E402

# The demo's fixed lists: the same number whatever the book's size.
FIXED = (EntityType.CUSTOMER, EntityType.ITEM)
# The quota windows' length (QuotaPolicy pads QuickBooks' minute by a second).
FRESH_MINUTE_S = 61.0


def scaled(counts: dict[EntityType, int], factor: float) -> dict[EntityType, int]:
    """The sample's counts grown to the big book: fixed lists stay, the rest grow with the invoices."""
    return {entity: count if entity in FIXED else round(count * factor) for entity, count in counts.items()}


def main() -> None:
    """Push the sample, print its figures and the projection for the big book."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1600, help="the sample book pushed for real")
    parser.add_argument("--book", type=int, default=100_000, help="the book the projection is for (invoices)")
    parser.add_argument("--latency-ms", type=float, default=150)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qbsync-first-sync-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=args.invoices, seed=7)
    with factory() as session:
        counts = count_unsent(session)
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    policy = QuotaPolicy()
    ceiling = quota_ceiling_per_minute(policy)
    with start_in_thread(SandboxOptions(port=0, latency_ms=args.latency_ms, quotas="production",
                                        data_dir=str(workdir / "sandbox"))) as sandbox:
        config = Config(database_url=url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=workdir)
        ensure_local_connection(factory, config)
        sample = SyncProjection(counts=counts, ceiling_per_minute=ceiling)
        print(f"sample: a {args.invoices:,}-invoice demo book, {sample.total:,} records, pushed with production "
              f"quotas at {args.latency_ms:g} ms latency", flush=True)
        marks: list[tuple[float, int]] = [(0.0, 0)]
        started = time.perf_counter()

        def progress(running: SyncSummary) -> None:
            marks.append((time.perf_counter() - started, running.done))

        summary = sync_now(factory, config, gateway=QboGateway(factory, config, quota=policy), progress=progress)
        marks.append((time.perf_counter() - started, summary.done))
        throttled = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()["throttled"]
    engine.dispose()
    wall = marks[-1][0]
    print(f"  {summary.synced:,} synced, {summary.failed:,} failed, {summary.blocked:,} blocked, "
          f"{summary.skipped:,} unchanged in {format_duration(wall)} ({wall:.1f} s) with "
          f"{summary.requests:,} requests ({summary.requests / max(summary.done, 1):.3f} a record), "
          f"{throttled} throttled; its quota-bound minimum {format_duration(sample.minimum_seconds)}")
    if wall < 1.5 * FRESH_MINUTE_S:
        print(f"the sample ran {wall:.0f} s, too short for a steady rate after the first minute: use more invoices")
        return
    burst_s, burst = max((m for m in marks if m[0] <= FRESH_MINUTE_S), key=lambda m: m[0])
    steady = (marks[-1][1] - burst) * 60.0 / (wall - burst_s)
    print(f"  first {burst_s:.0f} s (a fresh minute's quota): {burst:,} records; then {steady:,.0f} records a minute "
          f"(steady, {steady / ceiling:.0%} of the ceiling)")

    if steady > ceiling:
        # The minute after the first still has room its predecessor left (its early calls age out of the window):
        # a long sync cannot keep up more than the ceiling.
        print(f"  {steady:,.0f} a minute is above the ceiling of {ceiling:,}: the engine outruns the quotas, so the "
              "rest is projected at the ceiling")
    rest_rate = min(steady, float(ceiling))
    book = SyncProjection(counts=scaled(counts, args.book / args.invoices), ceiling_per_minute=ceiling)
    projected = burst_s + max(book.total - burst, 0) * 60.0 / rest_rate
    print(f"\nprojected first full sync of a {args.book:,}-invoice book (the sample's counts scaled "
          f"×{args.book / args.invoices:,.1f}; customers and items as they are):")
    for entity, count in book.counts.items():
        print(f"  {ENTITY_NOUNS[entity][1]:<22} {count:>10,}")
    print(f"  {'total':<22} {book.total:>10,}")
    print(f"\n{'':<22} {'wall time':>12} {'records/min':>12}")
    print(f"{'quota-bound minimum':<22} {format_duration(book.minimum_seconds):>12} {ceiling:>12,}")
    print(f"{'projected':<22} {format_duration(projected):>12} {book.total * 60.0 / projected:>12,.0f}")
    print(f"projected / minimum = {projected / book.minimum_seconds:.2f}")

if __name__ == "__main__":
    main()
