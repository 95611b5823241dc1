"""The Starlette app: /v3 routing, bearer auth, quotas, faults, requestid replay, and assembling the routes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox import faults
from qbo_sandbox.attachments import Attachments, parse_multipart
from qbo_sandbox.entities import Company
from qbo_sandbox.faults import FaultInjector, QboFault, invalid_property, qbo_time
from qbo_sandbox.inspection import Inspection
from qbo_sandbox.oauth import OAuthRoutes, TokenStore
from qbo_sandbox.quotas import Quotas
from qbo_sandbox.schema import ENTITIES, SINGLETONS
from qbo_sandbox.store import Store

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
# As recorded: answers carry "application/json;charset=utf-8", faults plain "application/json".
SUCCESS_TYPE = "application/json;charset=utf-8"
FAULT_TYPE = "application/json"
# Every recorded 401 names the bearer scheme and why the token failed (error/401).
WWW_AUTHENTICATE = 'Bearer realm="Intuit", error="invalid_token"'
# Recorded on every successful answer; faults carry neither.
SUCCESS_HEADERS = {"Cache-Control": "max-age=0, no-cache, no-store, must-revalidate, private", "Expires": "0"}


@dataclass
class RuntimeConfig:
    """The options that /_sandbox/config may change while running."""

    latency_ms: float = 0
    slow_response_s: float = 5.0
    throttle_format: str = "xml"
    requestid_retention_s: float = 24 * 3600  # undocumented by Intuit; qbo-api.md suggests a day
    auth_fault_format: str = "gateway"  # 401 body: "gateway" (recorded lowercase shape), "json" or "xml"
    requestid_mismatch: str = "replay"  # same requestid, different body: "replay" or "fault" (600)


class Stats:
    """Request counters for /_sandbox/stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route: dict[str, Counter[str]] = defaultdict(Counter)
            self.throttled: Counter[str] = Counter()
            self.throttled_by_realm: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()

    def record(self, method: str, path: str, status: str) -> None:
        label = f"{method} {route_label(path)}"
        with self._lock:
            self.total += 1
            self.by_route[label][status] += 1

    def throttle(self, limit: str, realm: str) -> None:
        with self._lock:
            self.throttled[limit] += 1
            self.throttled_by_realm[realm] += 1

    def snapshot(self) -> JsonDict:
        with self._lock:
            return {
                "requests_total": self.total,
                "by_route": {route: dict(counts) for route, counts in sorted(self.by_route.items())},
                "throttled": sum(self.throttled.values()),
                "throttled_by_limit": dict(self.throttled),
                "throttled_by_realm": dict(self.throttled_by_realm),
                "faults_injected": dict(self.faults),
            }


def route_label(path: str) -> str:
    """Collapse ids so stats group by route: /v3/company/{realm}/invoice/{id}."""
    path = re.sub(r"^/v3/company/[^/]+", "/v3/company/{realm}", path)
    path = re.sub(r"^/_sandbox/(realms|files)/[^/]+", r"/_sandbox/\1/{realm}", path)
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def respond(status: int, body: bytes, media: str | None = None) -> Response:
    """A response with the headers every QBO answer carries (an intuit_tid), faults typed as recorded."""
    tid = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
    headers = {"intuit_tid": tid, "Intuit-Tid": tid, "Server": "qbo-sandbox"}
    if status == 200:
        headers.update(SUCCESS_HEADERS)
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return Response(body, status, media_type=media or (SUCCESS_TYPE if status == 200 else FAULT_TYPE), headers=headers)


