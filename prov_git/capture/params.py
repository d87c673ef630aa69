"""The params and metrics sections: typed `-p KEY=VALUE` assignments and JSON/YAML/TOML files.

Everything returned here is plain JSON (dict, list, str, finite float, int, bool, None) that the
record's canonical form (RFC 8785) can hold, so a bad value fails here with a message naming the
file and key rather than later as an opaque id-computation error.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prov_git.errors import ParamsError, UsageError

# RFC 8785 numbers are IEEE doubles: integers beyond this lose precision and are refused by the
# canonicalizer, so they are kept as their decimal text instead.
MAX_SAFE_INT = 2**53 - 1
# Far beyond any real config; keeps the recursive consumers downstream (canonical JSON, the diff)
# well inside Python's recursion limit and stops a self-referencing YAML alias.
MAX_DEPTH = 100
# YAML aliases share nodes, so a small file can expand to billions of values when walked.
MAX_VALUES = 1_000_000

_INT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
# A "." or an exponent is required (else it is an int); no leading zeros in the integer part, so
# "007.5" stays a string like "007". "nan"/"inf" never match: JSON cannot hold them.
_FLOAT = re.compile(r"[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")

_FORMATS = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML"}


# ---------------------------------------------------------------------------------------------
# -p KEY=VALUE


def parse_value(text: str) -> Any:
    """The typed value of a -p VALUE.

    int ("3", "-2"; not "007", which is an id), float ("0.1", "1e-3"; not "nan"/"inf"), bool
    ("true"/"false", any case), None ("null", any case), else the string unchanged. One pair of
    matching outer quotes forces a string and is removed: '"3"' -> "3", "'true'" -> "true".
    Integers beyond 2**53-1 stay strings because the canonical record cannot hold them exactly.
    """
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered == "null":
        return None
    if _INT.fullmatch(text):
        try:
            number = int(text)
        except ValueError:  # more digits than int() accepts (sys.set_int_max_str_digits)
            return text
        return number if abs(number) <= MAX_SAFE_INT else text
    if _FLOAT.fullmatch(text) and any(c in text for c in ".eE"):
        real = float(text)
        return real if math.isfinite(real) else text  # "1e999" overflows to inf
    return text


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """ "model.depth=3" -> (["model", "depth"], 3). Split on the first "=": values may hold "="."""
    key, sep, value = text.partition("=")
    keys = key.split(".")
    if not sep or any(not part.strip() for part in keys):
        raise UsageError(
            f"invalid -p argument {text!r}: the form is KEY=VALUE, with KEY a name or dotted path "
            "(model.depth=3)"
        )
    if len(keys) > MAX_DEPTH:
        raise UsageError(
            f"invalid -p argument {text[:40]!r}...: KEY has more than {MAX_DEPTH} parts"
        )
    if not _is_utf8(text):
        raise UsageError(f"invalid -p argument {text!r}: not valid UTF-8")
    return keys, parse_value(value)


def set_path(obj: dict[str, Any], keys: list[str], value: Any) -> None:
    """Set obj[k1][k2]...[kn] = value, creating nested dicts on the way.

    An intermediate that is not a dict is replaced by one (`-p model=a -p model.depth=3` gives
    {"model": {"depth": 3}}): the later setting wins, the same rule merge() applies to files.
    """
    node = obj
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


# ---------------------------------------------------------------------------------------------
# Files


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A new dict: base deep-merged with extra. Nested dicts merge; other values of extra win."""
    result = {key: _copy(value) for key, value in base.items()}
    for key, value in extra.items():
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            result[key] = merge(current, value)
        else:
            result[key] = _copy(value)
    return result


