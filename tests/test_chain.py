"""Chains of merges that add nothing (issue 11, item 17): `@`, `@~N` and `log -n N` stay bounded
however many there are, a fetch refuses a chain made of them, and the merges honest clones make
between themselves are never refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import GIT_PROV, Repo, git, init_project
from tests.test_hostile import REF, Evil, _fetch, _record, _source

MERGES = 50_000


def empty_merges(repo_path: Path, count: int, clock: int | None = None) -> str:
    """Stack count merge commits on refs/prov/runs with plain `git fast-import`, each with the tree of
    its first parent and the chain's root as second parent, dated one second apart after the tip
    (or from clock); returns the new tip."""
    tip = git(repo_path, "rev-parse", REF).strip()
    root = git(repo_path, "rev-list", "--first-parent", "--max-parents=0", REF).split()[-1]  # the chain's
    start = clock if clock is not None else int(git(repo_path, "log", "-1", "--format=%ct", REF)) + 1
    message = b"prov: merge evil\n"
    parts = []
    for n in range(count):
        parent = f"from {tip}" if n == 0 else f"from :{n}"
        parts.append(f"commit {REF}\nmark :{n + 1}\ncommitter Evil <evil@example.invalid> {start + n} +0000\n"
                     f"data {len(message)}\n".encode() + message + f"{parent}\nmerge {root}\n\n".encode())
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=repo_path, input=b"".join(parts), check=True)
    return git(repo_path, "rev-parse", REF).strip()


def _log_ids(repo: Repo, *args: str) -> list[str]:
    done = repo.prov("log", "--json", *args)
    assert done.code == 0, done.err
    return [json.loads(line)["id"] for line in done.out.splitlines()]


@pytest.mark.slow
def test_newest_runs_are_found_without_walking_the_empty_merges(repo: Repo) -> None:
    from prov_git.store import resolve, runs
    from prov_git.store.repo import open_repo

    ids = [_record(repo, "-p", f"i={i}") for i in range(3)]
    empty_merges(repo.path, MERGES)
    store = open_repo(repo.path)
    read = 0
    load = runs._load_commit

    def counted(*args: object) -> object:
        nonlocal read
        read += 1
        return load(*args)  # type: ignore[arg-type]

    runs._load_commit = counted  # type: ignore[assignment]
    try:
        assert resolve.resolve(store, "@") == ids[-1]
        assert resolve.resolve(store, "@~2") == ids[0]
    finally:
        runs._load_commit = load
    # fails on main: both walk all 50,000 merges (100,000 commits read) before the first run
    assert read <= 2 * resolve.WALK_BASE, read
    assert _log_ids(repo, "-n", "1") == [ids[-1]]
    assert _log_ids(repo, "-n", "2") == ids[:0:-1]
    assert _log_ids(repo) == ids[::-1]
    shown = repo.prov("show", "@~1", "--json")
    assert shown.code == 0 and shown.json()["id"] == ids[1], shown.err


def test_a_walk_over_an_ordinary_chain_never_falls_back(repo: Repo) -> None:
    from prov_git.store import resolve
    from prov_git.store.repo import open_repo

    ids = [_record(repo, "-p", f"i={i}") for i in range(5)]
    empty_merges(repo.path, 3)
    assert resolve.walk_newest(open_repo(repo.path), 2) == ids[:2:-1]
    assert not (repo.path / ".git" / "prov" / "index.sqlite").exists()  # the chain answered, not the index


@pytest.mark.slow
def test_fetch_refuses_a_chain_of_merges_that_add_nothing(repo: Repo, tmp_path: Path) -> None:
    src, _ = _source(tmp_path, 2)
    evil = Evil(tmp_path, src)
    empty_merges(evil.forge.bare, MERGES)
    repo.git("remote", "add", "evil", evil.url)
    code, err, _ = _fetch(repo)
    assert code == 128 and err.count("\n") == 1, err  # fails on main: accepted
    assert err.startswith("git prov: error: refused refs/prov/runs from evil: commit "), err
    assert "merges that add nothing" in err and "the limit is 1000 + 4 per other new commit" in err, err
    assert err.rstrip().endswith("nothing was merged"), err
    assert repo.git("for-each-ref", "refs/prov") == ""


def test_a_few_merges_that_add_nothing_are_fetched(repo: Repo, tmp_path: Path) -> None:
    src, ids = _source(tmp_path, 2)
    evil = Evil(tmp_path, src)
    empty_merges(evil.forge.bare, 20)
    repo.git("remote", "add", "evil", evil.url)
    code, err, _ = _fetch(repo)
    assert code == 0, err
    assert repo.run_ids() == sorted(ids)


def _count_merges(path: Path) -> tuple[int, int]:
    """(merges whose tree equals a parent's tree, all commits) on refs/prov/runs, by plain git."""
    trees = dict(line.split() for line in git(path, "log", "--format=%H %T", REF).splitlines())
    empty = total = 0
    for line in git(path, "log", "--format=%T %P", REF).splitlines():
        tree, *parents = line.split()
        total += 1
        chain = [p for p in parents if p in trees]
        empty += len(chain) > 1 and any(trees[p] == tree for p in chain)
    return empty, total


@pytest.mark.slow
def test_the_merges_of_three_clones_syncing_each_other_are_never_refused(tmp_path: Path) -> None:
    """Three clones record and sync with each other directly (every one a remote of the others) and
    through a bare hub, all at once, for many rounds; then a fresh clone fetches it all. (40 such
    rounds made 15 merges that add nothing among 104
    commits before merge_into_local moved to a remote tip that holds everything, 2 among 87 since.)"""
    import random

    hub = tmp_path / "hub.git"
    git(tmp_path, "init", "-q", "--bare", str(hub))
    clones = [Repo(init_project(tmp_path / name)) for name in ("a", "b", "c")]
    for clone in clones:
        clone.git("remote", "add", "hub", hub.as_uri())
        for other in clones:
            if other is not clone:
                clone.git("remote", "add", other.path.name, other.path.as_uri())
    rng = random.Random(11)
    for round_ in range(15):
        for clone in rng.sample(clones, 3):
            if rng.random() < 0.6:
                _record(clone, "-p", f"round={round_}", "-p", f"who={clone.path.name}")
        at_once = []  # the three at the same time: crossing merges are what makes merges that add nothing
        for clone in rng.sample(clones, 3):
            peer = rng.choice(["hub", *(c.path.name for c in clones if c is not clone)])
            at_once.append(subprocess.Popen([GIT_PROV, rng.choice(["sync", "fetch"]), peer], cwd=clone.path,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for proc in at_once:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    fresh = Repo(init_project(tmp_path / "fresh"))
    for clone in clones:
        done = fresh.prov("fetch", clone.path.as_uri())
        assert done.code == 0, done.err  # every honest merge passes the fetch rules
    assert set(fresh.run_ids()) == {r for c in clones for r in c.run_ids()}
    empty, total = _count_merges(clones[0].path)
    assert empty * 2 <= total, (empty, total)


def test_clones_that_merged_the_same_runs_in_other_orders_make_no_merge_that_adds_nothing(tmp_path: Path) -> None:
    a, b = Repo(init_project(tmp_path / "a")), Repo(init_project(tmp_path / "b"))
    snapshot = tmp_path / "a-before.git"
    git(tmp_path, "init", "-q", "--bare", str(snapshot))
    _record(a, "-p", "who=a")
    _record(b, "-p", "who=b")
    a.git("push", "-q", snapshot.as_uri(), f"{REF}:{REF}")  # what b fetches before a merges
    assert a.prov("fetch", b.path.as_uri()).code == 0  # a: merge(a, b)
    assert b.prov("fetch", snapshot.as_uri()).code == 0  # b: merge(b, a), the same tree
    done = a.prov("fetch", b.path.as_uri())
    assert done.code == 0, done.err
    # fails on main: a made a third merge whose tree is both parents' (and b would make a fourth)
    assert a.git("rev-parse", REF) == b.git("rev-parse", REF)
    assert _count_merges(a.path)[0] == 0
    push = a.prov("push", b.path.as_uri())
    assert push.code == 0, push.err
