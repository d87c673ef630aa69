"""Validate records against the run schema of their `schema_version`.

Versions (docs/format.md "Compatibility"): schemas/run.schema.json is always the newest version,
the one this release writes; each older one is frozen as schemas/run.v<N>.schema.json. A record
that claims a version we know must match that version's schema exactly. A record of a *higher*
version is checked against the forward schema: the newest one with every `additionalProperties:
false` relaxed (the fields it adds are kept, unread) and `schema_version` any integer above ours,
so the fields we know must still be valid. Anything else (a version below 1, not an integer) is
refused.

`jsonschema` costs ~0.16 s to import, more than the rest of a record, so records are checked by a
small interpreter of exactly the keywords our schemas use. tests/test_schema.py proves it agrees with
jsonschema's Draft 2020-12 validator on valid and broken records of every version; `validate_strict`
uses jsonschema itself and refuses any keyword the interpreter does not know, so the two cannot
drift silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from prov_git.errors import InvalidRecord
from prov_git.resources import read_text

Schema = dict[str, Any]

# Version -> file. The newest version lives in run.schema.json; freeze it as run.v<N>.schema.json
# before raising it. tests/test_schema.py checks each file's schema_version const against its key.
VERSIONS = {1: "run.v1.schema.json", 2: "run.schema.json"}
NEWEST = max(VERSIONS)

KNOWN_KEYWORDS = frozenset(
    {"$schema", "$id", "title", "description", "$defs", "$ref", "type", "required",
     "additionalProperties", "properties", "items", "pattern", "enum", "const", "minimum",
     "minLength", "maxLength", "oneOf", "format"}
)


@cache
def load_schema(version: int = NEWEST) -> Schema:
    """The schema of a known version (KeyError for any other)."""
    schema: Schema = json.loads(read_text("schemas", VERSIONS[version]))
    return schema


@cache
def forward_schema() -> Schema:
    """What a record of a version newer than ours must satisfy: the newest schema, open to new fields."""
    schema: Schema = _relaxed(load_schema(NEWEST))
    schema["properties"]["schema_version"] = {"type": "integer", "minimum": NEWEST + 1}
    return schema


def _relaxed(node: Any) -> Any:
    """A copy of a schema node without `additionalProperties: false`, at every depth. The names
    under `properties` and `$defs` are field names, never keywords, so they are not dropped."""
    if isinstance(node, list):
        return [_relaxed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {name: _relaxed(sub) for name, sub in value.items()}
        elif not (key == "additionalProperties" and value is False):
            out[key] = _relaxed(value)
    return out


def version_of(record: Any) -> int | None:
    """The schema_version a record is checked against: the one it claims when that is an integer of
    1 or more (known or newer), None when it claims no such version. Not an object: the newest."""
    if not isinstance(record, dict):
        return NEWEST  # the newest schema says what is wrong with it
    claimed: Any = record.get("schema_version")
    if not _is_type(claimed, "integer") or claimed < 1:
        return None
    return int(claimed)


def is_newer(record: Any) -> bool:
    """A record of a version newer than this release knows (its unknown fields are kept, unread)."""
    version = version_of(record)
    return version is not None and version > NEWEST


def _schema_of(version: int) -> Schema:
    return load_schema(version) if version in VERSIONS else forward_schema()


def _version_problem(record: dict[str, Any]) -> str:
    if "schema_version" not in record:
        return "record: missing 'schema_version'"
    claimed = json.dumps(record["schema_version"], ensure_ascii=False)
    claimed = claimed if len(claimed) <= 40 else claimed[:37] + "..."
    return f"record.schema_version: {claimed} is not a version (an integer, 1 or more)"


def known_part(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the record with only the fields this release knows, the paths of the fields it left out).

    For a record of a newer version: its unknown fields are kept in the store, shown by `show
    --json`, and left out of what this release compares. A record of a known version has none."""
    dropped: list[str] = []
    schema = load_schema(NEWEST)
    kept = _known(record, schema, schema, "", dropped)
    return kept, dropped


