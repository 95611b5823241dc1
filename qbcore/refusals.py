"""Refusals: the one base of every error that declines a request — what was refused, why, and that nothing changed."""

from __future__ import annotations

from typing import ClassVar


class Refusal(Exception):
    """A request the console declined; nothing was changed. `action` names what was refused, the message why."""

    # Every refusal is raised before anything is written (or its transaction rolls back): nothing changed.
    nothing_changed: ClassVar[bool] = True
    # True when there was simply nothing to act on (shown as a warning, not an error).
    nothing_to_do: ClassVar[bool] = False
    # True when the person can correct what they typed where they are (a missing reason, a malformed id).
    correctable: ClassVar[bool] = False

    def __init__(self, why: str, *, action: str = "") -> None:
        super().__init__(why)
        self.why = why
        self.action = action


class QuickBooksUnavailable(Refusal):
    """QuickBooks could not be asked (not connected, needs a reconnect, unreachable) or refused the question."""


class ReasonRequired(Refusal, ValueError):
    """A destructive action was asked for without a reason."""

    correctable = True


def require_reason(reason: str | None, action: str, *, refusal: type[Refusal] = ReasonRequired) -> str:
    """The reason given for a destructive action, stripped; `refusal` (ReasonRequired by default) when blank."""
    text = (reason or "").strip()
    if not text:
        raise refusal(f"Give a reason to {action}; it is kept in the audit log. Nothing was changed.", action=action)
    return text
