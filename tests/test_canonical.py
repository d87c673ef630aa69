"""record.canonical (the C json encoder where it agrees) gives exactly the bytes of rfc8785."""

from __future__ import annotations

import math
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from prov_git.records import canonical

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(values)
def test_same_bytes_as_rfc8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        return  # lone surrogates: both refuse (checked below)
    assert canonical(value) == expected


def test_edge_values_match() -> None:
    cases: list[Any] = [0.0, -0.0, 1.0, -3.0, 0.1, 1e-7, 1e-4, 123456789.125, 1e16, 9.1e15, 2.0**53, 1e21, 1e300,
             5e-324, 2**53 - 1, -(2**53) + 1, {"b": 1, "a": [1.5, "x\n\u001f\"\\"]},
             {"\U0001f600": 1, "\ue000": 2, "z": 3}, ["é", "\u2028", "\x7f"], (1, 2)]
    for value in cases:
        assert canonical(value) == rfc8785.dumps(value), value


def test_what_rfc8785_refuses_is_still_refused() -> None:
    refused: list[Any] = [2**53, math.nan, math.inf, {1: "x"}, "\ud800"]
    for value in refused:
        try:
            rfc8785.dumps(value)
        except rfc8785.CanonicalizationError as expected:
            kind = type(expected)
        else:
            raise AssertionError(f"rfc8785 accepted {value!r}")
        try:
            canonical(value)
        except rfc8785.CanonicalizationError as exc:
            assert type(exc) is kind
        else:
            raise AssertionError(f"canonical accepted {value!r}")