def _copy(value: Any) -> Any:
    # The result must share no container with its inputs: set_path mutates it afterwards.
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def load_structured(path: Path, *, shown: str, kind: str) -> dict[str, Any]:
    """The mapping in a JSON, YAML or TOML file (by extension; otherwise JSON, then YAML).

    shown is the path as the user typed it and kind is "params" or "metrics"; both go into every
    ParamsError. An empty YAML file is an empty mapping. YAML/TOML dates and times become ISO
    strings and non-string keys become strings; NaN, infinities, binary and sets are refused.
    """
    text = _read(path, shown=shown, kind=kind)
    fmt = _FORMATS.get(path.suffix.lower())
    try:
        if fmt == "JSON":
            data = _parse_json(text, shown=shown, kind=kind, fmt=fmt)
        elif fmt == "YAML":
            data = _parse_yaml(text, shown=shown, kind=kind, fmt=fmt)
        elif fmt == "TOML":
            data = _parse_toml(text, shown=shown, kind=kind)
        else:
            try:
                data = _parse_json(text, shown=shown, kind=kind, fmt="JSON")
            except ParamsError:
                # YAML reads most JSON too, so its error is the more useful one to report.
                data = _parse_yaml(text, shown=shown, kind=kind, fmt="JSON or YAML")
    except RecursionError:
        raise ParamsError(f"{shown}: {kind} file is nested too deeply") from None
    if not isinstance(data, dict):
        raise ParamsError(
            f"{shown}: {kind} file must hold a mapping (key: value) at the top level, "
            f"not {_describe(data)}"
        )
    return _Normalizer(shown, kind).mapping(data, [], 0)


FILE_MAX = 4 << 20  # a params or metrics file larger than this is refused (a record is <= 4 MiB)


def check_file(path: Path, *, shown: str, kind: str) -> None:
    """A params or metrics file must be a regular file of at most FILE_MAX bytes: a fifo would block
    record for ever, /dev/zero would fill the memory. stat only, so neither is ever opened."""
    try:
        st = os.stat(path)
    except OSError:
        return  # _read names a missing or unreadable file
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise ParamsError(f"{shown}: {kind} file is not a regular file (a fifo or a device); give a file")
    if st.st_size > FILE_MAX:
        raise ParamsError(f"{shown}: {kind} file is {st.st_size} bytes; at most {FILE_MAX} (4 MiB) are read")


def _read(path: Path, *, shown: str, kind: str) -> str:
    check_file(path, shown=shown, kind=kind)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(FILE_MAX + 1)
        if len(raw) > FILE_MAX:
            raise ParamsError(f"{shown}: {kind} file grew past {FILE_MAX} bytes (4 MiB) while read")
    except FileNotFoundError:
        raise ParamsError(f"{shown}: {kind} file does not exist") from None
    except IsADirectoryError:
        raise ParamsError(f"{shown}: {kind} file is a directory; give a file") from None
    except OSError as exc:
        raise ParamsError(f"{shown}: cannot read {kind} file: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")  # -sig: editors on Windows prepend a BOM
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ParamsError(f"{shown}:{line}: {kind} file is not valid UTF-8") from None


class _DuplicateKey(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object hook: a key given twice is an error, not a silent last-wins."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _parse_json(text: str, *, shown: str, kind: str, fmt: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise ParamsError(
            f"{shown}:{exc.lineno}: {kind} file is not valid {fmt}: {exc.msg}"
        ) from None
    except _DuplicateKey as exc:
        raise ParamsError(f"{shown}: {kind} file has the key {exc.args[0]!r} twice in one object; "
                          "keep one") from None


def _unique_keys(base: Any) -> Any:
    """base (a PyYAML loader class) refusing a key given twice in one mapping (YAML 1.2 forbids it;
    PyYAML keeps the last). Keys merged in with `<<` may be overridden, as YAML intends."""
    import yaml

    class Unique(base):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) or key is None:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"the key {key!r} appears twice in one mapping; keep one",
                            key_node.start_mark)
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Unique


