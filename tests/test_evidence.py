"""Evidence you can trust on real pipelines (issue 10, design.md "Evidence rules"): each case is built
in a real repository the way a user ran into it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prov_git.records.text import unescape_name
from tests.helpers import GIT_PROV, Repo

PY = sys.executable


def test_a_failed_run_does_not_claim_the_previous_runs_files(repo: Repo) -> None:
    """A step that writes metrics.json and model.bin, then the same step failing before it writes."""
    repo.write("step.py", "import json, sys\n"
               "if open('fail.txt').read().strip() == '1':\n    sys.exit(1)\n"
               "json.dump({'acc': 0.99}, open('metrics.json', 'w'))\n"
               "open('model.bin', 'wb').write(b'weights')\n")
    args = ["-o", "model.bin", "-m", "metrics.json", "--", PY, "step.py"]
    repo.write("fail.txt", "0")
    good = repo.record(*args)
    assert good["metrics"] == {"acc": 0.99}
    assert [o["written"] for o in good["outputs"]] == [True]
    repo.write("fail.txt", "1")
    result = repo.prov("record", *args)
    assert result.code == 1
    failed = repo.newest()
    assert failed["id"] != good["id"]
    assert failed["outputs"][0]["written"] is False
    assert failed["metrics"] == {}, "a stale metrics file contributes nothing"
    assert "model.bin was not written by this run" in result.err
    assert "metrics file metrics.json was not written by this run" in result.err
    verify = repo.prov("verify", "--json", failed["id"])
    assert verify.code == 1, "verify must not say ok for an output the run did not write"
    assert {(p["kind"], p["path"]) for p in verify.json()["problems"]} == {("not-written", "model.bin")}
    assert repo.prov("verify", good["id"]).code == 0


def test_written_is_null_without_running_and_true_for_a_rewrite(repo: Repo) -> None:
    repo.write("out.txt", "same")
    assert repo.record("-o", "out.txt", "--no-exec")["outputs"][0]["written"] is None
    # Rewriting the same bytes is still this run's write.
    record = repo.record("-o", "out.txt", "--", PY, "-c", "open('out.txt', 'w').write('same')")
    assert record["outputs"][0]["written"] is True
    # A directory is written when any file below it changed.
    repo.write("res/a.txt", "a")
    repo.write("res/b.txt", "b")
    assert repo.record("-o", "res", "--", "true")["outputs"][0]["written"] is False
    record = repo.record("-o", "res", "--", PY, "-c", "open('res/b.txt', 'w').write('B')")
    assert record["outputs"][0]["written"] is True


def diff_json(repo: Repo, *args: str) -> dict[str, Any]:
    result = repo.prov("diff", "--json", *args)
    assert result.code == 0 and "Traceback" not in result.err, result.err
    data: dict[str, Any] = result.json()
    return data


def test_a_declared_output_never_produced_makes_the_diff_differ(repo: Repo) -> None:
    repo.record("--", "true")
    repo.record("-o", "model.bin", "--", "true")  # promised model.bin, produced nothing
    outputs = diff_json(repo)["sections"]["outputs"]
    assert outputs["changed"] is True and outputs["missing"] == ["model.bin"]
    assert repo.prov("diff", "--exit-code").code == 1
    text = repo.prov("diff").out
    assert "! model.bin" in text and "missing in b" in text
    # Missing in both runs: the same.
    repo.record("-o", "model.bin", "--", "true")
    assert diff_json(repo)["sections"]["outputs"]["changed"] is False


def test_an_output_only_one_run_wrote_is_marked_in_the_diff(repo: Repo) -> None:
    args = ["-o", "model.bin", "--", "sh", "-c", "test -f stop || printf w > model.bin"]
    repo.record(*args)
    repo.write("stop", "")
    repo.record(*args)  # found the first run's model.bin, wrote nothing
    outputs = diff_json(repo)["sections"]["outputs"]
    assert outputs["changed"] is True and outputs["not_written"] == ["model.bin"]
    assert "only a wrote it" in repo.prov("diff").out
    assert "not written by this run" in repo.prov("show").out


def test_runs_sharing_no_param_keys_diff_key_by_key(repo: Repo) -> None:
    repo.record("-p", "lr=0.1", "-p", "model.depth=3", "--no-exec")
    repo.record("-p", "batch=32", "-p", "opt.name=adam", "--no-exec")
    changes = diff_json(repo)["sections"]["params"]["changes"]
    assert [(c["path"], c["kind"]) for c in changes] == [
        ("batch", "added"), ("lr", "removed"), ("model.depth", "removed"), ("opt.name", "added")]
    assert all(c["path"] for c in changes)
    # One side empty: still one change per leaf.
    repo.record("--no-exec")
    changes = diff_json(repo)["sections"]["params"]["changes"]
    assert [(c["path"], c["kind"], c["old"]) for c in changes] == [("batch", "removed", 32),
                                                                  ("opt.name", "removed", "adam")]


def test_a_dotted_key_in_a_params_file_is_told_apart_from_a_nested_one(repo: Repo) -> None:
    repo.write("style.yaml", "axes.labelsize: x-large\n")
    repo.record("--params-file", "style.yaml", "--no-exec")
    repo.record("-p", "axes.labelsize=small", "--no-exec")
    changes = diff_json(repo)["sections"]["params"]["changes"]
    assert {(c["path"], c["kind"]) for c in changes} == {("`axes.labelsize`", "removed"),
                                                         ("axes.labelsize", "added")}
    text = repo.prov("diff").out
    assert "- `axes.labelsize`" in text and "+ axes.labelsize" in text
    assert "`axes.labelsize` = \"x-large\"" in repo.prov("show", "@~1").out
    assert "axes.labelsize = \"small\"" in repo.prov("show").out
    # The query language reads the same spelling.
    found = repo.prov("log", "--json", "--where", "params.`axes.labelsize` = \"x-large\"")
    assert found.code == 0 and len(found.out.splitlines()) == 1, found.err


def test_diff_says_what_it_ignored_and_a_bare_name_matches_a_file(repo: Repo) -> None:
    plot = ["-o", "results/residuals.png", "--", "sh", "-c", "mkdir -p results; date +%N > results/residuals.png"]
    repo.record(*plot)
    repo.record(*plot)
    assert diff_json(repo)["sections"]["outputs"]["changed"] is True
    repo.git("config", "--add", "prov.diff.ignore", "residuals.png")
    data = diff_json(repo)
    assert data["identical"] is True
    assert data["sections"]["outputs"]["ignored"] == ["results/residuals.png"]
    text = repo.prov("diff").out
    assert "ignored (prov.diff.ignore): outputs.results/residuals.png" in text
    assert text.rstrip().splitlines()[-1].startswith("identical")


def test_git_prov_and_git_dash_prov_record_the_same_env(repo: Repo) -> None:
    """Through git's wrapper (GIT_EXEC_PATH set, its folder first on PATH) and directly."""
    path = f"{Path(GIT_PROV).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path}
    done = subprocess.run(["git", "prov", "record", "--no-exec"], cwd=repo.path, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    via_git = repo.newest()["env"]["vars"]
    direct = repo.record("--no-exec", env={"PATH": path})["env"]["vars"]
    assert "GIT_EXEC_PATH" not in via_git
    assert via_git["PATH"] == direct["PATH"] == path
    assert {k: v for k, v in via_git.items() if k != "_"} == {k: v for k, v in direct.items() if k != "_"}


def test_stray_words_before_the_command_are_a_usage_error(repo: Repo) -> None:
    repo.write("results/a.csv", "1\n")
    repo.write("results/b.csv", "2\n")
    # What `-i results/*.csv` becomes after the shell expanded it.
    for args in (["-i", "results/a.csv", "results/b.csv", "--", "true"],
                 ["-i", "results/a.csv", "results/b.csv", "--no-exec"],
                 ["-i", "results/a.csv", "true"]):
        result = repo.prov("record", *args)
        assert result.code == 2, (args, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.err
        stray = "results/b.csv" if "results/b.csv" in args else "true"
        assert stray in lines[0] and "quote" in lines[0]
    assert repo.run_ids() == []
    # A `--` inside the command is the command's own.
    assert repo.record("--", "sh", "-c", "true", "--", "x")["command"]["argv"] == ["sh", "-c", "true", "--", "x"]


def test_quoted_globs_for_inputs_and_outputs(repo: Repo) -> None:
    for name in ("c", "a", "b"):
        repo.write(f"results/{name}.csv", name)
    record = repo.record("-i", "results/*.csv", "-o", "out/*.txt", "--", "sh", "-c",
                         "mkdir -p out; echo 2 > out/2.txt; echo 1 > out/1.txt")
    assert [e["path"] for e in record["inputs"]] == ["results/a.csv", "results/b.csv", "results/c.csv"]
    assert [(e["path"], e["written"]) for e in record["outputs"]] == [("out/1.txt", True), ("out/2.txt", True)]
    result = repo.prov("record", "-i", "nothing/*.csv", "--", "true")
    assert result.code == 128 and "nothing/*.csv" in result.err and "matches no file" in result.err
    # An output glob that matched nothing after the run is recorded missing, under its pattern.
    record = repo.record("-o", "none/*.bin", "--", "true")
    assert [(e["path"], e["type"]) for e in record["outputs"]] == [("none/*.bin", "missing")]


def test_a_name_that_is_not_utf8_inside_an_input_directory_is_recorded_escaped(repo: Repo) -> None:
    folder = os.fsencode(str(repo.path)) + b"/data"
    os.mkdir(folder)
    for name, body in ((b"caf\xe9.csv", b"1"), (b"ok.csv", b"2")):
        with open(folder + b"/" + name, "wb") as fh:
            fh.write(body)
    first = repo.record("-i", "data", "--", "true")
    entry = first["inputs"][0]
    assert entry["type"] == "dir" and entry["files"] == 2
    manifest = json.loads(repo.blob(first["id"], entry["manifest"]))
    names = [f["path"] for f in manifest["files"]]
    assert names == ['"data/caf\\351.csv"', "data/ok.csv"]
    assert unescape_name(names[0]) == b"data/caf\xe9.csv"  # lossless
    assert repo.prov("verify").code == 0
    with open(folder + b"/caf\xe9.csv", "wb") as fh:
        fh.write(b"changed")
    repo.record("-i", "data", "--", "true")
    inputs = diff_json(repo)["sections"]["inputs"]
    assert inputs["modified"] == ['"data/caf\\351.csv"']


def test_verify_all_judges_each_path_against_every_run_that_recorded_it(tmp_path: Path) -> None:
    """Clone A's run and clone B's newer run of the same step, shared through a remote."""
    from tests.helpers import git, init_project

    bare = tmp_path / "shared.git"
    git(tmp_path, "init", "-q", "--bare", bare.name)
    a = Repo(init_project(tmp_path / "a"))
    a.git("push", "-q", str(bare), "HEAD")
    step = ["-o", "model.bin", "--", "sh", "-c", "cat seed > model.bin"]
    a.write("seed", "from a")
    a.record(*step)
    assert a.prov("push", str(bare)).code == 0
    git(tmp_path, "clone", "-q", str(bare), "b")
    b = Repo(tmp_path / "b")
    assert b.prov("fetch", str(bare)).code == 0
    b.write("seed", "from b")
    b.record(*step)  # newer, other content
    assert b.prov("push", str(bare)).code == 0
    assert a.prov("fetch", str(bare)).code == 0
    assert len(a.run_ids()) == 2
    # a's model.bin matches a's own run byte for byte: not a problem, though b's run is newer.
    result = a.prov("verify", "--all", "--json")
    assert result.code == 0 and result.json()["problems"] == [], result.out
    # Content that no run recorded is.
    a.write("model.bin", "tampered")
    found = a.prov("verify", "--all", "--json").json()["problems"]
    assert [(p["kind"], p["path"]) for p in found] == [("changed", "model.bin")]
    # A fresh clone has no outputs on disk: reported, not failed.
    git(tmp_path, "clone", "-q", str(bare), "c")
    c = Repo(tmp_path / "c")
    assert c.prov("fetch", str(bare)).code == 0
    result = c.prov("verify", "--all", "--json")
    assert result.code == 0, result.out
    assert [(p["kind"], p["path"]) for p in result.json()["absent"]] == [("absent", "model.bin")]
    assert "not on disk" in c.prov("verify", "--all").out
