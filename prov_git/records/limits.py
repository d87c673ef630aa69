"""The size limits of one run, shared by `record` (checked before the command runs) and `fetch`
(checked before anything points at fetched data), so record never writes what fetch refuses.

Pure: no I/O, no heavy imports (record imports this module on its hot path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from itertools import accumulate

RUN_FILE = "run.json"
MAX_RECORD_BYTES = 4 << 20  # run.json: real records are a few KiB to a few hundred KiB
MAX_SIDE_BYTES = 32 << 20  # a manifest lists every file of a directory: ~150 bytes a file
MAX_RUN_BYTES = 64 << 20  # every file of one run folder together
MAX_FILES_PER_RUN = 1000  # run.json + one manifest per directory input/output
MAX_JSON_DEPTH = 128  # records nest a few levels; params may nest more, never this deep

_NOT_BRACKET_OR_QUOTE = bytes(c for c in range(256) if c not in b'[{]}"')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1, +1, -1, -1


def mib(size: int) -> str:
    return f"{size >> 20} MiB"


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text, in linear time and without recursion.
    An unterminated last string counts as outside: an upper bound is the safe side."""
    brackets = outside_strings(data, _NOT_BRACKET_OR_QUOTE, open_end_outside=True)
    # +1 or -1 a bracket, summed in C (a memoryview of signed bytes, not a generator).
    return max(accumulate(memoryview(brackets.translate(_STEPS)).cast("b")), default=0)


def outside_strings(data: bytes, others: bytes, *, open_end_outside: bool) -> bytes:
    """The bytes of a JSON text outside its strings, less those in others (a translate table of
    the bytes to drop, which must keep the quote); open_end_outside: whether the text of a last
    string that never ends counts as outside.

    Escapes go first: a run of backslashes pairs up from its start (JSON escapes take exactly one
    character), so dropping every `\\\\` pair and then every `\\"` leaves only the quotes that open
    or close strings; splitting on them leaves the text outside strings at even positions. (A
    regex over string literals backtracks quadratically on an unterminated `"\\"\\"...`.) Dropping
    `others` first (one pass in C) leaves the split little to copy.
    """
    plain = data.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in data else data
    kept = plain.translate(None, delete=others)
    if kept.count(b'"') % 2 == 0:
        # Two adjacent quotes have nothing kept between them, whether they open and close a string
        # (what a string holding none of the kept bytes leaves here) or close one and open the next:
        # dropping them keeps each kept byte inside or outside as it was, and a 5,000-file
        # manifest's 70,000 quotes are gone before the split (1.8 -> 0.8 ms). With an odd count the
        # last quote opens a string that never ends: a pair dropped before it would hand that role
        # to an earlier quote.
        kept = kept.replace(b'""', b"")
    if b'"' not in kept:
        return kept
    parts = kept.split(b'"')
    return b"".join(parts[::2] + (parts[-1:] if open_end_outside and len(parts) % 2 == 0 else []))


def file_problem(name: str, size: int) -> str | None:
    """Why one file of a run folder is too large, or None."""
    limit = MAX_RECORD_BYTES if name == RUN_FILE else MAX_SIDE_BYTES
    if size > limit:
        return f"file of {size} bytes exceeds the {mib(limit)} limit"
    return None


def run_problem(files: dict[str, int]) -> str | None:
    """Why a run folder (file name -> size) breaks a limit, or None."""
    if len(files) > MAX_FILES_PER_RUN:
        return f"{len(files)} files in one run folder (limit {MAX_FILES_PER_RUN})"
    total = sum(files.values())
    if total > MAX_RUN_BYTES:
        return f"{total} bytes in one run folder exceed the {mib(MAX_RUN_BYTES)} limit"
    return None


def depth_problem(data: bytes) -> str | None:
    if data.count(b"{") + data.count(b"[") <= MAX_JSON_DEPTH:  # fewer openers than the limit anywhere
        return None
    if json_depth(data) > MAX_JSON_DEPTH:
        return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def payload_problem(files: dict[str, bytes], checked: Mapping[str, bytes] | None = None) -> str | None:
    """The first limit a run folder about to be recorded breaks, named with its file, or None.
    checked: files whose depth passed already (the very bytes objects: a 5,000-file manifest's
    depth costs ~1 ms, and record checks it before the command and again before it stores)."""
    for name, data in files.items():
        again = checked is None or checked.get(name) is not data
        problem = file_problem(name, len(data)) or (depth_problem(data) if again else None)
        if problem is not None:
            return f"{name}: {problem}"
    return run_problem({name: len(data) for name, data in files.items()})


MAX_FUTURE_S = 86_400  # a clock may be off by hours, not by a day: later dates would take over `@`
_STAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$")


def stamp_seconds(stamp: object) -> float | None:
    """Epoch seconds of an RFC 3339 UTC stamp as records hold them (…Z, up to 9 fraction digits);
    None when it is not one or names no real date (month 13, second 99)."""
    if not isinstance(stamp, str) or not _STAMP.match(stamp):
        return None
    head, _, frac = stamp[:-1].partition(".")
    try:
        whole = datetime.fromisoformat(head + "+00:00").timestamp()
    except ValueError:
        return None
    return whole + (float("0." + frac) if frac else 0.0)


def time_problem(stamp: object, now: float) -> str | None:
    """Why a record's time cannot be taken as it is: not a real date, or more than a day ahead."""
    seconds = stamp_seconds(stamp)
    if seconds is None:
        return f"{stamp!r} is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.fraction]Z)"
    if seconds > now + MAX_FUTURE_S:
        return f"{stamp} is more than a day ahead of this clock"
    return None
