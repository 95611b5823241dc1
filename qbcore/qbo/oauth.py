"""Connecting a QuickBooks company: authorization URL with state, callback exchange, disconnect, local auto-connect."""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from urllib.parse import parse_qs, urlparse

import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qbcore.access import SYSTEM, Actor, require_role, write_audit
from qbcore.company_directory import realm_owner, resolve_company_id
from qbcore.config import Config, QboEnvironment
from qbcore.connection import ConnectionState, current_connection, get_connection_state
from qbcore.models import ConnectionStatus, QboConnection, Role, utcnow
from qbcore.qbo.endpoints import MINOR_VERSION, api_base
from qbcore.qbo.tokens import (
    NotConnected,
    ReconnectRequired,
    make_auth_client,
    read_tokens,
    save_token_response,
)
from qbcore.refusals import Refusal
from qbcore.secrets_box import SecretBox, SecretBoxError

log = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 30


class AuthorizationError(Refusal, RuntimeError):
    """The OAuth callback cannot be accepted (state mismatch, refused code, unreachable); the message says why."""


def _auth_client(config: Config) -> AuthClient:
    # intuit-oauth reads the discovery document as it is built: an unreachable QuickBooks is a sentence, not a trace.
    try:
        return make_auth_client(config)
    except (requests.RequestException, AuthClientError, ValueError, KeyError) as exc:
        raise AuthorizationError(f"QuickBooks could not be reached ({type(exc).__name__}). Try again.") from None


def start_authorization(session: Session, config: Config, *, actor: Actor = SYSTEM,
                        company_id: int | None = None) -> str:
    """A company's Intuit authorization URL (admin only); its `state` is stored so the callback can be checked."""
    require_role(actor, Role.ADMIN, "connect_quickbooks", session=session, target_type="connection")
    company_id = resolve_company_id(session, company_id)
    row = current_connection(session, company_id)
    if row is None:
        row = QboConnection(company_id=company_id, environment=config.qbo_env.value,
                            status=ConnectionStatus.DISCONNECTED)
        session.add(row)
    state = secrets.token_urlsafe(32)
    row.oauth_state = state
    row.environment = config.qbo_env.value
    session.flush()
    url: str = _auth_client(config).get_authorization_url([Scopes.ACCOUNTING], state_token=state)
    return url


def complete_authorization(factory: sessionmaker[Session], config: Config, *, code: str, state: str, realm_id: str,
                           actor: Actor = SYSTEM) -> ConnectionState:
    """Handle the redirect (?code&state&realmId): check state, exchange the code, store tokens encrypted."""
    require_role(actor, Role.ADMIN, "connect_quickbooks", audit_factory=factory, target_type="connection")
    box = SecretBox(config.secret_key)
    with factory() as session, session.begin():
        row = _connection_awaiting(session, state)
        if row is None:
            raise AuthorizationError("This QuickBooks sign-in link is stale or was not started here; "
                                     "click Connect to QuickBooks again.")
        owner = realm_owner(session, realm_id)
        if owner is not None and owner.id != row.company_id:
            # One QuickBooks company is one console company: connecting it twice would post its records twice.
            raise AuthorizationError(f"That QuickBooks company is already connected as {owner.name!r}. Sign in to "
                                     "a different QuickBooks company for this one. Nothing was changed.")
        client = _auth_client(config)
        try:
            client.get_bearer_token(code, realm_id=realm_id)
        except AuthClientError as exc:
            raise AuthorizationError(f"QuickBooks refused the sign-in code (HTTP {exc.status_code}); "
                                     "click Connect to QuickBooks again.") from None
        except requests.RequestException as exc:
            raise AuthorizationError(f"QuickBooks could not be reached ({type(exc).__name__}). Try again.") from None
        row.oauth_state = None  # single use
        row.realm_id = realm_id
        row.environment = config.qbo_env.value
        save_token_response(row, box, access_token=client.access_token, refresh_token=client.refresh_token,
                            expires_in=client.expires_in, refresh_expires_in=client.x_refresh_token_expires_in)
        row.connected_at = utcnow()
        row.connected_by = actor.email
        row.disconnected_at = row.disconnected_by = None  # connecting again ends the admin's disconnect
        row.company_name = _fetch_company_name(config, realm_id, client.access_token) or row.company_name
        write_audit(session, actor, "connect_quickbooks", target_type="qbo_connection", target_id=realm_id,
                    after={"environment": config.qbo_env.value, "company": row.company_name},
                    company_id=row.company_id)
        session.flush()
        return get_connection_state(session, row.company_id)


def _connection_awaiting(session: Session, state: str) -> QboConnection | None:
    """The connection whose sign-in started with this `state` (compared in constant time), if any."""
    for row in session.scalars(select(QboConnection).where(QboConnection.oauth_state.is_not(None))):
        if row.oauth_state and hmac.compare_digest(row.oauth_state, state or ""):
            return row
    return None