class Sandbox:
    """All state of one running sandbox and its /v3 request handling."""

    def __init__(self, options: Any):
        self.options = options
        self.config = RuntimeConfig(
            latency_ms=options.latency_ms,
            slow_response_s=options.slow_response_s,
            throttle_format=getattr(options, "throttle_format", "xml"),
        )
        sample_realm = getattr(options, "sample_realm", None)
        profiles = {sample_realm: "sample"} if sample_realm else {}
        self.store = Store(options.data_dir, seeder=Company.seed, profiles=profiles)
        self.tokens = TokenStore(options.access_token_ttl_s)
        saved_tokens = self.store.extra.get("tokens")
        self.tokens.restore(saved_tokens if isinstance(saved_tokens, dict) else None)
        self.store.extra["tokens"] = self.tokens.state()
        self.quotas = Quotas(options.quotas)
        self.injector = FaultInjector(options.fault_rate, options.fault_seed)
        self.stats = Stats()
        self.oauth = OAuthRoutes(self.tokens, options.default_realm, self.company_names)
        self.store.realm(options.default_realm)

    def company_names(self) -> dict[str, str]:
        """Realm id -> company name, for the consent page's company list."""
        with self.store.lock:
            return {realm_id: realm.company_name for realm_id, realm in sorted(self.store.realms.items())}

    # -- /v3 ---------------------------------------------------------------------------------------------
    async def v3(self, request: Request) -> Response:
        realm_id = request.path_params["realm"]
        rest = request.path_params["rest"].strip("/")
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token:
            return respond(401, *self._auth_failed("Authorization header missing or not a bearer token"))
        entry, detail = self.tokens.check(token)
        if entry is None:
            return respond(401, *self._auth_failed(detail))
        if entry.realm != realm_id:
            return respond(
                403, faults.authz_failed_body(f"The token was issued for company {entry.realm}, not {realm_id}.")
            )
        is_batch = rest.lower() == "batch"
        refused = self.quotas.admit(realm_id, entry.client_id, is_batch)
        if refused:
            self.stats.throttle(refused, realm_id)
            return respond(429, *faults.throttle_body(self.config.throttle_format == "xml"))
        try:
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000)
            return await self._v3_admitted(request, realm_id, rest, token)
        finally:
            self.quotas.release(realm_id, entry.client_id)

    async def _v3_admitted(self, request: Request, realm_id: str, rest: str, token: str) -> Response:
        method = request.method
        first = rest.split("/")[0].lower()
        is_write = method == "POST" and first != "query"
        body = await request.body()
        kind = self.injector.draw() if is_write else None
        if kind:
            self.stats.faults[kind] += 1
        if kind == "http500":
            return respond(500, faults.system_fault_body())
        if kind == "http503":
            return respond(503, faults.GATEWAY_503_HTML, "text/html")
        if kind == "expired_token":
            self.tokens.access[token].expires_at = 0
            return respond(401, *self._auth_failed(f"Token expired: {token[:50]}"))

        request_id = request.query_params.get("requestid") if is_write else None
        realm = self.store.realm(realm_id)
        digest = hashlib.sha256(body).hexdigest()
        if request_id:
            replay = self._replay(realm.replies, request_id, first, digest)
            if replay is not None:
                return replay
        with self.store.lock:
            company = Company(realm, base_url=str(request.base_url).rstrip("/"))
            try:
                if first == "download" and method == "GET":
                    return self._download(company, rest)
                status, payload = 200, self._dispatch(request, company, realm_id, rest, body)
            except QboFault as fault:
                status, payload = fault.status, fault.envelope()
            except Exception:
                # A sandbox bug must still look like QBO to the client: a SystemFault, never a traceback.
                log.exception("sandbox failure on %s %s", request.method, request.url.path)
                return respond(500, faults.system_fault_body())
            data = json.dumps(payload).encode()
            media = SUCCESS_TYPE if status == 200 else FAULT_TYPE
            if request_id:
                realm.replies[request_id] = (status, data, media, digest, time.time())
            if is_write:
                self.store.mark_dirty()
        if kind == "slow":
            await asyncio.sleep(self.config.slow_response_s)
        elif kind == "reset":
            await request.scope["qbo.abort"]()
            return Response(b"", 500)  # never reaches the client; the connection is already gone
        return respond(status, data, media)

    def _replay(
        self, replies: dict[str, tuple[int, bytes, str, str, float]], request_id: str, first: str, digest: str
    ) -> Response | None:
        """The stored answer for a repeated requestid, a 2130/600 fault, or None to run the request."""
        if len(request_id) > (36 if first == "batch" else 50):
            fault = QboFault(
                "2130",
                "Invalid Request Id Format",
                "Request Id should be less than or equal to 50 characters (36 for batch).",
            )
            return respond(400, json.dumps(fault.envelope()).encode())
        with self.store.lock:
            cached = replies.get(request_id)
        if cached and time.time() - cached[4] > self.config.requestid_retention_s:
            cached = None  # past retention the id is forgotten and the write runs again
        if not cached:
            return None
        if cached[3] != digest and self.config.requestid_mismatch == "fault":
            fault = QboFault(
                "600",
                "Duplicate Request ID",
                f"Duplicate Request ID : RequestId {request_id} already exists with a different "
                "request. Our system detected the duplicate.",
            )
            return respond(400, json.dumps(fault.envelope()).encode())
        return respond(cached[0], cached[1], cached[2])

    def _dispatch(self, request: Request, company: Company, realm_id: str, rest: str, body: bytes) -> JsonDict:
        parts = rest.split("/") if rest else []
        method = request.method
        first = parts[0].lower() if parts else ""
        params = request.query_params
        include = params.get("include", "")
        if first == "query" and len(parts) == 1:
            text = params.get("query") if method == "GET" else body.decode("utf-8", "replace")
            if not text:
                raise faults.required("query")
            return {"QueryResponse": company.query(text, include), "time": qbo_time()}
        if first == "batch" and len(parts) == 1 and method == "POST":
            payload = self._json(body)
            items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
            return {"BatchItemResponse": company.batch(items), "time": qbo_time()}
        if first == "cdc" and len(parts) == 1 and method == "GET":
            changes = company.cdc(params.get("entities", ""), params.get("changedSince", ""))
            return {"CDCResponse": changes, "time": qbo_time()}
        if first == "upload" and len(parts) == 1 and method == "POST":
            files = parse_multipart(body, request.headers.get("content-type", ""))
            return {"AttachableResponse": Attachments(company).upload(files, company.base_url), "time": qbo_time()}
        entity = ENTITIES.get(first)
        if entity == "ExchangeRate" and method == "GET" and len(parts) == 1:
            rate = company.exchange_rate(params.get("sourcecurrencycode", ""), params.get("asofdate"))
            return {"ExchangeRate": rate, "time": qbo_time()}
        if (
            entity is not None
            and method == "GET"
            and (len(parts) == 2 or (entity in SINGLETONS and len(parts) == 1))
        ):
            row_id = parts[1] if len(parts) == 2 else "1"
            if entity == "CompanyInfo" and row_id == realm_id:
                row_id = "1"
            return {entity: company.read(entity, row_id, include), "time": qbo_time()}
        if entity is not None and method == "POST" and len(parts) == 1:
            result = company.write(
                entity,
                self._json(body),
                params.get("operation"),
                include,
                allow_duplicate_docnum="allowduplicatedocnum" in include.lower(),
            )
            return {entity: result, "time": qbo_time()}
        raise faults.unsupported(
            f"Operation Could not find resource for relative : {request.url.path} "
            f"of full path: {request.url} is not supported."
        )

    @staticmethod
    def _download(company: Company, rest: str) -> Response:
        """GET /download/{id}: the attachment's temporary download link, as text (D-ATTACHABLE)."""
        parts = rest.split("/")
        if len(parts) != 2:
            raise faults.unsupported(f"Operation {rest} is not supported.")
        attachments = Attachments(company)
        attachments.file(parts[1])  # 610 when there is no such file
        row = company.realm.get("Attachable", parts[1]) or {}
        link = attachments.with_download_link(row, company.base_url)["TempDownloadUri"]
        return respond(200, str(link).encode(), "text/plain;charset=utf-8")

    def _auth_failed(self, detail: str) -> tuple[bytes, str]:
        return faults.auth_failed(detail, self.config.auth_fault_format)

    @staticmethod
    def _json(body: bytes) -> object:
        try:
            return json.loads(body or b"{}")
        except ValueError as exc:
            raise invalid_property(
                f"Error parsing object: {exc}",
                element="",
            ) from None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class SandboxApp(Starlette):
    """Starlette plus an outer layer that counts every request and can drop a connection unanswered."""

    stats: Stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state: dict[str, Any] = {"status": "none", "dropped": False}

        async def abort() -> None:
            # uvicorn's send is a bound method of its request cycle, which owns the socket transport.
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            state["dropped"] = True
            if transport is not None:
                transport.abort()
            else:
                # Any other server: start a response and fail it, which also breaks the connection.
                await send({"type": "http.response.start", "status": 200, "headers": []})
                raise ConnectionAbortedError("sandbox dropped the connection on purpose")

        async def guarded_send(message: MutableMapping[str, Any]) -> None:
            if state["dropped"]:
                return
            if message["type"] == "http.response.start":
                state["status"] = str(message["status"])
            await send(message)

        scope["qbo.abort"] = abort
        try:
            await super().__call__(scope, receive, guarded_send)
        finally:
            self.stats.record(scope["method"], scope["path"], "reset" if state["dropped"] else state["status"])


