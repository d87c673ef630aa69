"""Properties over generated data (hypothesis): codec, diff symmetry, union merge, redaction."""

from __future__ import annotations

import json
import os
import re
import string
import tempfile
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, cast

import pygit2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prov_git import records as rec
from prov_git.errors import CorruptRecord
from prov_git.records.schema import validate_strict
from prov_git.redact import Redactor
from prov_git.store import merge

# PROV_EXAMPLES=2000 for a long hunt; the default keeps the suite quick.
EXAMPLES = int(os.environ.get("PROV_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEX = "0123456789abcdef"
MAX_INT = 2**53 - 1

# ------------------------------------------------------------------------------ generators

texts = st.text(max_size=12)
hexes = st.text(HEX, min_size=40, max_size=40)
digests = st.text(HEX, min_size=64, max_size=64).map(lambda h: f"sha256:{h}")
json_scalars = st.none() | st.booleans() | st.integers(-MAX_INT, MAX_INT) | \
    st.floats(allow_nan=False, allow_infinity=False) | texts
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(texts, inner, max_size=4), max_leaves=12)
json_objects = st.dictionaries(texts, json_values, max_size=5)

# A path part is any text but "/", NUL, "." and ".."; paths are repo-relative POSIX paths.
parts = st.text(st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1,
                max_size=8).filter(lambda p: p not in (".", ".."))
paths = st.lists(parts, min_size=1, max_size=4).map("/".join)


@st.composite
def stamps(draw: st.DrawFn) -> tuple[str, str, float]:
    start = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(
        microseconds=draw(st.integers(0, 10**15)))
    took = draw(st.integers(0, 10**10))
    end = start + timedelta(microseconds=took)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return start.strftime(fmt), end.strftime(fmt), took / 1e6


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["file", "dir", "symlink", "missing"]))
    path = draw(paths)
    if kind == "missing":
        return {"path": path, "type": kind, "size": None, "digest": None}
    entry: dict[str, Any] = {"path": path, "type": kind, "size": draw(st.integers(0, 2**40)), "digest": draw(digests)}
    if kind == "dir":
        entry["files"] = draw(st.integers(0, 10**6))
        entry["manifest"] = f"manifest-{entry['digest'][7:]}.json"
    if kind == "symlink":
        entry["target"] = draw(st.text(min_size=1, max_size=20))
    return entry


