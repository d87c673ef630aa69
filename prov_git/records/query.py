"""The typed query language of `--where` and `--sort` (design.md "Querying the history").

    EXPR := OR;  OR := AND ("or" AND)*;  AND := NOT ("and" NOT)*;  NOT := "not" NOT | ATOM
    ATOM := "(" OR ")" | KEY "exists" | KEY OP VALUE;   OP := = != < <= > >= ~

A KEY is a dotted path into the record; a segment with odd characters is backtick-quoted
(``params.`axes.labelsize` ``). A VALUE is a JSON number, a quoted string, true/false/null or a
bare word (a string). Invariants: comparison is typed (1 = 1.0; a test between different types,
or on a key the record lacks, is false, `!=` included); every syntax error names its 1-based
position. Pure: the index (store/index.py) compiles the same tree to SQL; evaluate() here is the
reference semantics for everything else (the Python API, small candidate sets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cmp_to_key
from typing import Any

from prov_git.errors import UsageError

OPS = ("!=", "<=", ">=", "=", "<", ">", "~")
KEYWORDS = ("and", "or", "not", "exists")
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_BARE_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_STOP = set(" \t\r\n()'\"!=<>~")
MISSING: Any = object()


class QueryError(UsageError):
    """A malformed EXPR or sort KEY: exit 2, naming the position."""


# ------------------------------------------------------------------------------ the tree


@dataclass(frozen=True)
class Compare:
    key: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class Exists:
    key: tuple[str, ...]


@dataclass(frozen=True)
class Not:
    term: Expr


@dataclass(frozen=True)
class And:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Expr, ...]


Expr = Compare | Exists | Not | And | Or


@dataclass(frozen=True)
class SortKey:
    key: tuple[str, ...]
    descending: bool


# ------------------------------------------------------------------------------ keys


def key_text(segments: Sequence[str]) -> str:
    """The canonical dotted form of a key, quoting odd segments as show and diff do."""
    return ".".join(s if _BARE_SEGMENT.match(s) else "`" + s.replace("`", "``") + "`" for s in segments)


def split_key(text: str, where: str = "key", offset: int = 0) -> tuple[str, ...]:
    """The segments of a dotted key; a backtick-quoted segment may hold dots (`` `` `` is a backtick)."""
    segments: list[str] = []
    current, pos, quoted_seen = "", 0, False
    while pos < len(text):
        char = text[pos]
        if char == "`":
            end = _closing_backtick(text, pos + 1, where, offset)
            current += text[pos + 1:end].replace("``", "`")
            pos, quoted_seen = end + 1, True
        elif char == ".":
            _check_segment(current, quoted_seen, where, offset + pos)
            segments.append(current)
            current, pos, quoted_seen = "", pos + 1, False
        else:
            current, pos = current + char, pos + 1
    _check_segment(current, quoted_seen, where, offset + pos)
    return (*segments, current)


def _closing_backtick(text: str, start: int, where: str, offset: int) -> int:
    pos = start
    while True:
        end = text.find("`", pos)
        if end < 0:
            raise QueryError(f"{where}: unclosed backtick at position {offset + start}")
        if text[end + 1:end + 2] != "`":
            return end
        pos = end + 2


def _check_segment(segment: str, quoted: bool, where: str, pos: int) -> None:
    if not segment and not quoted:
        raise QueryError(f"{where}: empty key segment at position {pos + 1}")


def lookup(record: Any, key: Sequence[str]) -> Any:
    """The value at key, or MISSING."""
    value = record
    for segment in key:
        if not isinstance(value, dict) or segment not in value:
            return MISSING
        value = value[segment]
    return value


# ------------------------------------------------------------------------------ tokens


@dataclass(frozen=True)
class Token:
    kind: str  # "(", ")", "op", "string", "word", "end"
    text: str
    pos: int  # 1-based
    value: Any = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in "()":
            tokens.append(Token(char, char, pos + 1))
            pos += 1
        elif char in "'\"":
            pos = _string(text, pos, tokens)
        elif text.startswith(OPS, pos):
            op = next(o for o in OPS if text.startswith(o, pos))
            tokens.append(Token("op", op, pos + 1))
            pos += len(op)
        elif char == "!":
            raise QueryError(f"invalid expression: '!' at position {pos + 1} must be '!=' (use `not` to negate)")
        else:
            pos = _word(text, pos, tokens)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote, pos, out = text[start], start + 1, []
    while pos < len(text) and text[pos] != quote:
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 1
        out.append(text[pos])
        pos += 1
    if pos >= len(text):
        raise QueryError(f"invalid expression: unclosed {quote} string starting at position {start + 1}")
    tokens.append(Token("string", text[start:pos + 1], start + 1, "".join(out)))
    return pos + 1


def _word(text: str, start: int, tokens: list[Token]) -> int:
    pos = start
    while pos < len(text) and text[pos] not in _STOP:
        if text[pos] == "`":
            pos = _closing_backtick(text, pos + 1, "invalid expression", 0)
        pos += 1
    tokens.append(Token("word", text[start:pos], start + 1))
    return pos


# ------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_word(self, word: str) -> bool:
        return self.peek.kind == "word" and self.peek.text == word

    def fail(self, expected: str) -> QueryError:
        token = self.peek
        got = "the end of the expression" if token.kind == "end" else repr(token.text)
        return QueryError(f"invalid expression at position {token.pos}: expected {expected}, got {got}")

    def parse(self) -> Expr:
        if self.peek.kind == "end":
            raise self.fail("a condition such as params.lr > 0.1")
        expr = self.parse_or()
        if self.peek.kind != "end":
            raise self.fail("`and`, `or` or the end")
        return expr

    def parse_or(self) -> Expr:
        terms = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            terms.append(self.parse_and())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def parse_and(self) -> Expr:
        terms = [self.parse_not()]
        while self.is_word("and"):
            self.take()
            terms.append(self.parse_not())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def parse_not(self) -> Expr:
        if self.is_word("not"):
            self.take()
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Expr:
        if self.peek.kind == "(":
            self.take()
            inner = self.parse_or()
            if self.peek.kind != ")":
                raise self.fail("')'")
            self.take()
            return inner
        if self.peek.kind != "word" or self.peek.text in KEYWORDS:
            raise self.fail("a key such as params.lr, or '('")
        token = self.take()
        key = split_key(token.text, "invalid expression", token.pos - 1)
        if self.is_word("exists"):
            self.take()
            return Exists(key)
        if self.peek.kind != "op":
            raise self.fail("an operator (= != < <= > >= ~) or `exists`")
        op = self.take().text
        return Compare(key, op, self.parse_value(op))

    def parse_value(self, op: str) -> Any:
        token = self.peek
        if token.kind == "string":
            self.take()
            return token.value
        if token.kind != "word" or token.text in KEYWORDS:
            raise self.fail(f"a value after {op!r}")
        self.take()
        return word_value(token.text)


def word_value(word: str) -> Any:
    """A bare word as a value: a JSON number, true, false, null, else the word as a string."""
    if word in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[word]
    if _NUMBER.match(word):
        number = json.loads(word)
        return number
    return word


def parse(text: str) -> Expr:
    """The tree of one EXPR; QueryError (exit 2) names the position of the first problem."""
    try:
        return _Parser(text).parse()
    except QueryError as exc:
        raise QueryError(f"--where {text!r}: {exc}") from None


def parse_all(texts: Iterable[str]) -> Expr | None:
    """Several --where, and-ed; None when there are none."""
    trees = [parse(t) for t in texts]
    if not trees:
        return None
    return trees[0] if len(trees) == 1 else And(tuple(trees))


def parse_sort(text: str) -> SortKey:
    descending = text.startswith("-")
    body = text[1:] if text[:1] in "+-" else text
    if not body:
        raise QueryError(f"--sort {text!r}: expected a key such as -metrics.acc")
    return SortKey(split_key(body, f"--sort {text!r}"), descending)


# ------------------------------------------------------------------------------ typed semantics


def kind(value: Any) -> str:
    """The type class a comparison respects: number, string, bool, null or other (objects, lists)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "other"


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: bool(a < b), "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b),
}