def create_app(options: Any) -> Starlette:
    """Build the sandbox ASGI app for the given SandboxOptions; `app.state.sandbox` exposes the state."""
    sandbox = Sandbox(options)
    inspection = Inspection(sandbox)

    @asynccontextmanager
    async def lifespan(_app: Starlette):  # type: ignore[no-untyped-def]
        yield
        sandbox.store.close()

    o = sandbox.oauth
    routes = [
        Route("/.well-known/openid_configuration", o.discovery),
        Route("/.well-known/openid_configuration/", o.discovery),
        Route("/.well-known/openid_sandbox_configuration", o.discovery),
        Route("/.well-known/openid_sandbox_configuration/", o.discovery),
        Route("/connect/oauth2", o.consent_page, methods=["GET"]),
        Route("/connect/oauth2", o.consent_submit, methods=["POST"]),
        Route("/oauth2/v1/tokens/bearer", o.token, methods=["POST"]),
        Route("/v2/oauth2/tokens/revoke", o.revoke, methods=["POST"]),
        Route("/oauth2/v1/keys", o.jwks),
        Route("/v1/openid_connect/userinfo", o.userinfo),
        Route("/v3/company/{realm}/{rest:path}", sandbox.v3, methods=["GET", "POST"]),
        *inspection.routes(),
    ]
    app = SandboxApp(routes=routes, lifespan=lifespan)
    app.stats = sandbox.stats
    app.state.sandbox = sandbox
    return app