def unique_paths(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({e["path"]: e for e in items}.values())


@st.composite
def records(draw: st.DrawFn) -> rec.Record:
    started, ended, took = draw(stamps())
    killed = draw(st.booleans())
    commit = draw(st.none() | hexes)
    dirty = draw(st.booleans())
    resources = draw(st.none() | st.fixed_dictionaries({
        "max_rss_kib": st.integers(0, 2**40), "user_cpu_s": st.floats(0, 1e6), "sys_cpu_s": st.floats(0, 1e6)}))
    env = {
        "platform": {"system": draw(texts), "release": draw(texts), "machine": draw(texts),
                     "cpu_count": draw(st.none() | st.integers(1, 1024))},
        "python": {"implementation": draw(texts), "version": draw(texts), "executable": draw(st.none() | texts)},
        "packages": draw(st.dictionaries(texts, texts, max_size=4)),
        "vars": draw(st.dictionaries(texts, texts, max_size=6)),
    }
    return rec.assemble(
        name=draw(st.none() | st.text(max_size=40)),
        command={"argv": draw(st.lists(st.text(max_size=10), max_size=5)),
                 "cwd": draw(st.just(".") | paths), "executed": draw(st.booleans())},
        status={"exit_code": None if killed else draw(st.integers(-255, 255)),
                "signal": draw(st.integers(1, 64)) if killed else None,
                "started_at": started, "ended_at": ended, "duration_s": took, "resources": resources},
        git={"commit": commit, "branch": draw(st.none() | texts), "dirty": dirty,
             "snapshot": draw(hexes) if dirty else None},
        inputs=unique_paths(draw(st.lists(entries(), max_size=4))),
        outputs=unique_paths(draw(st.lists(entries(), max_size=4))),
        params=draw(json_objects), metrics=draw(json_objects), env=env, hash_algorithm="sha256",
    )


# ------------------------------------------------------------------------------ the codec


@SETTINGS
@given(records())
def test_codec_round_trips(record: rec.Record) -> None:
    data = rec.encode(record)
    back = rec.decode(data, expected_id=record["id"])
    assert back == record
    assert rec.encode(back) == data  # one canonical stored form
    assert rec.compute_id(back) == record["id"]
    validate_strict(back)  # the fast checker and jsonschema agree that it is valid


@SETTINGS
@given(records(), st.text(min_size=1, max_size=20))
def test_any_edit_changes_the_id(record: rec.Record, name: str) -> None:
    assume(name != record["name"])
    edited = {**record, "name": name}
    assert rec.compute_id(edited) != record["id"]
    with pytest.raises(CorruptRecord):
        rec.decode(rec.encode(edited))


# ------------------------------------------------------------------------------ diff


def _diff(a: rec.Record, b: rec.Record) -> dict[str, Any]:
    from prov_git.diff.compare import Side, compare
    from prov_git.diff.paths import NONE

    return compare(Side(a), Side(b), None, None, NONE)


@SETTINGS
@given(records())
def test_diff_of_a_record_with_itself_is_identical(record: rec.Record) -> None:
    sections = _diff(record, record)
    assert not [name for name, s in sections.items() if s["changed"]]


FLIP = {"added": "removed", "removed": "added", "changed": "changed", "modified": "modified"}
_IN_LIST = re.compile(r"\[\d+\]")


def _change_key(path: str, kind: str, old: Any, new: Any, delta: Any, *, exact_lists: bool) -> str:
    # A change inside a list is named by list positions that depend on how the two lists were
    # aligned (see test_diff_mirror_inside_lists); without exact_lists only the list is compared.
    if not exact_lists and _IN_LIST.search(path):
        return json.dumps([path[: _IN_LIST.search(path).start()], "inside a list"])  # type: ignore[union-attr]
    return json.dumps([path, kind, old, new, delta], sort_keys=True)


def _view(section: dict[str, Any], *, swap: bool, exact_lists: bool) -> Any:
    """What a section says, or (swap) what the section of the reverse diff should say."""
    out: dict[str, Any] = {"changed": section["changed"]}
    if "changes" in section:
        keys = set()
        for c in section["changes"]:
            delta = c.get("delta")
            if swap:
                keys.add(_change_key(c["path"], FLIP[c["kind"]], c["new"], c["old"],
                                     -delta if delta is not None else None, exact_lists=exact_lists))
            else:
                keys.add(_change_key(c["path"], c["kind"], c["old"], c["new"], delta, exact_lists=exact_lists))
        out["changes"] = sorted(keys)
    if "details" in section:
        added, removed = sorted(section["added"]), sorted(section["removed"])
        out["added"], out["removed"] = (removed, added) if swap else (added, removed)
        out["modified"] = sorted(section["modified"])
    if "a" in section:
        out["a"], out["b"] = (section["b"], section["a"]) if swap else (section["a"], section["b"])
    return out


SECTION_KEYS = ("name", "command", "status", "git", "inputs", "outputs", "params", "metrics", "env")


@st.composite
def record_pairs(draw: st.DrawFn) -> tuple[rec.Record, rec.Record]:
    """Two records that share some sections (like two runs of one project) and differ in others."""
    a, other = draw(records()), draw(records())
    taken = draw(st.sets(st.sampled_from(SECTION_KEYS)))
    body = {k: cast(dict[str, Any], other if k in taken else a)[k] for k in a if k != "id"}
    return a, cast(rec.Record, {**body, "id": rec.compute_id(body)})


@SETTINGS
@given(record_pairs())
def test_diff_a_b_mirrors_diff_b_a(pair: tuple[rec.Record, rec.Record]) -> None:
    a, b = pair
    ab, ba = _diff(a, b), _diff(b, a)
    assert ab.keys() == ba.keys()
    for name in ab:
        assert _view(ab[name], swap=True, exact_lists=False) == _view(ba[name], swap=False, exact_lists=False), name


def test_diff_mirror_inside_lists() -> None:
    from prov_git.diff.structure import raw_changes

    a, b = {"argv": ["", ""]}, {"argv": ["0", "0", "", "0"]}
    ab = {json.dumps([p, FLIP[k], new, old]) for p, k, old, new in raw_changes(a, b)}
    ba = {json.dumps([p, k, old, new]) for p, k, old, new in raw_changes(b, a)}
    assert ab == ba


# ------------------------------------------------------------------------------ union merge


@cache
def _scratch() -> pygit2.Repository:
    return pygit2.init_repository(tempfile.mkdtemp(prefix="prov-props-"), bare=True)


def _run_tree(git: pygit2.Repository, runs: dict[str, bytes]) -> pygit2.Tree:
    """A store tree holding runs/<id[:2]>/<id>/run.json for each run id -> content."""
    fans: dict[str, dict[str, pygit2.Oid]] = {}
    for run_id, content in runs.items():
        folder = git.TreeBuilder()
        folder.insert("run.json", git.create_blob(content), pygit2.enums.FileMode.BLOB)
        fans.setdefault(run_id[:2], {})[run_id] = folder.write()
    top = git.TreeBuilder()
    for fan, folders in fans.items():
        builder = git.TreeBuilder()
        for run_id, oid in folders.items():
            builder.insert(run_id, oid, pygit2.enums.FileMode.TREE)
        top.insert(fan, builder.write(), pygit2.enums.FileMode.TREE)
    root = git.TreeBuilder()
    root.insert("runs", top.write(), pygit2.enums.FileMode.TREE)
    tree = git.get(root.write())
    assert isinstance(tree, pygit2.Tree)
    return tree


# Few distinct ids on purpose, so sets overlap and share fan-out folders; content is a function of
# the id, as it is for content-addressed runs.
run_ids = st.sampled_from([f"{a}{b}" + "0" * 62 for a in "0a" for b in "0123"] + ["a0" + "1" * 62, "a0" + "2" * 62])
run_sets = st.frozensets(run_ids, max_size=8)


def _content(run_id: str) -> bytes:
    return json.dumps({"id": run_id}).encode()


def _union(git: pygit2.Repository, a: pygit2.Tree | None, b: pygit2.Tree) -> pygit2.Tree:
    tree = git.get(merge.union(git, a, b).tree)
    assert isinstance(tree, pygit2.Tree)
    return tree


def _tree(ids: frozenset[str]) -> pygit2.Tree:
    return _run_tree(_scratch(), {i: _content(i) for i in ids})


@SETTINGS
@given(run_sets, run_sets, run_sets)
def test_union_merge_is_commutative_associative_idempotent(a: frozenset[str], b: frozenset[str],
                                                           c: frozenset[str]) -> None:
    git = _scratch()
    ta, tb, tc = _tree(a), _tree(b), _tree(c)
    ab = _union(git, ta, tb)
    assert ab.id == _union(git, tb, ta).id  # commutative
    assert ab.id == _tree(a | b).id  # it is the set union, as a tree
    assert _union(git, ab, tc).id == _union(git, ta, _union(git, tb, tc)).id  # associative
    assert _union(git, ta, ta).id == ta.id  # idempotent
    assert _union(git, None, ta).id == ta.id


# ------------------------------------------------------------------------------ redaction

KEY = bytes(range(32))
ALNUM = string.ascii_letters + string.digits


def _body(n: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=n, max_size=n + 8).filter(lambda s: any(c.isdigit() for c in s))


secret_shapes = st.one_of(
    _body(36).map(lambda b: "ghp_" + b),
    _body(30).map(lambda b: "github_pat_" + b),
    _body(20).map(lambda b: "glpat-" + b),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda b: "AKIA" + b),
    _body(24).map(lambda b: "sk_live_" + b),
    _body(24).map(lambda b: "xoxb-" + b),
    _body(35).map(lambda b: "AIza" + b[:35]),
    _body(32).map(lambda b: "hf_" + b),
    st.tuples(_body(10), _body(20), _body(20)).map(lambda t: f"eyJ{t[0]}.eyJ{t[1]}.{t[2]}"),
    _body(40).map(lambda b: f"-----BEGIN OPENSSH PRIVATE KEY-----\n{b}\n-----END OPENSSH PRIVATE KEY-----"),
)
surroundings = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
separators = st.sampled_from([" ", ",", ";", "'", '"', ":", "(", "\n", "\t", "=", "/"])


