"""The query language (pure), log --where/--sort/--name/--since, compare, NAME@ references, forget,
and the derived index (deleted, corrupt, concurrent records) in real repositories."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from prov_git.records import query as q
from tests.helpers import GIT_PROV, Repo

REC: dict[str, Any] = {"name": "train", "params": {"lr": 0.1, "epochs": 10, "opt": "adam", "axes.labelsize": 8,
                                                 "nested": {"depth": 2}, "flag": True, "none": None},
                       "metrics": {"val": {"acc": 0.9}}, "git": {"dirty": False, "branch": None}}


# ------------------------------------------------------------------------------ grammar (pure)


@pytest.mark.parametrize(("expr", "expected"), [
    ("params.lr = 0.1", True), ("params.epochs = 10.0", True), ("params.epochs > 9", True),
    ("params.lr != 0.2", True), ("params.opt = adam", True), ("params.opt = 'adam'", True),
    ('params.opt = "adam"', True), ("params.opt ~ 'ad*'", True), ("params.opt ~ 'x*'", False),
    ("params.opt > 'aaa'", True), ("params.epochs = '10'", False), ("params.epochs != '10'", False),
    ("params.missing != 1", False), ("params.missing = 1", False), ("not params.missing = 1", True),
    ("params.missing exists", False), ("params.nested exists", True), ("params.nested.depth >= 2", True),
    ("params.`axes.labelsize` = 8", True), ("params.flag = true", True), ("params.flag = 1", False),
    ("params.flag > false", False), ("params.none = null", True), ("params.none != null", False),
    ("git.branch = null", True), ("git.dirty = false", True), ("metrics.val.acc >= 0.9", True),
    ("name ~ 'tr?in'", True), ("params.nested = 2", False),
    # precedence: not > and > or
    ("params.lr = 1 or params.epochs = 10 and params.opt = adam", True),
    ("(params.lr = 1 or params.epochs = 10) and params.opt = sgd", False),
    ("params.lr = 1 or params.epochs = 10 and params.opt = sgd", False),
    ("not params.lr = 1 and params.epochs = 10", True),
    ("not (params.lr = 0.1 or params.epochs = 1)", False),
    ("params.lr=0.1 and(params.opt=adam)", True),
])
def test_evaluate(expr: str, expected: bool) -> None:
    assert q.evaluate(q.parse(expr), REC) is expected


@pytest.mark.parametrize(("expr", "position"), [
    ("params.lr >", 12), ("params.lr > 1 and", 18), ("(params.lr > 1", 15), ("params.lr 1", 11),
    ("params..lr = 1", 8), ("params.lr = 'open", 13), ("params.`a = 1", 8), ("", 1), ("and = 1", 1),
    ("params.lr ! 1", 11), ("params.lr = 1 )", 15),
])
def test_errors_name_the_position(expr: str, position: int) -> None:
    with pytest.raises(q.QueryError, match=f"position {position}\\b") as caught:
        q.parse(expr)
    assert caught.value.exit_code == 2


def test_values_and_keys() -> None:
    assert q.parse("a = -1.5e2") == q.Compare(("a",), "=", -150.0)
    assert q.parse("a = 2026-11-30") == q.Compare(("a",), "=", "2026-11-30")
    assert q.parse("a.`b``c`.d exists") == q.Exists(("a", "b`c", "d"))
    assert q.key_text(("params", "axes.labelsize")) == "params.`axes.labelsize`"
    assert q.parse_sort("-metrics.acc") == q.SortKey(("metrics", "acc"), True)


def test_sort_missing_last_ties_newest_first() -> None:
    rows = [{"i": 0, "v": 2}, {"i": 1}, {"i": 2, "v": 1}, {"i": 3, "v": 2}, {"i": 4, "v": "s"}]
    up = [r["i"] for r in q.sort_records(rows, [q.parse_sort("v")])]
    down = [r["i"] for r in q.sort_records(rows, [q.parse_sort("-v")])]
    assert up == [2, 0, 3, 4, 1]
    assert down == [0, 3, 2, 4, 1]  # numbers before strings either way


# ------------------------------------------------------------------------------ real repositories


def rec(repo: Repo, *params: str, name: str = "sweep") -> str:
    args = [x for p in params for x in ("-p", p)]
    result = repo.prov("record", "-q", "--no-exec", "--name", name, *args, "--", "true")
    assert result.code == 0, result.err
    return str(repo.newest()["id"])


def ids(result: Any) -> list[str]:
    assert result.code == 0, result.err
    return [json.loads(line)["id"] for line in result.out.splitlines()]


@pytest.fixture
def sweep(repo: Repo) -> tuple[Repo, list[str]]:
    made = [rec(repo, f"lr={lr}", "epochs=10", f"opt={opt}") for lr, opt in
            [(0.1, "adam"), (0.3, "sgd"), (0.2, "adam"), (0.3, "adam")]]
    made.append(rec(repo, "epochs=5", "other.x=1", name="baseline"))
    return repo, made


EXPRS = ["params.lr > 0.15", "params.lr = 0.3 and params.opt = adam", "not params.lr exists",
         "params.opt ~ 'a*' or params.epochs < 10", "params.lr != 0.3", "name = baseline",
         "params.epochs = 10.0 and not (params.opt = sgd)", "env.platform exists", "params = 1",
         "status.exit_code = null", "git.dirty = false"]


def test_log_where_agrees_with_the_reference_semantics(sweep: tuple[Repo, list[str]]) -> None:
    repo, _ = sweep
    everything = [json.loads(line) for line in repo.prov("log", "--json").out.splitlines()]
    for expr in EXPRS:
        want = [r["id"] for r in everything if q.evaluate(q.parse(expr), r)]
        assert ids(repo.prov("log", "--json", "--where", expr)) == want, expr


def test_log_sort_name_limit_and_several_where(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    assert ids(repo.prov("log", "--json", "--sort", "-params.lr")) == [made[3], made[1], made[2], made[0], made[4]]
    assert ids(repo.prov("log", "--json", "--sort", "params.lr", "-n", "2")) == [made[0], made[2]]
    assert ids(repo.prov("log", "--json", "--sort", "params.opt", "--sort", "-params.lr")) == \
        [made[3], made[2], made[0], made[1], made[4]]
    assert ids(repo.prov("log", "--json", "--name", "base*")) == [made[4]]
    assert ids(repo.prov("log", "--json", "--where", "params.epochs = 10", "--where", "params.opt = sgd")) == [made[1]]
    assert ids(repo.prov("log", "--json", "--since", "2999-01-01")) == []
    assert len(ids(repo.prov("log", "--json", "--until", "2999-01-01"))) == 5


def test_bad_where_is_a_usage_error_naming_the_position(repo: Repo) -> None:
    bad = repo.prov("log", "--where", "params.lr >")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "position 12" in bad.err, bad.err
    assert repo.prov("log", "--since", "yesterday").code == 2
    assert repo.prov("compare", "--sort", "-").code == 2


def test_name_references(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    assert repo.prov("show", "--json", "sweep@").json()["id"] == made[3]
    assert repo.prov("show", "--json", "sweep@~2").json()["id"] == made[1]
    assert repo.prov("show", "--json", "baseline@").json()["id"] == made[4]
    missing = repo.prov("show", "nobody@")
    assert missing.code == 128 and "no run named 'nobody'" in missing.err
    assert repo.prov("show", "sweep@~9").code == 128
    diff = repo.prov("diff", "baseline@", "sweep@")
    assert diff.code == 0 and "[baseline]" in diff.out and "[sweep]" in diff.out, diff.out


def test_compare_shows_what_varies(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    out = repo.prov("compare", "--format", "json", "--where", "params.epochs = 10", "--sort", "-params.lr").json()
    assert out["columns"] == ["id", "name", "started_at", "status", "params.lr", "params.opt"]
    assert out["constant"] == {"params.epochs": 10}
    assert [r["id"] for r in out["rows"]] == [made[3], made[1], made[2], made[0]]
    assert out["rows"][0]["params.lr"] == 0.3 and out["rows"][0]["status"] == "not run"
    every = repo.prov("compare", "--format", "json").json()
    assert every["columns"][4:] == ["params.epochs", "params.lr", "params.opt", "params.other.x"]
    lacking = next(r for r in every["rows"] if r["id"] == made[4])
    assert "params.lr" not in lacking and lacking["params.other.x"] == 1
    shown = repo.prov("compare", "--all", "--columns", "git.dirty", "--format", "json", "-n", "2").json()
    assert "params.epochs" in shown["columns"] and shown["columns"][-1] == "git.dirty"
    given = repo.prov("compare", made[0][:8], "sweep@", "--format", "json").json()
    assert [r["id"] for r in given["rows"]] == [made[0], made[3]]


def test_compare_formats(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    csv = repo.prov("compare", "--format", "csv").out.splitlines()
    assert csv[0] == "id,name,started_at,status,params.epochs,params.lr,params.opt,params.other.x"
    assert csv[1].startswith(made[4] + ",baseline,") and csv[1].endswith(",,1")
    tsv = repo.prov("compare", "--format", "tsv").out.splitlines()
    assert tsv[0].split("\t")[0] == "id"
    md = repo.prov("compare", "--format", "md", "--where", "params.epochs = 10").out.splitlines()
    assert md[0].startswith("| id | name |") and md[1].startswith("|---|") and "`params.epochs` = `10`" in md[-1]
    table = repo.prov("compare", env={"COLUMNS": "60"}).out.splitlines()
    assert all(len(line) <= 60 for line in table), table
    assert table[0].split()[:2] == ["id", "name"]
    few = repo.prov("compare", "-n", "2").out.splitlines()  # transposed: one column per run
    assert few[0].split() == [made[4][:12], made[3][:12]] and few[1].split()[0] == "name"


def test_forget_hides_runs_but_show_by_id_still_works(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    done = repo.prov("forget", "sweep@", "--reason", "wrong data")
    assert done.code == 0, done.err
    assert made[3] not in ids(repo.prov("log", "--json"))
    assert made[3] not in ids(repo.prov("log", "--json", "--where", "params.lr = 0.3"))
    assert repo.prov("show", "--json", "sweep@").json()["id"] == made[2]
    assert repo.prov("show", "--json", "@").json()["id"] == made[4]
    assert repo.prov("show", "--json", made[3][:10]).json()["id"] == made[3]
    assert ids(repo.prov("log", "--json", "--forgotten")) == [made[3]]
    listed = repo.prov("log", "--forgotten")
    assert "wrong data" in listed.out and "Prov Tester" in listed.out
    again = repo.prov("forget", made[3])
    assert again.code == 0 and "nothing to forget" in again.err
    tree = repo.git("ls-tree", "-r", "--name-only", "refs/prov/runs", "forgotten").split()
    assert len(tree) == 1 and tree[0].startswith(f"forgotten/{made[3][:2]}/{made[3]}/")
    assert repo.prov("verify", "--all").code == 0


def _index(repo: Repo) -> Path:
    return repo.path / ".git" / "prov" / "index.sqlite"


def test_index_deleted_corrupt_or_rewound_is_rebuilt(sweep: tuple[Repo, list[str]]) -> None:
    repo, made = sweep
    assert len(ids(repo.prov("log", "--json", "--where", "params exists"))) == 5
    _index(repo).unlink()
    assert len(ids(repo.prov("log", "--json", "--where", "params exists"))) == 5
    _index(repo).write_bytes(b"this is not a database" * 100)
    for extra in ("-wal", "-shm"):
        Path(str(_index(repo)) + extra).unlink(missing_ok=True)
    assert len(ids(repo.prov("log", "--json", "--where", "params exists"))) == 5
    # plain git rewinds the ref by two runs: the index follows the tree, not its memory
    old = repo.git("rev-parse", "refs/prov/runs~2").strip()
    repo.git("update-ref", "refs/prov/runs", old)
    assert ids(repo.prov("log", "--json", "--where", "params exists")) == made[2::-1]
    conn = sqlite3.connect(_index(repo))
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 3
    conn.close()


def test_bulk_build_through_cat_file_agrees_with_libgit2(sweep: tuple[Repo, list[str]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A build reads many folders through one `git cat-file --batch`; without git on PATH, libgit2."""
    from prov_git.store import index
    from prov_git.store.repo import open_repo

    repo, made = sweep
    repo.git("gc", "-q")  # packed, deltified blobs: what the bulk reader is for
    store = open_repo(repo.path)
    monkeypatch.setattr(index, "BULK", 1)
    selection = index.Selection(where=q.parse("params.epochs >= 5 and env.platform exists"),
                                sort=(q.parse_sort("-params.lr"),))
    answers = []
    for path in (os.environ["PATH"], ""):
        _index(repo).unlink(missing_ok=True)
        monkeypatch.setenv("PATH", path)
        answers.append(index.select(store, selection))
    assert answers[0] == answers[1] == [made[3], made[1], made[2], made[0], made[4]]  # ties: newest first