def _known(value: Any, schema: Schema, root: Schema, where: str, dropped: list[str]) -> Any:
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    if isinstance(value, list) and "items" in schema:
        return [_known(item, schema["items"], root, f"{where}[{i}]", dropped) for i, item in enumerate(value)]
    if not isinstance(value, dict) or "properties" not in schema:
        return value  # free-form objects (params, metrics, env.vars) have no unknown fields
    props, closed = schema["properties"], schema.get("additionalProperties") is False
    out = {}
    for key, item in value.items():
        path = f"{where}.{key}" if where else key
        if key in props:
            out[key] = _known(item, props[key], root, path, dropped)
        elif closed:
            dropped.append(path)
        else:
            out[key] = item
    return out


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise ValueError(f"unknown JSON type {name!r}")


def _json_equal(a: Any, b: Any) -> bool:
    # JSON equality: true != 1, 1 == 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# A failure, found deep in a record: the path parts from the failing node up (innermost first),
# and what is wrong. Paths are joined only on failure: building one per node cost as much as checking.
Failure = tuple[list[str], str]
Check = Callable[[Any], "Failure | None"]


def _where(failure: Failure) -> str:
    parts, what = failure
    return "record" + "".join(reversed(parts)) + ": " + what


def _checker(root: Schema) -> Check:
    """root compiled into one closure per schema node (checked in the same order, with the same
    messages, as a plain walk of the schema would, but without looking up keywords per value)."""
    compiled: dict[int, Check] = {}
    refs: dict[str, Check] = {}

    def ref(name: str) -> Check:
        def late(value: Any) -> Failure | None:  # $defs may refer to themselves: bound on first use
            return refs[name](value)
        return late

    def node(schema: Schema) -> Check:
        if id(schema) in compiled:
            return compiled[id(schema)]
        steps: list[Check] = []
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/$defs/")
            if name not in refs:
                refs[name] = ref(name)
                refs[name] = node(root["$defs"][name])
            steps.append(refs[name])
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            expected = f"expected {' or '.join(names)}"
            if len(names) == 1 and names[0] in _TYPES:
                is_type = _TYPES[names[0]]
                steps.append(lambda v: None if is_type(v) else ([], expected))
            else:
                steps.append(lambda v: None if any(_is_type(v, t) for t in names) else ([], expected))
        if "const" in schema:
            const, must = schema["const"], f"must be {json.dumps(schema['const'])}"
            steps.append(lambda v: None if _json_equal(v, const) else ([], must))
        if "enum" in schema:
            enum, one_of = schema["enum"], f"must be one of {', '.join(map(json.dumps, schema['enum']))}"
            steps.append(lambda v: None if any(_json_equal(v, e) for e in enum) else ([], one_of))
        if "oneOf" in schema:
            shapes = [node(s) for s in schema["oneOf"]]
            steps.append(lambda v: None if sum(c(v) is None for c in shapes) == 1
                         else ([], "does not match exactly one allowed shape"))
        if _KIND_KEYWORDS & schema.keys():  # otherwise no value of any kind has more to check
            steps.append(_by_kind(schema, node))
        compiled[id(schema)] = check = _sequence(steps)
        return check

    return node(root)


def _sequence(steps: list[Check]) -> Check:
    """The first failure of steps, in order (a single step is itself)."""
    if len(steps) == 1:
        return steps[0]

    def check(value: Any) -> Failure | None:
        for step in steps:
            failure = step(value)
            if failure is not None:
                return failure
        return None
    return check


# One-type checks as plain predicates (the common case): the same answers as _is_type.
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KIND_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "minimum", "required", "properties",
                            "additionalProperties", "items"})


