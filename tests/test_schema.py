"""The fast schema checker agrees with jsonschema (Draft 2020-12) on valid and broken records of every
schema version: each known version exactly, and a newer version through the forward schema."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prov_git.errors import InvalidRecord
from prov_git.records import SCHEMA_VERSION, assemble, compute_id, schema
from prov_git.resources import read_text

SCHEMA = json.loads(read_text("schemas", "run.schema.json"))
FILES = {version: json.loads(read_text("schemas", name)) for version, name in schema.VERSIONS.items()}
# A frozen version never changes: a reader of version N must accept every version-N record forever.
FROZEN_SHA256 = {1: "2f3311c1da223844cb83411584e33c3638faf543eb313d2784328b8ad1d87277"}
FUTURE = 99


def _integer(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())


def oracle(record: Any) -> bool:
    """jsonschema's verdict, with the version rule of docs/format.md written out independently."""
    if not isinstance(record, dict):
        return False
    version: Any = record.get("schema_version")
    if not _integer(version) or version < 1:
        return False
    chosen = FILES.get(int(version), schema.forward_schema())
    return bool(jsonschema.Draft202012Validator(chosen).is_valid(record))


def agree(record: Any) -> bool:
    fast = schema.check(record) is None
    assert fast == oracle(record), (schema.check(record), record)
    if schema.proved_valid(record):  # the bulk checks' proof never admits what check() refuses
        assert fast, (schema.check(record), record)
    try:
        schema.validate_strict(record)
    except InvalidRecord:
        assert not fast, record
    else:
        assert fast, (schema.check(record), record)
    return fast


def reidentify(record: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in record.items() if k != "id"}
    return {**body, "id": compute_id(body)}


def sample() -> dict[str, Any]:
    """A record of the version this release writes, as a plain dict to mutate."""
    return dict(assemble(
        name=None,
        command={"argv": ["python", "train.py"], "cwd": ".", "executed": True},
        status={"exit_code": 0, "signal": None, "started_at": "2026-01-01T00:00:00.000001Z",
                "ended_at": "2026-01-01T00:00:01.5Z", "duration_s": 1.5,
                "resources": {"max_rss_kib": 1000, "user_cpu_s": 0.5, "sys_cpu_s": 0.1}},
        git={"commit": "a" * 40, "branch": "main", "dirty": True, "snapshot": "b" * 40},
        inputs=[{"path": "data", "type": "dir", "size": 3, "digest": "sha256:" + "c" * 64, "files": 1,
                 "manifest": "manifest-" + "c" * 64 + ".json"}],
        outputs=[{"path": "m.pkl", "type": "missing", "size": None, "digest": None}],
        params={"lr": 0.1, "model": {"depth": 3}}, metrics={"acc": 0.9},
        env={"platform": {"system": "Linux", "release": "6", "machine": "x86_64", "cpu_count": 2},
             "python": {"implementation": "CPython", "version": "3.11.7", "executable": "/usr/bin/python3"},
             "packages": {"numpy": "2.0"}, "vars": {"HOME": "/root"}},
        hash_algorithm="sha256",
    ))


def sample_v1() -> dict[str, Any]:
    """A version 1 record as git prov 0.1 wrote it (a literal: version 1 never changes)."""
    return reidentify({
        "schema_version": 1, "name": "baseline",
        "command": {"argv": ["python", "train.py"], "cwd": ".", "executed": True},
        "status": {"exit_code": 0, "signal": None, "started_at": "2026-01-01T00:00:00.000001Z",
                   "ended_at": "2026-01-01T00:00:01.5Z", "duration_s": 1.5,
                   "resources": {"max_rss_kib": 1000, "user_cpu_s": 0.5, "sys_cpu_s": 0.1}},
        "git": {"commit": "a" * 40, "branch": "main", "dirty": True, "snapshot": "b" * 40},
        "inputs": [{"path": "data", "type": "dir", "size": 3, "digest": "sha256:" + "c" * 64, "files": 1,
                    "manifest": "manifest-" + "c" * 64 + ".json"}],
        "outputs": [{"path": "m.pkl", "type": "missing", "size": None, "digest": None}],
        "params": {"lr": 0.1, "model": {"depth": 3}}, "metrics": {"acc": 0.9},
        "env": {"platform": {"system": "Linux", "release": "6", "machine": "x86_64", "cpu_count": 2},
                "python": {"implementation": "CPython", "version": "3.11.7", "executable": "/usr/bin/python3"},
                "packages": {"numpy": "2.0"}, "vars": {"HOME": "/root"}},
        "recorder": {"name": "git-prov", "version": "0.1.0", "hash_algorithm": "sha256"},
    })


