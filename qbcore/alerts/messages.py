"""Alert messages, pure: events' facts → a subject, plain text, HTML, a Slack and a Teams payload, each escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from qbcore.labels import money

PREFIX = "[QuickBooks sync]"
# A message stays readable (and inside Slack's and Teams' size limits): the rest are counted and linked.
MAX_BLOCKS = 10
_HEADINGS = {"opened": "New", "changed": "Worse", "resolved": "Resolved", "open": "Still open"}
# Teams' markdown (and CommonMark) treats these as formatting; a backslash makes them plain text.
_TEAMS_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


@dataclass(frozen=True)
class EventView:
    """One event as a message reports it: opened, changed, resolved (or still open, in a digest)."""

    kind: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One message in every channel's form."""

    subject: str
    text: str
    html: str
    slack: dict[str, Any]
    teams: dict[str, Any]


def link_for(base_url: str, facts: dict[str, Any]) -> str:
    """The console address the facts point at: a page and the query parameters it reads."""
    page = str(facts.get("page") or "")
    params = {k: str(v) for k, v in (facts.get("params") or {}).items() if v not in (None, "")}
    url = f"{base_url.rstrip('/')}/{page}" if page else f"{base_url.rstrip('/')}/"
    return f"{url}?{urlencode(params)}" if params else url


def _figures(facts: dict[str, Any]) -> str:
    records, amount = facts.get("records"), facts.get("amount")
    parts = []
    if records is not None:
        parts.append(f"{records:,} {'record' if records == 1 else 'records'}")
    if amount is not None:
        parts.append(money(Decimal(str(amount))))
    return ", ".join(parts)


def _clean(text: object) -> str:
    # A subject or a line never carries a line break of its own (no header injection, no forged lines).
    return re.sub(r"[\r\n\t]+", " ", str(text)).strip()


def subject_for(purpose: str, events: Sequence[EventView]) -> str:
    """"[QuickBooks sync] New: 23 invoices: charge code CHASSIS not mapped…", or a count of alerts."""
    if purpose == "test":
        return f"{PREFIX} Test message from the QuickBooks Sync Console"
    if purpose == "digest":
        return f"{PREFIX} Daily digest: {len(events):,} {'alert' if len(events) == 1 else 'alerts'}"
    if len(events) == 1:
        event = events[0]
        return _clean(f"{PREFIX} {_HEADINGS.get(event.kind, 'Alert')}: {event.facts.get('title', '')}")[:300]
    return _clean(f"{PREFIX} {len(events):,} alerts: {events[0].facts.get('title', '')} and more")[:300]


@dataclass(frozen=True)
class _Block:
    heading: str
    title: str
    figures: str
    causes: list[str]
    fix: str
    link: str
    link_label: str


def _blocks(events: Sequence[EventView], base_url: str) -> list[_Block]:
    blocks = []
    for event in events[:MAX_BLOCKS]:
        facts = event.facts
        page = str(facts.get("page") or "")
        label = {"Problem_Sync": "Open the problems", "Settings": "Open Settings"}.get(page, "Open the console")
        blocks.append(_Block(
            heading=_HEADINGS.get(event.kind, "Alert"), title=_clean(facts.get("title", "")),
            figures=_figures(facts) if event.kind != "resolved" else "",
            causes=[_clean(c) for c in facts.get("causes") or []][:3] if event.kind != "resolved" else [],
            fix=_clean(facts.get("fix") or "") if event.kind != "resolved" else "",
            link=link_for(base_url, facts), link_label=label,
        ))
    if len(events) > MAX_BLOCKS:
        more = len(events) - MAX_BLOCKS
        title = f"{more:,} more {'alert' if more == 1 else 'alerts'}: the Alerts page lists what is wrong now"
        blocks.append(_Block(heading="More", title=title, figures="", causes=[], fix="",
                             link=link_for(base_url, {"page": "Alerts"}), link_label="Open Alerts"))
    return blocks


_TEST_LINE = "This is a test. Alerts about the QuickBooks sync will arrive here."


