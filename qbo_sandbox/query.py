"""The QBO query language: a tokenizer, a parser into a Query, and evaluation over row dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from qbo_sandbox.faults import PACIFIC, QboFault, query_invalid, query_parse_error

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000
NOT_QUERYABLE = {"privatenote"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    """One `field op value` term; `values` holds one item except for IN."""

    field: str
    op: str
    values: tuple[Any, ...]


@dataclass
class Query:
    """A parsed SELECT statement."""

    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS

    def filters_field(self, name: str) -> bool:
        return any(cond.field.lower() == name.lower() for cond in self.where)

    def picks_ids(self) -> bool:
        """WHERE Id = … or Id IN (…): QBO then answers in Id order (recorded all/alt_select)."""
        return any(cond.field.lower() == "id" and cond.op in ("=", "IN") for cond in self.where)


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match:
            raise query_parse_error(
                f'Encountered " "{stripped[pos : pos + 10].strip()}"" at line 1, column {pos + 1}.'
            )
        kind = match.lastgroup
        assert kind is not None  # every alternative is a named group
        tokens.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok.kind == "word" and tok.text.upper() == word

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise query_parse_error(f'Encountered "<EOF>" at line 1, column {len(self.text) + 1}.')
        self.i += 1
        return tok

    def expect_word(self, word: str) -> None:
        tok = self.take()
        if tok.kind != "word" or tok.text.upper() != word:
            self.fail(tok)

    def expect_punct(self, punct: str) -> None:
        tok = self.take()
        if tok.text != punct:
            self.fail(tok)

    def fail(self, tok: _Tok) -> NoReturn:
        label = tok.text.upper() if tok.kind == "word" else tok.text
        raise query_parse_error(f'Encountered " <{label}> "{tok.text} "" at line 1, column {tok.pos + 1}.')

    def parse(self) -> Query:
        self.expect_word("SELECT")
        count = False
        if self.is_word("COUNT"):
            self.take()
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            # "SELECT *, Sku" and field lists are accepted; QBO returns whole entities either way.
            while not self.is_word("FROM"):
                tok = self.take()
                if tok.kind not in ("punct", "word") or tok.text in "()":
                    self.fail(tok)
        self.expect_word("FROM")
        entity_tok = self.take()
        if entity_tok.kind != "word":
            self.fail(entity_tok)
        query = Query(entity=entity_tok.text, count=count)
        if self.is_word("WHERE"):
            self.take()
            query.where.append(self.condition())
            while self.is_word("AND"):
                self.take()
                query.where.append(self.condition())
        while self.peek() is not None:
            if self.is_word("ORDERBY") or (self.is_word("ORDER") and self.is_word("BY", 1)):
                if self.take().text.upper() == "ORDER":
                    self.take()
                query.order_by = self.order_list()
            elif self.is_word("STARTPOSITION"):
                self.take()
                query.start_position = max(1, self.integer())
            elif self.is_word("MAXRESULTS"):
                self.take()
                query.max_results = min(MAX_RESULTS_CAP, max(0, self.integer()))
            else:
                self.fail(self.take())
        return query

    def integer(self) -> int:
        tok = self.take()
        text = tok.text.strip("'")
        if not text.isdigit():
            self.fail(tok)
        return int(text)

    def order_list(self) -> list[tuple[str, bool]]:
        items = []
        while True:
            tok = self.take()
            if tok.kind != "word":
                self.fail(tok)
            descending = False
            if self.is_word("ASC") or self.is_word("DESC"):
                descending = self.take().text.upper() == "DESC"
            items.append((tok.text, descending))
            if (after := self.peek()) is not None and after.text == ",":
                self.take()
                continue
            return items

    def condition(self) -> Condition:
        tok = self.take()
        if tok.kind != "word" or tok.text.upper() in ("OR", "AND", "NOT"):
            self.fail(tok)
        name = tok.text
        if name.lower() in NOT_QUERYABLE:
            raise query_invalid(f"property '{name}' is not queryable")
        if self.is_word("IN"):
            self.take()
            self.expect_punct("(")
            values = [self.value()]
            while (after := self.peek()) is not None and after.text == ",":
                self.take()
                values.append(self.value())
            self.expect_punct(")")
            cond = Condition(name, "IN", tuple(values))
        elif self.is_word("LIKE"):
            self.take()
            cond = Condition(name, "LIKE", (self.value(),))
        else:
            op = self.take()
            # `!=` is accepted by Intuit's sandbox in practice (python-quickbooks' maintainers query with it);
            # `<>` is documented nowhere and stays a parse error.
            if op.kind != "op" or op.text == "<>":
                self.fail(op)
            cond = Condition(name, op.text, (self.value(),))
        if self.is_word("OR"):
            self.fail(self.take())
        return cond

    def value(self) -> object:
        tok = self.take()
        if tok.kind == "string":
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1])
        if tok.kind == "number":
            return tok.text
        if tok.kind == "word" and tok.text.lower() in ("true", "false"):
            return tok.text.lower() == "true"
        self.fail(tok)


def parse(text: str) -> Query:
    """Parse a QBO SELECT; raises QboFault 4000 on syntax errors (including OR)."""
    return _Parser(text.strip().rstrip(";")).parse()


def field_value(row: dict[str, Any], name: str) -> object:
    """Resolve a (dotted, case-insensitive) property; a Ref compares by its id.

    Through a list (Attachable's AttachableRef) the answer is the list of the elements' values.
    """
    current: object = row
    parts = name.split(".")
    for n, part in enumerate(parts):
        if isinstance(current, list):
            rest = ".".join(parts[n:])
            return [field_value(item, rest) for item in current if isinstance(item, dict)]
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    return _leaf(current)


def _leaf(current: object) -> object:
    if isinstance(current, dict) and "value" in current:
        return current["value"]
    # An email object ({"Address": ...}) filters by its address, as PrimaryEmailAddr = '...' does in QBO.
    if isinstance(current, dict) and "Address" in current:
        return current["Address"]
    return current


def parse_moment(text: str) -> datetime | None:
    """Parse a QBO date or datetime; naive values are taken as company (Pacific) time."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), PACIFIC)
        normalized = text.replace("Z", "+00:00")
        # QBO also accepts offsets without a colon, e.g. -0700.
        normalized = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", normalized)
        moment = datetime.fromisoformat(normalized)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=PACIFIC)