@st.composite
def hidden_secrets(draw: st.DrawFn) -> tuple[str, str]:
    """(a value with a secret-shaped token somewhere inside it, the token)."""
    token = draw(secret_shapes)
    before, after = draw(surroundings), draw(surroundings)
    value = before + draw(separators) + token + draw(separators) + after
    return value, token


url_passwords = _body(10)


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(hidden_secrets(), st.text(string.ascii_uppercase + "_", min_size=1, max_size=12), url_passwords)
def test_redaction_never_lets_a_secret_shaped_value_through(hidden: tuple[str, str], name: str, pw: str) -> None:
    value, token = hidden
    assume(pw not in value)  # the harmless text around the token stays, and may spell the password
    r = Redactor(KEY)
    url = f"https://someone:{pw}@example.com/path"
    env = r.env({name: value, "URL_" + name: url})
    argv = r.argv(["prog", value, f"--opt={value}", "--opt", value, f"{name}={value}", url])
    params = r.tree({"a": value, "nested": {"list": [value, {"k": value}]}, value: 1, "u": url})
    stored = json.dumps([env, argv, params], ensure_ascii=False)
    assert token not in stored
    assert pw not in stored
    # and a marker stands where the secret was
    assert "REDACTED" in env[name] and "REDACTED" in env["URL_" + name]
    assert argv[0] == "prog" and argv[3] == "--opt"
    assert all("REDACTED" in argv[i] for i in (1, 2, 4, 5, 6))


