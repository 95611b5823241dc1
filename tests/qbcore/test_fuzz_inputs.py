"""Hostile inputs from people and billing data: description templates, load field values, typed QuickBooks ids."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from qbcore.errors import MappingError
from qbcore.id_changes import IdChangeRefused, override_qbo_id, parse_qbo_id
from qbcore.mapping.description import (
    DESCRIPTION_MAX,
    TRUNCATED_MARKER,
    compose_line_description,
    fit_description,
    render_description,
)
from qbcore.models import SyncRecord
from qbcore.qbo.lookup import open_gateway
from qbcore.settings import DESCRIPTION_FIELDS, DescriptionTemplate, SettingsError, settings_from_dict
from tests.qbcore.test_ids import ADMIN, book, sandbox_url  # noqa: F401

FIELDS = sorted(DESCRIPTION_FIELDS)
FAST = settings(max_examples=150, deadline=None)

# Text as billing exports really deliver it: any unicode, control characters, NULs, surrogate-free.
hostile_text = st.text(st.characters(codec="utf-8"), max_size=60) | st.sampled_from(
    ["", " ", "\x00", "\r\n", "\u202e", "🚚" * 3, "a\x1bb", "\ufeff", " \t "])
huge_text = st.integers(min_value=3_000, max_value=12_000).map(lambda n: "x" * n)
json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_text
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(hostile_text, inner, max_size=3), max_leaves=6)

field_lists = st.lists(st.sampled_from(FIELDS) | hostile_text, max_size=12)
description_dicts = st.fixed_dictionaries({}, optional={
    "fields": field_lists | json_value,
    "separator": hostile_text | json_value,
    "show_labels": st.booleans() | json_value,
    "placement": st.sampled_from(["first_line", "every_line"]) | hostile_text | json_value,
})


def _load(values: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**{name: values.get(name) for name in FIELDS})


def _fitted(load: SimpleNamespace, template: DescriptionTemplate, overflow: str) -> str | MappingError:
    text = compose_line_description("Drayage", render_description(load, template))
    try:
        return fit_description(text, overflow, where="line 1 of invoice F-1")  # type: ignore[arg-type]
    except MappingError as exc:
        return exc


@FAST
@given(desc=description_dicts | json_value, overflow=st.sampled_from(["truncate", "fail"]) | hostile_text,
       values=st.dictionaries(st.sampled_from(FIELDS), hostile_text | huge_text, max_size=10))
def test_any_description_template_is_refused_plainly_or_renders_within_4000_characters(desc, overflow, values):
    try:
        parsed = settings_from_dict({"description": desc, "description_overflow": overflow})
    except SettingsError as exc:
        message = str(exc)
        assert message and "Traceback" not in message and len(message) < 2_000
        return
    template = parsed.description
    assert isinstance(template, DescriptionTemplate)
    assert set(template.fields) <= set(DESCRIPTION_FIELDS)
    assert isinstance(template.separator, str) and len(template.separator) <= 10
    assert template.placement in ("first_line", "every_line")
    result = _fitted(_load(values), template, parsed.description_overflow)
    if isinstance(result, MappingError):
        assert parsed.description_overflow == "fail"
        assert "QuickBooks allows 4,000" in result.message
    else:
        assert len(result) <= DESCRIPTION_MAX


@FAST
@given(values=st.dictionaries(st.sampled_from(FIELDS), hostile_text | huge_text | st.integers() | st.dates(),
                              max_size=10),
       fields=st.lists(st.sampled_from(FIELDS), max_size=10, unique=True),
       separator=st.text(max_size=10), show_labels=st.booleans())
def test_any_load_values_render_and_fit_with_both_overflow_policies(values, fields, separator, show_labels):
    template = DescriptionTemplate(fields=tuple(fields), separator=separator, show_labels=show_labels)
    load = _load(values)
    rendered = render_description(load, template)
    assert isinstance(rendered, str)
    truncated = _fitted(load, template, "truncate")
    assert isinstance(truncated, str) and len(truncated) <= DESCRIPTION_MAX
    full = compose_line_description("Drayage", rendered)
    if len(full) > DESCRIPTION_MAX:
        assert truncated.endswith(TRUNCATED_MARKER) and full.startswith(truncated.removesuffix(TRUNCATED_MARKER))
        refused = _fitted(load, template, "fail")
        assert isinstance(refused, MappingError)
        assert f"{len(full):,} characters" in refused.message and "line 1 of invoice F-1" in refused.message
    else:
        assert truncated == full == _fitted(load, template, "fail")


@settings(max_examples=500, deadline=None)
@given(text=st.none() | st.text(max_size=40) | st.from_regex(r"\s*[0-9]{1,25}\s*", fullmatch=True))
def test_parse_qbo_id_gives_a_clean_positive_number_or_a_plain_refusal(text):
    try:
        value = parse_qbo_id(text)
    except IdChangeRefused as exc:
        assert "Nothing was changed" in str(exc)
        return
    assert value.isascii() and value.isdigit() and value[0] != "0" and len(value) <= 20
    assert value == (text or "").strip()


def _snapshot(factory, record_id: int) -> dict[str, Any]:
    with factory() as session:
        record = session.get(SyncRecord, record_id)
        return {c.key: getattr(record, c.key) for c in inspect(SyncRecord).column_attrs}


def _linked_count(factory) -> int:
    with factory() as session:
        return session.query(SyncRecord).filter(SyncRecord.qbo_id.is_not(None)).count()


@pytest.mark.parametrize("target", ["linked", "spare"])
def test_overriding_with_junk_ids_is_refused_and_changes_nothing(book, target):  # noqa: F811
    gateway = open_gateway(book.factory, book.config)
    record = getattr(book, target)
    before, linked_before = _snapshot(book.factory, record.id), _linked_count(book.factory)
    known = [book.customer_qbo_id, book.stranger_qbo_id, "999999", "18446744073709551615", "1" * 20]
    junk = st.sampled_from(known) | st.none() | st.text(max_size=30) | st.from_regex(r"[+\-0 ]*[0-9.e]{1,8}\s*")

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(new_id=junk)
    def attempt(new_id):
        if new_id is not None and new_id.strip() in (book.spare_qbo_id, book.linked.qbo_id):
            return  # the record's own twin is a legitimate override
        with pytest.raises(IdChangeRefused, match="Nothing was changed"):
            override_qbo_id(book.factory, gateway, ADMIN, record.id, new_id, reason="fuzz")
        assert _snapshot(book.factory, record.id) == before
        assert _linked_count(book.factory) == linked_before

    attempt()