def render_message(purpose: str, events: Sequence[EventView], base_url: str) -> Message:
    """The message for a delivery: what happened, how many records and dollars, top causes, a link."""
    subject = subject_for(purpose, events)
    blocks = _blocks(events, base_url)
    return Message(subject=subject, text=_text(purpose, blocks, base_url), html=_html(purpose, blocks, base_url),
                   slack=_slack(purpose, subject, blocks, base_url), teams=_teams(purpose, subject, blocks, base_url))


def _text(purpose: str, blocks: list[_Block], base_url: str) -> str:
    if purpose == "test":
        return f"{_TEST_LINE}\n\nConsole: {base_url}\n"
    lines = []
    for block in blocks:
        lines.append(f"{block.heading}: {block.title}")
        if block.figures:
            lines.append(f"  {block.figures}")
        lines += [f"  Cause: {cause}" for cause in block.causes]
        if block.fix:
            lines.append(f"  Fix: {block.fix}")
        lines.append(f"  {block.link_label}: {block.link}")
        lines.append("")
    return "\n".join(lines)


def _html(purpose: str, blocks: list[_Block], base_url: str) -> str:
    e = html.escape
    if purpose == "test":
        return f'<p>{e(_TEST_LINE)}</p><p><a href="{e(base_url)}">{e(base_url)}</a></p>'
    parts = []
    for block in blocks:
        parts.append(f"<h3>{e(block.heading)}: {e(block.title)}</h3>")
        if block.figures:
            parts.append(f"<p>{e(block.figures)}</p>")
        if block.causes:
            parts.append("<ul>" + "".join(f"<li>{e(c)}</li>" for c in block.causes) + "</ul>")
        if block.fix:
            parts.append(f"<p>Fix: {e(block.fix)}</p>")
        parts.append(f'<p><a href="{e(block.link)}">{e(block.link_label)}</a></p>')
    return "\n".join(parts)


def escape_slack(text: str) -> str:
    """Slack mrkdwn: &, < and > are the characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f"<{escape_slack(url).replace('|', '%7C')}|{escape_slack(label)}>"


def _slack(purpose: str, subject: str, blocks: list[_Block], base_url: str) -> dict[str, Any]:
    if purpose == "test":
        return {"text": f"{escape_slack(_TEST_LINE)} {_slack_link(base_url, 'Open the console')}"}
    # One alert is its own headline; several get the subject above them.
    lines = [f"*{escape_slack(subject)}*"] if len(blocks) > 1 or purpose == "digest" else []
    for block in blocks:
        lines.append(f"*{escape_slack(block.heading)}:* {escape_slack(block.title)}")
        if block.figures:
            lines.append(escape_slack(block.figures))
        lines += [f"• {escape_slack(cause)}" for cause in block.causes]
        if block.fix:
            lines.append(f"Fix: {escape_slack(block.fix)}")
        lines.append(_slack_link(block.link, block.link_label))
    return {"text": "\n".join(lines)}


def escape_teams(text: str) -> str:
    """Teams markdown: HTML-escaped, formatting characters backslashed."""
    return _TEAMS_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _teams(purpose: str, subject: str, blocks: list[_Block], base_url: str) -> dict[str, Any]:
    card: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                            "summary": subject[:150], "title": escape_teams(subject)}
    if purpose == "test":
        card["text"] = f"{escape_teams(_TEST_LINE)} [Open the console]({base_url})"
        return card
    sections = []
    for block in blocks:
        lines = [escape_teams(block.figures)] if block.figures else []
        lines += [f"- {escape_teams(cause)}" for cause in block.causes]
        if block.fix:
            lines.append(f"Fix: {escape_teams(block.fix)}")
        # A URL in a markdown link: the parenthesis would end it early, so it is percent-encoded.
        lines.append(f"[{escape_teams(block.link_label)}]({block.link.replace('(', '%28').replace(')', '%29')})")
        sections.append({"activityTitle": f"{escape_teams(block.heading)}: {escape_teams(block.title)}",
                         "text": "\n\n".join(lines)})
    card["sections"] = sections
    return card
