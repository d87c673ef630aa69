"""A large fetch: the checker processes write each run that passes into a stage
(.prov/.fetch-<pid>-*/, store/mirror.staging), moved into .prov/runs/ only after the ref holds the
runs, while the chain is walked. Real clones fetching from real remotes, small and large
(merge.PARALLEL_FROM) chains alike."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from prov_git.store import merge
from tests.helpers import Repo, init_project, plant_run

REF = "refs/prov/runs"


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _source(tmp_path: Path, count: int, again: int | None = None) -> tuple[Repo, list[str]]:
    """A project whose store holds one recorded run and count more planted from it (one param
    differs); again: the run planted at that index is planted once more at the end (a second run
    commit for it, which adds nothing: the chain breaks its rules deep inside)."""
    src = Repo(init_project(tmp_path / "source"))
    template = src.record("-q", "--no-exec", "-p", "i=-1", "--", "true")
    start = datetime.now(timezone.utc) - timedelta(seconds=count + 100)
    ids = [template["id"]]
    planted = []
    for i in range(count):
        at = start + timedelta(seconds=i)
        status = {**template["status"], "started_at": _stamp(at), "ended_at": _stamp(at + timedelta(seconds=0.5))}
        planted.append(plant_run(src.path, {**template, "params": {"i": i}, "status": status}))
        ids.append(planted[-1]["id"])
    if again is not None:
        plant_run(src.path, planted[again])
    return src, sorted(ids)


def _clone(tmp_path: Path, src: Repo, name: str = "clone") -> Repo:
    clone = Repo(init_project(tmp_path / name))
    clone.git("remote", "add", "origin", str(src.path))
    return clone


def _mirror(repo: Repo) -> dict[str, dict[str, bytes]]:
    folder = repo.path / ".prov" / "runs"
    return {run.name: {f.name: f.read_bytes() for f in run.iterdir()} for run in folder.iterdir()}


def _stored(repo: Repo) -> dict[str, dict[str, bytes]]:
    """Every run folder of the ref, read with plain git (ls-tree, then one cat-file --batch)."""
    listing = [line.split("\t") for line in repo.git("ls-tree", "-r", REF, "runs/").splitlines()]
    asked = "".join(f"{meta.split()[2]}\n" for meta, _ in listing).encode()
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=repo.path, input=asked, capture_output=True,
                         check=True).stdout
    stored: dict[str, dict[str, bytes]] = {}
    at = 0
    for _, path in listing:
        head_end = out.index(b"\n", at)
        size = int(out[at:head_end].split()[2])
        _, _, run_id, name = path.split("/")
        stored.setdefault(run_id, {})[name] = out[head_end + 1:head_end + 1 + size]
        at = head_end + 1 + size + 1
    return stored


def _stages(repo: Repo) -> list[str]:
    return sorted(p.name for p in (repo.path / ".prov").glob(".fetch-*"))


def test_a_large_first_fetch_mirrors_every_run_and_leaves_no_stage(tmp_path: Path) -> None:
    # enough runs for the checker processes (merge.PARALLEL_FROM), into a clone with no mirror yet
    src, ids = _source(tmp_path, merge.PARALLEL_FROM + 20)
    clone = _clone(tmp_path, src)
    done = clone.prov("fetch", "-q")
    assert done.code == 0, done.err
    assert sorted(_mirror(clone)) == ids
    assert _mirror(clone) == _stored(clone)
    assert _stages(clone) == []
    umask = os.umask(0)
    os.umask(umask)
    assert (clone.path / ".prov" / "runs").stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_fetch_into_a_mirror_with_runs_moves_each_run_and_repairs_a_left_over_folder(tmp_path: Path) -> None:
    src, ids = _source(tmp_path, 3)
    clone = _clone(tmp_path, src)
    own = clone.record("-q", "--no-exec", "-p", "mine=1", "--", "true")["id"]
    own_file = clone.path / ".prov" / "runs" / own / "run.json"
    own_before = own_file.stat().st_mtime_ns, own_file.read_bytes()
    left_over = clone.path / ".prov" / "runs" / ids[1]  # as a fetch killed mid-write could leave it
    left_over.mkdir()
    (left_over / "run.json").write_bytes(b'{"half": ')
    done = clone.prov("fetch", "-q")
    assert done.code == 0, done.err
    assert sorted(_mirror(clone)) == sorted([*ids, own])
    assert _mirror(clone) == _stored(clone)  # the left-over file rewritten with the run's bytes
    assert (own_file.stat().st_mtime_ns, own_file.read_bytes()) == own_before
    assert _stages(clone) == []


def test_a_fetch_that_sets_a_run_aside_mirrors_only_the_good_ones(tmp_path: Path) -> None:
    src, ids = _source(tmp_path, 2)
    record: dict[str, Any] = {**src.newest(), "params": {"i": "tampered"}, "id": "0f" * 32}  # not its hash
    bad = plant_run(src.path, record, reidentify=False)
    clone = _clone(tmp_path, src)
    done = clone.prov("fetch", "-q")
    assert done.code != 0 and "set aside" in done.err, done.err
    assert sorted(_mirror(clone)) == ids and bad["id"] not in ids
    assert _stages(clone) == []


def test_the_stage_of_a_killed_fetch_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    src, ids = _source(tmp_path, 1)
    clone = _clone(tmp_path, src)
    prov_dir = clone.path / ".prov"
    dead = prov_dir / ".fetch-999999999-0a1b"  # above any pid_max: no such process
    alive = prov_dir / f".fetch-{os.getpid()}-2c3d"  # this test's process, as a fetch in progress
    stale = prov_dir / f".fetch-{os.getpid()}-4e5f"  # a live id, but an hour old: not a fetch's
    for stage in (dead, alive, stale):
        (stage / ids[0]).mkdir(parents=True)
        (stage / ids[0] / "run.json").write_bytes(b"{}")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    done = clone.prov("fetch", "-q")  # sweeps first
    assert done.code == 0, done.err
    assert _stages(clone) == [alive.name]
    assert sorted(_mirror(clone)) == ids


@pytest.mark.parametrize("count", [5, merge.PARALLEL_FROM + 20])
def test_a_chain_that_breaks_a_rule_deep_inside_is_refused_whatever_its_length(tmp_path: Path, count: int) -> None:
    src, ids = _source(tmp_path, count, again=1)
    clone = _clone(tmp_path, src)
    done = clone.prov("fetch", "-q")
    assert done.code == 128 and done.err.count("\n") == 1, done.err
    twice = [run for run in ids if src.git("log", "--format=%H", f"--grep=Prov-Run: {run}", REF).count("\n") == 2]
    assert len(twice) == 1
    assert done.err.startswith("git prov: error: refused refs/prov/runs from origin: commit "), done.err
    assert f"names run {twice[0][:12]} but its tree does not add" in done.err, done.err
    assert clone.git("for-each-ref", "refs/prov/") == ""
    assert not (clone.path / ".prov" / "runs").exists() and _stages(clone) == []


def test_a_run_the_walk_sets_aside_never_reaches_the_mirror(repo: Repo, tmp_path: Path) -> None:
    # The checkers stage a run whose tip copy passes its checks; the walk then finds an older chain
    # commit holding another copy of it and sets it aside. Its staged folder must not move in with
    # the others (it did: the stage was renamed whole into an empty mirror).
    import json

    from tests.test_hostile import Evil, _encode, _recomputed, _source, _with_run

    src, (first, second) = _source(tmp_path, 2)
    evil = Evil(tmp_path, src)
    record = _recomputed(json.loads(src.blob(first)), params={"i": 99})
    other = str(record["id"])
    evil.top(_with_run(evil.forge, evil.tree(), other, {b"run.json": json.dumps(record).encode()}))
    evil.top(_with_run(evil.forge, evil.tree(), other, {b"run.json": _encode(record)}))
    repo.git("remote", "add", "evil", evil.url)
    done = repo.prov("fetch", "evil")
    assert done.code == 128 and "set aside" in done.err and "merged the 2 other runs" in done.err, done.err
    assert repo.run_ids() == sorted([first, second])
    assert sorted(_mirror(repo)) == sorted([first, second]) and _mirror(repo) == _stored(repo)
    assert _stages(repo) == []
