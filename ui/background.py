"""The embedded default's background services: the local QuickBooks sandbox and a worker thread."""

from __future__ import annotations

import dataclasses

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config


@st.cache_resource(show_spinner="Starting the local QuickBooks sandbox…")
def _start_sandbox(data_dir: str) -> str:
    from qbo_sandbox.server import SandboxOptions, start_in_thread

    # State lives beside the console's database so QuickBooks ids survive a restart.
    running = start_in_thread(SandboxOptions(data_dir=data_dir))
    return running.url


def start_background_services(config: Config, factory: sessionmaker[Session]) -> Config:
    """Start what the embedded default needs once per process; returns the effective config."""
    if config.is_embedded and not config.qbo_base_url:
        url = _start_sandbox(str(config.data_dir / "sandbox"))
        config = dataclasses.replace(config, qbo_base_url=url)
    return config
