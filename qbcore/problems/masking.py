"""Secret masking: what must never reach a screen from a stored request or response."""

from __future__ import annotations

import re

# Things in stored requests/responses that must never reach a screen, even if the engine missed them.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1[hidden]"),
    (re.compile(r"(?i)(\"?(?:access_token|refresh_token|id_token|client_secret|authorization|password)\"?\s*[:=]\s*)"
                r"(\"[^\"]*\"|[^\s,&}]+)"), r'\1"[hidden]"'),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"), "[hidden token]"),
)


def mask_secrets(text: str | None) -> str | None:
    """The text with anything that looks like a token or password replaced."""
    if text is None:
        return None
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
