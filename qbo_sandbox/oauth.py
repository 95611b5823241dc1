"""The OAuth 2.0 server side: discovery, consent page, token endpoint with rotation, revoke."""

from __future__ import annotations

import base64
import html
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

REFRESH_TTL_S = 8_726_400  # the x_refresh_token_expires_in Intuit puts on the wire (~101 days)
CODE_TTL_S = 300


@dataclass
class AccessToken:
    realm: str
    client_id: str
    expires_at: float


@dataclass
class RefreshToken:
    realm: str
    client_id: str
    expires_at: float
    active: bool = True


class TokenStore:
    """Issued codes and tokens; refresh tokens rotate and a used one is dead."""

    def __init__(self, access_ttl_s: int = 3600, allowed_clients: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self.access_ttl_s = access_ttl_s
        # None accepts any client_id/secret pair; a dict pins the pairs that are accepted.
        self.allowed_clients = allowed_clients
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.codes: dict[
            str, tuple[str, str, str, float]
        ] = {}  # code -> (client_id, redirect_uri, realm, exp)

    def state(self) -> dict[str, Any]:
        return {"access": self.access, "refresh": self.refresh, "codes": self.codes}

    def restore(self, state: dict[str, Any] | None) -> None:
        if state:
            self.access, self.refresh, self.codes = state["access"], state["refresh"], state["codes"]

    def client_ok(self, client_id: str, secret: str) -> bool:
        return self.allowed_clients is None or self.allowed_clients.get(client_id) == secret

    def issue_code(self, client_id: str, redirect_uri: str, realm: str) -> str:
        code = "AB11" + secrets.token_urlsafe(30)
        with self._lock:
            self.codes[code] = (client_id, redirect_uri, realm, time.time() + CODE_TTL_S)
        return code

    def mint(self, realm: str, client_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(40), "AB11" + secrets.token_urlsafe(36)
        now = time.time()
        with self._lock:
            self.access[access] = AccessToken(realm, client_id, now + self.access_ttl_s)
            self.refresh[refresh] = RefreshToken(realm, client_id, now + REFRESH_TTL_S)
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_ttl_s,
            "x_refresh_token_expires_in": REFRESH_TTL_S,
        }

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.codes.pop(code, None)  # single use: gone whether or not it validates
        if entry is None or entry[0] != client_id or entry[3] < time.time():
            return None
        if redirect_uri and entry[1] != redirect_uri:
            return None
        return self.mint(entry[2], client_id)

    def rotate(self, refresh_token: str, client_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.refresh.get(refresh_token)
            if (
                entry is None
                or not entry.active
                or entry.expires_at < time.time()
                or entry.client_id != client_id
            ):
                return None
            entry.active = False
        return self.mint(entry.realm, client_id)

    def revoke(self, token: str) -> None:
        with self._lock:
            if token in self.refresh:
                entry = self.refresh[token]
                entry.active = False
                # Revoking a refresh token also kills the access tokens of that connection.
                for access in self.access.values():
                    if access.realm == entry.realm and access.client_id == entry.client_id:
                        access.expires_at = 0
            self.access.pop(token, None)

    def expire_access(self, realm: str | None = None) -> int:
        """Every access token (of one realm, when given) expires now; refresh tokens still work."""
        with self._lock:
            hit = [entry for entry in self.access.values() if realm is None or entry.realm == realm]
            for entry in hit:
                entry.expires_at = 0
            return len(hit)

    def revoke_realm(self, realm: str) -> int:
        """The app is disconnected from one company: its refresh and access tokens stop working."""
        with self._lock:
            revoked = 0
            for entry in self.refresh.values():
                if entry.realm == realm and entry.active:
                    entry.active = False
                    revoked += 1
            for access in self.access.values():
                if access.realm == realm:
                    access.expires_at = 0
            return revoked

    def realm_state(self, realm: str) -> dict[str, int]:
        """How many usable access and refresh tokens a realm has (each realm's connection stands alone)."""
        now = time.time()
        with self._lock:
            return {
                "access_tokens_valid": sum(
                    1 for a in self.access.values() if a.realm == realm and a.expires_at > now
                ),
                "refresh_tokens_valid": sum(
                    1 for r in self.refresh.values() if r.realm == realm and r.active and r.expires_at > now
                ),
            }

    def check(self, token: str) -> tuple[AccessToken | None, str]:
        """The token's record, or None and the gateway's detail text."""
        entry = self.access.get(token)
        if entry is None:
            return None, "Token invalid: token not recognised"
        if entry.expires_at <= time.time():
            return None, f"Token expired: {token[:50]}"
        return entry, ""


def _basic_client(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "issuer": base_url,
        "authorization_endpoint": f"{base_url}/connect/oauth2",
        "token_endpoint": f"{base_url}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{base_url}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{base_url}/oauth2/v1/keys",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "openid",
            "email",
            "profile",
            "address",
            "phone",
            "com.intuit.quickbooks.accounting",
            "com.intuit.quickbooks.payment",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


class OAuthRoutes:
    """Starlette handlers bound to one TokenStore."""

    def __init__(self, tokens: TokenStore, default_realm: str, companies: Callable[[], dict[str, str]]):
        self.tokens = tokens
        self.default_realm = default_realm
        self.companies = companies  # realm id -> company name, as the consent page lists them

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(discovery(str(request.base_url).rstrip("/")))

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": []})

    async def consent_page(self, request: Request) -> Response:
        params = request.query_params
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "realmId"
        )
        chosen = params.get("realmId", self.default_realm)
        companies = self.companies()
        options = "".join(
            f'<option value="{html.escape(rid)}"{" selected" if rid == chosen else ""}>'
            f"{html.escape(name)} ({html.escape(rid)})</option>"
            for rid, name in companies.items()
        )
        page = f"""<!doctype html><html><head><title>Connect to QuickBooks (local sandbox)</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>Connect to {html.escape(companies.get(chosen, "a new company"))}</h1>
<p>The app <b>{html.escape(params.get("client_id", "?"))}</b> asks for access to
<code>{html.escape(params.get("scope", ""))}</code>.</p>
<form method="post" action="/connect/oauth2">{fields}
<label>Company <select name="realmChoice" onchange="this.form.realmId.value=this.value">{options}</select></label>
<label>or company (realm) id <input name="realmId" value="{html.escape(chosen)}"></label>
<p><button type="submit" id="connect">Connect</button></p></form></body></html>"""
        return HTMLResponse(page)

    async def consent_submit(self, request: Request) -> Response:
        form = await request.form()
        values = {k: str(v) for k, v in form.items()}
        values.update({k: v for k, v in request.query_params.items() if k not in values})
        redirect_uri = values.get("redirect_uri")
        if not redirect_uri or not values.get("client_id"):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "client_id and redirect_uri are required"},
                400,
            )
        realm = values.get("realmId") or self.default_realm
        code = self.tokens.issue_code(values["client_id"], redirect_uri, realm)
        query = {"code": code, "realmId": realm}
        if values.get("state"):
            query["state"] = values["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(query), status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        client = _basic_client(request)
        if client is None and form.get("client_id"):
            client = (str(form.get("client_id")), str(form.get("client_secret", "")))
        if client is None or not self.tokens.client_ok(*client):
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            result = self.tokens.redeem_code(
                str(form.get("code", "")), client[0], str(form.get("redirect_uri", ""))
            )
        elif grant == "refresh_token":
            result = self.tokens.rotate(str(form.get("refresh_token", "")), client[0])
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if result is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        return JSONResponse(result, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(self, request: Request) -> Response:
        client = _basic_client(request)
        if client is None or not self.tokens.client_ok(*client):
            return JSONResponse({"error": "invalid_client"}, 401)
        try:
            body = await request.json()
            token = body.get("token", "")
        except ValueError:
            token = str((await request.form()).get("token", ""))
        self.tokens.revoke(token)
        return Response(status_code=200)

    async def userinfo(self, request: Request) -> Response:
        return JSONResponse(
            {
                "sub": "sandbox-user",
                "email": "sandbox@example.com",
                "emailVerified": True,
                "givenName": "Sandbox",
                "familyName": "User",
            }
        )
