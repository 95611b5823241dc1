"""The QuickBooks company selector and names pages show when there are several companies (nothing with one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from qbcore.companies import company_choices
from ui.markup import Markdown

EVERY = 0  # the selector's "All companies" choice (no company has id 0)


@dataclass(frozen=True)
class CompanyView:
    """Which companies exist and which one the page shows: chosen is None for every company (or the only one)."""

    names: dict[int, str]
    chosen: int | None

    @property
    def several(self) -> bool:
        """True with two companies or more: the page then shows a selector and a Company column."""
        return len(self.names) > 1

    def name_of(self, company_id: int | None) -> str:
        """A company's name as the console knows it ("" for none)."""
        return self.names.get(company_id or 0, "")


def choose_company(factory: sessionmaker[Session], key: str, label: Markdown, *, every: bool = True,
                   on_change: Callable[[], None] | None = None) -> CompanyView:
    """The company selector (only with several companies); 'All companies' is offered when `every`."""
    with factory() as session:
        choices = company_choices(session)
    names = {c.id: c.name for c in choices}
    if len(choices) < 2:
        return CompanyView(names, None)
    options = ([EVERY] if every else []) + [c.id for c in choices]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)  # a company renamed away or a stale choice: start from the first
    # A third of the page: a company name is short, and a full-width box read as the page's main control.
    picked = st.columns([1, 2])[0].selectbox(label, options, key=key,
                          format_func=lambda i: "All companies" if i == EVERY else names[i], on_change=on_change)
    return CompanyView(names, None if picked == EVERY else picked)
