"""Assemble, identify, encode and decode run records. Pure: no I/O."""

from __future__ import annotations

import functools
import importlib
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from prov_git import __version__
from prov_git.errors import CorruptRecord
from prov_git.records import limits
from prov_git.records.schema import proved_valid, validate, validate_written

if TYPE_CHECKING:  # 13 TypedDict classes cost ~1.3 ms of every start-up; only mypy needs them
    from prov_git.records.model import RunRecord

    Record = RunRecord
else:
    Record = dict  # the typed record (records/model.py) is a plain dict at run time
# The version this release writes; schemas/run.schema.json is its schema (records/schema.VERSIONS).
SCHEMA_VERSION = 2


def compute_id(record: Mapping[str, Any]) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of the record without its id."""
    body = {k: v for k, v in record.items() if k != "id"}
    return _sha256_hex(canonical(body))


_FIRST_IDS = 8  # how many ids CPython's own SHA-256 computes before hashlib's takes over
_ids = 0


def _sha256_hex(data: bytes) -> str:
    # hashlib's OpenSSL SHA-256 costs 1-2.5 ms to load, more than `record` spends on its one or two
    # ids; CPython's own loads in ~0.4 ms but is 4x as slow (9 us a record), which a fetch of
    # 100,000 runs would feel. So the first few ids use CPython's, the rest hashlib's: same digest.
    global _ids
    _ids += 1
    if _ids <= _FIRST_IDS and "hashlib" not in sys.modules:
        own = _cpython_sha256()
        if own is not None:
            return str(own(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()


@functools.cache
def _cpython_sha256() -> Callable[[bytes], Any] | None:
    for name in ("_sha2", "_sha256"):  # CPython 3.12 and later; 3.10 and 3.11
        try:
            return importlib.import_module(name).sha256  # type: ignore[no-any-return]
        except ImportError:
            continue
    return None


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON. The pure-Python rfc8785 package takes ~0.9 ms per record (every
    record, log and show pays it, 20 times for `log -n 20`); for the values records hold, the C json
    encoder gives the same bytes 4x faster. tests/test_canonical.py proves them equal."""
    fast = _canonical_fast(value)
    if fast is not None:
        return fast
    import rfc8785

    return rfc8785.dumps(value)


class _NotPlain(Exception):
    pass


_SAFE_INT = 2**53 - 1


def _canonical_fast(value: Any) -> bytes | None:
    """json.dumps gives the RFC 8785 bytes when the text is ASCII (so code-point key order is the
    UTF-16 order the RFC asks for), integers are within 2^53 and floats print without an exponent
    (integral floats as integers, as ECMAScript does); None means: ask rfc8785."""
    try:
        plain = _plain(value)
    except _NotPlain:
        return None
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode() if text.isascii() else None


def _plain(value: Any, alike: Callable[[float], bool] | None = None) -> Any:
    """value with integral floats as integers; _NotPlain for what json.dumps would not print as RFC
    8785 does, or (alike) for a float that alike says another encoder prints differently."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        raise _NotPlain
    if kind is float:
        if alike is not None and not alike(value):
            raise _NotPlain
        if value.is_integer() and -_SAFE_INT <= value <= _SAFE_INT:
            return int(value)
        if not math.isfinite(value) or "e" in repr(value) or value.is_integer():  # huge, tiny
            raise _NotPlain
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = _plain(item, alike)
        return out
    if kind is list or kind is tuple:
        return [_plain(item, alike) for item in value]
    raise _NotPlain


def assemble(
    *,
    name: str | None,
    command: dict[str, Any],
    status: dict[str, Any],
    git: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    params: dict[str, Any],
    metrics: dict[str, Any],
    env: dict[str, Any],
    hash_algorithm: str,
    extra: dict[str, Any] | None = None,
) -> Record:
    """The complete record with its id, validated against the schema of the version we write."""
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "command": command,
        "status": status,
        "git": git,
        "inputs": inputs,
        "outputs": outputs,
        "params": params,
        "metrics": metrics,
        "env": env,
        "recorder": {"name": "git-prov", "version": __version__, "hash_algorithm": hash_algorithm},
        **(extra or {}),  # optional top-level fields, such as rerun_of
    }
    record["id"] = compute_id(record)
    validate_written(record)
    return cast(Record, record)  # built as a dict for the optional **extra; the schema just checked it


def encode(record: Mapping[str, Any]) -> bytes:
    """The stored form: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


