"""What the sandbox benches share: a fresh database with a demo book, the sandbox with production quotas, counters."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config, QboEnvironment
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import write_demo_book
from qbcore.demo_conflicts import UNMAPPED_PAY_CODE
from qbcore.models import Company, PayablesAccountMapping, PayCode
from qbo_sandbox.server import RunningSandbox, SandboxOptions, start_in_thread

AS_OF = date(2026, 11, 29)
# Batch creates are bound by 40 batch calls per minute per app and realm, 30 operations each; the realm's 500
# requests a minute count those 40, so 460 single writes a minute remain: the true ceiling for creates.
BATCH_CEILING_PER_MIN = 40 * 30
CEILING_PER_MIN = BATCH_CEILING_PER_MIN + 500 - 40
QUOTA_WINDOW_S = 62  # a minute and a margin: QuickBooks' per-minute windows are sliding


@dataclass(frozen=True)
class Book:
    """A bench database: its URL, a session factory, and the folder it and the token key file live in."""

    url: str
    factory: sessionmaker[Session]
    workdir: Path


def new_book(*, invoices: int, seed: int, name: str = "bench.db") -> Book:
    """A fresh SQLite database, migrated, holding the demo book (invoices, and its payables) as of AS_OF."""
    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / name}"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        write_demo_book(session, invoices=invoices, seed=seed, as_of=AS_OF)
    return Book(url=url, factory=factory, workdir=workdir)


@contextmanager
def production_sandbox(latency_ms: float) -> Iterator[RunningSandbox]:
    """The local sandbox in this process with QuickBooks' production quotas and a real network's latency."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the sandbox serves plain HTTP on the loopback
    with start_in_thread(SandboxOptions(port=0, latency_ms=latency_ms, quotas="production")) as sandbox:
        yield sandbox


def local_config(book: Book, sandbox_url: str) -> Config:
    """The console in local mode against that sandbox, with a fresh token key."""
    return Config(database_url=book.url, qbo_env=QboEnvironment.LOCAL, qbo_base_url=sandbox_url,
                  secret_key=Fernet.generate_key().decode(), data_dir=book.workdir)


def sandbox_stats(url: str) -> dict[str, Any]:
    """The sandbox's request counters."""
    stats: dict[str, Any] = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    return stats


def v3_requests(url: str, stats: dict[str, Any] | None = None) -> int:
    """Requests the sandbox served under /v3 (what counts against QuickBooks' quotas)."""
    routes = (stats or sandbox_stats(url))["by_route"]
    return sum(sum(codes.values()) for route, codes in routes.items() if " /v3/" in route)


def route_requests(stats: dict[str, Any], route: str) -> int:
    """Requests served on one route, e.g. 'POST /v3/company/{realm}/batch'."""
    return sum(stats["by_route"].get(route, {}).values())


def duplicates(url: str, realm: str, entity: str, *fields: str) -> int:
    """How many groups of rows QuickBooks holds twice by these fields (DocNumber when none are named)."""
    params: dict[str, Any] = {"entity": entity, "field": list(fields) or ["DocNumber"]}
    answer = requests.get(f"{url}/_sandbox/realms/{realm}/duplicates", params=params, timeout=30)
    return len(answer.json()["duplicates"])


def wait_for_empty_windows(why: str) -> None:
    """Sleep until the calls made so far have left QuickBooks' per-minute quota windows."""
    print(f"waiting {QUOTA_WINDOW_S} s so {why}")
    time.sleep(QUOTA_WINDOW_S)


def map_planted_pay_code(session: Session, account: str = "Driver Pay") -> None:
    """Map the pay code the demo leaves unmapped (its planted conflict) in every company: a bench measures a book
    that syncs whole."""
    code_id = session.scalar(select(PayCode.id).where(PayCode.code == UNMAPPED_PAY_CODE))
    if code_id is None:
        return
    mapped = set(session.scalars(select(PayablesAccountMapping.company_id).where(
        PayablesAccountMapping.pay_code_id == code_id)))
    for company_id in session.scalars(select(Company.id).order_by(Company.id)):
        if company_id not in mapped:
            session.add(PayablesAccountMapping(company_id=company_id, pay_code_id=code_id, qbo_account_name=account))
