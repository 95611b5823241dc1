"""Messages are written from facts alone, escaped for each channel's markup, and rules refuse bad values by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbcore.alerts.messages import EventView, escape_slack, escape_teams, link_for, render_message
from qbcore.alerts.rules import AlertRules, AlertRulesError, rules_from_dict

HOSTILE = {"title": "3 invoices: customer <b>Smith & Sons</b> *VIP* [x](http://evil) clashes\r\nBcc: x@evil.com",
           "records": 3, "amount": "1234.5", "causes": ["<script>alert(1)</script>"], "fix": "Rename _it_",
           "page": "Problem_Sync", "params": {"tab": "invoice", "search": "Smith & Sons|<b>"}}


def test_a_message_says_what_how_many_how_much_why_and_where_to_fix_it() -> None:
    message = render_message("alert", [EventView("opened", HOSTILE)], "https://qbsync.example.com/")
    assert message.subject == ("[QuickBooks sync] New: 3 invoices: customer <b>Smith & Sons</b> *VIP* [x](http://evil)"
                               " clashes Bcc: x@evil.com")
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.text.splitlines() == [
        "New: 3 invoices: customer <b>Smith & Sons</b> *VIP* [x](http://evil) clashes Bcc: x@evil.com",
        "  3 records, $1,234.50",
        "  Cause: <script>alert(1)</script>",
        "  Fix: Rename _it_",
        "  Open the problems: https://qbsync.example.com/Problem_Sync?tab=invoice&search=Smith+%26+Sons%7C%3Cb%3E",
    ]


def test_html_email_escapes_every_value() -> None:
    html = render_message("alert", [EventView("opened", HOSTILE)], "https://qbsync.example.com").html
    assert "<script>" not in html and "<b>Smith" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Smith &amp; Sons&lt;/b&gt;" in html
    assert 'href="https://qbsync.example.com/Problem_Sync?tab=invoice&amp;search=Smith+%26+Sons%7C%3Cb%3E"' in html


def test_slack_gets_its_three_escapes_and_a_link_it_cannot_break() -> None:
    text = render_message("alert", [EventView("opened", HOSTILE)], "https://q.example.com").slack["text"]
    assert "&lt;b&gt;Smith &amp; Sons&lt;/b&gt;" in text
    assert "<script>" not in text and "<b>" not in text
    link = "<https://q.example.com/Problem_Sync?tab=invoice&amp;search=Smith+%26+Sons%7C%3Cb%3E|Open the problems>"
    assert link in text
    assert escape_slack("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_teams_gets_markdown_escaped_text_in_a_message_card() -> None:
    card = render_message("alert", [EventView("opened", HOSTILE)], "https://q.example.com").teams
    assert card["@type"] == "MessageCard"
    section = card["sections"][0]
    assert section["activityTitle"].startswith(r"New: 3 invoices: customer &lt;b&gt;Smith &amp; Sons&lt;/b&gt; \*VIP\* "
                                               r"\[x\]\(http://evil\)")
    assert r"Rename \_it\_" in section["text"]
    assert "[Open the problems](https://q.example.com/Problem_Sync?tab=invoice&search=" in section["text"]
    assert escape_teams("*a*") == r"\*a\*"


def test_a_resolved_message_names_what_cleared_without_stale_figures() -> None:
    message = render_message("alert", [EventView("resolved", HOSTILE)], "https://q.example.com")
    assert message.subject.startswith("[QuickBooks sync] Resolved: 3 invoices")
    assert "$1,234.50" not in message.text and "Cause:" not in message.text


def test_a_link_without_parameters_opens_the_page_and_home_is_the_root() -> None:
    assert link_for("https://q.example.com/", {"page": "Settings", "params": {}}) == "https://q.example.com/Settings"
    assert link_for("https://q.example.com", {"page": "", "params": {}}) == "https://q.example.com/"


@pytest.mark.parametrize(("change", "says"), [
    ({"new_problems_count": 0}, "New problems: the record count must be a whole number from 1"),
    ({"root_cause_count": "ten"}, "Root cause: the record count must be a whole number"),
    ({"new_problems_amount": "lots"}, "the dollar amount must be a number"),
    ({"quiet_start": "25:00", "quiet_end": "07:00"}, "'25:00' is not a time"),
    ({"quiet_start": "22:00"}, "Quiet hours need both a start and an end"),
    ({"timezone": "Mars/Olympus"}, "The time zone 'Mars/Olympus' is not known"),
    ({"base_url": "qbsync.example.com"}, "must be an http(s) URL"),
    ({"month_end_day": 31}, "Month end: the day of the month must be a whole number from 1 to 28"),
    ({"shout": True}, "unknown alert setting(s): shout"),
])
def test_bad_rule_values_are_refused_by_name(change: dict, says: str) -> None:
    with pytest.raises(AlertRulesError) as refused:
        rules_from_dict(change)
    assert says in refused.value.why and refused.value.why.endswith("Nothing was saved.")


def test_quiet_hours_span_midnight_in_the_rules_time_zone() -> None:
    rules = rules_from_dict({"quiet_start": "22:00", "quiet_end": "07:00", "timezone": "America/Chicago",
                             "new_problems_amount": "$1,500"})
    assert rules.min_amount == 1500
    assert rules.is_quiet(datetime(2026, 12, 2, 5, 0, tzinfo=UTC))  # 23:00 in Chicago
    assert not rules.is_quiet(datetime(2026, 12, 2, 14, 0, tzinfo=UTC))  # 08:00 in Chicago
    assert not AlertRules().is_quiet(datetime(2026, 12, 2, 5, 0, tzinfo=UTC))


def test_a_message_of_many_alerts_shows_ten_and_counts_the_rest_with_a_link() -> None:
    events = [EventView("opened", {**HOSTILE, "title": f"alert {n}"}) for n in range(28)]
    message = render_message("alert", events, "https://q.example.com")
    assert message.subject == "[QuickBooks sync] 28 alerts: alert 0 and more"
    headings = [line for line in message.text.splitlines() if line and not line.startswith(" ")]
    more = "More: 18 more alerts: the Alerts page lists what is wrong now"
    assert headings == [*(f"New: alert {n}" for n in range(10)), more]
    assert "Open Alerts: https://q.example.com/Alerts" in message.text
    assert len(message.teams["sections"]) == 11 and len(message.slack["text"]) < 6000
