"""Reading QuickBooks answers defensively: JSON or XML faults, Fault with HTTP 200, junk → a QboError, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

from qbcore.errors import ErrorKind, QboError
from qbcore.qbo.faults import classify_fault, classify_local, classify_status

_XML_CODE = re.compile(r'<Error[^>]*code="(\d+)"', re.IGNORECASE)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.IGNORECASE | re.DOTALL)
_XML_DETAIL = re.compile(r"<Detail>(.*?)</Detail>", re.IGNORECASE | re.DOTALL)
# Throttle messages embed the real code: "message=ThrottleExceeded; errorCode=003001; statusCode=429".
_EMBEDDED_CODE = re.compile(r"errorCode=0*(\d+)")


def fault_error(fault: Any, *, name: str | None = None) -> QboError:
    """The first error of a Fault object (either key case) as a QboError."""
    if not isinstance(fault, dict):
        return classify_local(ErrorKind.MALFORMED, "QuickBooks sent a fault the console cannot read",
                              detail=str(fault)[:500])
    errors = fault.get("Error") or fault.get("error") or []
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "")
    message = str(first.get("Message") or first.get("message") or "")
    detail = str(first.get("Detail") or first.get("detail") or "")
    if not code:
        embedded = _EMBEDDED_CODE.search(message)
        code = embedded.group(1) if embedded else ""
    if not code:
        return classify_local(ErrorKind.MALFORMED, message or "QuickBooks sent a fault without a code",
                              detail=detail or json.dumps(fault)[:500])
    return classify_fault(code, message, detail, name=name)


def parse_response(status: int, text: str, *, name: str | None = None) -> dict[str, Any] | QboError:
    """The JSON body of a successful answer, or the classified error it carries."""
    try:
        data = json.loads(text) if text else None
    except (ValueError, RecursionError):  # a body nested deeper than the parser's stack is junk too
        data = None
    if data is None:
        match = _XML_CODE.search(text or "")
        if match:
            message = _XML_MESSAGE.search(text)
            detail = _XML_DETAIL.search(text)
            return classify_fault(match.group(1), message.group(1) if message else "",
                                  detail.group(1) if detail else "", name=name)
        if status == 200:
            return classify_local(ErrorKind.MALFORMED, "QuickBooks answered with something that is not JSON",
                                  detail=(text or "")[:500], retryable=True)
        return classify_status(status, text or "")
    if not isinstance(data, dict):
        return classify_local(ErrorKind.MALFORMED, "QuickBooks answered with unexpected JSON",
                              detail=text[:500], retryable=True)
    # Either key case may carry the fault; a null "Fault" beside a real "fault" must not hide it.
    fault = data.get("Fault") or data.get("fault")
    if fault:
        error = fault_error(fault, name=name)
        if status == 401:
            return QboError(ErrorKind.AUTH, error.code or "3200", error.message, error.detail, True, error.fix_hint)
        return error
    if status != 200:
        return classify_status(status, text)
    return data


def entity_of(data: dict[str, Any], entity: str) -> dict[str, Any] | QboError:
    """The entity object in an answer; MALFORMED when it or its Id is missing."""
    body = data.get(entity)
    if not isinstance(body, dict) or not body.get("Id"):
        return classify_local(ErrorKind.MALFORMED, f"QuickBooks' answer has no {entity} with an Id",
                              detail=json.dumps(data)[:500], retryable=True)
    return body