_OPENERS = frozenset(b"{[")
_CLOSERS = frozenset(b"}]")


def in_stored_form(data: bytes, record: Any) -> bool:
    """data == encode(record), for a record json.loads just parsed from data, without the pure-Python
    indent encoder (json.dumps has no C path with indent; it was most of a fetched run's cost).

    encode's text is the C encoder's (",", ": ") form F cut into lines, each indented two spaces per
    open container: after an opener of a non-empty container, after each item's comma, before a
    closer of a non-empty container. json.loads refuses raw newlines in strings, so every newline of
    data (and the first and last byte of each line) lies outside strings, where those bytes are
    structural. So data is encode's text exactly when: it ends with one newline; its lines without
    their leading spaces join to F; each line break is one encode makes; there are as many breaks as
    F needs; and each line's indent matches the depth. tests/test_canonical.py compares the two on
    adversarial input."""
    try:
        flat = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ": ")).encode()
    except (ValueError, TypeError):  # a lone surrogate has no UTF-8 form: encode() cannot write it either
        return False
    if not data.endswith(b"\n"):
        return False
    lines = data[:-1].split(b"\n")
    body = [line.lstrip(b" ") for line in lines]
    if b"".join(body) != flat or len(lines) != _line_count(flat):
        return False
    return _breaks_and_indents_ok(lines, body)


def _line_count(flat: bytes) -> int:
    """Lines encode() writes for the (",", ": ") form flat: one, plus one per comma and two per
    non-empty container outside strings. Empty pairs go first, each to a digit (no escape or quote
    involves a bracket; deleting them would make `[{}]` look empty). Then the commas and openers
    outside strings are counted (limits.outside_strings)."""
    outside = limits.outside_strings(flat.replace(b"{}", b"0").replace(b"[]", b"0"), _NOT_COUNTED,
                                     open_end_outside=False)
    commas = outside.count(b",")
    return 1 + commas + 2 * (len(outside) - commas)


_NOT_COUNTED = bytes(c for c in range(256) if c not in b'",{[')


def _breaks_and_indents_ok(lines: list[bytes], body: list[bytes]) -> bool:
    depth = 0
    last = 0
    for index, (line, text) in enumerate(zip(lines, body, strict=True)):
        if not text:
            return False
        first = text[0]
        if index:
            if first in _CLOSERS:
                if last in _OPENERS:  # "{" then "}" on the next line: encode writes "{}"
                    return False
                depth -= 1
            elif last != 44 and last not in _OPENERS:  # 44 is ","
                return False
        if len(line) - len(text) != 2 * depth:
            return False
        last = text[-1]
        if last in _OPENERS:
            depth += 1
    return depth == 0


def reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def decode(data: bytes, *, expected_id: str | None = None, where: str = "record") -> Record:
    """Parse, validate and check the id of a stored record; CorruptRecord names what is wrong.

    A record of a newer schema_version than ours is accepted when the fields we know are valid and
    its id verifies; it is returned whole, unknown fields included (schema.known_part drops them)."""
    try:
        record: Record = json.loads(data.decode("utf-8"), parse_constant=reject_constant)
    except RecursionError:
        raise CorruptRecord(f"{where}: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecord(f"{where}: not valid JSON ({exc})") from None
    return _checked(record, None, expected_id, where)


def decode_stored(data: bytes, *, expected_id: str | None = None, where: str = "record", bulk: bool = False
                  ) -> tuple[Record, bool]:
    """decode(data), and whether data is in_stored_form: the same answers, for a fetch or a verify
    of many records, through fast_stored when it can prove them (and, with bulk, the schema through
    schema.proved_valid: worth its import for many records only)."""
    fast = fast_stored(data)
    if fast is None:
        record = decode(data, expected_id=expected_id, where=where)
        return record, in_stored_form(data, record)
    return _checked(fast[0], fast[1], expected_id, where, bulk), True


def _checked(record: Record, actual: str | None, expected_id: str | None, where: str, bulk: bool = False
             ) -> Record:
    try:
        if not (bulk and proved_valid(record)):
            validate(record)
    except CorruptRecord as exc:
        raise CorruptRecord(f"{where}: {exc}") from None
    if actual is None:
        try:
            actual = compute_id(record)
        except ValueError as exc:  # 1e400 (inf) or 2**64: valid JSON, no RFC 8785 form, hence no id
            raise CorruptRecord(f"{where}: a number has no canonical JSON form ({exc})") from None
    if record["id"] != actual:
        raise CorruptRecord(f"{where}: id {record['id'][:12]} does not match its content ({actual[:12]})")
    if expected_id is not None and record["id"] != expected_id:
        raise CorruptRecord(f"{where}: stored under {expected_id[:12]} but its id is {record['id'][:12]}")
    return record


def fast_stored(data: bytes) -> tuple[Record, str] | None:
    """(json.loads(data), compute_id of it) when data is in_stored_form, proved through orjson, which
    parses and prints a record ~15x faster than json's indent encoder (a fetch or verify of 100,000
    runs spent half its checks there); None: ask decode and in_stored_form, which also say what
    is wrong. The id is not checked here, nor the schema.

    orjson's indented, key-sorted bytes equal to data make data encode(record) exactly when json
    prints the record as orjson does: both escape each character alike (tests/test_stored_form.py
    checks every one), sort keys by code point and write integers alike, which leaves floats,
    checked one by one (1e-05 against 1e-5). Then json.loads(data) is the record too, as json
    round-trips what it prints. The id's canonical bytes are orjson's compact form of the plain
    record, so the same rules give json.dumps's, which canonical() would hash; anything else
    (an integer beyond 2**53, a float with an exponent, non-ASCII text, what orjson refuses such as
    a lone surrogate or an integer beyond 64 bits) goes the slow way."""
    orjson = _orjson()
    if orjson is None:
        return None
    try:
        record = orjson.loads(data)
        if type(record) is not dict or not data.endswith(b"\n"):
            return None
        printed = orjson.dumps(record, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        if len(printed) != len(data) - 1 or not data.startswith(printed):
            return None
        body = _plain(record, _printed_alike)  # every float of the record is printed alike
        body.pop("id", None)
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, _NotPlain):
        return None
    return (cast(Record, record), _sha256_hex(text)) if text.isascii() else None


def _printed_alike(value: float) -> bool:
    return bool(_orjson().dumps(value) == float.__repr__(value).encode())


# Every character json escapes (or might), and one of each UTF-8 length.
_PROBE = "".join(map(chr, range(0x80))) + "\x85\xa0\xe9\u2028\u2029\ufeff\uffff\U0001f600\U0010ffff"


@functools.cache
def _orjson() -> Any:
    """orjson, when the installed version escapes as json does (tested for every character, but a
    version installed later is probed here once per process, ~60 us); None: the slow way only."""
    try:
        import orjson
    except ImportError:  # a dependency; an install without it is only slower
        return None
    probe = {_PROBE: [_PROBE, 1, -2, True, None, {}, []]}
    for option, kwargs in ((orjson.OPT_INDENT_2, {"indent": 2}), (0, {"separators": (",", ":")})):
        if orjson.dumps(probe, option=option | orjson.OPT_SORT_KEYS) != json.dumps(
                probe, ensure_ascii=False, sort_keys=True, **kwargs).encode():
            return None
    return orjson
