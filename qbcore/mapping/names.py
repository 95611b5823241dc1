"""QuickBooks name rules: no colon, tab or newline; trimmed; within the field's length."""

from __future__ import annotations

import re

DISPLAY_NAME_MAX = 500
ITEM_NAME_MAX = 100
COMPANY_NAME_MAX = 100
DOC_NUMBER_MAX = 21

_FORBIDDEN = re.compile(r"[:\t\r\n]+")
_SPACES = re.compile(r" {2,}")


def clean_name(value: str, max_len: int) -> str:
    """A name QuickBooks accepts: ':' becomes '-', tabs/newlines a space, trimmed, cut to max_len."""
    # QuickBooks uses ':' to join parent and child names (FullyQualifiedName), so it is reserved.
    text = _FORBIDDEN.sub(lambda m: "-" if ":" in m.group() else " ", value)
    text = _SPACES.sub(" ", text).strip()
    return text[:max_len].rstrip()


def is_email(value: str | None) -> bool:
    """QuickBooks wants an '@' and a '.' and at most 100 characters."""
    return bool(value) and value is not None and "@" in value and "." in value and len(value) <= 100