def test(field: Any, op: str, value: Any) -> bool:
    """One KEY OP VALUE on a field value (MISSING when the record lacks the key)."""
    if field is MISSING or kind(field) != kind(value) or kind(field) == "other":
        return False
    if op == "=":
        return bool(field == value)
    if op == "!=":
        return bool(field != value)
    if op == "~":
        return kind(field) == "string" and fnmatchcase(field, value)
    return kind(field) in ("number", "string") and _ORDERED[op](field, value)


def evaluate(expr: Expr, record: Any) -> bool:
    if isinstance(expr, Compare):
        return test(lookup(record, expr.key), expr.op, expr.value)
    if isinstance(expr, Exists):
        return lookup(record, expr.key) is not MISSING
    if isinstance(expr, Not):
        return not evaluate(expr.term, record)
    if isinstance(expr, And):
        return all(evaluate(t, record) for t in expr.terms)
    return any(evaluate(t, record) for t in expr.terms)


def keys_of(expr: Expr) -> list[tuple[str, ...]]:
    """Every key an expression reads."""
    if isinstance(expr, (Compare, Exists)):
        return [expr.key]
    if isinstance(expr, Not):
        return keys_of(expr.term)
    return [k for t in expr.terms for k in keys_of(t)]


# ------------------------------------------------------------------------------ sorting

KIND_RANK = {"number": 0, "string": 1, "bool": 2, "null": 3, "other": 4}


def _compare_values(a: Any, b: Any, descending: bool) -> int:
    """Order of two present values: by type class (numbers, strings, bools, null, other; in this
    order either way), then by value (reversed when descending)."""
    ka, kb = kind(a), kind(b)
    if ka != kb:
        return KIND_RANK[ka] - KIND_RANK[kb]
    if descending:
        a, b = b, a
    if ka in ("null", "other"):
        return 0  # objects and lists are ties: the index does not order them either
    return int(a > b) - int(a < b)


def compare_by(keys: Sequence[SortKey], a: Any, b: Any) -> int:
    for sort in keys:
        va, vb = lookup(a, sort.key), lookup(b, sort.key)
        if va is MISSING or vb is MISSING:
            order = (va is MISSING) - (vb is MISSING)  # missing last, either direction
        else:
            order = _compare_values(va, vb, sort.descending)
        if order:
            return order
    return 0


def sort_records(records: Sequence[Any], keys: Sequence[SortKey]) -> list[Any]:
    """records (newest first) ordered by keys; runs lacking a key last; ties keep newest first."""
    if not keys:
        return list(records)
    return sorted(records, key=cmp_to_key(lambda a, b: compare_by(keys, a, b)))


# ------------------------------------------------------------------------------ leaves


def leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], Any]]:
    """(key, value) of every leaf under value; an empty object is no leaf, a list is one."""
    if isinstance(value, dict):
        for name in sorted(value):
            yield from leaves(value[name], (*prefix, name))
    elif prefix:
        yield prefix, value
