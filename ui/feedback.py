"""Messages that survive the rerun after an action: set one, show it once at the top of the page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

_SHOW = {"success": st.success, "warning": st.warning, "error": st.error}


def flash_messages(key: str) -> tuple[Callable[[str, str], None], Callable[[], None]]:
    """A (flash, show_flash) pair for one page: flash(level, text) keeps it; show_flash() shows and forgets it."""

    def flash(level: str, text: str) -> None:
        st.session_state[key] = (level, text)

    def show_flash() -> None:
        message = st.session_state.pop(key, None)
        if message:
            level, text = message
            _SHOW.get(level, st.info)(text)

    return flash, show_flash
