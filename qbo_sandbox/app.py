"""The Starlette app: /v3 routing, auth, quotas, faults, requestid replay and /_sandbox inspection."""

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
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qbo_sandbox import faults, seed
from qbo_sandbox.entities import ENTITIES, SINGLETONS, Company
from qbo_sandbox.faults import FaultInjector, QboFault, qbo_time
from qbo_sandbox.oauth import OAuthRoutes, TokenStore
from qbo_sandbox.quotas import Quotas
from qbo_sandbox.store import Store

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=utf-8"
LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


@dataclass
class RuntimeConfig:
    """The options that /_sandbox/config may change while running."""

    latency_ms: float = 0
    slow_response_s: float = 5.0
    throttle_format: str = "json"
    requestid_retention_s: float = 24 * 3600  # undocumented by Intuit; qbo-api.md suggests a day
    auth_fault_format: str = "gateway"  # 401 body: "gateway" (recorded lowercase shape), "json" or "xml"
    requestid_mismatch: str = "replay"  # same requestid, different body: "replay" or "fault" (600)


class Stats:
    """Request counters for /_sandbox/stats."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_route: dict[str, Counter] = defaultdict(Counter)
            self.throttled: Counter = Counter()
            self.faults: Counter = Counter()

    def record(self, method: str, path: str, status: str) -> None:
        label = f"{method} {route_label(path)}"
        with self._lock:
            self.total += 1
            self.by_route[label][status] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests_total": self.total,
                "by_route": {route: dict(counts) for route, counts in sorted(self.by_route.items())},
                "throttled": sum(self.throttled.values()),
                "throttled_by_limit": dict(self.throttled),
                "faults_injected": dict(self.faults),
            }


def route_label(path: str) -> str:
    """Collapse ids so stats group by route: /v3/company/{realm}/invoice/{id}."""
    path = re.sub(r"^/v3/company/[^/]+", "/v3/company/{realm}", path)
    path = re.sub(r"^/_sandbox/realms/[^/]+", "/_sandbox/realms/{realm}", path)
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


class Sandbox:
    """All state of one running sandbox and its request handlers."""

    def __init__(self, options):
        self.options = options
        self.config = RuntimeConfig(
            latency_ms=options.latency_ms,
            slow_response_s=options.slow_response_s,
            throttle_format=getattr(options, "throttle_format", "json"),
        )
        self.store = Store(options.data_dir, seeder=Company.seed)
        self.tokens = TokenStore(options.access_token_ttl_s)
        self.tokens.restore(self.store.extra.get("tokens"))
        self.store.extra["tokens"] = self.tokens.state()
        self.quotas = Quotas(options.quotas)
        self.injector = FaultInjector(options.fault_rate, options.fault_seed)
        self.stats = Stats()
        self.oauth = OAuthRoutes(self.tokens, options.default_realm, seed.COMPANY_NAME)
        self.store.realm(options.default_realm)

    # -- /v3 ---------------------------------------------------------------------------------------------
    async def v3(self, request: Request) -> Response:
        realm_id = request.path_params["realm"]
        rest = request.path_params["rest"].strip("/")
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token:
            return self._raw(401, *self._auth_failed("Authorization header missing or not a bearer token"))
        entry, detail = self.tokens.check(token)
        if entry is None:
            return self._raw(401, *self._auth_failed(detail))
        if entry.realm != realm_id:
            return self._raw(
                403,
                faults.authz_failed_body(f"The token was issued for company {entry.realm}, not {realm_id}."),
            )
        is_batch = rest.lower() == "batch"
        refused = self.quotas.admit(realm_id, entry.client_id, is_batch)
        if refused:
            self.stats.throttled[refused] += 1
            body, media = faults.throttle_body(self.config.throttle_format == "xml")
            return self._raw(429, body, media)
        try:
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000)
            return await self._v3_admitted(request, realm_id, rest, token)
        finally:
            self.quotas.release(realm_id)

    async def _v3_admitted(self, request: Request, realm_id: str, rest: str, token: str) -> Response:
        method = request.method
        first = rest.split("/")[0].lower()
        is_write = method == "POST" and first != "query"
        body = await request.body()
        kind = self.injector.draw() if is_write else None
        if kind:
            self.stats.faults[kind] += 1
        if kind == "http500":
            return self._raw(500, faults.system_fault_body())
        if kind == "http503":
            return self._raw(503, faults.GATEWAY_503_HTML, "text/html")
        if kind == "expired_token":
            self.tokens.access[token].expires_at = 0
            return self._raw(401, *self._auth_failed(f"Token expired: {token[:50]}"))

        request_id = request.query_params.get("requestid") if is_write else None
        realm = self.store.realm(realm_id)
        if request_id:
            if len(request_id) > (36 if first == "batch" else 50):
                fault = QboFault(
                    "2130",
                    "Invalid Request Id Format",
                    "Request Id should be less than or equal to 50 characters (36 for batch).",
                )
                return self._raw(400, json.dumps(fault.envelope()).encode())
            digest = hashlib.sha256(body).hexdigest()
            with self.store.lock:
                cached = realm.replies.get(request_id)
            if cached and time.time() - cached[4] > self.config.requestid_retention_s:
                cached = None  # past retention the id is forgotten and the write runs again
            if cached:
                if cached[3] != digest and self.config.requestid_mismatch == "fault":
                    fault = QboFault(
                        "600",
                        "Duplicate Request ID",
                        f"Duplicate Request ID : RequestId {request_id} already exists with a different "
                        "request. Our system detected the duplicate.",
                    )
                    return self._raw(400, json.dumps(fault.envelope()).encode())
                return self._raw(cached[0], cached[1], cached[2])
        with self.store.lock:
            try:
                status, payload = 200, self._dispatch(request, Company(realm), realm_id, rest, body)
            except QboFault as fault:
                status, payload = fault.status, fault.envelope()
            except Exception:
                # A sandbox bug must still look like QBO to the client: a SystemFault, never a traceback.
                log.exception("sandbox failure on %s %s", request.method, request.url.path)
                return self._raw(500, faults.system_fault_body())
            data = json.dumps(payload).encode()
            if request_id:
                realm.replies[request_id] = (status, data, JSON_TYPE, digest, time.time())
            if is_write:
                self.store.mark_dirty()
        if kind == "slow":
            await asyncio.sleep(self.config.slow_response_s)
        elif kind == "reset":
            await request.scope["qbo.abort"]()
            return Response(b"", 500)  # never reaches the client; the connection is already gone
        return self._raw(status, data, JSON_TYPE)

    def _dispatch(self, request: Request, company: Company, realm_id: str, rest: str, body: bytes) -> dict:
        parts = rest.split("/") if rest else []
        method = request.method
        first = parts[0].lower() if parts else ""
        params = request.query_params
        if first == "query" and len(parts) == 1:
            text = params.get("query") if method == "GET" else body.decode("utf-8", "replace")
            if not text:
                raise faults.required("query")
            return {"QueryResponse": company.query(text), "time": qbo_time()}
        if first == "batch" and len(parts) == 1 and method == "POST":
            payload = self._json(body)
            items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
            return {"BatchItemResponse": company.batch(items), "time": qbo_time()}
        if first == "cdc" and len(parts) == 1 and method == "GET":
            result = company.cdc(params.get("entities", ""), params.get("changedSince", ""))
            return {"CDCResponse": result, "time": qbo_time()}
        entity = ENTITIES.get(first)
        if (
            entity is not None
            and method == "GET"
            and (len(parts) == 2 or (entity in SINGLETONS and len(parts) == 1))
        ):
            row_id = parts[1] if len(parts) == 2 else "1"
            if entity == "CompanyInfo" and row_id == realm_id:
                row_id = "1"
            return {entity: company.read(entity, row_id), "time": qbo_time()}
        if entity is not None and method == "POST" and len(parts) == 1:
            result = company.write(
                entity,
                self._json(body),
                params.get("operation"),
                params.get("include"),
                allow_duplicate_docnum="allowduplicatedocnum" in params.get("include", "").lower(),
            )
            return {entity: result, "time": qbo_time()}
        raise faults.unsupported(
            f"Operation Could not find resource for relative : {request.url.path} "
            f"of full path: {request.url} is not supported."
        )

    def _auth_failed(self, detail: str) -> tuple[bytes, str]:
        return faults.auth_failed(detail, self.config.auth_fault_format)

    @staticmethod
    def _json(body: bytes) -> object:
        try:
            return json.loads(body or b"{}")
        except ValueError as exc:
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
                f"Error parsing object: {exc}",
                element="",
            ) from None

    @staticmethod
    def _raw(status: int, body: bytes, media: str = "application/json") -> Response:
        # Every QBO response carries an intuit_tid transaction id.
        tid = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
        return Response(
            body,
            status,
            media_type=media,
            headers={"intuit_tid": tid, "Intuit-Tid": tid, "Server": "qbo-sandbox"},
        )

    # -- /_sandbox ---------------------------------------------------------------------------------------
    @staticmethod
    def _local_only(request: Request) -> Response | None:
        host = request.client.host if request.client else "testclient"
        if host not in LOOPBACK:
            return JSONResponse({"error": "the /_sandbox surface is loopback only"}, 403)
        return None

    async def sb_stats(self, request: Request) -> Response:
        return self._local_only(request) or JSONResponse(self.stats.snapshot())

    async def sb_health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "default_realm": self.options.default_realm})

    async def sb_count(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        params = dict(request.query_params)
        entity = ENTITIES.get(params.pop("entity", "").lower())
        if entity is None:
            return JSONResponse({"error": "entity= must name a QBO entity"}, 400)
        with self.store.lock:
            count = Company(self.store.realm(request.path_params["realm"])).count(entity, params)
        return JSONResponse({"count": count})

    async def sb_duplicates(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        entity = ENTITIES.get(request.query_params.get("entity", "invoice").lower())
        if entity is None:
            return JSONResponse({"error": "entity= must name a QBO entity"}, 400)
        field = request.query_params.get("field", "DocNumber")
        with self.store.lock:
            dupes = Company(self.store.realm(request.path_params["realm"])).duplicates(entity, field)
        return JSONResponse({"entity": entity, "field": field, "duplicates": dupes})

    async def sb_plant(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        spec = await request.json()
        with self.store.lock:
            result = Company(self.store.realm(request.path_params["realm"])).plant(spec)
            self.store.mark_dirty()
        return JSONResponse(result)

    async def sb_mint(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        body = await request.json() if await request.body() else {}
        realm_id = request.path_params["realm"]
        self.store.realm(realm_id)
        result = self.tokens.mint(realm_id, str(body.get("client_id", "sandbox-client")))
        self.store.mark_dirty()
        return JSONResponse({**result, "realmId": realm_id})

    async def sb_expire(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        expired = self.tokens.expire_all_access()
        self.store.mark_dirty()
        return JSONResponse({"expired": expired})

    async def sb_config(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        if request.method == "POST":
            body = await request.json()
            try:
                if "latency_ms" in body:
                    self.config.latency_ms = float(body["latency_ms"])
                if "slow_response_s" in body:
                    self.config.slow_response_s = float(body["slow_response_s"])
                if "throttle_format" in body:
                    self.config.throttle_format = "xml" if body["throttle_format"] == "xml" else "json"
                if "requestid_retention_s" in body:
                    self.config.requestid_retention_s = float(body["requestid_retention_s"])
                if "auth_fault_format" in body:
                    if body["auth_fault_format"] not in ("gateway", "json", "xml"):
                        raise ValueError("auth_fault_format must be 'gateway', 'json' or 'xml'")
                    self.config.auth_fault_format = body["auth_fault_format"]
                if "requestid_mismatch" in body:
                    if body["requestid_mismatch"] not in ("replay", "fault"):
                        raise ValueError("requestid_mismatch must be 'replay' or 'fault'")
                    self.config.requestid_mismatch = body["requestid_mismatch"]
                if "access_token_ttl_s" in body:
                    self.tokens.access_ttl_s = int(body["access_token_ttl_s"])
                self.injector.configure(body.get("fault_rate"), body.get("fault_seed"))
                if body.get("force_faults"):
                    self.injector.force(list(body["force_faults"]))
                self.quotas.configure(
                    body.get("quotas"), body.get("quota_limits"), body.get("max_concurrent")
                )
                if body.get("reset_quotas"):
                    self.quotas.reset()
            except (ValueError, TypeError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(self.describe_config())

    def describe_config(self) -> dict:
        return {
            **asdict(self.config),
            "access_token_ttl_s": self.tokens.access_ttl_s,
            "fault_rate": self.injector.rate,
            "fault_seed": self.injector.seed,
            "forced_faults": self.injector.pending(),
            "quotas": self.quotas.mode,
            "quota_details": self.quotas.describe(),
            "default_realm": self.options.default_realm,
        }

    async def sb_reset(self, request: Request) -> Response:
        if denied := self._local_only(request):
            return denied
        body = await request.json() if await request.body() else {}
        self.store.reset(body.get("realm"))
        self.quotas.reset()
        if body.get("stats", True):
            self.stats.reset()
        self.store.realm(self.options.default_realm)
        return JSONResponse({"reset": body.get("realm") or "all"})


class SandboxApp(Starlette):
    """Starlette plus an outer layer that counts every request and can drop a connection unanswered."""

    stats: Stats

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state = {"status": "none", "dropped": False}

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

        async def guarded_send(message) -> None:
            if state["dropped"]:
                return
            if message["type"] == "http.response.start":
                state["status"] = str(message["status"])
            await send(message)

        scope["qbo.abort"] = abort
        try:
            await super().__call__(scope, receive, guarded_send)
        finally:
            self.stats.record(
                scope["method"], scope["path"], "reset" if state["dropped"] else state["status"]
            )


def create_app(options) -> Starlette:
    """Build the sandbox ASGI app for the given SandboxOptions; `app.state.sandbox` exposes the state."""
    sandbox = Sandbox(options)

    @asynccontextmanager
    async def lifespan(_app):
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
        Route("/_sandbox/health", sandbox.sb_health),
        Route("/_sandbox/stats", sandbox.sb_stats),
        Route("/_sandbox/config", sandbox.sb_config, methods=["GET", "POST"]),
        Route("/_sandbox/reset", sandbox.sb_reset, methods=["POST"]),
        Route("/_sandbox/tokens/expire", sandbox.sb_expire, methods=["POST"]),
        Route("/_sandbox/realms/{realm}/count", sandbox.sb_count),
        Route("/_sandbox/realms/{realm}/duplicates", sandbox.sb_duplicates),
        Route("/_sandbox/realms/{realm}/plant", sandbox.sb_plant, methods=["POST"]),
        Route("/_sandbox/realms/{realm}/tokens", sandbox.sb_mint, methods=["POST"]),
    ]
    app = SandboxApp(routes=routes, lifespan=lifespan)
    app.stats = sandbox.stats
    app.state.sandbox = sandbox
    return app
