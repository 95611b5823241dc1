"""Connecting, refreshing and disconnecting against the sandbox's real OAuth endpoints."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.connection import get_connection_state
from qbcore.db import transaction
from qbcore.models import ConnectionStatus, QboConnection
from qbcore.qbo.oauth import (
    AuthorizationError,
    complete_authorization,
    disconnect,
    ensure_local_connection,
    start_authorization,
)
from qbcore.qbo.tokens import ReconnectRequired, load_tokens, refresh_tokens
from tests.qbcore.qbo.conftest import REALM


def test_local_mode_connects_through_the_authorization_code_flow_and_stores_tokens_encrypted(
    factory: sessionmaker[Session], config: Config
) -> None:
    state = ensure_local_connection(factory, config)
    assert (state.status, state.realm_id, state.company_name) == (
        ConnectionStatus.CONNECTED, REALM, "Sandbox Company_US_1")
    tokens = load_tokens(factory, config)
    with factory() as session:
        row = session.query(QboConnection).one()
        assert tokens.refresh_token not in (row.refresh_token_enc or "")
        assert tokens.access_token not in (row.access_token_enc or "")
        assert row.oauth_state is None
    with factory() as session:
        assert "token" not in repr(get_connection_state(session))


def test_a_callback_with_a_foreign_state_is_refused(factory: sessionmaker[Session], config: Config) -> None:
    with transaction(factory) as session:
        url = start_authorization(session, config)
    assert parse_qs(urlparse(url).query)["state"][0]
    with pytest.raises(AuthorizationError, match="stale or was not started here"):
        complete_authorization(factory, config, code="x", state="forged", realm_id=REALM)


def test_refresh_rotates_and_persists_the_refresh_token(factory: sessionmaker[Session], connected: Config) -> None:
    before = load_tokens(factory, connected)
    after = refresh_tokens(factory, connected, stale_access=before.access_token)
    assert after.refresh_token != before.refresh_token
    assert load_tokens(factory, connected).refresh_token == after.refresh_token


def test_concurrent_refreshes_rotate_once_and_never_lose_the_token(
    factory: sessionmaker[Session], connected: Config
) -> None:
    stale = load_tokens(factory, connected).access_token
    results, errors = [], []

    def refresh() -> None:
        try:
            results.append(refresh_tokens(factory, connected, stale_access=stale).refresh_token)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    with factory() as session:
        assert get_connection_state(session).status == ConnectionStatus.CONNECTED


def test_a_reused_refresh_token_makes_the_connection_reconnect_required(
    factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.qbo.tokens import make_auth_client

    tokens = load_tokens(factory, connected)
    make_auth_client(connected).refresh(refresh_token=tokens.refresh_token)  # someone else rotates it away
    with pytest.raises(ReconnectRequired):
        refresh_tokens(factory, connected)
    with factory() as session:
        state = get_connection_state(session)
    assert state.status == ConnectionStatus.RECONNECT_REQUIRED and "invalid_grant" in (state.last_error or "")
    assert ensure_local_connection(factory, connected).status == ConnectionStatus.CONNECTED


def test_disconnect_revokes_and_forgets_the_tokens(factory: sessionmaker[Session], connected: Config) -> None:
    state = disconnect(factory, connected)
    assert state.status == ConnectionStatus.DISCONNECTED
    with factory() as session:
        row = session.query(QboConnection).one()
        assert (row.access_token_enc, row.refresh_token_enc) == (None, None)


def test_an_admins_disconnect_stays_made_local_auto_connect_does_not_undo_it(
    factory: sessionmaker[Session], connected: Config
) -> None:
    from qbcore.access import LOCAL_ADMIN
    from qbcore.models import AuditEvent

    disconnect(factory, connected, actor=LOCAL_ADMIN)
    # What a console restart and every worker poll do in local mode:
    for _ in range(2):
        state = ensure_local_connection(factory, connected)
    assert state.status == ConnectionStatus.DISCONNECTED
    assert state.disconnected_by == LOCAL_ADMIN.email and state.disconnected_at is not None
    with factory() as session:
        actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-1] == "disconnect_quickbooks" and actions.count("connect_quickbooks") == 1


def test_connecting_again_by_hand_ends_the_disconnect(factory: sessionmaker[Session], connected: Config) -> None:
    from qbcore.access import LOCAL_ADMIN

    disconnect(factory, connected, actor=LOCAL_ADMIN)
    with transaction(factory) as session:
        url = start_authorization(session, connected, actor=LOCAL_ADMIN)
    parsed = urlparse(url)
    import requests

    answer = requests.post(f"{parsed.scheme}://{parsed.netloc}{parsed.path}",
                           data={k: v[0] for k, v in parse_qs(parsed.query).items()}, allow_redirects=False,
                           timeout=30)
    query = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["location"]).query).items()}
    state = complete_authorization(factory, connected, code=query["code"], state=query["state"],
                                   realm_id=query["realmId"], actor=LOCAL_ADMIN)
    assert state.status == ConnectionStatus.CONNECTED and state.disconnected_by is None
    disconnect(factory, connected, actor=LOCAL_ADMIN)
    assert ensure_local_connection(factory, connected).status == ConnectionStatus.DISCONNECTED