def sample_future() -> dict[str, Any]:
    """A record of a version newer than ours: new fields at the top, inside sections and inside entries."""
    record = copy.deepcopy(sample())
    record.update(schema_version=FUTURE, lineage={"parents": ["x"]})
    record["command"]["shell"] = "bash"
    record["outputs"][0]["producer"] = None
    record["env"]["platform"]["kernel_flags"] = [1, 2]
    return reidentify(record)


SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {"v1": sample_v1, "newest": sample, "future": sample_future}


def test_versions_table_matches_the_schema_files() -> None:
    assert schema.VERSIONS[schema.NEWEST] == "run.schema.json"
    assert SCHEMA_VERSION == schema.NEWEST == SCHEMA["properties"]["schema_version"]["const"]
    for version, body in FILES.items():
        assert body["properties"]["schema_version"] == {"const": version}
        if version != schema.NEWEST:
            assert schema.VERSIONS[version] == f"run.v{version}.schema.json"
    assert set(schema.VERSIONS) == set(range(1, schema.NEWEST + 1))
    for version, digest in FROZEN_SHA256.items():
        assert hashlib.sha256(read_text("schemas", schema.VERSIONS[version]).encode()).hexdigest() == digest


def test_forward_schema_is_the_newest_opened_to_new_fields() -> None:
    def closed(node: Any) -> Any:  # the newest schema as the forward one must read: no closed objects
        if isinstance(node, list):
            return [closed(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {k: ({n: closed(s) for n, s in v.items()} if k in ("properties", "$defs") else closed(v))
                for k, v in node.items() if not (k == "additionalProperties" and v is False)}

    expected = closed(SCHEMA)
    expected["properties"]["schema_version"] = {"type": "integer", "minimum": schema.NEWEST + 1}
    assert schema.forward_schema() == expected
    assert '"additionalProperties": false' in json.dumps(SCHEMA)  # the relaxing did something


@pytest.mark.parametrize("version", [*FILES, "forward"])
def test_schema_only_uses_keywords_the_checker_knows(version: int | str) -> None:
    body = FILES[version] if isinstance(version, int) else schema.forward_schema()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in ("properties", "$defs"):
                    assert key in schema.KNOWN_KEYWORDS, key
                    walk(value)
                else:
                    for sub in value.values():
                        walk(sub)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body)
    jsonschema.Draft202012Validator.check_schema(body)


@pytest.mark.parametrize("kind", SAMPLES)
def test_valid_record_passes_both(kind: str) -> None:
    assert agree(SAMPLES[kind]())


def test_writers_are_held_to_their_own_version() -> None:
    assert sample()["schema_version"] == SCHEMA_VERSION
    schema.validate_written(sample())
    for other in (sample_v1(), sample_future()):
        schema.validate(other)
        with pytest.raises(InvalidRecord, match="schema_version: must be 2"):
            schema.validate_written(other)


# Breaking a field this release knows: invalid in every version, newer ones included.
BREAK_KNOWN = [
    lambda r: r.pop("git"),
    lambda r: r.update(id="A" * 64),
    lambda r: r["command"].update(argv=["ok", 3]),
    lambda r: r["command"].update(cwd="/abs"),
    lambda r: r["command"].update(cwd="../up"),
    lambda r: r["command"].update(cwd="a/../b"),
    lambda r: r["status"].update(exit_code=True),
    lambda r: r["status"].update(exit_code=1.5),
    lambda r: r["status"].update(signal=0),
    lambda r: r["status"].update(duration_s=-1),
    lambda r: r["status"].update(started_at="2026-01-01 00:00:00"),
    lambda r: r["status"].update(resources={}),
    lambda r: r["git"].update(commit="abc"),
    lambda r: r["git"].update(snapshot=None, dirty="yes"),
    lambda r: r["inputs"].append({"path": "x", "type": "fifo", "size": 1, "digest": None}),
    lambda r: r["inputs"][0].update(digest="md5:" + "0" * 32),
    lambda r: r["inputs"][0].update(manifest="../../etc/passwd"),
    lambda r: r["inputs"][0].update(size=-3),
    lambda r: r["outputs"][0].pop("digest"),
    lambda r: r.update(params=[1]),
    lambda r: r["env"]["vars"].update(N=1),
    lambda r: r["env"]["packages"].update(numpy=None),
    lambda r: r["env"].update(gpu=[{"name": "x"}]),
    lambda r: r["recorder"].update(name="other"),
    lambda r: r["recorder"].update(hash_algorithm="md5"),
    lambda r: r.update(name="x" * 201),
    lambda r: r.pop("schema_version"),
    lambda r: r.update(schema_version=0),
    lambda r: r.update(schema_version=-3),
    lambda r: r.update(schema_version=1.5),
    lambda r: r.update(schema_version="2"),
    lambda r: r.update(schema_version=True),
    lambda r: r.update(schema_version=None),
]
# A field this release does not know: invalid in a version it knows (that version must match exactly).
UNKNOWN_FIELD = [
    lambda r: r.update(extra=1),
    lambda r: r["command"].update(shell="bash"),
    lambda r: r["status"]["resources"].update(gpu=1),
    lambda r: r["outputs"][0].update(written=True, color="red"),
    lambda r: r["env"]["platform"].update(kernel="x"),
    lambda r: r["recorder"].update(build="abc"),
]


@pytest.mark.parametrize("kind", SAMPLES)
@pytest.mark.parametrize("mutate", BREAK_KNOWN, ids=range(len(BREAK_KNOWN)))
def test_broken_known_fields_fail_both_in_every_version(kind: str, mutate: Any) -> None:
    record = SAMPLES[kind]()
    mutate(record)
    assert not agree(record)
    with pytest.raises(InvalidRecord, match="does not match the run schema"):
        schema.validate(record)


@pytest.mark.parametrize("kind", ["v1", "newest"])
@pytest.mark.parametrize("mutate", UNKNOWN_FIELD, ids=range(len(UNKNOWN_FIELD)))
def test_a_known_version_with_an_unknown_field_fails_both(kind: str, mutate: Any) -> None:
    record = SAMPLES[kind]()
    mutate(record)
    assert not agree(record)
    with pytest.raises(InvalidRecord, match=r"run schema version [12]: record.*: unexpected"):
        schema.validate(record)


@pytest.mark.parametrize("mutate", UNKNOWN_FIELD, ids=range(len(UNKNOWN_FIELD)))
def test_a_newer_version_may_add_fields_anywhere(mutate: Any) -> None:
    record = sample_future()
    mutate(record)
    assert agree(record)


@pytest.mark.parametrize("version", [schema.NEWEST + 1, FUTURE, 10**6, 7.0])
def test_any_integer_above_the_newest_is_a_newer_version(version: float) -> None:
    record = {**sample_future(), "schema_version": version}
    assert agree(record) and schema.is_newer(record)


def test_known_versions_are_not_newer() -> None:
    assert not schema.is_newer(sample_v1()) and not schema.is_newer(sample())
    assert not schema.is_newer({**sample(), "schema_version": "99"})


def test_known_part_names_and_drops_exactly_the_unknown_fields() -> None:
    future = sample_future()
    kept, dropped = schema.known_part(future)
    assert sorted(dropped) == ["command.shell", "env.platform.kernel_flags", "lineage", "outputs[0].producer"]
    assert kept["command"] == sample()["command"] and "lineage" not in kept
    assert kept["params"] == future["params"] and kept["env"]["vars"] == future["env"]["vars"]
    assert "shell" in future["command"]  # the record itself is untouched
    assert schema.known_part(sample()) == (sample(), [])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
PATHS = [("command", "argv"), ("status", "exit_code"), ("status", "resources"), ("git", "commit"),
         ("git", "branch"), ("inputs",), ("env", "platform"), ("env", "vars"), ("name",), ("metrics",),
         ("schema_version",), ("command", "novel"), ("novel",), ("outputs",)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(SAMPLES)), st.sampled_from(PATHS), JSON)
