"""QuickBooks name rules: no colon, tab, line break or other control character; trimmed; within the field's length."""

from __future__ import annotations

import re
import unicodedata

DISPLAY_NAME_MAX = 500
ITEM_NAME_MAX = 100
COMPANY_NAME_MAX = 100
DOC_NUMBER_MAX = 21

_SPACES = re.compile(r" {2,}")


def _is_break(char: str) -> bool:
    # Control characters (tab, CR, LF, NUL, NEL…) and the Unicode line and paragraph separators.
    return unicodedata.category(char) in ("Cc", "Zl", "Zp")


def has_line_break(value: str) -> bool:
    """Whether the text holds a line break, tab or other control character (it would not stay one line)."""
    return any(_is_break(char) for char in value)


def single_line(value: str) -> str:
    """The text on one line: each run of line breaks, tabs and control characters one space, trimmed."""
    text = "".join(" " if _is_break(char) else char for char in value)
    return _SPACES.sub(" ", text).strip()


def clean_name(value: str, max_len: int) -> str:
    """A name QuickBooks accepts: ':' becomes '-', line breaks and control characters a space, trimmed, cut."""
    # QuickBooks uses ':' to join parent and child names (FullyQualifiedName), so it is reserved.
    text = single_line(re.sub(r":+", "-", value))
    return text[:max_len].rstrip()


def is_email(value: str | None) -> bool:
    """QuickBooks wants an '@' and a '.' and at most 100 characters."""
    return bool(value) and value is not None and "@" in value and "." in value and len(value) <= 100
