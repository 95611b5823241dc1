"""QBO fault envelopes, the codes and texts real QBO returns, and seeded fault injection."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

# QBO stamps responses in the company's (Pacific) local time, so we do the same.
PACIFIC = ZoneInfo("America/Los_Angeles")

INACTIVE_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
DELETED_DETAIL = "Object Not Found : Another user has deleted this transaction."


def now_pacific() -> datetime:
    """The current time in the company's time zone."""
    return datetime.now(PACIFIC)


def qbo_time() -> str:
    """The envelope `time` value: local time with milliseconds and offset."""
    now = now_pacific()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}" + _offset(now)


def meta_time(moment: datetime | None = None) -> str:
    """A MetaData timestamp such as 2020-09-29T05:58:16-07:00."""
    moment = moment or now_pacific()
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + _offset(moment)


def _offset(moment: datetime) -> str:
    raw = moment.strftime("%z")
    return raw[:3] + ":" + raw[3:]


class QboFault(Exception):
    """A business or validation fault; rendered as the Intuit Fault envelope."""

    def __init__(
        self,
        code: str | int,
        message: str,
        detail: str,
        element: str | None = None,
        status: int = 400,
        fault_type: str = "ValidationFault",
        timed: bool = True,
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = str(code)
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type
        self.timed = timed  # the recorded 2030 envelope carries no "time"

    def fault_dict(self) -> dict[str, Any]:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Error": [error], "type": self.fault_type}

    def envelope(self) -> dict[str, Any]:
        if not self.timed:
            return {"Fault": self.fault_dict()}
        return {"Fault": self.fault_dict(), "time": qbo_time()}


def not_found(detail: str = INACTIVE_DETAIL) -> QboFault:
    return QboFault("610", "Object Not Found", detail, element="")


# The company's QuickBooks user, named in 5010 details as the recorded batch names its sandbox owner.
COMPANY_USER = "Sandbox User"


def stale() -> QboFault:
    """5010, word for word as the recorded batch/basic exchange (no "Entity=" suffix)."""
    return QboFault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {COMPANY_USER} were working on this at the same time. {COMPANY_USER} "
        "finished before you did, so your work was not saved.",
        element="",
    )


def duplicate_name() -> QboFault:
    """6240, word for word as the recorded error/validation exchange: the detail ends ": null", no element."""
    return QboFault("6240", "Duplicate Name Exists Error", "The name supplied already exists. : null")


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    return QboFault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has already "
        f"been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
        element="",
    )


def string_length(field: str, max_len: int, supplied: int) -> QboFault:
    return QboFault(
        "2050",
        "Invalid String Length",
        f"String length is either shorter or longer than supported by specification. Min:0 Max:{max_len} "
        f"supported. Supplied length:{supplied}",
        element=field,
    )


def required(param: str) -> QboFault:
    return QboFault(
        "2020",
        "Required Param Missing",
        f"Required parameter {param} is missing in the request",
        element=param,
    )


def business(detail: str) -> QboFault:
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element="",
    )


def invalid_enumeration(field: str, value: object) -> QboFault:
    """2170: a value outside a field's enumeration (B-ERR2017 lists "Invalid Enumeration: HAS_BEEN_BILLED")."""
    return QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element=field)


def unsupported_operation_system_fault() -> QboFault:
    """What QBO answers `bill?operation=void` with: HTTP 200 carrying a SystemFault (3P-CAP probe)."""
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: java.lang.UnsupportedOperationException",
        element="SystemFailureError",
        status=200,
        fault_type="SystemFault",
    )


def invalid_reference(field: str, kind: str, value: str) -> QboFault:
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {kind} element id {value} not found",
        element=field,
    )


def invalid_property(detail: str, element: str = "") -> QboFault:
    """2010, worded as QuickBooks words a property (or body) it cannot read."""
    return QboFault("2010", "Request has invalid or unsupported property", detail, element=element)


def unsupported(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail)


def invalid_id(value: str) -> QboFault:
    return QboFault(
        "2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", element="Id", timed=False
    )


def period_closed(close_date: str) -> QboFault:
    return QboFault(
        "6200",
        "Account Period Closed",
        f"Account Period Closed : The account period has closed (books closed through {close_date}). "
        "Transactions dated on or before the closing date cannot be added, changed or deleted.",
        element="",
    )


