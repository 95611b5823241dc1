"""The gateway: every call to QuickBooks, with quotas, timeouts, token refresh, bounded retries and errors as data."""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from quickbooks import QuickBooks
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session, sessionmaker

from qbcore.chunks import QBO_BATCH, QBO_IN_CHUNK
from qbcore.company_directory import resolve_company_id
from qbcore.config import Config, QboEnvironment
from qbcore.errors import ErrorKind, QboCallError, QboError
from qbcore.qbo.endpoints import MINOR_VERSION, api_base
from qbcore.qbo.faults import classify_local
from qbcore.qbo.limiter import QuotaLimiter, QuotaPolicy, limiter_for
from qbcore.qbo.response import entity_of, parse_response
from qbcore.qbo.tokens import TokenSet, load_tokens, make_auth_client, refresh_tokens

# requests-oauthlib (and oauthlib) log the bearer and refresh tokens of every call at DEBUG; secrets never
# reach a log, whatever level the root logger is set to.
for _token_logger in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_token_logger).setLevel(logging.INFO)

MAX_IN_VALUES = QBO_IN_CHUNK
MAX_QUERY_CHARS = 90_000
BATCH_MAX = QBO_BATCH
LOG_LIMIT = 20_000


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of transient failures with jittered exponential backoff."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    throttle_delay_s: float = 10.0  # QuickBooks says "wait 60 s"; our own limiter makes 429s rare and short

    def delay(self, attempt: int, kind: ErrorKind) -> float:
        """How long to wait before retry number `attempt` (1-based)."""
        base = self.throttle_delay_s if kind is ErrorKind.THROTTLED else self.base_delay_s
        return min(self.max_delay_s, base * 2.0 ** (attempt - 1)) * (0.75 + random.random() / 2)


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout; python-quickbooks sets none of its own."""

    def __init__(self, timeout_s: float, pool: int) -> None:
        super().__init__(pool_connections=pool, pool_maxsize=pool)
        self.timeout_s = timeout_s

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: dict[str, str] | None = None) -> Response:
        return super().send(request, stream=stream, timeout=self.timeout_s if timeout is None else timeout,
                            verify=verify, cert=cert, proxies=proxies)


def entity_path(entity: str) -> str:
    """URL segment of an entity: CreditMemo → creditmemo."""
    return entity.lower()


def quote(value: str) -> str:
    """A query string literal (QuickBooks escapes apostrophes with a backslash)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# QuickBooks ids are digit strings; anything else typed in their place is refused before any call.
_QBO_ID = re.compile(r"[1-9][0-9]{0,19}")


def is_qbo_id(text: str) -> bool:
    """True when the (stripped) text is a QuickBooks id: a positive whole number of at most 20 digits."""
    return _QBO_ID.fullmatch(text) is not None


