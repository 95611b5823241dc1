"""The token store: encrypted tokens on QboConnection, refreshed under a lock, rotation persisted atomically."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qbcore.config import Config
from qbcore.connection import current_connection
from qbcore.models import ConnectionStatus, QboConnection, utcnow
from qbcore.qbo.endpoints import discovery
from qbcore.secrets_box import SecretBox

# Refresh ahead of expiry so a long batch never starts with a token about to die.
REFRESH_MARGIN = timedelta(minutes=5)

# One refresh at a time in this process; the row lock serialises processes.
_REFRESH_LOCK = threading.Lock()


class ReconnectRequired(RuntimeError):
    """QuickBooks refused the refresh token (invalid_grant): a person must reconnect; work pauses."""


class NotConnected(RuntimeError):
    """No QuickBooks company is connected yet."""


@dataclass(frozen=True)
class TokenSet:
    """Decrypted tokens of the connection, held only in memory by the gateway."""

    connection_id: int
    realm_id: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime | None

    def expires_soon(self, now: datetime | None = None) -> bool:
        """True when the access token has less than the refresh margin left."""
        if self.access_expires_at is None:
            return False
        return self.access_expires_at - (now or utcnow()) < REFRESH_MARGIN


OAUTH_TIMEOUT_S = 30


class TimedAuthClient(AuthClient):  # type: ignore[misc]  # intuit-oauth ships no types
    """intuit-oauth's client with a timeout on every call (it sets none; a hung refresh would hold the lock)."""

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timeout", OAUTH_TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


def make_auth_client(config: Config, *, access_token: str | None = None, refresh_token: str | None = None,
                     realm_id: str | None = None) -> AuthClient:
    """An intuit-oauth client for the configured environment (it reads the discovery document)."""
    return TimedAuthClient(config.client_id, config.client_secret, config.redirect_uri, discovery(config),
                      access_token=access_token, refresh_token=refresh_token, realm_id=realm_id)


def _lock_connection(session: Session, connection_id: int) -> QboConnection:
    if session.get_bind().dialect.name == "postgresql":
        row = session.scalar(select(QboConnection).where(QboConnection.id == connection_id).with_for_update())
    else:
        # SQLite: a write first takes the database's write lock, so the read below cannot race another process.
        session.execute(update(QboConnection).where(QboConnection.id == connection_id)
                        .values(last_error=QboConnection.last_error))
        row = session.get(QboConnection, connection_id, populate_existing=True)
    if row is None:
        raise NotConnected("the QuickBooks connection was removed")
    return row


def save_token_response(row: QboConnection, box: SecretBox, *, access_token: str, refresh_token: str,
                        expires_in: int | None, refresh_expires_in: int | None) -> None:
    """Store a token response on the connection row, encrypted (caller commits)."""
    now = utcnow()
    row.access_token_enc = box.encrypt(access_token)
    row.refresh_token_enc = box.encrypt(refresh_token)
    row.access_expires_at = now + timedelta(seconds=int(expires_in or 3600))
    row.refresh_expires_at = now + timedelta(seconds=int(refresh_expires_in or 8_726_400))
    row.last_refreshed_at = now
    row.status = ConnectionStatus.CONNECTED
    row.last_error = None


def read_tokens(row: QboConnection, box: SecretBox) -> TokenSet:
    """Decrypt the row's tokens; NotConnected / ReconnectRequired when they are not usable."""
    if row.status == ConnectionStatus.RECONNECT_REQUIRED:
        raise ReconnectRequired(row.last_error or "QuickBooks needs to be reconnected")
    if row.status != ConnectionStatus.CONNECTED or not row.refresh_token_enc or not row.realm_id:
        raise NotConnected("QuickBooks is not connected; connect it in Settings")
    return TokenSet(connection_id=row.id, realm_id=row.realm_id, access_token=box.decrypt(row.access_token_enc or ""),
                    refresh_token=box.decrypt(row.refresh_token_enc), access_expires_at=row.access_expires_at)


def load_tokens(factory: sessionmaker[Session], config: Config, company_id: int | None = None) -> TokenSet:
    """A company's tokens (the default company's when None), refreshed first when they expire within the margin."""
    box = SecretBox(config.secret_key)
    with factory() as session:
        row = current_connection(session, company_id)
        if row is None:
            raise NotConnected("QuickBooks is not connected; connect it in Settings")
        tokens = read_tokens(row, box)
    if tokens.expires_soon():
        return refresh_tokens(factory, config, stale_access=tokens.access_token, company_id=company_id)
    return tokens


def refresh_tokens(factory: sessionmaker[Session], config: Config, *, stale_access: str | None = None,
                   company_id: int | None = None) -> TokenSet:
    """Refresh a company's tokens once under the lock; if someone else already replaced `stale_access`, use theirs."""
    box = SecretBox(config.secret_key)
    refused: str | None = None
    with _REFRESH_LOCK, factory() as session, session.begin():
        first = current_connection(session, company_id)
        if first is None:
            raise NotConnected("QuickBooks is not connected; connect it in Settings")
        row = _lock_connection(session, first.id)
        tokens = read_tokens(row, box)
        if stale_access is not None and tokens.access_token != stale_access and not tokens.expires_soon():
            return tokens  # another thread or process refreshed while we waited for the lock
        client = make_auth_client(config, refresh_token=tokens.refresh_token, realm_id=tokens.realm_id)
        try:
            client.refresh(refresh_token=tokens.refresh_token)
        except AuthClientError as exc:
            body = (getattr(exc, "content", b"") or b"")
            text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
            if "invalid_grant" in text or exc.status_code == 400:
                row.status = ConnectionStatus.RECONNECT_REQUIRED
                row.last_error = ("QuickBooks refused the saved authorization (invalid_grant). Reconnect QuickBooks "
                                  "in Settings; paused syncs resume afterwards.")
                refused = row.last_error
            else:
                raise
        else:
            # The old refresh token is dead from this moment: persist the new one in this same transaction.
            save_token_response(row, box, access_token=client.access_token, refresh_token=client.refresh_token,
                                expires_in=client.expires_in, refresh_expires_in=client.x_refresh_token_expires_in)
            fresh = read_tokens(row, box)
    if refused is not None:
        raise ReconnectRequired(refused)
    return fresh
