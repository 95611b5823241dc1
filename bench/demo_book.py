"""Bench: how long `qbsync demo` takes for a large book, and its peak memory. Prints figures.

Usage: python bench/demo_book.py [--invoices 100000] [--database-url URL | --db PATH]
The peak RSS is the writer process's own (getrusage); the load average is printed beside the figures because the
machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text

from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book


def main() -> None:
    """Write one demo book and print seconds, rows per second and peak memory."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--db", default=None, help="SQLite file to write (must not hold a book)")
    parser.add_argument("--schema", default="bench_demo", help="PostgreSQL schema to (re)create")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        url = f"sqlite:///{args.db or Path(tempfile.mkdtemp()) / 'bench.db'}"
    elif url.startswith("postgresql"):
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}options=-csearch_path%3D{args.schema}"
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    with transaction(make_session_factory(engine)) as session:
        summary = write_demo_book(session, invoices=args.invoices, seed=7, as_of=date(2026, 11, 29))
    seconds = time.perf_counter() - started
    rows = (summary.invoices + summary.charge_lines + summary.loads * 2 + summary.payments + summary.customers)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {engine.dialect.name}")
    print(f"invoices: {summary.invoices:,}  charge lines: {summary.charge_lines:,}  loads: {summary.loads:,}  "
          f"payments: {summary.payments:,}  credit memos: {summary.credit_memos:,}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"seconds: {seconds:.1f}  rows/s: {rows / seconds:,.0f}  peak RSS MB: {peak_mb:.0f}  load average: {load}")


if __name__ == "__main__":
    main()