def _parse_yaml(text: str, *, shown: str, kind: str, fmt: str) -> Any:
    import yaml

    # Always a *safe* loader (plain data only, never arbitrary Python objects); the libyaml one
    # when PyYAML was built with it, for speed.
    loader = _unique_keys(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        # The context reads as the start of the sentence: "expected a single document in the
        # stream, but found another document".
        reason = ", ".join(part for part in (exc.context, exc.problem) if part) or "malformed"
        raise ParamsError(
            f"{shown}{where}: {kind} file is not valid {fmt}: {_one_line(reason)}"
        ) from None
    except yaml.reader.ReaderError as exc:  # a forbidden character; it knows only its offset
        line = text.count("\n", 0, exc.position) + 1
        raise ParamsError(
            f"{shown}:{line}: {kind} file is not valid {fmt}: {_one_line(exc.reason)}"
        ) from None
    except yaml.YAMLError as exc:
        raise ParamsError(
            f"{shown}: {kind} file is not valid {fmt}: {_one_line(str(exc))}"
        ) from None
    return {} if data is None else data  # an empty or all-comment file


def _parse_toml(text: str, *, shown: str, kind: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = _one_line(str(exc)) or "malformed"
        line: int | None = getattr(exc, "lineno", None)  # an attribute from Python 3.14 on
        reason: str | None = getattr(exc, "msg", None)
        # Older versions only write the place into the message: "... (at line 3, column 9)".
        where = _TOML_WHERE.search(message)
        if where:
            reason = reason or message[: where.start()]
            if line is None:
                # "(at end of document)": point at the last line that has content.
                line = int(where.group(1) or text.rstrip().count("\n") + 1)
        raise ParamsError(
            f"{shown}:{line or 1}: {kind} file is not valid TOML: {_one_line(reason or message)}"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (set, frozenset)):
        return "a set"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    return f"a {type(value).__name__}"


def _is_utf8(text: str) -> bool:
    # Lone surrogates (from JSON "\ud800" or undecodable argv) cannot be stored as UTF-8.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show_path(path: list[str | int]) -> str:
    shown = ""
    for part in path:
        shown += f"[{part}]" if isinstance(part, int) else (f".{part}" if shown else part)
    return shown or "(top level)"


class _Normalizer:
    """Turns parsed file data into plain JSON, or raises a ParamsError naming the key path."""

    def __init__(self, shown: str, kind: str) -> None:
        self.shown = shown
        self.kind = kind
        self.count = 0

    def fail(self, path: list[str | int], problem: str) -> ParamsError:
        return ParamsError(f"{self.shown}: {self.kind} value {_show_path(path)} {problem}")

    def mapping(self, data: dict[Any, Any], path: list[str | int], depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for raw_key, raw_value in data.items():
            key = self.key(raw_key, path)
            if key in result:
                raise self.fail([*path, key], "appears twice once keys are made strings")
            result[key] = self.value(raw_value, [*path, key], depth + 1)
        return result

    def key(self, key: Any, path: list[str | int]) -> str:
        if isinstance(key, str):
            if not _is_utf8(key):
                raise self.fail(path, f"has a key that is not valid UTF-8: {key!r}")
            return key
        # YAML allows `1: a`, `true: b`, `2024-01-01: c`; spell them as JSON/ISO would.
        if isinstance(key, bool):
            return "true" if key else "false"
        if key is None:
            return "null"
        if isinstance(key, (int, float)):
            return repr(key)
        if isinstance(key, (datetime.date, datetime.time)):
            return key.isoformat()
        raise self.fail(path, f"has a key that is {_describe(key)}; use strings")

    def value(self, value: Any, path: list[str | int], depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise ParamsError(f"{self.shown}: {self.kind} file has more than {MAX_VALUES} values")
        if depth > MAX_DEPTH:
            raise self.fail(path, f"is nested more than {MAX_DEPTH} levels deep")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            # Kept exact as text: the canonical record holds numbers as doubles.
            return value if abs(value) <= MAX_SAFE_INT else str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail(path, f"is {value}; JSON cannot hold NaN or infinity")
            return value
        if isinstance(value, str):
            if not _is_utf8(value):
                raise self.fail(path, "is a string that is not valid UTF-8")
            return value
        if isinstance(value, dict):
            return self.mapping(value, path, depth)
        if isinstance(value, (list, tuple)):  # tuples: YAML !!pairs / !!omap entries
            return [self.value(item, [*path, i], depth + 1) for i, item in enumerate(value)]
        if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date subclass
            return value.isoformat()
        raise self.fail(path, f"is {_describe(value)}, which JSON cannot hold")


# ---------------------------------------------------------------------------------------------
# The two sections


def collect_params(assignments: Sequence[str], files: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """Params files (shown, path) deep-merged in order, then each -p KEY=VALUE applied in order."""
    params: dict[str, Any] = {}
    for shown, path in files:
        params = merge(params, load_structured(path, shown=shown, kind="params"))
    for text in assignments:
        keys, value = parse_assignment(text)
        set_path(params, keys, value)
    return params


def collect_metrics(files: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """Metrics files (shown, path), read after the command ran, deep-merged in order."""
    metrics: dict[str, Any] = {}
    for shown, path in files:
        if not path.exists():
            raise ParamsError(
                f"metrics file {shown} was not produced by the command; check the -m path"
            )
        metrics = merge(metrics, load_structured(path, shown=shown, kind="metrics"))
    return metrics
