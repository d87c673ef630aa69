"""Validate records against schemas/run.schema.json.

`jsonschema` costs ~0.16 s to import, more than the rest of a record, so records are checked by a
small interpreter of exactly the keywords our schema uses. tests/test_schema.py proves it agrees with
jsonschema's Draft 2020-12 validator on valid and broken records; `validate_strict` uses jsonschema
itself and refuses any keyword the interpreter does not know, so the two cannot drift silently.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any

from prov_git.errors import InvalidRecord
from prov_git.resources import read_text

Schema = dict[str, Any]

KNOWN_KEYWORDS = frozenset(
    {"$schema", "$id", "title", "description", "$defs", "$ref", "type", "required",
     "additionalProperties", "properties", "items", "pattern", "enum", "const", "minimum",
     "minLength", "maxLength", "oneOf", "format"}
)


@cache
def load_schema() -> Schema:
    schema: Schema = json.loads(read_text("schemas", "run.schema.json"))
    return schema


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
    """The first schema violation in record, or None when it is valid."""
    schema = load_schema()
    return _Checker(schema).errors(record, schema, "record")


def validate(record: Any) -> None:
    problem = check(record)
    if problem:
        raise InvalidRecord(f"record does not match the run schema: {problem}")


def validate_strict(record: Any) -> None:
    """Validate with jsonschema itself (slow import); used by tests and `verify`."""
    import jsonschema

    schema = load_schema()
    try:
        jsonschema.Draft202012Validator(schema).validate(record)
    except jsonschema.ValidationError as exc:
        where = "record" + "".join(f"[{p!r}]" for p in exc.absolute_path)
        raise InvalidRecord(f"record does not match the run schema: {where}: {exc.message}") from None