def _coerce_pair(actual: object, wanted: object) -> tuple[Any, Any] | None:
    """Bring a stored value and a query literal to one comparable type, or None if impossible."""
    if actual is None:
        return None
    if isinstance(actual, bool) or isinstance(wanted, bool):

        def as_bool(v: object) -> bool:
            return v if isinstance(v, bool) else str(v).lower() == "true"

        return as_bool(actual), as_bool(wanted)
    if isinstance(actual, (int, float, Decimal)):
        try:
            return Decimal(str(actual)), Decimal(str(wanted))
        except InvalidOperation:
            return None
    actual_text, wanted_text = str(actual), str(wanted)
    if actual_text.isdigit() and wanted_text.isdigit():
        return int(actual_text), int(wanted_text)  # numeric-string ids compare as numbers: '10' > '9'
    if re.match(r"^\d{4}-\d\d-\d\d", actual_text) and re.match(r"^\d{4}-\d\d-\d\d", wanted_text):
        left, right = parse_moment(actual_text), parse_moment(wanted_text)
        if left and right:
            return left, right
    return actual_text.lower(), wanted_text.lower()


def _like(actual: object, pattern: str) -> bool:
    if actual is None:
        return False
    regex = "^" + ".*".join(re.escape(part) for part in str(pattern).lower().split("%")) + "$"
    return re.match(regex, str(actual).lower(), re.DOTALL) is not None


def matches(row: dict[str, Any], cond: Condition) -> bool:
    actual = field_value(row, cond.field)
    if isinstance(actual, list):
        return any(_matches_value(value, cond) for value in actual)
    return _matches_value(actual, cond)


def _matches_value(actual: object, cond: Condition) -> bool:
    if cond.op == "LIKE":
        return _like(actual, cond.values[0])
    if cond.op == "IN":
        for wanted in cond.values:
            pair = _coerce_pair(actual, wanted)
            if pair and pair[0] == pair[1]:
                return True
        return False
    pair = _coerce_pair(actual, cond.values[0])
    if pair is None:
        return False  # a field the row does not have matches no comparison, `!=` included (SQL's NULL)
    left, right = pair
    try:
        return bool({
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[cond.op])
    except TypeError:
        return False


def _sort_key(value: object) -> tuple[Any, ...]:
    # None sorts first; mixed types fall back to text so sorting never raises.
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, (int, float, Decimal)):
        return (2, Decimal(str(value)))
    text = str(value)
    if text.isdigit():
        return (2, Decimal(text))
    moment = parse_moment(text) if re.match(r"^\d{4}-\d\d-\d\d", text) else None
    if moment:
        return (3, moment)
    # Ordinal order, capitals first: recorded all/vendors_by_5 lists "PG&E" before "Pam Seitz".
    return (4, text)


def _by(name: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A sort key on one property."""
    return lambda row: _sort_key(field_value(row, name))


def evaluate(query: Query, rows: list[dict[str, Any]], default_order: str = "Id") -> tuple[list[dict[str, Any]], int]:
    """Filter, order and page rows; returns (page, total matching)."""
    selected = [row for row in rows if all(matches(row, cond) for cond in query.where)]
    order = query.order_by or [(default_order, False)]
    for name, descending in reversed(order):
        selected.sort(key=_by(name), reverse=descending)
    start = query.start_position - 1
    return selected[start : start + query.max_results], len(selected)


__all__ = ["Condition", "QboFault", "Query", "evaluate", "field_value", "matches", "parse", "parse_moment"]
