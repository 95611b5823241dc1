"""Alert rules, quiet hours, the digest hour and the console's address: typed, admin-only, audited."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from qbcore.access import Actor, require_role, write_audit
from qbcore.models import Role, Setting
from qbcore.refusals import Refusal
from qbcore.settings import store_setting

_KEY = "alert_rules"


class AlertRulesError(Refusal, ValueError):
    """An alert rule change is invalid; the message names the setting and the fix."""

    correctable = True


@dataclass(frozen=True)
class AlertRules:
    """What is worth a message, and when; every rule is on by default and can be muted."""

    # New problems per record type and error kind, from this many records or this many dollars.
    new_problems: bool = True
    new_problems_count: int = 10
    new_problems_amount: str = "10000.00"
    # A root cause (an unmapped charge code, a customer that fails) blocking at least this many records.
    root_cause: bool = True
    root_cause_count: int = 1
    # QuickBooks needs a reconnect now, or its sign-in expires within this many days.
    reconnect: bool = True
    reconnect_days: int = 7
    # The newest sync or pull job failed or paused.
    job_failed: bool = True
    # Problems open longer than this many days.
    old_problems: bool = True
    old_problems_days: int = 7
    # On this day of a month, the month before is not ready to close.
    month_end: bool = True
    month_end_day: int = 3
    # Quiet hours (HH:MM to HH:MM in `timezone`, empty = none): immediate messages wait until they end.
    quiet_start: str = ""
    quiet_end: str = ""
    timezone: str = "UTC"
    # Digest channels get one message a day at this hour (in `timezone`).
    digest_hour: int = 8
    # Where people open the console; links in messages start here.
    base_url: str = "http://127.0.0.1:8501"

    @property
    def min_amount(self) -> Decimal:
        """The new-problems dollar threshold."""
        return Decimal(self.new_problems_amount)

    @property
    def zone(self) -> ZoneInfo:
        """The rules' time zone."""
        return ZoneInfo(self.timezone)

    def is_quiet(self, moment: datetime) -> bool:
        """True when `moment` falls inside the quiet hours."""
        if not (self.quiet_start and self.quiet_end):
            return False
        start, end = time.fromisoformat(self.quiet_start), time.fromisoformat(self.quiet_end)
        now = moment.astimezone(self.zone).time()
        return start <= now < end if start < end else (now >= start or now < end)


def rules_to_dict(rules: AlertRules) -> dict[str, Any]:
    """Plain JSON-able form."""
    return dataclasses.asdict(rules)


def _whole(data: dict[str, Any], name: str, low: int, high: int, what: str) -> None:
    value = data.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AlertRulesError(f"{what} must be a whole number from {low} to {high}; got {value!r}. Nothing was saved.")


def rules_from_dict(data: dict[str, Any]) -> AlertRules:
    """Validate and build the rules; an unknown or malformed value is refused by name."""
    known = {f.name for f in dataclasses.fields(AlertRules)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise AlertRulesError(f"unknown alert setting(s): {', '.join(unknown)}. Nothing was saved.")
    for name in ("new_problems", "root_cause", "reconnect", "job_failed", "old_problems", "month_end"):
        if name in data and not isinstance(data[name], bool):
            raise AlertRulesError(f"{name.replace('_', ' ')} must be on or off. Nothing was saved.")
    _whole(data, "new_problems_count", 1, 1_000_000, "New problems: the record count")
    _whole(data, "root_cause_count", 1, 1_000_000, "Root cause: the record count")
    _whole(data, "reconnect_days", 0, 100, "Reconnect: the days before the sign-in expires")
    _whole(data, "old_problems_days", 1, 365, "Old problems: the days open")
    _whole(data, "month_end_day", 1, 28, "Month end: the day of the month")
    _whole(data, "digest_hour", 0, 23, "The digest hour")
    amount = str(data.get("new_problems_amount", "10000.00")).strip().replace(",", "").lstrip("$")
    try:
        if Decimal(amount) < 0:
            raise InvalidOperation
        data = {**data, "new_problems_amount": f"{Decimal(amount):.2f}"}
    except InvalidOperation:
        raise AlertRulesError("New problems: the dollar amount must be a number such as 10000 or $1,234.56. "
                              "Nothing was saved.") from None
    for name in ("quiet_start", "quiet_end"):
        text = str(data.get(name) or "").strip()
        if text:
            try:
                time.fromisoformat(text)
            except ValueError:
                raise AlertRulesError(f"Quiet hours: {text!r} is not a time; write it as HH:MM, e.g. 22:00. "
                                      "Nothing was saved.") from None
        data = {**data, name: text[:5]}
    if bool(data.get("quiet_start")) != bool(data.get("quiet_end")):
        raise AlertRulesError("Quiet hours need both a start and an end (or neither). Nothing was saved.")
    try:
        ZoneInfo(str(data.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise AlertRulesError(f"The time zone {data.get('timezone')!r} is not known; use a name such as "
                              "America/New_York or UTC. Nothing was saved.") from None
    base_url = str(data.get("base_url", AlertRules.base_url)).strip().rstrip("/")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise AlertRulesError("The console's address must be an http(s) URL such as https://qbsync.example.com. "
                              "Nothing was saved.")
    return AlertRules(**{**data, "base_url": base_url})


def load_alert_rules(session: Session) -> AlertRules:
    """The saved rules (defaults where nothing was saved)."""
    row = session.get(Setting, _KEY)
    return AlertRules() if row is None or not row.value else rules_from_dict(dict(row.value))


def save_alert_rules(session: Session, actor: Actor, changes: dict[str, Any]) -> AlertRules:
    """Apply changes (admin only), validated as a whole and audited with before and after."""
    require_role(actor, Role.ADMIN, "change_alert_rules", session=session, target_type="settings",
                 target_id=_KEY)
    before = rules_to_dict(load_alert_rules(session))
    new = rules_from_dict({**before, **changes})
    after = rules_to_dict(new)
    changed = sorted(k for k in after if after[k] != before.get(k))
    if not changed:
        return new
    store_setting(session, _KEY, after, updated_by=actor.email)
    write_audit(session, actor, "change_alert_rules", target_type="settings", target_id=_KEY,
                before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed})
    return new
