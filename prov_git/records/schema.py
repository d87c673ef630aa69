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
from collections.abc import Mapping
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


class _Checker:
    def __init__(self, root: Schema) -> None:
        self.root = root

    def errors(self, value: Any, schema: Schema, where: str) -> str | None:
        """First violation as 'where: what', or None."""
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/$defs/")
            problem = self.errors(value, self.root["$defs"][name], where)
            if problem:
                return problem
        types = schema.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else types
            if not any(_is_type(value, t) for t in names):
                return f"{where}: expected {' or '.join(names)}"
        if "const" in schema and not _json_equal(value, schema["const"]):
            return f"{where}: must be {json.dumps(schema['const'])}"
        if "enum" in schema and not any(_json_equal(value, e) for e in schema["enum"]):
            return f"{where}: must be one of {', '.join(map(json.dumps, schema['enum']))}"
        if "oneOf" in schema:
            matches = sum(self.errors(value, s, where) is None for s in schema["oneOf"])
            if matches != 1:
                return f"{where}: does not match exactly one allowed shape"
        if isinstance(value, str):
            return self._string(value, schema, where)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if is_number and "minimum" in schema and not (math.isfinite(value) and value >= schema["minimum"]):
            return f"{where}: must be at least {schema['minimum']}"
        if isinstance(value, dict):
            return self._object(value, schema, where)
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                problem = self.errors(item, schema["items"], f"{where}[{i}]")
                if problem:
                    return problem
        return None

    def _string(self, value: str, schema: Schema, where: str) -> str | None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{where}: too short"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where}: too long"
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            return f"{where}: does not match {schema['pattern']}"
        return None

    def _object(self, value: dict[str, Any], schema: Schema, where: str) -> str | None:
        for key in schema.get("required", ()):
            if key not in value:
                return f"{where}: missing {key!r}"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = props.get(key)
            if sub is None:
                if extra is False:
                    return f"{where}: unexpected {key!r}"
                if extra is True:
                    continue
                sub = extra
            problem = self.errors(item, sub, f"{where}.{key}")
            if problem:
                return problem
        return None


def check(record: Any) -> str | None:
    """The first schema violation in record, or None when it is valid for its version."""
    version = version_of(record)
    if version is None:
        return _version_problem(record)
    schema = _schema_of(version)
    return _Checker(schema).errors(record, schema, "record")


def check_written(record: Any) -> str | None:
    """The first violation of the version this release writes: a writer is held to its own schema."""
    schema = load_schema(NEWEST)
    return _Checker(schema).errors(record, schema, "record")


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
