"""Names that are not UTF-8 survive a record exactly; record text cannot drive a terminal."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from prov_git.records.text import escape_name, given_text, inert, record_text, unescape_name


@given(st.binary(max_size=40))
def test_every_byte_string_round_trips_and_is_json_safe(raw: bytes) -> None:
    text = escape_name(raw)
    assert unescape_name(text) == raw
    text.encode("utf-8")  # no lone surrogates: canonical JSON can carry it


@given(st.text(max_size=40))
def test_valid_names_that_cannot_be_mistaken_stay_as_they_are(name: str) -> None:
    raw = name.encode("utf-8", "surrogatepass")
    assert unescape_name(escape_name(raw)) == raw
    if not name.startswith('"') and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        assert escape_name(raw) == name


def test_escaped_the_way_git_quotes_paths() -> None:
    assert escape_name(b"caf\xe9.csv") == '"caf\\351.csv"'
    assert escape_name("caf\udce9.csv") == '"caf\\351.csv"'  # as os.fsdecode hands it over
    assert escape_name('"quoted".txt') == '"\\"quoted\\".txt"'
    assert escape_name("café.csv".encode()) == "café.csv"


def test_hostile_run_name_cannot_move_the_cursor_or_set_the_title() -> None:
    name = "ok\x1b[2K\x1b[1Gexit 0\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\u202eevil\x9b"
    shown = inert(name)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in shown)
    assert shown.startswith("ok\\x1b[2K\\x1b[1Gexit 0\\x1b]0;pwned\\x07")
    assert inert("two\nlines", newlines=True) == "two\nlines"
    assert inert("two\nlines") == "two\\nlines"


_QUOTED_LOOKING = st.sampled_from(['"', "\\", "377", "351", "n", "a", "\n", "\t"])


@given(st.one_of(st.binary(max_size=30).map(os.fsdecode), st.text(max_size=30),
                 st.lists(_QUOTED_LOOKING, max_size=12).map("".join)))
def test_a_word_as_the_os_gave_it_comes_back_from_its_record_form(given: str) -> None:
    held = record_text(given)
    held.encode("utf-8")  # JSON-safe
    assert given_text(held) == given


@given(st.text(max_size=30).filter(lambda t: not t.startswith('"')))
def test_a_utf8_word_is_held_as_typed_control_characters_and_all(given: str) -> None:
    assert record_text(given) == given  # a `sh -c` script keeps its lines


def test_words_that_are_not_utf8_or_read_as_quoted_are_held_quoted() -> None:
    assert record_text(os.fsdecode(b"caf\xe9")) == '"caf\\351"'
    assert record_text('"a\\377b"') == '"\\"a\\\\377b\\""'  # typed so: it would read as b"a\xffb"
    assert record_text('"quoted"') == '"quoted"'  # reads as nothing else
    assert given_text('"caf\\351"') == os.fsdecode(b"caf\xe9")