def test_checker_agrees_with_jsonschema_on_generated_values(kind: str, path: tuple[str, ...], value: Any) -> None:
    record = SAMPLES[kind]()
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    agree(record)


@pytest.mark.parametrize("name", ["run.schema.json", "run.v1.schema.json"])
def test_every_registered_section_is_a_required_field_of_the_schema(name: str) -> None:
    """The section registry and the schema cannot drift: a row without its field (or a renamed
    field) would make every diff fail on a KeyError."""
    from prov_git.records.sections import SECTIONS

    doc = json.loads(read_text("schemas", name))
    for section in SECTIONS:
        assert section.key in doc["required"], (section.name, section.key)
        assert section.key in doc["properties"], (section.name, section.key)


class Walker:
    """The checker as it was before it was compiled into closures (a plain walk of the schema per
    value): the compiled one must give exactly its first message, path included, or None."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def errors(self, value: Any, node: dict[str, Any], where: str) -> str | None:
        if "$ref" in node:
            problem = self.errors(value, self.root["$defs"][node["$ref"].removeprefix("#/$defs/")], where)
            if problem:
                return problem
        types = node.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else types
            if not any(schema._is_type(value, t) for t in names):
                return f"{where}: expected {' or '.join(names)}"
        if "const" in node and not schema._json_equal(value, node["const"]):
            return f"{where}: must be {json.dumps(node['const'])}"
        if "enum" in node and not any(schema._json_equal(value, e) for e in node["enum"]):
            return f"{where}: must be one of {', '.join(map(json.dumps, node['enum']))}"
        if "oneOf" in node and sum(self.errors(value, s, where) is None for s in node["oneOf"]) != 1:
            return f"{where}: does not match exactly one allowed shape"
        if isinstance(value, str):
            if "minLength" in node and len(value) < node["minLength"]:
                return f"{where}: too short"
            if "maxLength" in node and len(value) > node["maxLength"]:
                return f"{where}: too long"
            if "pattern" in node and not re.search(node["pattern"], value):
                return f"{where}: does not match {node['pattern']}"
            return None
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if is_number and "minimum" in node and not (math.isfinite(value) and value >= node["minimum"]):
            return f"{where}: must be at least {node['minimum']}"
        if isinstance(value, dict):
            for key in node.get("required", ()):
                if key not in value:
                    return f"{where}: missing {key!r}"
            props, extra = node.get("properties", {}), node.get("additionalProperties", True)
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
        if isinstance(value, list) and "items" in node:
            for i, item in enumerate(value):
                problem = self.errors(item, node["items"], f"{where}[{i}]")
                if problem:
                    return problem
        return None


def walked(record: Any) -> str | None:
    version = schema.version_of(record)
    if version is None:
        return schema.check(record)  # the version rule is not the walk's
    root = FILES.get(version, schema.forward_schema())
    return Walker(root).errors(record, root, "record")


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(SAMPLES)), st.sampled_from(PATHS), JSON)
def test_compiled_checker_gives_the_walks_first_message(kind: str, path: tuple[str, ...], value: Any) -> None:
    record = SAMPLES[kind]()
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema.check(record) == walked(record)
    if kind == "newest":
        assert schema.check_written(record) == Walker(SCHEMA).errors(record, SCHEMA, "record")


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_compiled_checker_names_the_same_deep_path(kind: str) -> None:
    record = SAMPLES[kind]()
    record["inputs"][0]["size"] = -1
    assert schema.check(record) == walked(record) and schema.check(record) is not None
    assert "record.inputs[0]" in (schema.check(record) or "")



def _nodes(node: Any) -> list[dict[str, Any]]:
    """Every object of a schema, at any depth."""
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _nodes(value))]
    if isinstance(node, list):
        return [n for value in node for n in _nodes(value)]
    return []


PATTERNS = sorted({node["pattern"] for version in FILES for node in _nodes(FILES[version]) if "pattern" in node})
PIECES = st.sampled_from(["/", ".", "..", "\n", "\r", "\x00", "\x1c", "\u2028", "a", "f", "0", "9", "Z", "T", ":",
                          "-", "sha256:", "blake3:", "manifest-", ".json", "0123456789abcdef" * 4, "\u00e9", "\ud800"])


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(PATTERNS), st.lists(PIECES | st.characters(), max_size=8))
def test_the_proof_of_a_pattern_is_never_more_lenient_than_pythons(pattern: str, pieces: list[str]) -> None:
    import re

    import jsonschema_rs

    text = "".join(pieces)
    proof = jsonschema_rs.Draft202012Validator({"type": "string", "pattern": pattern})
    try:
        admitted = proof.is_valid(text)
    except ValueError:  # a lone surrogate: schema.proved_valid says not proved, the slow way decides
        return
    if admitted:
        assert re.search(pattern, text), (pattern, text)


def test_the_proof_is_asked_only_of_a_version_it_knows() -> None:
    assert schema.proved_valid(sample()) and schema.proved_valid(sample_v1()) and schema.proved_valid(sample_future())
    surrogate = sample()
    surrogate["git"]["commit"] = "\ud800"  # jsonschema-rs cannot take it: not proved
    bad: list[Any] = [{**sample(), "schema_version": 0}, {**sample(), "schema_version": "2"}, [], "x", None, surrogate]
    for record in bad:
        assert not schema.proved_valid(record) and schema.check(record) is not None
