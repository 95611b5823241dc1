"""ui.markup: data in markdown renders as its own text; and no page sends text to markdown another way."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from markdown_it import MarkdownIt

from tests.ui.conftest import ROOT
from tests.ui.markup_rule import check_source, page_sources
from ui.markup import Markdown, escape_markdown, md, plain, unescape_markdown

WJ = "\u2060"
HOSTILE = [
    "![t](http://127.0.0.1:8645/beacon.png)",
    "**bold** [link](http://evil) _em_ *it* ~~gone~~ `code`",
    "[CLICK](HTTP://EVIL.X)",
    "<b>html</b> <img src=x onerror=alert(1)> &lt;tag&gt; &amp;",
    ":red[colour] :material/home: $x^2$ $$y$$ :blue-badge[b]",
    "# heading", "> quote", "- item", "+ item", "1. first", "2) second", "=== setext", "    indented code",
    "a | b", "line one\nline two\r\n\r\n# heading after a blank line",
    "www.evil.example and a@evil.example and https://evil.example/x",
    "\\*escaped\\* backslash \\",
]


def _commonmark(source: str) -> list[str]:
    """The kinds of markup a CommonMark + tables + strikethrough parser finds (the parts Streamlit shares)."""
    found = []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(source):
        if token.type not in ("paragraph_open", "paragraph_close", "inline"):
            found.append(token.type)
        for child in token.children or []:
            if child.type not in ("text", "softbreak"):
                found.append(child.type)
    return found


@pytest.mark.parametrize("value", HOSTILE)
def test_an_escaped_value_parses_as_plain_text(value):
    assert _commonmark(escape_markdown(value)) == []


@pytest.mark.parametrize("value", HOSTILE)
def test_an_escaped_value_reads_back_as_itself(value):
    # Line breaks become one space (data is inline), and so does leading space (no indented code block).
    flat = re.sub(r"^\s+", " ", re.sub(r"\s*[\r\n]+\s*", " ", value))
    assert unescape_markdown(escape_markdown(value)) == flat


def test_streamlit_only_markup_is_escaped_too():
    source = escape_markdown(":red[x] $a$ :material/home: :smile:")
    assert ":red[" not in source and "$a$" not in source and ":material/" not in source
    assert source == "\\:red\\[x\\] \\$a\\$ \\:material" + WJ + "/home\\: \\:smile\\:"


@pytest.mark.parametrize(("value", "expected"), [
    ("https://evil.example/x", "https\\:" + WJ + "//evil.example/x"),
    ("WWW.evil.example", "WWW" + WJ + ".evil.example"),
    ("ops@evil.example", "ops" + WJ + "@evil.example"),
])
def test_urls_and_addresses_in_data_are_broken_for_streamlits_autolinker(value, expected):
    # Streamlit links URLs, www. names and addresses after parsing, so backslashes alone do not stop it.
    assert escape_markdown(value) == expected


def test_everyday_text_stays_readable_in_the_source():
    assert escape_markdown("INV-100001 (ACME Logistics Co.) 1,234.56") == "INV-100001 (ACME Logistics Co.) 1,234.56"
    assert escape_markdown("$1,234.56") == "\\$1,234.56"


def test_md_escapes_each_slot_and_keeps_the_template():
    shown = md("Customer **{name}** owes {amount} on {day:%Y-%m-%d} ({count:,} invoices)",
               name="**x** [y](http://evil)", amount="$5.00", day=datetime(2026, 11, 29), count=1234)
    assert isinstance(shown, Markdown)
    assert shown == ("Customer **\\*\\*x\\*\\* \\[y\\](http\\:" + WJ + "//evil)** owes \\$5.00 on 2026-11-29 "
                     "(1,234 invoices)")
    assert _commonmark(shown) == ["strong_open", "strong_close"]


def test_md_inserts_markdown_pieces_as_they_are():
    name = md("**{}**", "A_B")
    assert md("{} and {}", name, "C_D") == "**A\\_B** and C\\_D"


def test_plain_leaves_markdown_alone_and_escapes_everything_else():
    assert plain(md("**{}**", "x")) == "**x**"
    assert plain(Decimal("3")) == "3"
    assert plain(ValueError("bad *thing*")) == "bad \\*thing\\*"


def test_every_page_sends_text_to_markdown_only_through_ui_markup():
    findings = [str(f) for path in page_sources(ROOT)
                for f in check_source(str(path.relative_to(ROOT)), path.read_text())]
    assert findings == []


@pytest.mark.parametrize(("source", "finds"), [
    ('st.markdown(f"**{name}**")', "markdown"),
    ('st.caption("Codes: " + ", ".join(codes))', "caption"),
    ("st.warning(warning)", "warning"),
    ('st.error(str(exc))', "error"),
    ('st.info("{}".format(hint))', "info"),
    ('col.metric("Company", connection.company_name)', "metric"),
    ('col.metric(label, 3)', "metric"),
    ('st.expander(f"Details of {row.customer}")', "expander"),
    ('st.tabs([row.name for row in rows])', "tabs"),
    ('st.button("Go", help=record.note)', "help"),
    ('st.selectbox(f"{field} (QuickBooks field 1)", options)', "selectbox"),
    ('st.radio("Pick", names)', "radio"),
    ('st.radio("Pick", ids, format_func=lambda i: names[i])', "radio"),
    ('st.dialog(title)', "dialog"),
    ('st.progress(0.5, text=f"{done} done")', "progress"),
    ('st.markdown(md(f"**{name}**"))', "markdown"),
    ('st.markdown(md(template, name=name))', "markdown"),
    ('(col.warning if bad else col.success)(text)', "used as a value"),
    ('{"error": st.error}.get(level, st.info)(text)', "used as a value"),
    ('SHOW = {"error": st.error}', "used as a value"),
    ('st.markdown("<b>x</b>", unsafe_allow_html=True)', "unsafe_allow_html"),
    ("st.html(body)", "raw HTML"),
    ("st.table(frame)", "st.table"),
    ('Markdown(name)', "Markdown is made"),
    ('def f(label: str):\n    st.caption(label)', "caption"),
    ('for name in names:\n    st.subheader(name)', "subheader"),
])
def test_the_rule_finds_each_way_data_could_reach_markdown(source, finds):
    findings = check_source("page.py", source)
    assert findings and all(finds in f.what for f in findings), findings


@pytest.mark.parametrize("source", [
    'st.markdown("**Payment terms** — fixed words")',
    'st.markdown(md("**{}** owes {amount}", name, amount=total))',
    "st.warning(plain(warning))",
    'st.metric("Total", plain(format_money(total)), help=md("as of {}", day))',
    'st.tabs([ENTITY_LABELS[e] for e in ENTITIES])',
    "st.info(HELP[kind])",
    "st.warning(ids.REMOVE_WARNING)",
    'st.caption(md("a") if flag else "b")',
    'def f(label: Markdown):\n    st.caption(label)',
    'text = md("{} done", n)\nst.success(text)',
    'for key, label in (("a", "A"), ("b", "B")):\n    st.checkbox(label, key=key)',
    'st.radio("Numbering", list(NUMBERING), format_func=NUMBERING.__getitem__)',
    'st.selectbox("Invoice", ids, format_func=labels.__getitem__)',  # selectbox options are plain text
    'log.warning("failed: %s", exc)',
    "if failing or progress.error:\n    pass",
    'show_alert("error" if bad else "success", text, where=column)',
])
def test_the_rule_accepts_literals_and_ui_markup(source):
    assert check_source("page.py", source) == []