def test_first_n_by_a_sort_key_is_the_head_of_the_full_sort(repo: Repo) -> None:
    """compare -n / log -n --sort read each kind of value from the index in order, then runs lacking
    the key: the same runs, in the same order, as sorting everything."""
    from prov_git.store import index
    from prov_git.store.repo import open_repo

    for value in ("3", "1", "abc", "true", "null", "1", "2.5", "zz", "false", "[1]"):
        rec(repo, f"k={value}", "other=1")
    rec(repo, "other=2")  # lacks the key
    rec(repo, "other=3")
    store = open_repo(repo.path)
    for spec in ("params.k", "-params.k", "-params.k,params.other", "params.other,-params.k"):
        sort = tuple(q.parse_sort(s) for s in spec.split(","))
        for where in (None, q.parse("params.other <= 2")):
            everything = index.select(store, index.Selection(where=where, sort=sort))
            for limit in range(len(everything) + 2):
                head = index.select(store, index.Selection(where=where, sort=sort, limit=limit))
                assert head == everything[:limit], (spec, where, limit)


def test_an_or_stays_inside_the_where(sweep: tuple[Repo, list[str]]) -> None:
    """`a or b` with --name, --since or a forgotten run: the other filters still apply to both sides."""
    repo, made = sweep
    assert ids(repo.prov("log", "--json", "--where", "params.lr = 0.3 or params.epochs = 5", "--name", "base*")) == \
        [made[4]]
    late = repo.prov("log", "--json", "--where", "params.lr = 0.3 or params.opt = adam", "--since", "2999-01-01")
    assert ids(late) == []
    assert repo.prov("forget", made[3], "--reason", "test").code == 0
    assert made[3] not in ids(repo.prov("log", "--json", "--where", "params.lr = 0.3 or params.opt = adam"))


