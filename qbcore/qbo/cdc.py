"""Change Data Capture and the closing date: the low-level reads a pull needs, built on the gateway's call()."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from qbcore.errors import ErrorKind, QboCallError
from qbcore.qbo.faults import classify_local
from qbcore.qbo.gateway import QboGateway, quote

CDC_MAX = 1000  # QuickBooks returns at most 1,000 objects per CDC answer


@dataclass(frozen=True)
class ChangePage:
    """One CDC answer for one entity: changed objects (tombstones have status 'Deleted'), and whether it was full."""

    entity: str
    objects: list[dict[str, Any]]
    server_time: datetime | None = None

    @property
    def is_full(self) -> bool:
        """True when QuickBooks may have left changes out (the answer hit its 1,000-object cap)."""
        return len(self.objects) >= CDC_MAX


def parse_moment(text: str) -> datetime:
    """A QuickBooks MetaData timestamp (offset or Z) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_moment(moment: datetime) -> str:
    """The changedSince form QuickBooks takes: 2026-11-29T08:00:00-08:00."""
    return moment.isoformat(timespec="seconds")


def last_updated(row: dict[str, Any]) -> str | None:
    """An object's MetaData.LastUpdatedTime."""
    meta = row.get("MetaData") or {}
    value = meta.get("LastUpdatedTime")
    return str(value) if value else None


def fetch_changes(gateway: QboGateway, entity: str, changed_since: datetime) -> ChangePage:
    """One CDC call for one entity (asking per entity keeps one entity's flood from hiding another's changes)."""
    data = gateway.call("GET", "cdc", params={"entities": entity, "changedSince": format_moment(changed_since)})
    answers = data.get("CDCResponse")
    if not isinstance(answers, list):
        raise QboCallError(classify_local(ErrorKind.MALFORMED, "QuickBooks' CDC answer has no CDCResponse",
                                          detail=json.dumps(data)[:500], retryable=True))
    objects: list[dict[str, Any]] = []
    for answer in answers:
        for group in (answer or {}).get("QueryResponse") or []:
            rows = (group or {}).get(entity)
            if isinstance(rows, list):
                objects.extend(r for r in rows if isinstance(r, dict))
    try:
        server_time = parse_moment(str(data["time"])) if data.get("time") else None
    except ValueError:
        server_time = None
    return ChangePage(entity=entity, objects=objects, server_time=server_time)


def fetch_changed_at(gateway: QboGateway, entity: str, moment: str) -> list[dict[str, Any]]:
    """Every live object last updated at exactly this second, by paged queries (when one second holds > 1,000)."""
    rows: list[dict[str, Any]] = []
    start = 1
    while True:
        page = gateway.query(f"SELECT * FROM {entity} WHERE MetaData.LastUpdatedTime = {quote(moment)} "
                             f"STARTPOSITION {start} MAXRESULTS 1000")
        rows.extend(page)
        if len(page) < 1000:
            return rows
        start += 1000


def next_second(moment: str) -> datetime:
    """The second after a timestamp."""
    return parse_moment(moment) + timedelta(seconds=1)


def read_book_close_date(gateway: QboGateway) -> date | None:
    """Preferences.AccountingInfoPrefs.BookCloseDate (None when the books are not closed)."""
    data = gateway.call("GET", "preferences")
    prefs = data.get("Preferences") or {}
    value = (prefs.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
