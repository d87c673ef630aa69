"""codec.in_stored_form accepts exactly the byte strings `data == encode(json.loads(data))` accepts
(the check fetch and verify made before, through the pure-Python indent encoder)."""

from __future__ import annotations

import json
from typing import Any

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
