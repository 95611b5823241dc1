"""The embedded default's background services: the local QuickBooks sandbox, its connection, a worker."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from datetime import timedelta
from pathlib import Path

import requests
import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from qbcore.alerts.outbox import AlertPace
from qbcore.config import Config
from qbcore.demo_conflicts import plan_demo_conflicts
from qbcore.jobs.schedule import run_schedule_tick
from qbcore.jobs.worker import run_worker
from qbcore.qbo.oauth import AuthorizationError, ensure_local_connection

log = logging.getLogger(__name__)
SCHEDULE_EVERY_S = 20.0


@st.cache_resource(show_spinner="Starting the local QuickBooks sandbox…")
def _start_sandbox(data_dir: str) -> str:
    from qbo_sandbox.server import SandboxOptions, start_in_thread

    # State lives beside the console's database so QuickBooks ids survive a restart.
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    url = start_in_thread(SandboxOptions(data_dir=data_dir)).url
    # Beside Streamlit's own "You can now view…" lines, so a developer can inspect the local QuickBooks (its port is
    # picked free at each start).
    print(f"  Local QuickBooks sandbox: {url}", file=sys.stderr, flush=True)
    return url


def _plant_demo_conflicts_once(url: str, realm_id: str, factory: sessionmaker[Session], marker: Path) -> None:
    # A fresh demo company gets the problems a real one has (name clash, hand-keyed invoice, closed month).
    if marker.exists():
        return
    with factory() as session:
        plan = plan_demo_conflicts(session)
    if plan:
        response = requests.post(f"{url}/_sandbox/realms/{realm_id}/plant", json=plan, timeout=30)
        response.raise_for_status()
    marker.write_text("planted\n")


@st.cache_resource(show_spinner="Connecting to the local QuickBooks…")
def _connect_embedded(url: str, _factory: sessionmaker[Session], _config: Config) -> bool:
    try:
        state = ensure_local_connection(_factory, _config)
    except AuthorizationError as exc:
        log.warning("local QuickBooks connection failed: %s", exc)
        return False
    if state.realm_id:
        _plant_demo_conflicts_once(url, state.realm_id, _factory, _config.data_dir / "sandbox" / ".demo-conflicts")
    return True


def _schedule_forever(factory: sessionmaker[Session], config: Config, stop: threading.Event) -> None:
    pace = AlertPace()
    while not stop.wait(SCHEDULE_EVERY_S):
        try:
            with factory() as session, session.begin():
                run_schedule_tick(session, pull_every=timedelta(seconds=config.pull_every_s), alert_pace=pace)
        # The scheduler must outlive a locked database or a bad row; the next tick tries again.
        except Exception:
            log.exception("automatic sync scheduling failed")


@st.cache_resource(show_spinner=False)
def _start_worker(database_url: str, _factory: sessionmaker[Session], _config: Config) -> threading.Event:
    # One worker and one scheduler per console process; `qbsync worker` does the same for teams.
    stop = threading.Event()
    threading.Thread(target=run_worker, args=(_factory, _config), kwargs={"stop_event": stop},
                     name="qbsync-worker", daemon=True).start()
    threading.Thread(target=_schedule_forever, args=(_factory, _config, stop), name="qbsync-schedule",
                     daemon=True).start()
    return stop


def start_background_services(config: Config, factory: sessionmaker[Session]) -> Config:
    """Start what the embedded default needs, once per process; returns the effective config."""
    if config.is_embedded and not config.qbo_base_url:
        url = _start_sandbox(str(config.data_dir / "sandbox"))
        config = dataclasses.replace(config, qbo_base_url=url)
        _connect_embedded(url, factory, config)
    _start_worker(config.database_url, factory, config)
    return config