def amount_mismatch(amount: object) -> QboFault:
    return QboFault(
        "6070",
        "Amount calculation incorrect in the request",
        f"Amount is not equal to the Qty * UnitPrice. Supplied value: {amount}",
        element="",
    )


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def auth_failed(detail: str, shape: str = "gateway") -> tuple[bytes, str]:
    """A 401 body: the recorded gateway shape, the standard Fault envelope, or the old XML form."""
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    if shape == "xml":
        text = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{qbo_time()}">'
            f'<Fault type="AUTHENTICATION"><Error code="3200"><Message>{message}</Message>'
            f"<Detail>{detail}</Detail></Error></Fault></IntuitResponse>"
        )
        return text.encode(), "text/xml"
    if shape == "json":
        envelope = {
            "Fault": {
                "Error": [{"Message": message, "Detail": detail, "code": "3200"}],
                "type": "AUTHENTICATION",
            },
            "time": qbo_time(),
        }
        return json.dumps(envelope).encode(), "application/json"
    return auth_failed_body(detail), "application/json"


def auth_failed_body(detail: str) -> bytes:
    """The gateway's 401 body, in the shape of the recorded error/401 exchange."""
    body: dict[str, Any] = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(time.time() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return json.dumps(body).encode()


def authz_failed_body(detail: str) -> bytes:
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    "Detail": detail,
                    "code": "3100",
                }
            ],
            "type": "AUTHORIZATION",
        },
        "time": qbo_time(),
    }
    return json.dumps(body).encode()


def throttle_body(xml: bool) -> tuple[bytes, str]:
    """The 429 ThrottleExceeded body: XML as every captured real 429 is, or the JSON form some clients model.

    Captured 429s are XML even when JSON was asked for (python-quickbooks#43 and #83, QuickBooks-V3-PHP-SDK
    #54, quickbooks-ruby#338 and #348, 2016-2017); no capture of a JSON 429 was found (qbo-api.md §2.4).
    """
    if xml:
        text = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{qbo_time()}">'
            '<Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; '
            "statusCode=429</Message><Detail>The request limit was reached.  Try again later</Detail>"
            "</Error></Fault></IntuitResponse>"
        )
        return text.encode(), "application/xml"
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "Detail": "The request limit was reached.",
                    "code": "3001",
                }
            ],
            "type": "SERVICE",
        },
        "time": qbo_time(),
    }
    return json.dumps(body).encode(), "application/json"


def system_fault_body() -> bytes:
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "An application error has occurred while processing your request",
                    "Detail": "System Failure Error: An unexpected error occurred while accessing "
                    "or saving your data. Please wait a few minutes and try again.",
                    "code": "10000",
                }
            ],
            "type": "SystemFault",
        },
        "time": qbo_time(),
    }
    return json.dumps(body).encode()


GATEWAY_503_HTML = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>"
)

# Kinds of injected faults. The first three happen before any state change; the last two after commit.
FAULT_KINDS = ("http500", "http503", "expired_token", "slow", "reset")


class FaultInjector:
    """Decides, reproducibly from a seed, which write requests get an injected fault."""

    def __init__(self, rate: float = 0.0, seed: int = 0):
        self._lock = threading.Lock()
        self.rate = rate
        self.seed = seed
        self._rng = random.Random(seed)
        # Tests queue exact faults here so they need not depend on the random stream.
        self._forced: deque[str] = deque()

    def configure(self, rate: float | None = None, seed: int | None = None) -> None:
        with self._lock:
            if rate is not None:
                self.rate = float(rate)
            if seed is not None:
                self.seed = int(seed)
                self._rng = random.Random(self.seed)

    def force(self, kinds: list[str]) -> None:
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected {FAULT_KINDS}")
        with self._lock:
            self._forced.extend(kinds)

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._forced)

    def draw(self) -> str | None:
        """Called once per eligible write, in arrival order, so a seed replays the same sequence."""
        with self._lock:
            if self._forced:
                return self._forced.popleft()
            if self.rate <= 0:
                return None
            roll = self._rng.random()
            kind = self._rng.choice(FAULT_KINDS)
            return kind if roll < self.rate else None