def _fetch_company_name(config: Config, realm_id: str, access_token: str) -> str | None:
    # Nice to show, never worth failing a connect over.
    try:
        response = requests.get(f"{api_base(config)}/company/{realm_id}/companyinfo/{realm_id}",
                                params={"minorversion": MINOR_VERSION}, timeout=HTTP_TIMEOUT_S,
                                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        name = response.json()["CompanyInfo"]["CompanyName"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def disconnect(factory: sessionmaker[Session], config: Config, *, actor: Actor = SYSTEM,
               company_id: int | None = None) -> ConnectionState:
    """Revoke a company's tokens at Intuit (best effort) and forget them here (admin only)."""
    require_role(actor, Role.ADMIN, "disconnect_quickbooks", audit_factory=factory, target_type="connection")
    box = SecretBox(config.secret_key)
    with factory() as session, session.begin():
        row = current_connection(session, company_id)
        if row is None:
            return get_connection_state(session, company_id)
        try:
            refresh = box.decrypt(row.refresh_token_enc) if row.refresh_token_enc else None
        except SecretBoxError:
            refresh = None
        if refresh:
            # The tokens are dropped here either way; Intuit expires them on its own.
            with contextlib.suppress(AuthClientError, requests.RequestException, ValueError, KeyError):
                make_auth_client(config).revoke(token=refresh)
        row.access_token_enc = row.refresh_token_enc = None
        row.access_expires_at = row.refresh_expires_at = None
        row.status = ConnectionStatus.DISCONNECTED
        row.last_error = None
        row.disconnected_at, row.disconnected_by = utcnow(), actor.email
        write_audit(session, actor, "disconnect_quickbooks", target_type="qbo_connection", target_id=row.realm_id,
                    company_id=row.company_id)
        session.flush()
        return get_connection_state(session, row.company_id)


def is_usable(row: QboConnection | None, box: SecretBox) -> bool:
    """True when the row holds tokens that decrypt."""
    if row is None:
        return False
    try:
        read_tokens(row, box)
    except (NotConnected, ReconnectRequired, SecretBoxError):
        return False
    return True


def is_disconnected_by_admin(row: QboConnection | None) -> bool:
    """True when someone disconnected the company and nobody has connected it since."""
    return row is not None and row.status == ConnectionStatus.DISCONNECTED and row.disconnected_at is not None


# Local mode: the first company takes the sandbox's default realm; each further company gets a realm of its own.
_LOCAL_REALM_BASE = 9341455130166500


def local_realm_for(company_id: int) -> str | None:
    """The sandbox realm a company connects to in local mode (None: the sandbox's default realm)."""
    return None if company_id == 1 else str(_LOCAL_REALM_BASE + company_id)


def ensure_local_connection(factory: sessionmaker[Session], config: Config,
                            company_id: int | None = None) -> ConnectionState:
    """In local mode, connect a company to the sandbox through the real authorization-code flow when not usable.

    Never after an admin disconnected: that decision stands until someone connects again in Settings.
    """
    if config.qbo_env is not QboEnvironment.LOCAL:
        with factory() as session:
            return get_connection_state(session, company_id)
    box = SecretBox(config.secret_key)
    with factory() as session:
        company_id = resolve_company_id(session, company_id)
        row = current_connection(session, company_id)
        if is_usable(row, box) or is_disconnected_by_admin(row):
            return get_connection_state(session, company_id)
        realm = (row.realm_id if row is not None else None) or local_realm_for(company_id)
    if realm is not None and row is None:
        _create_local_realm(config, realm, company_id)
    with factory() as session, session.begin():
        url = start_authorization(session, config, company_id=company_id)
    # The consent page's form posts these same parameters; the sandbox answers 302 to redirect_uri.
    parsed = urlparse(url)
    form = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    if realm is not None:
        form["realmId"] = realm
    response = requests.post(f"{parsed.scheme}://{parsed.netloc}{parsed.path}", data=form, allow_redirects=False,
                             timeout=HTTP_TIMEOUT_S)
    location = response.headers.get("location", "")
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    if response.status_code not in (302, 303) or "code" not in query:
        raise AuthorizationError(f"the local sandbox did not authorize (HTTP {response.status_code})")
    return complete_authorization(factory, config, code=query["code"], state=query.get("state", ""),
                                  realm_id=query.get("realmId", ""))


def _create_local_realm(config: Config, realm: str, company_id: int) -> None:
    """A further company's own sandbox company, numbered as Intuit numbers a developer's (Sandbox Company_US_2)."""
    # Best effort: one that exists already (409) is simply used, and connecting creates it otherwise.
    with contextlib.suppress(requests.RequestException):
        requests.post(f"{config.qbo_base_url}/_sandbox/realms", timeout=HTTP_TIMEOUT_S,
                      json={"realm_id": realm, "profile": "lists", "company_name": f"Sandbox Company_US_{company_id}"})


def prepare_connection(factory: sessionmaker[Session], config: Config, company_id: int | None = None) -> bool:
    """True when a company's QuickBooks is usable; in local mode connects (or reconnects) to the sandbox first."""
    if config.qbo_env is QboEnvironment.LOCAL:
        try:
            ensure_local_connection(factory, config, company_id)
        # The sandbox may be down or starting; the caller simply waits and tries again.
        except Exception as exc:
            log.warning("local QuickBooks sandbox not reachable: %s", exc)
            return False
    with factory() as session:
        return get_connection_state(session, company_id).status == ConnectionStatus.CONNECTED