_MARKERS = re.compile(r"\[REDACTED hmac-sha256:[0-9a-f]{16}\]")
secret_names = st.tuples(st.sampled_from(["", "db_", "MY_APP_", "client-", "aws_", "x."]),
                         st.sampled_from(["password", "PASSWORD", "secret", "Secret", "token", "TOKEN", "api_key",
                                          "apiKey", "ACCESS_KEY", "passphrase", "credentials", "private_key",
                                          "auth", "dsn", "mysql_pwd"]),
                         st.sampled_from(["", "_1", "-prod", "2"])).map("".join)
# A value that starts with "--" after a flag is the next option to every CLI parser: not generated.
plain_secrets = st.text(ALNUM + "!#%&*+,-./:;<>?@^_~", min_size=8, max_size=30).filter(
    lambda s: s.strip() == s and not s.startswith("--"))


@settings(max_examples=EXAMPLES * 3, deadline=None)
@given(secret_names, plain_secrets | st.integers(10**7, 2**53).map(str))
def test_values_under_secret_names_never_get_through(name: str, secret: str) -> None:
    r = Redactor(KEY)
    typed: Any = int(secret) if secret.isdigit() else secret
    stored = json.dumps([
        r.env({name.upper().replace("-", "_").replace(".", "_"): secret}),
        r.argv(["prog", f"--{name}", secret, f"--{name}={secret}", f"{name.replace('-', '_')}={secret}"]),
        r.tree({name: typed, "nested": {name: [typed]}}),
    ], ensure_ascii=False)
    assert secret not in _MARKERS.sub("", stored)
    # Inside a longer string (a shell snippet, a query) ; & | end a value and a leading - starts
    # the next option: a secret without them.
    if not set(secret) & set(";&|") and not secret.startswith("-"):
        inline = r.value(f"{name}={secret}") + r.value(f"prog --{name} {secret} -v")
        assert secret not in _MARKERS.sub("", inline)
