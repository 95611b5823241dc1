"""No token, client secret or Fernet key ever reaches logs, pages, exports, problem details or the audit log."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from qbcore.config import Config
from qbcore.models import AuditEvent, EntityType, SyncAttempt, SyncRecord, SyncStatus
from qbcore.models.sync import QboConnection
from qbcore.problems.queries import ProblemFilter, export_problems_csv
from qbcore.qbo import limiter
from qbcore.secrets_box import SecretBox
from qbcore.sync.runner import sync_now
from tests.qbcore.qbo.conftest import SandboxClient, config, connected, sandbox  # noqa: F401
from tests.ui.conftest import ROOT, open_page, tick_rows

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))


@pytest.fixture(autouse=True)
def _no_client_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limiter, "DEFAULT_POLICY", limiter.UNLIMITED)


def _secrets(factory: sessionmaker[Session], cfg: Config) -> dict[str, str]:
    box = SecretBox(cfg.secret_key)
    with factory() as session:
        connection = session.scalars(select(QboConnection)).one()
        found = {"access token": box.decrypt(connection.access_token_enc),
                 "refresh token": box.decrypt(connection.refresh_token_enc),
                 "client secret": cfg.client_secret, "Fernet key": cfg.secret_key}
    assert all(len(v) >= 12 for v in found.values()), "a secret this short would match by accident"
    return found


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


def _proto_text(element: Any) -> str:
    proto = getattr(element, "proto", None)
    return str(proto) if proto is not None else repr(element)


def _rendered(at: AppTest) -> str:
    """Everything a page put on screen: every element's protobuf (values, markdown, json, code, data, labels)."""
    parts = []
    stack = [at._tree]
    while stack:
        node = stack.pop()
        parts.append(_proto_text(node))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
    for element in at.dataframe:
        parts.append(element.value.to_csv())
    return "\n".join(parts)


@pytest.fixture
def synced(demo_factory: sessionmaker[Session], connected: Config, sandbox: SandboxClient,  # noqa: F811
           caplog: pytest.LogCaptureFixture) -> tuple[Config, dict[str, str]]:
    """A demo book synced with a planted name clash (ACME Logistics fails), logged at DEBUG."""
    sandbox.plant(vendors=["ACME Logistics"])
    caplog.set_level(logging.DEBUG)
    sandbox.expire_tokens()  # a refresh mid-run puts fresh tokens through the code that might log them
    summary = sync_now(demo_factory, connected)
    assert summary.failed >= 1
    return connected, _secrets(demo_factory, connected)


def test_no_secret_in_debug_logs_sync_records_attempts_or_audit_rows(demo_factory, synced, caplog):
    _, secrets = synced
    logged = caplog.get_records("setup")  # the sync ran while the fixture was set up
    assert logged, "the sync logged nothing at DEBUG; the log check would prove nothing"
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in logged)
    assert _leaks(text, secrets) == []
    with demo_factory() as session:
        records = session.scalars(select(SyncRecord)).all()
        failed = [r for r in records if r.status == SyncStatus.FAILED]
        assert failed and any(r.last_request for r in failed)
        for record in records:
            text = "\n".join(str(v) for v in (record.last_request, record.last_response, record.error_detail,
                                              record.error_message))
            assert _leaks(text, secrets) == [], record.id
        attempts = "\n".join(f"{a.message} {a.request_id}" for a in session.scalars(select(SyncAttempt)))
        assert _leaks(attempts, secrets) == []
        audit = session.scalars(select(AuditEvent)).all()
        text = "\n".join(json.dumps({c.key: str(getattr(e, c.key)) for c in AuditEvent.__table__.columns})
                         for e in audit)
        assert _leaks(text, secrets) == []


def test_no_secret_in_the_problems_csv_export(demo_factory, synced):
    _, secrets = synced
    exported = 0
    for entity in (EntityType.CUSTOMER, EntityType.INVOICE, EntityType.PAYMENT, EntityType.CREDIT_MEMO):
        out = io.StringIO()
        with demo_factory() as session:
            exported += export_problems_csv(session, entity, ProblemFilter(), out)
        assert _leaks(out.getvalue(), secrets) == [], entity
    assert exported >= 1, "the planted failure should be exported"


@pytest.fixture
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, synced) -> dict[str, str]:
    """Pages pointed at the synced database and sandbox, with the same key and client secret."""
    cfg, secrets = synced
    for name, value in {"DATABASE_URL": db_url, "DATA_DIR": str(tmp_path / "data"), "BACKGROUND": "off",
                        "DEMO_INVOICES": "0", "QBO_ENV": "local", "QBO_BASE_URL": cfg.qbo_base_url,
                        "SECRET_KEY": cfg.secret_key, "CLIENT_SECRET": cfg.client_secret}.items():
        monkeypatch.setenv(f"QBSYNC_{name}", value)
    return secrets


def test_no_secret_on_home_or_any_page_including_a_failed_records_detail(demo_factory, page_env):
    secrets = page_env
    home = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    home.run()
    assert not home.exception, home.exception
    assert _leaks(_rendered(home), secrets) == []
    for page in PAGES:
        at = open_page(AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60), page)
        assert not at.exception, (page, at.exception)
        assert _leaks(_rendered(at), secrets) == [], page

    at = open_page(AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60), "4_Problem_Sync.py")
    shown = _problem_tabs_with_rows(at)
    assert shown, "no failed record to open"
    for tab in shown:
        at.session_state["ps_tab"] = tab
        at.run()
        grid = at.get("component_instance")[0]
        from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

        rows = convert_arrow_bytes_to_pandas_df(grid.proto.special_args[0].arrow_dataframe.data.data)
        record_id = int(rows.iloc[0]["id"]) if "id" in rows else int(rows.index[0])
        tick_rows(at, [record_id])
        at.run()
        assert not at.exception, at.exception
        rendered = _rendered(at)
        assert at.code, "the row detail shows the masked request"
        assert _leaks(rendered, secrets) == [], tab


def _problem_tabs_with_rows(at: AppTest) -> list[str]:
    with_rows = []
    for tab in ("Customers", "Invoices", "Payments", "Credit memos", "Items"):
        at.session_state["ps_tab"] = tab
        at.run()
        if at.exception:
            continue
        grids = at.get("component_instance")
        if grids and grids[0].proto.special_args and "need attention" in " ".join(m.value for m in at.markdown):
            with_rows.append(tab)
    return with_rows
