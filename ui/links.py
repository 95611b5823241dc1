"""Links between pages: the query parameters one page sends another, read without trusting them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from qbcore.errors import ErrorKind
from qbcore.models import EntityType

SEARCH_LENGTH = 100  # what the search box holds
CAUSE_LENGTH = 200  # a blocked_by is a kind and a name ("item:GENSET")


@dataclass(frozen=True)
class ProblemLink:
    """What a link to Problem Sync asks for: a tab, a search text, a date range, an error kind, a blocker."""

    entity: EntityType
    search: str
    dates: tuple[date, ...]
    kind: str = ""  # an error kind ("mapping"): the Error kind filter
    cause: str = ""  # an exact blocked_by ("item:GENSET"): only the records that one blocker holds back


def read_problem_link(params: Mapping[str, str]) -> ProblemLink | None:
    """The tab, search, dates, error kind and blocker a link names; None when any is not something the page knows."""
    try:
        entity = EntityType(params.get("tab", EntityType.INVOICE.value))
        dates = tuple(date.fromisoformat(params[k]) for k in ("from", "to") if params.get(k))
        kind = ErrorKind(params["kind"]).value if params.get("kind") else ""
    except ValueError:  # a hand-edited or stale address: open the page as it is
        return None
    return ProblemLink(entity, (params.get("search") or "")[:SEARCH_LENGTH], dates, kind,
                       (params.get("cause") or "").strip()[:CAUSE_LENGTH])
