"""codec.in_stored_form accepts exactly the byte strings `data == encode(json.loads(data))` accepts
(the check fetch and verify made before, through the pure-Python indent encoder)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from prov_git.records import codec, encode


def old_rule(data: bytes) -> bool:
    try:
        record = json.loads(data.decode("utf-8"), parse_constant=codec.reject_constant)
        return encode(record) == data
    except (ValueError, RecursionError):  # UnicodeEncodeError (lone surrogate) included
        return False


def new_rule(data: bytes) -> bool:
    try:
        record = json.loads(data.decode("utf-8"), parse_constant=codec.reject_constant)
    except (ValueError, RecursionError):
        return False
    return codec.in_stored_form(data, record)


def same(data: bytes) -> None:
    assert new_rule(data) == old_rule(data), data


keys = st.text(st.characters(codec="utf-8") | st.sampled_from('{}[],:" \\\n\t'), max_size=6)
scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats() | st.text(st.characters() | st.sampled_from('{}[],:" \\\n\t\u2028'), max_size=8))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=24)
records = st.dictionaries(keys, values, max_size=5)


def other_forms(record: Any) -> list[bytes]:
    """The same content written the ways a hostile or foreign writer would."""
    forms = []
    for kwargs in ({"indent": 2}, {"indent": 2, "sort_keys": True, "ensure_ascii": True},
                   {"indent": 3, "sort_keys": True}, {"indent": 1, "sort_keys": True}, {"sort_keys": True},
                   {"indent": "\t", "sort_keys": True},
                   {"indent": 2, "sort_keys": True, "separators": (", ", ": ")},
                   {"indent": 2, "sort_keys": True, "separators": (",", ":")}):
        try:
            forms.append(json.dumps(record, **{"ensure_ascii": False, **kwargs}).encode() + b"\n")  # type: ignore[arg-type]
        except (ValueError, UnicodeEncodeError):
            continue
    return forms


def mutations(data: bytes, seed: int) -> list[bytes]:
    out = [data[:-1], data + b"\n", b" " + data, data.replace(b"\n", b"\r\n"), data.replace(b"\n  ", b"\n   ", 1),
           data.replace(b"\n  ", b"\n ", 1), data.replace(b",\n", b",", 1), data.replace(b": ", b":\n", 1),
           data.replace(b"{\n", b"{", 1), data.replace(b"[]", b"[\n]", 1), data.replace(b"{}", b"{\n}", 1),
           data.replace(b"{}", b"{ }", 1), data.replace(b"\n", b"\n\n", 1), data.replace(b"\n", b" \n", 1),
           data.replace(b"-0.0", b"-0", 1), data.replace(b"1e+", b"1E+", 1),
           # one break too many and one too few: the count of lines still matches
           data.replace(b"{}", b"{\n}", 1).replace(b",\n", b",", 1),
           data.replace(b"[]", b"[\n]", 1).replace(b"[\n", b"[", 1)]
    if len(data) > 2:
        at = seed % (len(data) - 1)
        out += [data[:at] + data[at + 1:], data[:at] + b" " + data[at:], data[:at] + b"\n" + data[at:],
                data[:at] + data[at + 1:at + 2] + data[at:at + 1] + data[at + 2:]]
    return out


@settings(max_examples=500, deadline=None)
@given(records, st.integers(min_value=0, max_value=10**6))
def test_agrees_with_the_indent_encoder(record: dict[str, Any], seed: int) -> None:
    try:
        data = encode(record)
    except (ValueError, UnicodeEncodeError):
        return
    same(data)
    for form in other_forms(record):
        same(form)
    for mutated in mutations(data, seed):
        same(mutated)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(st.sampled_from('{}[],:" \n0-1.e"a\\'), max_size=40).map(str.encode))
def test_agrees_on_arbitrary_bytes(data: bytes) -> None:
    same(data)
    same(data + b"\n")


def test_agrees_on_hand_made_edges() -> None:
    good = encode({"a": [1, {"b": []}, {}], "c": {"d": "x,\\\"{["}, "e": -0.0, "f": 10**40, "g": 1e300})
    assert new_rule(good)
    cases = [good, b'{\n  "a": 1,\n  "a": 1\n}\n', b'{\n  "b": 1,\n  "a": 2\n}\n', b'{\n  "a": 1e400\n}\n',
             b'{\n  "a": "\\u00e9"\n}\n', '{\n  "a": "é"\n}\n'.encode(), b'{\n  "a": "\\ud800"\n}\n',
             b'{\n  "a": -0.0\n}\n', b'{\n  "a": 1.0E2\n}\n', b'{\n  "a": 100.0\n}\n', b'{\n  "a": 1\n}\n ',
             b'{\n  "a": [\n  ]\n}\n', b'{\n  "a": [\n    1\n  ]\n}\n', b'{\n  "a": [\n    1\n   ]\n}\n',
             b'{\n  "a": [1\n  ]\n}\n', b'{\n  "a": "\\/"\n}\n', b'{}\n', b'{}', b'[]\n', b'1\n', b'{\n}\n',
             b'{\n  "a": {\n    "b": [\n      true,\n      null\n    ]\n  }\n}\n', b'\xef\xbb\xbf{}\n',
             b'{\n  "a": [\n    true,\n    null]\n}\n', b'{\n  "a": [\n    true\n    ,null\n  ]\n}\n',
             b'{\n  "a": {\n  },\n  "b": [1,\n    2\n  ]\n}\n', b'{\n  "a": {\n  },\n  "b": 1,"c": 2\n}\n']
    for data in cases:
        same(data)


# ------------------------------------------------------------------ codec.fast_stored (orjson)


def typed(value: Any) -> Any:
    """value with each number tagged by its type: 1 and 1.0 differ, as they do in a record."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return type(value).__name__, repr(value)


