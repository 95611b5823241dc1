"""The one way text reaches Streamlit's markdown: trusted templates whose data slots render as plain text.

Streamlit reads markdown in far more places than st.markdown: captions, alerts, headings, metric labels and
values, button, widget, expander, tab and dialog labels, tooltips and progress text. A customer name, a charge
code, a QuickBooks message or a user's reason placed in any of them could become a link, an image the browser
fetches, emphasis, colour, maths or an icon. So every text that is not a literal goes through `md` (a literal
template with `{}` slots) or `plain` (one value alone), and tests/ui/test_markup.py fails on any other path.
"""

from __future__ import annotations

import re
import string
from typing import Any, LiteralString

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# Characters that start inline markup anywhere in a line: escapes, code, emphasis, links and images, HTML and
# autolinks, strikethrough, maths, Streamlit's :colour[…] directives, :emoji: and :material/icon: codes,
# entities (&lt;) and table cells.
_INLINE = re.compile(r"([\\`*_\[\]<>~$:&|])")
# Markup that only counts at the start of a line: headings, quotes, list items, rules, setext underlines.
_LINE_START = ((re.compile(r"^([#>+\-=])"), r"\\\1"), (re.compile(r"^(\d+)([.)])"), r"\1\\\2"))
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")
_LEADING_SPACE = re.compile(r"^\s+")
# Streamlit turns URLs, www. names and e-mail addresses in plain text into live links even when every
# character is escaped (it links the text after parsing). An invisible WORD JOINER breaks each pattern.
_WORD_JOINER = "\u2060"
_AUTOLINKS = (
    (re.compile(r"\\:(?=/)"), "\\:" + _WORD_JOINER),  # http://, https://, ftp://
    (re.compile(r"(?i)\bwww(?=\.)"), "\\g<0>" + _WORD_JOINER),
    (re.compile(r"@"), _WORD_JOINER + "@"),
    (re.compile(r"(?i)(?<=material)(?=/)"), _WORD_JOINER),  # :material/icon: survives escaping too
)


class Markdown(str):
    """Markdown that is safe to render: literal template text with every piece of data escaped."""

    __slots__ = ()


def escape_markdown(value: object) -> str:
    """One value as markdown source that renders exactly as its text: no markup, links, maths or icons."""
    # Leading spaces could make an indented code block at a line's start; one space keeps " is" a word apart.
    text = _LEADING_SPACE.sub(" ", _LINE_BREAKS.sub(" ", str(value)))
    text = _INLINE.sub(r"\\\1", text)
    for pattern, replacement in (*_LINE_START, *_AUTOLINKS):
        text = pattern.sub(replacement, text)
    return text


class _SlotFormatter(string.Formatter):
    """str.format, except that each filled-in slot is escaped (Markdown pieces are already safe)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Markdown) and not format_spec:
            return value
        return escape_markdown(format(value, format_spec))


_FORMATTER = _SlotFormatter()


def md(template: LiteralString, /, *args: object, **slots: object) -> Markdown:
    """Trusted markdown `template` (a literal) with its `{}` slots filled by data rendered as plain text."""
    return Markdown(_FORMATTER.format(template, *args, **slots))


def plain(value: object) -> Markdown:
    """One value shown as itself wherever Streamlit reads markdown."""
    return value if isinstance(value, Markdown) else Markdown(escape_markdown(value))


def unescape_markdown(source: str) -> str:
    """What a reader sees of escaped text (for tests and logs): the escapes and word joiners removed."""
    return re.sub(r"\\(.)", r"\1", source).replace(_WORD_JOINER, "")


_ALERT_LEVELS = ("success", "info", "warning", "error")


def show_alert(level: str, body: Markdown | str, *, where: DeltaGenerator | None = None) -> None:
    """A coloured message box (success, info, warning or error); text that is not Markdown shows as plain text."""
    target = st if where is None else where
    getattr(target, level if level in _ALERT_LEVELS else "info")(plain(body))
