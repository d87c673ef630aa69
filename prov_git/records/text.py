"""Text that crosses a boundary: names that are not UTF-8 into a record, record strings onto a terminal.

Pure functions, no I/O.

- ``escape_name`` / ``unescape_name``: any byte string (a file name, an argv word, a branch) to a
  JSON-safe str and back, losslessly. Valid UTF-8 stays as it is; anything else, or a name that could
  be mistaken for an escaped one, is written the way git quotes paths (``core.quotePath``): in double
  quotes, with C escapes and undecodable bytes as three-digit octal (``"caf\\351.csv"``).
- ``record_text`` / ``given_text``: the same for strings a person reads whole (argv, cwd, branch,
  run name): only what is not UTF-8, or would read as escaped, takes the quoted form.
- ``inert``: a record string made safe to print: control characters (C0, DEL, C1, and the bidi
  overrides that reorder a line) become visible escapes, so a hostile run name cannot move the
  cursor, retitle the window or write the clipboard.
"""

from __future__ import annotations

import re

_C_ESCAPES = {ord("\a"): "\\a", ord("\b"): "\\b", ord("\t"): "\\t", ord("\n"): "\\n", ord("\v"): "\\v",
              ord("\f"): "\\f", ord("\r"): "\\r", ord('"'): '\\"', ord("\\"): "\\\\"}
_C_UNESCAPES = {v[1]: k for k, v in _C_ESCAPES.items()}


def _needs_quoting(text: str) -> bool:
    return text.startswith('"') or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def escape_name(raw: bytes | str) -> str:
    """A JSON-safe str for raw, reversible with unescape_name.

    A str is taken as the OS gave it (undecodable bytes as surrogates, the way os.fsdecode does).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if not _needs_quoting(text):
            return text
    out = ['"']
    i = 0
    while i < len(raw):
        # Decode the longest valid UTF-8 run from here; escape the first byte that is not.
        try:
            chunk = raw[i:].decode("utf-8")
            end = len(raw)
        except UnicodeDecodeError as bad:
            chunk = raw[i:i + bad.start].decode("utf-8")
            end = i + bad.start
        for char in chunk:
            code = ord(char)
            if code in _C_ESCAPES:
                out.append(_C_ESCAPES[code])
            elif code < 0x20 or code == 0x7F:
                out.append(f"\\{code:03o}")
            else:
                out.append(char)
        if end < len(raw):
            out.append(f"\\{raw[end]:03o}")
            end += 1
        i = end
    out.append('"')
    return "".join(out)


def unescape_name(text: str) -> bytes:
    """The bytes escape_name was given; ValueError for a malformed quoted name."""
    if not text.startswith('"'):
        return text.encode("utf-8")
    if len(text) < 2 or not text.endswith('"'):
        raise ValueError(f"malformed quoted name: {text!r}")
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _C_UNESCAPES:
            out.append(_C_UNESCAPES[nxt])
            i += 2
        elif re.fullmatch(r"[0-3][0-7]{2}", body[i + 1:i + 4]):
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            raise ValueError(f"malformed quoted name: {text!r}")
    return bytes(out)


def record_text(given: str) -> str:
    """A string as the OS gave it (an argv word, the cwd, a branch, --name; undecodable bytes as
    surrogates) the way a record holds it: as it is when it is UTF-8 and does not read as a quoted
    name, else escape_name's form. Control characters and quotes stay as typed, unlike escape_name:
    a `sh -c` script keeps its lines. given_text turns it back."""
    try:
        given.encode("utf-8")
    except UnicodeEncodeError:
        return escape_name(given)
    return given if given_text(given) == given else escape_name(given)


def given_text(held: str) -> str:
    """The string the OS gave for what record_text made of it (a rerun runs it): held as it is,
    unless it is escape_name's form of bytes that are not UTF-8, or of a text that itself reads so.
    (Older records held such a text as typed; it is read as escaped: the one case they get wrong.)"""
    if not held.startswith('"'):
        return held
    try:
        raw = unescape_name(held)
    except ValueError:
        return held
    if escape_name(raw) != held:
        return held  # not a form escape_name writes: typed as it is
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape")
    return text if given_text(text) != text else held


# C0 controls except none, DEL, C1 controls, and the bidi embedding/override/isolate marks.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in (0x09, 0x0A, 0x0D):
        return {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}[code]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def inert(text: str, newlines: bool = False) -> str:
    """text with every control character shown as an escape; newlines kept when newlines=True."""
    if newlines:
        return "\n".join(_UNSAFE.sub(_visible, line) for line in text.split("\n"))
    return _UNSAFE.sub(_visible, text)