def test_newest_n_matching_are_the_head_of_the_full_answer(sweep: tuple[Repo, list[str]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """log -n N --where first probes the newest WINDOW runs one by one; found N there or not, the
    answer is the head of the full one (forgotten runs, --since and --name included)."""
    from prov_git.store import index
    from prov_git.store.repo import open_repo

    repo, made = sweep
    assert repo.prov("forget", made[2], "--reason", "test").code == 0
    store = open_repo(repo.path)
    extras: list[dict[str, Any]] = [{}, {"forgotten": True}, {"name": "sw*", "since": 0.0}]
    for window in (1, 2, 3, 100):
        monkeypatch.setattr(index, "WINDOW", window)
        for expr in [*EXPRS, "not params.lr = 0.3 or env.platform exists", "not (params exists and env exists)"]:
            for extra in extras:
                sel = index.Selection(where=q.parse(expr), **extra)
                everything = index.select(store, sel)
                for limit in range(len(everything) + 2):
                    head = index.select(store, index.Selection(where=sel.where, limit=limit, **extra))
                    assert head == everything[:limit], (window, expr, extra, limit)


def test_record_does_no_index_work(repo: Repo) -> None:
    rec(repo, "lr=1")
    assert not _index(repo).exists()
    assert repo.prov("log", "--where", "params.lr = 1").code == 0 and _index(repo).exists()


@pytest.mark.slow
def test_concurrent_records_and_queries_lose_nothing(repo: Repo) -> None:
    rec(repo, "i=-1")
    assert repo.prov("log", "--where", "params.i exists").code == 0
    writers = [subprocess.Popen([GIT_PROV, "record", "-q", "--no-exec", "-p", f"i={i}", "--", "true"],
                                cwd=repo.path) for i in range(8)]
    readers = [subprocess.Popen([GIT_PROV, "log", "--json", "--where", "params.i >= 0"], cwd=repo.path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(4)]
    assert all(p.wait(120) == 0 for p in writers)
    assert all(p.wait(120) == 0 for p in readers)
    found = ids(repo.prov("log", "--json", "--where", "params.i >= 0", "--sort", "params.i"))
    assert len(found) == 8
    values = [json.loads(x)["params"]["i"] for x in repo.prov("log", "--json", "--sort", "params.i").out.splitlines()]
    assert values == [-1, *range(8)]


# ------------------------------------------------------------------------------ one index, however built


VARIED: list[dict[str, Any]] = [
    {"lr": 0.1, "epochs": 10, "opt": "adam", "flag": True, "none": None, "list": [1, "a"], "empty": {},
     "axes.labelsize": 8, "odd`key": "x", "nested": {"deep": {"x": 1.5}}},
    {"lr": 1, "epochs": "10", "flag": False, "nested": {"deep": {"x": "1.5"}}},
    {"lr": 0.1, "epochs": 10, "opt": "adam", "flag": 1},  # 1, not true: a different row
    {"lr": 1e300, "big": 2 ** 70, "neg": -0.0, "unicode": "\u00e9\u4e2d", "empty": []},
    {},
]


def _contents_of(path: Path) -> dict[str, list[Any]]:
    """Every row by natural keys (ids are numbered differently by each way of building)."""
    conn = sqlite3.connect(path)
    queries = {
        "runs": "SELECT r.id, r.folder, r.started, r.started_at, r.ended_at, r.name, e.hash FROM runs r "
                "LEFT JOIN envs e ON e.eid = r.env",
        # a run's fields are exactly its range lo..hi
        "fields": "SELECT r.id, k.key, v.t, v.num, v.txt FROM fields f JOIN runs r ON f.run = r.rid "
                  "AND f.fid BETWEEN r.lo AND r.hi JOIN keys k ON k.kid = f.kid JOIN vals v ON v.vid = f.vid "
                  "AND v.kid = f.kid",
        "all fields": "SELECT count(*) FROM fields",
        # each value once, and only values some run holds
        "values": "SELECT k.key, v.t, v.num, v.txt, count(f.fid) > 0 FROM vals v JOIN keys k ON k.kid = v.kid "
                  "LEFT JOIN fields f ON f.vid = v.vid GROUP BY v.vid",
        "distinct values": "SELECT count(*) = (SELECT count(*) FROM (SELECT DISTINCT kid, t, num, txt FROM vals)) "
                           "FROM vals",
        "env_fields": "SELECT e.hash, k.key, f.t, f.num, f.txt FROM env_fields f JOIN envs e ON e.eid = f.env "
                      "JOIN keys k ON k.kid = f.kid",
        "files": "SELECT r.id, f.digest, f.path, f.role, f.inside FROM files f JOIN runs r ON r.rid = f.run",
        "fans": "SELECT name, tree FROM fans", "meta": "SELECT key, value FROM meta",
        "forgotten": "SELECT id, reason FROM forgotten",
    }
    try:
        return {name: sorted(conn.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}
    finally:
        conn.close()


# Builds the index in a fresh process (one thread: the forked parser is allowed), through the bulk
# cat-file reader and the forked parser in batches of 2 runs. With "die", the child dies after its
# third run: the parent must parse everything itself.
_FAST_BUILD = """
import os, sys
from prov_git.store import index
from prov_git.store.repo import open_repo
index.BULK = index.PARALLEL = 1
index.BATCH = 2
forked, parent, add = [], os.getpid(), index._Parser.add
def counted(batches):
    forked.append(1)
    return original(batches)
def dying(self, *args):
    if os.getpid() != parent and self.rid >= 3:
        os._exit(3)
    add(self, *args)
original, index._forked = index._forked, counted
if sys.argv[2] == "die":
    index._Parser.add = dying
index.open_index(open_repo(sys.argv[1])).close()
print(len(forked))
"""


def test_fast_build_and_one_run_at_a_time_give_the_same_index(repo: Repo) -> None:
    """The first build (cat-file stream, forked parser, batches) and the incremental refresh after
    every record hold the same rows, and so give the same answers; so does a build whose parser dies."""
    import sys

    from prov_git.store import index
    from prov_git.store.repo import open_repo

    repo.write("data/a.csv", "1\n")
    repo.write("data/sub/b.csv", "2\n")
    for n, params in enumerate(VARIED * 2):
        repo.write("p.json", json.dumps(params))
        repo.write("m.json", json.dumps({"acc": n / 10, "ok": n % 2 == 0}))
        repo.write("data/a.csv", f"{n % 3}\n")
        files = ["-i", "data"] if n % 2 else ["-o", "data"]
        done = repo.prov("record", "-q", "--no-exec", "--name", f"run{n % 3}", "--params-file",
                         "p.json", "-m", "m.json", *files, "--", "true")
        assert done.code == 0, done.err
        assert repo.prov("log", "-n", "1", "--where", "params exists").code == 0  # refreshed by one run
    assert repo.prov("forget", "run1@", "--reason", "test").code == 0
    assert repo.prov("log", "-n", "1", "--where", "params exists").code == 0
    one_by_one = _contents_of(_index(repo))
    assert len(one_by_one["runs"]) == 10 and one_by_one["all fields"] == [(len(one_by_one["fields"]),)]
    assert one_by_one["distinct values"] == [(1,)] and all(row[-1] for row in one_by_one["values"])
    assert len(one_by_one["values"]) < len(one_by_one["fields"])  # shared values are stored once
    exprs = ["params.lr = 1", "params.flag = true", "params.flag = 1", "params.epochs = '10'", "params.list exists",
             "params.nested.deep.x >= 1", "params.`axes.labelsize` = 8", "params.`odd``key` = x", "params.empty exists",
             "metrics.ok = true and not params.opt exists", "env.platform exists", "params.big > 1e20"]
    store = open_repo(repo.path)
    selections = [index.Selection(where=q.parse(e)) for e in exprs] + [
        index.Selection(sort=(q.parse_sort("-params.lr"), q.parse_sort("metrics.acc"))),
        index.Selection(sort=(q.parse_sort("params.epochs"),), limit=3)]
    answers = [index.select(store, s) for s in selections]
    assert [len(a) for a in answers[:3]] == [2, 2, 1]  # run1@ (flag 1) is forgotten
    for mode, forks in (("live", "1"), ("die", "1")):
        _index(repo).unlink()
        built = subprocess.run([sys.executable, "-c", _FAST_BUILD, str(repo.path), mode], capture_output=True,
                               text=True)
        assert built.returncode == 0 and built.stdout.split() == [forks], built.stderr
        assert _contents_of(_index(repo)) == one_by_one, mode
        assert [index.select(store, s) for s in selections] == answers, mode
    # plain git drops the newest runs: a refresh deletes their rows, and the values no run holds any more
    repo.git("update-ref", "refs/prov/runs", "refs/prov/runs~3")
    index.select(store, selections[0])
    rewound = _contents_of(_index(repo))
    assert len(rewound["runs"]) < 10 and len(rewound["values"]) < len(one_by_one["values"])
    _index(repo).unlink()
    index.select(store, selections[0])
    assert _contents_of(_index(repo)) == rewound
