"""Links between pages: the query parameters one page sends another, read without trusting them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from qbcore.models import EntityType


@dataclass(frozen=True)
class ProblemLink:
    """What a link to Problem Sync asks for: a tab, a search text and a date range (all optional)."""

    entity: EntityType
    search: str
    dates: tuple[date, ...]


def read_problem_link(params: Mapping[str, str]) -> ProblemLink | None:
    """The tab, search and dates a link names; None when any of them is not something the page knows."""
    try:
        entity = EntityType(params.get("tab", EntityType.INVOICE.value))
        dates = tuple(date.fromisoformat(params[k]) for k in ("from", "to") if params.get(k))
    except ValueError:  # a hand-edited or stale address: open the page as it is
        return None
    return ProblemLink(entity, (params.get("search") or "")[:100], dates)
