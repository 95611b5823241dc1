"""Messages that survive the rerun after an action: set one, show it once at the top of the page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.markup import Markdown, show_alert


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