def chunk_values(values: Sequence[str]) -> list[list[str]]:
    """IN lists of ≤ 1,000 values that keep each query a sane size."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for value in values:
        if current and (len(current) >= MAX_IN_VALUES or size + len(value) + 4 > MAX_QUERY_CHARS):
            chunks.append(current)
            current, size = [], 0
        current.append(value)
        size += len(value) + 4
    if current:
        chunks.append(current)
    return chunks


class QboGateway:
    """One QuickBooks company, reached through the python-quickbooks client's authorised session."""

    def __init__(self, factory: sessionmaker[Session], config: Config, *, timeout_s: float = 30.0,
                 retry: RetryPolicy | None = None, quota: QuotaPolicy | None = None, pool: int = 10,
                 company_id: int | None = None) -> None:
        self.factory = factory
        self.config = config
        self._company_id = company_id
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.quota = quota
        self.pool = pool
        self._lock = threading.Lock()
        self._tokens: TokenSet | None = None
        self._qb: QuickBooks | None = None
        self._limiter: QuotaLimiter | None = None
        self.calls = 0
        # Per-gateway memo of slow-changing reads (name lists), so one run reads them once.
        self.memo: dict[str, tuple[float, Any]] = {}
        self.on_call: Callable[[str, int], None] | None = None

    # -- client ------------------------------------------------------------------------------------------
    def _build(self, tokens: TokenSet) -> QuickBooks:
        auth = make_auth_client(self.config, access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                                realm_id=tokens.realm_id)
        qb = QuickBooks(auth_client=auth, refresh_token=tokens.refresh_token, company_id=tokens.realm_id,
                        minorversion=MINOR_VERSION)
        if self.config.qbo_env is QboEnvironment.LOCAL:
            qb.api_url_v3 = qb.sandbox_api_url_v3 = api_base(self.config)
        adapter = _TimeoutAdapter(self.timeout_s, self.pool)
        qb.session.mount("http://", adapter)
        qb.session.mount("https://", adapter)
        return qb

    def client(self) -> QuickBooks:
        """The python-quickbooks client (built on first use; rebuilt after a refresh)."""
        with self._lock:
            if self._qb is None:
                self._tokens = load_tokens(self.factory, self.config, self.company_id)
                self._qb = self._build(self._tokens)
                # Quotas belong to one company on one QuickBooks (the sandbox on another port is another company).
                self._limiter = limiter_for(f"{api_base(self.config)}|{self._tokens.realm_id}", self.quota,
                                            self.factory)
            return self._qb

    @property
    def company_id(self) -> int:
        """The console's company this gateway reaches (the default company when none was named)."""
        if self._company_id is None:
            with self.factory() as session:
                self._company_id = resolve_company_id(session, None)
        return self._company_id

    @property
    def realm_id(self) -> str:
        """The connected company's realm id."""
        self.client()
        assert self._tokens is not None
        return self._tokens.realm_id

    @property
    def limiter(self) -> QuotaLimiter:
        """The company's quota limiter."""
        self.client()
        assert self._limiter is not None
        return self._limiter

    def _refresh(self, stale_access: str) -> None:
        with self._lock:
            if self._tokens is not None and self._tokens.access_token != stale_access:
                return  # another thread already refreshed
            self._tokens = refresh_tokens(self.factory, self.config, stale_access=stale_access,
                                          company_id=self.company_id)
            self._qb = self._build(self._tokens)

    # -- raw call ----------------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, body: Any = None, text: str | None = None, request_id: str | None = None,
             params: dict[str, str] | None = None, is_batch: bool = False, name: str | None = None,
             wait: bool = True, spare: bool = False) -> dict[str, Any]:
        """One QuickBooks call with retries; returns the JSON answer or raises QboCallError (never a traceback).

        wait=False: QuotaSpent (nothing sent) when a per-minute quota has no room now; spare=True: a single request
        that leaves this minute's room to the batch calls still allowed in it (see QuotaLimiter.slot).
        """
        qb = self.client()
        url = f"{qb.api_url}/company/{self.realm_id}/{path}"
        query = {"minorversion": str(MINOR_VERSION), **(params or {})}
        if request_id:
            query["requestid"] = request_id
        if text is not None:
            data, content_type = text.encode(), "application/text"
        else:
            data, content_type = json.dumps(body).encode(), "application/json"
        logged_request = f"{method} {url}?{'&'.join(f'{k}={v}' for k, v in query.items())}\n" + \
            data.decode(errors="replace")[:LOG_LIMIT]
        refreshed_from: set[str] = set()
        attempt = 0
        while True:
            attempt += 1
            qb = self.client()
            assert self._tokens is not None
            if self._tokens.expires_soon():
                # Long runs outlive the hour an access token lasts: refresh ahead instead of eating a 401.
                self._refresh(self._tokens.access_token)
                qb = self.client()
            access = self._tokens.access_token
            status, answer = 0, ""
            # Only the first try may refuse to wait; a retry waits for its turn like any call.
            with self.limiter.slot(is_batch=is_batch, wait=wait or attempt > 1, spare=spare):
                self.calls += 1
                try:
                    response = qb.session.request(
                        method, url, params=query, data=data, timeout=self.timeout_s,
                        headers={"Content-Type": content_type, "Accept": "application/json",
                                 "User-Agent": "qbsync"})
                    status, answer = response.status_code, response.text
                    result = parse_response(status, answer, name=name)
                except requests.Timeout:
                    result = classify_local(ErrorKind.TIMEOUT, f"QuickBooks did not answer within {self.timeout_s:g} s")
                except requests.ConnectionError as exc:
                    result = classify_local(ErrorKind.SERVER, "The connection to QuickBooks broke",
                                            detail=type(exc).__name__)
            if self.on_call is not None:
                self.on_call(path, status)
            if not isinstance(result, QboError):
                return result
            # Refresh once per access token that got a 401 (another thread's token may expire in turn).
            if result.kind is ErrorKind.AUTH and status == 401 and access not in refreshed_from \
                    and len(refreshed_from) < 3:
                refreshed_from.add(access)
                self._refresh(access)  # may raise ReconnectRequired: the caller pauses
                attempt -= 1
                continue
            if result.retryable and result.kind is not ErrorKind.AUTH and attempt < self.retry.attempts:
                delay = self.retry.delay(attempt, result.kind)
                if result.kind is ErrorKind.THROTTLED:
                    self.limiter.pause(delay)
                time.sleep(delay)
                continue
            raise QboCallError(result, request=logged_request, response=f"HTTP {status}\n{answer[:LOG_LIMIT]}")

    # -- operations --------------------------------------------------------------------------------------
    def query(self, select: str) -> list[dict[str, Any]]:
        """Rows of one SELECT (≤ 1,000)."""
        data = self.call("POST", "query", text=select)
        response = data.get("QueryResponse")
        if not isinstance(response, dict):
            raise QboCallError(classify_local(ErrorKind.MALFORMED, "QuickBooks' query answer has no QueryResponse",
                                              detail=json.dumps(data)[:500], retryable=True))
        entity = select.split(" FROM ", 1)[1].split()[0] if " FROM " in select else ""
        rows = response.get(entity, [])
        return rows if isinstance(rows, list) else []

    def query_in(self, entity: str, field: str, values: Sequence[str], *, extra: str = "") -> list[dict[str, Any]]:
        """All rows whose `field` is one of `values`, in IN queries of up to 1,000 values (each read page by page)."""
        rows: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(v for v in values if v))
        for chunk in chunk_values(unique):
            where = f"{field} IN ({', '.join(quote(v) for v in chunk)})"
            # A bill number is unique per vendor only: 1,000 numbers can match more rows than one answer holds,
            # and a row left unread is a twin created on the next retry.
            start = 1
            while True:
                page = self.query(f"SELECT * FROM {entity} WHERE {where}{extra} STARTPOSITION {start} MAXRESULTS 1000")
                rows.extend(page)
                if len(page) < 1000:
                    break
                start += 1000
        return rows

    def query_all(self, entity: str, *, where: str = "") -> list[dict[str, Any]]:
        """Every row of a (small) name list, page by page."""
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self.query(f"SELECT * FROM {entity}{' WHERE ' + where if where else ''} "
                              f"STARTPOSITION {start} MAXRESULTS 1000")
            rows.extend(page)
            if len(page) < 1000:
                return rows
            start += 1000

    def read(self, entity: str, qbo_id: str) -> dict[str, Any]:
        """One entity by Id."""
        data = self.call("GET", f"{entity_path(entity)}/{qbo_id}")
        body = entity_of(data, entity)
        if isinstance(body, QboError):
            raise QboCallError(body)
        return body

    def write(self, entity: str, payload: dict[str, Any], *, request_id: str, name: str | None = None,
              spare: bool = False) -> dict[str, Any]:
        """Create (no Id) or update (Id + SyncToken) one entity under a requestid (spare: beside batches)."""
        data = self.call("POST", entity_path(entity), body=payload, request_id=request_id, name=name, spare=spare)
        body = entity_of(data, entity)
        if isinstance(body, QboError):
            raise QboCallError(body, request=json.dumps(payload)[:LOG_LIMIT], response=json.dumps(data)[:LOG_LIMIT])
        return body

    def delete(self, entity: str, qbo_id: str, sync_token: str, *, request_id: str, name: str | None = None
               ) -> dict[str, Any]:
        """Delete one transaction (POST ?operation=delete with Id + SyncToken) under a requestid; its tombstone."""
        payload = {"Id": qbo_id, "SyncToken": sync_token}
        data = self.call("POST", entity_path(entity), body=payload, request_id=request_id, name=name,
                         params={"operation": "delete"})
        body = entity_of(data, entity)
        if isinstance(body, QboError):
            raise QboCallError(body, request=json.dumps(payload), response=json.dumps(data)[:LOG_LIMIT])
        return body

    def batch(self, items: list[dict[str, Any]], *, request_id: str | None, wait: bool = True
              ) -> dict[str, dict[str, Any]]:
        """Up to 30 operations in one call; answers keyed by bId (an item's Fault stays in its answer).

        wait=False: QuotaSpent (nothing sent) when this minute has no room for another batch call.
        """
        if len(items) > BATCH_MAX:
            raise ValueError(f"a batch holds at most {BATCH_MAX} operations")
        data = self.call("POST", "batch", body={"BatchItemRequest": items}, request_id=request_id, is_batch=True,
                         wait=wait)
        answers = data.get("BatchItemResponse")
        if not isinstance(answers, list):
            raise QboCallError(classify_local(ErrorKind.MALFORMED, "QuickBooks' batch answer has no BatchItemResponse",
                                              detail=json.dumps(data)[:500], retryable=True))
        return {str(a.get("bId")): a for a in answers if isinstance(a, dict)}
