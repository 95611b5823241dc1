"""Errors as data: one frozen QboError for everything that can go wrong talking to QuickBooks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a record did not reach QuickBooks, in terms a person can act on."""

    AUTH = "auth"
    VALIDATION = "validation"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    STALE = "stale"
    THROTTLED = "throttled"
    SERVER = "server"
    TIMEOUT = "timeout"
    DEPENDENCY = "dependency"
    CLOSED_PERIOD = "closed_period"
    MAPPING = "mapping"
    MALFORMED = "malformed"
    PAID_IN_QBO = "paid_in_qbo"  # a bill voided in billing that QuickBooks keeps: a bill payment there pays it


@dataclass(frozen=True)
class QboError:
    """One classified failure: what kind, QuickBooks' code, a plain message, and how to fix it."""

    kind: ErrorKind
    code: str
    message: str
    detail: str = ""
    retryable: bool = False
    fix_hint: str = ""

    def describe(self) -> str:
        """One line for logs and CSV exports."""
        code = f" {self.code}" if self.code else ""
        return f"{self.kind.value}{code}: {self.message}"


class MappingError(ValueError):
    """A billing record cannot be turned into a QuickBooks payload; the message says why, plainly."""

    def __init__(self, message: str, *, blocked_by: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.blocked_by = blocked_by


class QboCallError(Exception):
    """Raised inside qbcore.qbo and the engine to carry a QboError across a call stack."""

    def __init__(self, error: QboError, *, request: str | None = None, response: str | None = None) -> None:
        super().__init__(error.describe())
        self.error = error
        self.request = request
        self.response = response
