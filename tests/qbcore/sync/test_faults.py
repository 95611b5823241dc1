"""Exactly once under faults: resets and timeouts after QuickBooks committed, then retries."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN
from qbcore.config import Config
from qbcore.db import transaction
from qbcore.models import EntityType, SyncRecord
from qbcore.qbo.gateway import QboGateway, RetryPolicy
from qbcore.settings import save_settings
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient
from tests.qbcore.sync.state import FAST_RETRY, invoice_numbers, statuses


@pytest.mark.parametrize("fault", ["reset", "slow"])
def test_a_lost_answer_after_commit_is_retried_and_leaves_one_record_per_doc_number(
    fault: str, demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER, EntityType.ITEM])
    sandbox.configure(slow_response_s=1.5, force_faults=[fault, fault, "http503", fault])
    gateway = QboGateway(demo_factory, connected, retry=FAST_RETRY, timeout_s=0.5)
    summary = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE], gateway=gateway)
    assert (summary.failed, summary.blocked) == (0, 0)
    assert set(statuses(demo_factory, EntityType.INVOICE)) == {"synced"}
    assert sandbox.duplicates("Invoice") == []
    numbers = invoice_numbers(demo_factory)
    assert all(sandbox.count("Invoice", DocNumber=n) == 1 for n in numbers[:40])


def test_when_retries_run_out_the_next_run_re_links_what_quickbooks_already_has(
    demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient
) -> None:
    with transaction(demo_factory) as session:  # no class writes to soak up the planted faults
        save_settings(session, LOCAL_ADMIN, {"branch_tracking": "none"})
    sync_now(demo_factory, connected, entity_types=[EntityType.CUSTOMER, EntityType.ITEM])
    sandbox.configure(force_faults=["reset"] * 4)
    impatient = QboGateway(demo_factory, connected, retry=RetryPolicy(attempts=1), timeout_s=2)
    first = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE], gateway=impatient)
    assert first.failed >= 30 and first.by_kind.get("server", 0) >= 30
    with demo_factory() as session:
        failed = session.scalars(select(SyncRecord).where(SyncRecord.status == "failed")).all()
        assert all(r.request_id and r.error_kind == "server" for r in failed)  # outcome unknown: id kept
    second = sync_now(demo_factory, connected, entity_types=[EntityType.INVOICE],
                      gateway=QboGateway(demo_factory, connected, retry=FAST_RETRY))
    assert second.failed == 0
    assert set(statuses(demo_factory, EntityType.INVOICE)) == {"synced"}
    assert sandbox.duplicates("Invoice") == []
    assert all(sandbox.count("Invoice", DocNumber=n) == 1 for n in invoice_numbers(demo_factory)[:40])