def agrees(data: bytes) -> bool:
    """fast_stored proves only what the slow rule holds: data in the stored form, the record json
    parses and its id; True when it proved anything."""
    proved = codec.fast_stored(data)
    if proved is None:
        return False
    assert old_rule(data), data
    record = json.loads(data)
    assert typed(proved[0]) == typed(record), data
    assert proved[1] == codec.compute_id(record), data
    return True


def orjson_forms(record: Any) -> list[bytes]:
    forms = []
    for option in (orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, orjson.OPT_INDENT_2, orjson.OPT_SORT_KEYS):
        try:
            forms.append(orjson.dumps(record, option=option) + b"\n")
        except orjson.JSONEncodeError:
            continue
    return forms


# What records mostly hold, so that fast_stored takes most of them: ASCII text with escapes, integers
# within 2**53, floats json prints without an exponent.
ascii_text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from('{}[],:" \\\n\t'), max_size=8)
usual = (st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | ascii_text
         | st.floats(min_value=1e-4, max_value=1e15) | st.floats(min_value=-1e15, max_value=-1e-4)
         | st.sampled_from([0.0, -0.0, 1.0, 2.0**52]))
usual_records = st.dictionaries(ascii_text, st.recursive(usual, lambda inner: st.lists(inner, max_size=4)
                                                          | st.dictionaries(ascii_text, inner, max_size=4),
                                                          max_leaves=24), max_size=5)


@settings(max_examples=500, deadline=None)
@given(records | usual_records, st.integers(min_value=0, max_value=10**6))
def test_fast_stored_proves_only_what_the_slow_rule_holds(record: dict[str, Any], seed: int) -> None:
    forms = orjson_forms(record) + other_forms(record)
    try:
        data = encode(record)
    except (ValueError, UnicodeEncodeError):
        data = None
    if data is not None:
        forms += [data, *mutations(data, seed)]
    for form in forms:
        agrees(form)


def test_fast_stored_takes_the_common_record_and_refuses_foreign_numbers() -> None:
    plain = {"id": "x", "a": [1, 2.5, 0.0, -0.0, 1e-4, 123456789.125, 2**53 - 1], "b": {"c": "é"[0:0]},
             "d": "tab\there \"q\" \\ \x01 \x7f", "e": {}, "f": [], "g": None, "h": True}
    assert agrees(encode(plain))
    assert codec.fast_stored(encode({**plain, "b": "é"})) is None  # non-ASCII: rfc8785 orders the keys
    for number in (1e-05, 1e16, 1e300, 5e-324, 2**53, -(2**63), 2**64, 10**30):
        for form in [encode({"a": number}), *orjson_forms({"a": number})]:
            agrees(form)  # slow rule: 1e-5 or 1e16 as orjson prints them are not the stored form
    assert codec.fast_stored(b'{\n  "a": 1e-5\n}\n') is None
    assert codec.fast_stored(b'{\n  "a": 1e16\n}\n') is None
    assert codec.fast_stored(b'{\n  "a": "\\ud800"\n}\n') is None
    assert codec.fast_stored(b'{\n  "a": 1,\n  "a": 1\n}\n') is None
    assert not codec._printed_alike(1e-05) and not codec._printed_alike(5e-05)  # orjson: 0.00001, 0.00005
    assert codec._printed_alike(0.1) and codec._printed_alike(-0.0)


@settings(max_examples=300, deadline=None)
@given(usual_records)
def test_fast_stored_takes_usual_records(record: dict[str, Any]) -> None:
    assert agrees(encode(record))


def test_orjson_escapes_every_character_as_json() -> None:
    """fast_stored relies on it; codec._orjson probes a few characters at run time."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for at in range(0, len(chars), 4096):
        text = "".join(chars[at:at + 4096])
        assert orjson.dumps(text) == json.dumps(text, ensure_ascii=False).encode(), at
    for char in chars[:0x800]:
        assert orjson.dumps([char, {char: char}], option=orjson.OPT_INDENT_2) == json.dumps(
            [char, {char: char}], ensure_ascii=False, indent=2).encode(), hex(ord(char))
    assert codec._orjson() is orjson


def test_the_bulk_path_proves_a_valid_record_and_still_refuses_a_broken_one() -> None:
    # decode_stored(bulk=True) takes jsonschema-rs's proof of validity; a record it cannot prove
    # valid is refused by the checker, in the checker's words.
    import pytest

    from prov_git.errors import CorruptRecord
    from tests.helpers import stored_form
    from tests.test_schema import reidentify, sample

    good = reidentify(sample())
    record, in_form = codec.decode_stored(stored_form(good), expected_id=good["id"], bulk=True)
    assert record == good and in_form
    broken = sample()
    broken["status"]["exit_code"] = "zero"
    broken = reidentify(broken)
    data = stored_form(broken)
    assert codec.fast_stored(data) is not None  # the stored form and the id are proved: only the schema fails
    with pytest.raises(CorruptRecord, match=r"run schema version 2: record.status.exit_code: expected"):
        codec.decode_stored(data, expected_id=broken["id"], bulk=True)
