"""What pages say after an action: refusals turned into messages, and messages that survive the rerun."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from qbcore.refusals import Refusal
from ui.markup import Markdown, show_alert


def refusal_message(refusal: Refusal, *, done: str | None = None) -> tuple[str, str]:
    """(level, text) for a refusal: a warning when there was nothing to do, else an error led by `done`.

    The text is plain (shown through show_alert or a flash, never as markdown).
    """
    if refusal.nothing_to_do:
        return "warning", f"Nothing was changed: {refusal}"
    return "error", f"{done}: {refusal}" if done else str(refusal)


def flash_messages(key: str) -> tuple[Callable[[str, Markdown | str], None], Callable[[], None]]:
    """A (flash, show_flash) pair for one page: flash(level, text) keeps it; show_flash() shows and forgets it.

    The text is shown as plain text unless it is Markdown from ui.markup (so a name in it stays a name).
    """

    def flash(level: str, text: Markdown | str) -> None:
        st.session_state[key] = (level, text)

    def show_flash() -> None:
        message = st.session_state.pop(key, None)
        if message:
            level, text = message
            show_alert(level, text)

    return flash, show_flash
