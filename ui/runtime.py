"""The console's resources, made once per process: config, database, actor, background services."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import LOCAL_ADMIN, Actor, resolve_actor
from qbcore.config import Config, ConfigError, load_config
from qbcore.db import make_engine, make_session_factory, migrate, transaction
from qbcore.demo import has_book, write_demo_book
from qbcore.models import Role
from ui import sign_in
from ui.markup import md

ACTOR_OVERRIDE_KEY = "qbsync_actor"


@dataclass(frozen=True)
class Runtime:
    """What every page needs: the config and a session factory."""

    config: Config
    factory: sessionmaker[Session]


def _secrets_section() -> dict[str, str]:
    try:
        section = st.secrets.get("qbsync", {})
    except Exception:
        return {}
    return {str(k).upper(): str(v) for k, v in dict(section).items()}


_ENGINES: list[Engine] = []
# Databases this process has prepared (migrated, demo book written): later page runs skip the progress panel.
_PREPARED: set[str] = set()


@st.cache_resource(show_spinner=False)
def _open_database(database_url: str) -> sessionmaker[Session]:
    # Keyed by URL so tests with different databases never share an engine.
    engine = make_engine(database_url)
    _ENGINES.append(engine)
    migrate(engine)
    return make_session_factory(engine)


@st.cache_resource(show_spinner=False)
def _write_demo_book_once(database_url: str, _factory: sessionmaker[Session], invoices: int,
                          companies: int = 1) -> bool:
    with transaction(_factory) as session:
        if has_book(session):
            return False
        write_demo_book(session, invoices=invoices, seed=7, companies=companies)
        return True


def close_databases() -> None:
    """Forget every cached database and close its connections (tests open one per database)."""
    _open_database.clear()
    _write_demo_book_once.clear()
    _PREPARED.clear()
    while _ENGINES:
        _ENGINES.pop().dispose()


def _prepare(config: Config, say: Callable[[str], object]) -> tuple[Config, sessionmaker[Session]]:
    say("Preparing the database (creating or upgrading its tables)…")
    factory = _open_database(config.database_url)
    if config.is_embedded and config.demo_invoices:
        say(f"Writing the demo billing book ({config.demo_invoices:,} invoices) on first start…")
        _write_demo_book_once(config.database_url, factory, config.demo_invoices, config.demo_companies)
    if config.background:
        from ui.background import start_background_services

        say("Starting the sync worker" + (" and the local QuickBooks sandbox, and connecting to it…"
                                           if config.is_embedded and not config.qbo_base_url else "…"))
        config = start_background_services(config, factory)
    return config, factory


def get_runtime() -> Runtime:
    """Config and database for this page run; a bad config stops the page with a clear message.

    The first run in a process shows what the console is doing (database, demo book, sandbox) as it happens.
    """
    try:
        config = load_config(os.environ, _secrets_section())
    except ConfigError as exc:
        st.error(md("The console's configuration has a problem: {}", exc))
        st.stop()
    if config.database_url in _PREPARED:
        config, factory = _prepare(config, lambda _text: None)
        return Runtime(config=config, factory=factory)
    with st.status("Getting the console ready…", expanded=True) as status:
        config, factory = _prepare(config, status.write)
        status.update(label="The console is ready.", state="complete", expanded=False)
    _PREPARED.add(config.database_url)
    return Runtime(config=config, factory=factory)


def is_sso_configured() -> bool:
    """True when secrets hold an [auth] section: users sign in through the company's identity provider."""
    try:
        return sign_in.read_auth_section() is not None
    except sign_in.SecretsUnreadable:
        return False


def get_actor() -> Actor:
    """Who is using the console: the signed-in user with their role, or the local admin without SSO."""
    override = st.session_state.get(ACTOR_OVERRIDE_KEY)
    if override:
        return Actor(email=override["email"], role=Role(override["role"]), name=override.get("name"))
    runtime = get_runtime()
    identity = sign_in.signed_in_identity(required=runtime.config.require_sign_in)
    if identity is None:
        return LOCAL_ADMIN
    # Looked up on every page run: a role change or deactivation applies at once, not at the next sign-in.
    with transaction(runtime.factory) as session:
        actor = resolve_actor(session, email=identity.email, name=identity.name,
                              unknown_users=runtime.config.unknown_users, admin_emails=runtime.config.admin_emails)
    if actor is None:
        sign_in.show_no_access(identity.email)
    return actor


def show_actor_badge(actor: Actor) -> None:
    """Sidebar line saying who is signed in and with which role."""
    if actor == LOCAL_ADMIN:
        st.sidebar.caption("Signed in as **Local admin** (embedded default, no sign-in configured)")
    else:
        st.sidebar.caption(md("Signed in as **{who}** · role: {role}", who=actor.name or actor.email,
                              role=actor.role.value))
        if is_sso_configured():
            st.sidebar.button("Sign out", on_click=st.logout, key="sso_sidebar_logout")
