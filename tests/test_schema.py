"""The fast schema checker agrees with jsonschema (Draft 2020-12) on valid and broken records."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prov_git.errors import InvalidRecord
from prov_git.records import assemble, schema
from prov_git.resources import read_text

SCHEMA = json.loads(read_text("schemas", "run.schema.json"))
STRICT = jsonschema.Draft202012Validator(SCHEMA)


def sample() -> dict[str, Any]:
    return assemble(
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
    )


def agree(record: Any) -> bool:
    fast = schema.check(record) is None
    assert fast == STRICT.is_valid(record), (schema.check(record), record)
    return fast


def test_schema_only_uses_keywords_the_checker_knows() -> None:
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

    walk(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_valid_record_passes_both() -> None:
    assert agree(sample())


MUTATIONS = [
    lambda r: r.pop("git"),
    lambda r: r.update(extra=1),
    lambda r: r.update(id="A" * 64),
    lambda r: r.update(schema_version=2),
    lambda r: r.update(schema_version=True),
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
    lambda r: r["status"]["resources"].update(gpu=1),
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
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=range(len(MUTATIONS)))
def test_broken_records_fail_both(mutate: Any) -> None:
    record = copy.deepcopy(sample())
    mutate(record)
    assert not agree(record)
    with pytest.raises(InvalidRecord):
        schema.validate(record)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
PATHS = [("command", "argv"), ("status", "exit_code"), ("status", "resources"), ("git", "commit"),
         ("git", "branch"), ("inputs",), ("env", "platform"), ("env", "vars"), ("name",), ("metrics",)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), JSON)
def test_checker_agrees_with_jsonschema_on_generated_values(path: tuple[str, ...], value: Any) -> None:
    record = copy.deepcopy(sample())
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    agree(record)
