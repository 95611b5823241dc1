"""The /_sandbox surface (loopback only, no auth): realms, tokens, counts, duplicates, planting, config, stats."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qbo_sandbox.attachments import Attachments
from qbo_sandbox.entities import Company
from qbo_sandbox.faults import QboFault
from qbo_sandbox.schema import ENTITIES
from qbo_sandbox.store import PROFILES, RealmExists

if TYPE_CHECKING:
    from qbo_sandbox.app import Sandbox

JsonDict = dict[str, Any]
LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def _local_only(request: Request) -> Response | None:
    host = request.client.host if request.client else "testclient"
    if host not in LOOPBACK:
        return JSONResponse({"error": "the /_sandbox surface is loopback only"}, 403)
    return None


async def _body(request: Request) -> JsonDict:
    if not await request.body():
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


class Inspection:
    """Handlers over one Sandbox's state, for tests, benches and the console's demo."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.store = sandbox.store

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/health", self.health),
            Route("/_sandbox/stats", self.stats),
            Route("/_sandbox/config", self.config, methods=["GET", "POST"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/tokens/expire", self.expire, methods=["POST"]),
            Route("/_sandbox/realms", self.realms, methods=["GET", "POST"]),
            Route("/_sandbox/realms/{realm}", self.realm_detail),
            Route("/_sandbox/realms/{realm}/count", self.count),
            Route("/_sandbox/realms/{realm}/duplicates", self.duplicates),
            Route("/_sandbox/realms/{realm}/plant", self.plant, methods=["POST"]),
            Route("/_sandbox/realms/{realm}/tokens", self.mint, methods=["POST"]),
            Route("/_sandbox/realms/{realm}/tokens/expire", self.expire_realm, methods=["POST"]),
            Route("/_sandbox/realms/{realm}/disconnect", self.disconnect, methods=["POST"]),
            Route("/_sandbox/files/{realm}/{file_id}/{name}", self.file),
        ]

    def _company(self, request: Request) -> Company:
        return Company(self.store.realm(request.path_params["realm"]), base_url=str(request.base_url).rstrip("/"))

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "default_realm": self.sandbox.options.default_realm})

    async def stats(self, request: Request) -> Response:
        return _local_only(request) or JSONResponse(self.sandbox.stats.snapshot())

    async def realms(self, request: Request) -> Response:
        """GET: every realm with its company, profile and token state; POST: create one."""
        if denied := _local_only(request):
            return denied
        if request.method == "POST":
            try:
                body = await _body(request)
                realm_id = str(body.get("realm_id") or "").strip() or str(secrets.randbelow(9 * 10**15) + 10**15)
                if not realm_id.isdigit():
                    raise ValueError("realm_id must be digits, as QuickBooks company ids are")
                profile = str(body.get("profile", "lists"))
                if profile not in PROFILES:
                    raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
                with self.store.lock:
                    self.store.create(
                        realm_id, profile, str(body.get("company_name") or ""), bool(body.get("multicurrency"))
                    )
                    self.store.mark_dirty()
            except RealmExists:
                return JSONResponse({"error": f"realm {realm_id} exists already"}, 409)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
            return JSONResponse(self._describe(realm_id), 201)
        with self.store.lock:
            ids = sorted(self.store.realms)
        return JSONResponse({"realms": [self._describe(realm_id) for realm_id in ids]})

    async def realm_detail(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        realm_id = request.path_params["realm"]
        with self.store.lock:
            known = realm_id in self.store.realms
        if not known:
            return JSONResponse({"error": f"no realm {realm_id}"}, 404)
        return JSONResponse(self._describe(realm_id, counts=True))

    def _describe(self, realm_id: str, counts: bool = False) -> JsonDict:
        with self.store.lock:
            realm = self.store.realm(realm_id)
            out: JsonDict = {
                "realm_id": realm_id,
                "company_name": realm.company_name,
                "profile": realm.profile,
                "multicurrency": realm.multicurrency,
                "tokens": self.sandbox.tokens.realm_state(realm_id),
                "quota": self.sandbox.quotas.usage(realm_id),
            }
            if counts:
                out["counts"] = {entity: len(rows) for entity, rows in sorted(realm.rows.items()) if rows}
                out["open_balances"] = Company(realm).open_balances()
        return out

    async def count(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        params = dict(request.query_params)
        entity = ENTITIES.get(params.pop("entity", "").lower())
        if entity is None:
            return JSONResponse({"error": "entity= must name a QBO entity"}, 400)
        with self.store.lock:
            count = self._company(request).count(entity, params)
        return JSONResponse({"count": count})

    async def duplicates(self, request: Request) -> Response:
        """Rows sharing a value of one field, or of several (field=DocNumber&field=VendorRef)."""
        if denied := _local_only(request):
            return denied
        entity = ENTITIES.get(request.query_params.get("entity", "invoice").lower())
        if entity is None:
            return JSONResponse({"error": "entity= must name a QBO entity"}, 400)
        fields = request.query_params.getlist("field") or ["DocNumber"]
        with self.store.lock:
            dupes = self._company(request).duplicates(entity, fields)
        return JSONResponse({"entity": entity, "field": ",".join(fields), "fields": fields, "duplicates": dupes})

    async def plant(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        try:
            spec = await _body(request)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        with self.store.lock:
            result = self._company(request).plant(spec)
            self.store.mark_dirty()
        return JSONResponse(result)

    async def mint(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        body = await _body(request)
        realm_id = request.path_params["realm"]
        self.store.realm(realm_id)
        result = self.sandbox.tokens.mint(realm_id, str(body.get("client_id", "sandbox-client")))
        self.store.mark_dirty()
        return JSONResponse({**result, "realmId": realm_id})

    async def expire(self, request: Request) -> Response:
        """Every access token (or those of one realm, body {"realm": id}) expires now."""
        if denied := _local_only(request):
            return denied
        body = await _body(request)
        expired = self.sandbox.tokens.expire_access(str(body["realm"]) if body.get("realm") else None)
        self.store.mark_dirty()
        return JSONResponse({"expired": expired})

    async def expire_realm(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        expired = self.sandbox.tokens.expire_access(request.path_params["realm"])
        self.store.mark_dirty()
        return JSONResponse({"expired": expired})

    async def disconnect(self, request: Request) -> Response:
        """An admin disconnects the app in this company: its tokens die, refresh answers invalid_grant."""
        if denied := _local_only(request):
            return denied
        revoked = self.sandbox.tokens.revoke_realm(request.path_params["realm"])
        self.store.mark_dirty()
        return JSONResponse({"revoked": revoked})

    async def file(self, request: Request) -> Response:
        """An uploaded attachment's bytes: the TempDownloadUri target (presigned, so no bearer token)."""
        if denied := _local_only(request):
            return denied
        with self.store.lock:
            try:
                data, media, _name = Attachments(self._company(request)).file(request.path_params["file_id"])
            except QboFault:
                return JSONResponse({"error": "no such file"}, 404)
        return Response(data, 200, media_type=media)

    async def config(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        if request.method == "POST":
            try:
                self._configure(await _body(request))
            except (ValueError, TypeError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(self.describe_config())

    def _configure(self, body: JsonDict) -> None:
        config = self.sandbox.config
        if "latency_ms" in body:
            config.latency_ms = float(body["latency_ms"])
        if "slow_response_s" in body:
            config.slow_response_s = float(body["slow_response_s"])
        if "throttle_format" in body:
            if body["throttle_format"] not in ("json", "xml"):
                raise ValueError("throttle_format must be 'xml' or 'json'")
            config.throttle_format = body["throttle_format"]
        if "requestid_retention_s" in body:
            config.requestid_retention_s = float(body["requestid_retention_s"])
        if "auth_fault_format" in body:
            if body["auth_fault_format"] not in ("gateway", "json", "xml"):
                raise ValueError("auth_fault_format must be 'gateway', 'json' or 'xml'")
            config.auth_fault_format = body["auth_fault_format"]
        if "requestid_mismatch" in body:
            if body["requestid_mismatch"] not in ("replay", "fault"):
                raise ValueError("requestid_mismatch must be 'replay' or 'fault'")
            config.requestid_mismatch = body["requestid_mismatch"]
        if "access_token_ttl_s" in body:
            self.sandbox.tokens.access_ttl_s = int(body["access_token_ttl_s"])
        self.sandbox.injector.configure(body.get("fault_rate"), body.get("fault_seed"))
        if body.get("force_faults"):
            self.sandbox.injector.force(list(body["force_faults"]))
        self.sandbox.quotas.configure(body.get("quotas"), body.get("quota_limits"), body.get("max_concurrent"))
        if body.get("reset_quotas"):
            self.sandbox.quotas.reset()

    def describe_config(self) -> JsonDict:
        sandbox = self.sandbox
        return {
            **asdict(sandbox.config),
            "access_token_ttl_s": sandbox.tokens.access_ttl_s,
            "fault_rate": sandbox.injector.rate,
            "fault_seed": sandbox.injector.seed,
            "forced_faults": sandbox.injector.pending(),
            "quotas": sandbox.quotas.mode,
            "quota_details": sandbox.quotas.describe(),
            "default_realm": sandbox.options.default_realm,
            "sample_realm": getattr(sandbox.options, "sample_realm", None),
        }

    async def reset(self, request: Request) -> Response:
        if denied := _local_only(request):
            return denied
        body = await _body(request)
        self.store.reset(body.get("realm"))
        self.sandbox.quotas.reset()
        if body.get("stats", True):
            self.sandbox.stats.reset()
        self.store.realm(self.sandbox.options.default_realm)
        return JSONResponse({"reset": body.get("realm") or "all"})
