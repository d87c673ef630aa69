"""Names that are not UTF-8 survive a record exactly; record text cannot drive a terminal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prov_git.records.text import escape_name, inert, unescape_name


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
