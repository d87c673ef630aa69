"""which, lineage and status on a real two-stage pipeline; a fetch that brings runs (and forget
entries) the index has not seen."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Repo, git


@pytest.fixture
def pipeline(repo: Repo) -> tuple[Repo, str, str]:
    """prepare: raw.csv -> clean/ (a directory); train: clean/ -> model.txt."""
    repo.write("raw.csv", "1,2\n3,4\n")
    prep = repo.record("--name", "prepare", "-i", "raw.csv", "-o", "clean", "--",
                       "sh", "-c", "mkdir -p clean && tr 1 9 < raw.csv > clean/a.csv && echo x > clean/b.csv")
    train = repo.record("--name", "train", "-i", "clean", "-o", "model.txt", "--",
                        "sh", "-c", "cat clean/*.csv > model.txt")
    return repo, prep["id"], train["id"]


def test_which_names_producers_users_and_files_inside_directories(pipeline: tuple[Repo, str, str]) -> None:
    repo, prep, train = pipeline
    out = repo.prov("which", "model.txt", "clean/a.csv", "raw.csv", "--json")
    assert out.code == 1, out.err  # raw.csv was produced by no run
    model, inside, raw = out.json()
    assert model["path"] == "model.txt" and model["digest"].startswith("sha256:")
    assert [p["run"] for p in model["produced_by"]] == [train] and model["used_by"] == []
    assert set(model["produced_by"][0]) == {"run", "started_at", "path"}
    assert [(p["run"], p["path"]) for p in inside["produced_by"]] == [(prep, "clean/a.csv")]
    assert [u["run"] for u in inside["used_by"]] == [train]
    assert raw["produced_by"] == [] and [u["run"] for u in raw["used_by"]] == [prep]
    assert repo.prov("which", "model.txt").code == 0
    assert repo.prov("which", "clean").code == 0
    gone = repo.prov("which", "nope.txt")
    assert gone.code == 128 and "nope.txt does not exist" in gone.err
    repo.write("model.txt", "edited\n")
    assert repo.prov("which", "model.txt").code == 1


def test_lineage_walks_upstream_by_digest(pipeline: tuple[Repo, str, str]) -> None:
    repo, prep, train = pipeline
    graph = repo.prov("lineage", "model.txt", "--format", "json").json()
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert nodes[f"run:{train}"] == {"id": f"run:{train}", "kind": "run", "run": train, "name": "train",
                                     "argv": ["sh", "-c", "cat clean/*.csv > model.txt"]}
    kinds = {(e["from"].split(":")[0], e["to"].split(":")[0], e["kind"]) for e in graph["edges"]}
    assert kinds == {("run", "file", "generated"), ("file", "run", "used")}
    raw = next(n for n in graph["nodes"] if n.get("path") == "raw.csv")
    assert {"from": raw["id"], "to": f"run:{prep}", "kind": "used"} in graph["edges"]
    assert f"run:{prep}" in nodes
    shallow = repo.prov("lineage", "model.txt", "--depth", "1", "--format", "json").json()
    assert f"run:{prep}" not in {n["id"] for n in shallow["nodes"]}
    tree = repo.prov("lineage", "train@")
    assert tree.code == 0 and "[prepare]" in tree.out and "raw.csv" in tree.out and "source" in tree.out
    dot = repo.prov("lineage", "model.txt", "--format", "dot").out
    assert dot.startswith("digraph lineage {") and f'"run:{train}"' in dot
    assert repo.prov("lineage", "missing/file.txt").code == 128


def test_lineage_ignores_a_producer_that_ended_after_the_consumer_started(repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    first = repo.record("-i", "a.txt", "-o", "b.txt", "--", "sh", "-c", "cp a.txt b.txt")
    # a later run writes the same content as a.txt: it cannot have fed the first run
    repo.record("-o", "a2.txt", "--", "sh", "-c", "echo a > a2.txt")
    graph = repo.prov("lineage", first["id"], "--format", "json").json()
    assert [n["run"] for n in graph["nodes"] if n["kind"] == "run"] == [first["id"]]


def test_status_states_and_unpushed(pipeline: tuple[Repo, str, str], tmp_path: Path) -> None:
    repo, prep, train = pipeline
    report = repo.prov("status", "--json").json()
    assert report["unpushed"] is None  # no remote: unknown, not zero
    states = {o["path"]: (o["state"], o["run"], o["changed_inputs"]) for o in report["outputs"]}
    assert states == {"clean": ("fresh", prep, []), "model.txt": ("fresh", train, [])}
    repo.write("raw.csv", "changed\n")
    (repo.path / "model.txt").unlink()
    now = {o["path"]: (o["state"], o["changed_inputs"]) for o in repo.prov("status", "--json").json()["outputs"]}
    assert now == {"clean": ("stale", ["raw.csv"]), "model.txt": ("missing", [])}
    repo.write("clean/b.csv", "edited\n")
    assert repo.prov("status", "--json").json()["outputs"][0]["state"] == "modified"
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", bare.as_uri())
    assert repo.prov("push").code == 0
    assert repo.prov("status", "--json").json()["unpushed"] == 0
    repo.record("--no-exec", "--", "true")
    assert repo.prov("status", "--json").json()["unpushed"] == 1
    assert "unpushed: 1" in repo.prov("status").out


def test_fetch_brings_runs_and_forget_entries_the_index_has_not_seen(repo: Repo, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", bare.as_uri())
    mine = repo.record("--no-exec", "-p", "lr=1", "--", "true")["id"]
    assert repo.prov("push").code == 0
    git(tmp_path, "clone", "-q", bare.as_uri(), "other")
    other = Repo(tmp_path / "other")
    assert other.prov("fetch").code == 0
    theirs = other.record("--no-exec", "-p", "lr=2", "--", "true")["id"]
    assert other.prov("forget", mine, "--reason", "bad seed").code == 0
    assert other.prov("push").code == 0
    before = repo.prov("log", "--json", "--where", "params.lr exists")
    assert before.code == 0 and before.out.count("\n") == 1  # the index now knows one run
    fetched = repo.prov("fetch")
    assert fetched.code == 0, fetched.err
    after = [line for line in repo.prov("log", "--json", "--where", "params.lr exists").out.splitlines()]
    assert len(after) == 1 and theirs in after[0]
    assert mine[:12] in repo.prov("log", "--forgotten").out and "bad seed" in repo.prov("log", "--forgotten").out
    # both sides forgot the same run independently: the union merges with no conflict
    assert repo.prov("forget", theirs).code == 0
    assert other.prov("forget", theirs, "--reason", "also").code == 0
    assert other.prov("sync").code == 0
    assert repo.prov("sync").code == 0
    assert repo.prov("log", "--json").out == ""


def test_fetch_refuses_a_malformed_forget_entry(repo: Repo, tmp_path: Path) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    run_id = repo.record("--no-exec", "--", "true")["id"]
    repo.git("remote", "add", "origin", bare.as_uri())
    evil = tmp_path / "evil"
    git(tmp_path, "clone", "-q", str(repo.path), "evil")
    git(evil, "fetch", "-q", "origin", "refs/prov/runs:refs/prov/runs")
    git(evil, "read-tree", "refs/prov/runs")
    blob = git(evil, "hash-object", "-w", "--stdin", input=b'{"run": "x"}\n').strip()
    name = "0" * 64 + ".json"
    git(evil, "update-index", "--add", "--cacheinfo", f"100644,{blob},forgotten/{run_id[:2]}/{run_id}/{name}")
    tree = git(evil, "write-tree").strip()
    parent = git(evil, "rev-parse", "refs/prov/runs").strip()
    later = {**os.environ, "GIT_COMMITTER_DATE": "2030-01-01T00:00:00Z"}  # dates increase along the chain
    commit = subprocess.run(["git", "commit-tree", tree, "-p", parent, "-m", "prov: forget"], cwd=evil, env=later,
                            capture_output=True, check=True, text=True).stdout.strip()
    git(evil, "update-ref", "refs/prov/runs", commit)
    git(evil, "push", "-q", bare.as_uri(), "refs/prov/runs:refs/prov/runs")
    refused = repo.prov("fetch")
    assert refused.code == 128 and "forgotten entry whose name is not the sha256" in refused.err, refused.err
