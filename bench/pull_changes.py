"""Measure a pull of ~10,000 QuickBooks changes: sync a demo book into the sandbox (quotas off), pull it back."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from qbcore.config import Config, QboEnvironment
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.pull import run_pull, runner
from qbcore.pull.bookmark import BOOKMARKS_KEY
from qbcore.qbo import limiter
from qbcore.qbo.gateway import QboGateway
from qbcore.qbo.oauth import ensure_local_connection
from qbcore.settings import company_setting_row
from qbcore.sync.runner import sync_now
from qbo_sandbox.server import SandboxOptions, start_in_thread


def timed(module: object, name: str) -> dict[str, float]:
    """Wrap module.name to add up its wall time."""
    original = getattr(module, name)
    spent = {"seconds": 0.0, "calls": 0}

    def wrapper(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["calls"] += 1

    setattr(module, name, wrapper)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=5000,
                        help="demo invoices to sync (payments, credit memos and paid invoices add more changes)")
    args = parser.parse_args()
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    limiter.DEFAULT_POLICY = limiter.UNLIMITED
    with tempfile.TemporaryDirectory() as tmp, \
            start_in_thread(SandboxOptions(port=0, latency_ms=0, quotas="off")) as sandbox:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            write_demo_book(session, invoices=args.invoices, seed=3)
        config = Config(database_url=str(engine.url), qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox.url,
                        secret_key=Fernet.generate_key().decode(), data_dir=Path(tmp),
                        redirect_uri="http://127.0.0.1:8501/Settings")
        ensure_local_connection(factory, config)
        started = time.perf_counter()
        pushed = sync_now(factory, config)
        print(f"setup: synced {pushed.synced:,} records in {time.perf_counter() - started:.1f} s "
              f"({pushed.failed} failed, {pushed.blocked} blocked)")

        with transaction(factory) as session:  # a first pull: everything since the look-back is a change
            row = company_setting_row(session, BOOKMARKS_KEY)
            if row is not None:
                session.delete(row)
        gateway = QboGateway(factory, config)
        check = timed(runner, "_check_existence")
        full = run_pull(factory, config, gateway=gateway)
        cdc_s = full.seconds - check["seconds"]
        print(f"full pull: {full.changes:,} changes in {full.seconds:.2f} s = {full.changes / full.seconds:,.0f} "
              f"changes/s, {full.requests} requests, {full.pages} pages, {full.applied} applied, "
              f"{full.drifts} drifts")
        print(f"  of which CDC read + apply: {cdc_s:.2f} s = {full.changes / cdc_s:,.0f} changes/s; existence check "
              f"after overflow (Id IN queries of 1,000): {check['seconds']:.2f} s in {check['calls']} run(s)")
        again = run_pull(factory, config, gateway=gateway)
        print(f"incremental pull right after: {again.changes:,} changes in {again.seconds:.2f} s, "
              f"{again.requests} requests")


if __name__ == "__main__":
    main()