def _by_kind(schema: Schema, node: Callable[[Schema], Check]) -> Check:
    """The checks that depend on what the value is: a string's length and pattern, a number's
    minimum, an object's keys, an array's items (the first kind that applies is the only one)."""
    low, high = schema.get("minLength"), schema.get("maxLength")
    pattern = _regex(schema["pattern"]).search if "pattern" in schema else None
    minimum = schema.get("minimum")
    required = list(schema.get("required", ()))
    props = {key: node(sub) for key, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    extra_check = node(extra) if isinstance(extra, dict) else None
    items = node(schema["items"]) if "items" in schema else None

    def check(value: Any) -> Failure | None:
        if isinstance(value, str):
            if low is not None and len(value) < low:
                return [], "too short"
            if high is not None and len(value) > high:
                return [], "too long"
            if pattern is not None and not pattern(value):
                return [], f"does not match {schema['pattern']}"
            return None
        if minimum is not None and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and not (math.isfinite(value) and value >= minimum):
            return [], f"must be at least {minimum}"
        if isinstance(value, dict):
            for key in required:
                if key not in value:
                    return [], f"missing {key!r}"
            for key, item in value.items():
                sub = props.get(key)
                if sub is None:
                    if extra is False:
                        return [], f"unexpected {key!r}"
                    if extra_check is None:
                        continue
                    sub = extra_check
                failure = sub(item)
                if failure is not None:
                    failure[0].append(f".{key}")
                    return failure
            return None
        if isinstance(value, list) and items is not None:
            for i, item in enumerate(value):
                failure = items(item)
                if failure is not None:
                    failure[0].append(f"[{i}]")
                    return failure
        return None

    return check


@cache
def _compiled(version: int | None) -> Check:
    """The checker of a known version, or (None) of the forward schema."""
    return _checker(load_schema(version) if version is not None else forward_schema())


def _errors(record: Any, version: int | None) -> str | None:
    failure = _compiled(version)(record)
    return None if failure is None else _where(failure)


def check(record: Any) -> str | None:
    """The first schema violation in record, or None when it is valid for its version."""
    version = version_of(record)
    if version is None:
        return _version_problem(record)
    return _errors(record, version if version in VERSIONS else None)


def proved_valid(record: Any) -> bool:
    """Whether jsonschema-rs (Draft 2020-12, compiled to Rust) finds record valid for its version:
    ~4 us against ~50 for check(), for the bulk checks of fetch and verify --all. False means not
    proved, never invalid: ask check(), which decides and names the problem. It may be stricter
    than check() (a pattern's `$` before a final newline), never more lenient on what it proves:
    tests/test_schema.py holds it to that on every sample, break and generated value. Its import
    costs ~40 ms, so only a check of many records should ask."""
    version = version_of(record)
    if version is None:
        return False
    validator = _rust(version if version in VERSIONS else None)
    try:
        return validator is not None and bool(validator.is_valid(record))
    except (ValueError, OverflowError, TypeError):  # a lone surrogate, say: the slow way decides
        return False


def prepare_proof() -> None:
    """Import jsonschema-rs and compile the newest schema now: once, before worker processes fork."""
    _rust(NEWEST)


@cache
def _rust(version: int | None) -> Any:
    try:
        import jsonschema_rs
    except ImportError:
        return None
    chosen = load_schema(version) if version is not None else forward_schema()
    return jsonschema_rs.Draft202012Validator(chosen, validate_formats=False)  # `format` annotates only, as here


def check_written(record: Any) -> str | None:
    """The first violation of the version this release writes: a writer is held to its own schema."""
    return _errors(record, NEWEST)


def _raise(record: Any, problem: str | None) -> None:
    if not problem:
        return
    version = version_of(record)
    label = "" if version is None else f" version {version}" if version in VERSIONS else \
        f" (version {version}, newer than {NEWEST})"
    raise InvalidRecord(f"record does not match the run schema{label}: {problem}")


def validate(record: Any) -> None:
    """A record read from a store: valid for the version it claims, or for the forward schema."""
    _raise(record, check(record))


def validate_written(record: Any) -> None:
    """A record this release writes: exactly the newest schema, no unknown field."""
    _raise(record, check_written(record))


def validate_strict(record: Any) -> None:
    """validate, with jsonschema itself (slow import); used by tests and `verify`."""
    import jsonschema

    version = version_of(record)
    if version is None:
        _raise(record, _version_problem(record))
        return
    try:
        jsonschema.Draft202012Validator(_schema_of(version)).validate(record)
    except jsonschema.ValidationError as exc:
        where = "record" + "".join(f"[{p!r}]" for p in exc.absolute_path)
        _raise(record, f"{where}: {exc.message}")
