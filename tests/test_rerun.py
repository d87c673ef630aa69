"""`git prov rerun`: replay a recorded run from its own tree and say whether it reproduced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GIT_PROV, Repo

SCRIPT = "import sys\nopen('out.txt', 'w').write(open('data.txt').read().upper())\n"


@pytest.fixture
def pipeline(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """train.py committed, data.txt an ignored input, out.txt its output; reruns' folders under tmp_path."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    repo.write(".gitignore", "data.txt\nout.txt\n")
    repo.write("train.py", SCRIPT)
    repo.write("data.txt", "hello\n")
    repo.commit_all("pipeline")
    return repo


def record(repo: Repo, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return repo.record("-i", "data.txt", "-o", "out.txt", *extra, "--", "python3", "train.py", env=env)


def rerun(repo: Repo, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = repo.prov("rerun", "--json", *args, env=env)
    assert "Traceback" not in result.err, result.err
    return result.code, (result.json() if result.out.strip() else {}), result.err


def untouched(repo: Repo) -> tuple[bytes, str, str]:
    """The bytes of the index, HEAD and the status: what a rerun must never change."""
    return ((repo.path / ".git" / "index").read_bytes(), repo.git("rev-parse", "HEAD"),
            repo.git("status", "--porcelain", "--ignored"))


def test_a_deterministic_run_reproduces_without_touching_the_work_tree(pipeline: Repo) -> None:
    original = record(pipeline)
    (pipeline.path / "out.txt").write_text("edited by hand\n")
    before = untouched(pipeline)
    code, outcome, _ = rerun(pipeline)
    assert code == 0
    assert outcome["original"] == original["id"] and outcome["reproduced"] is True
    assert outcome["outputs"] == {"identical": ["out.txt"], "differs": [], "missing": []}
    assert (pipeline.path / "out.txt").read_text() == "edited by hand\n"
    assert untouched(pipeline) == before
    new = pipeline.newest()
    assert new["id"] == outcome["rerun"] and new["rerun_of"] == original["id"]
    assert new["git"] == original["git"] and new["params"] == original["params"]


def test_a_nondeterministic_output_fails_check(pipeline: Repo) -> None:
    pipeline.write("train.py", "import os\nopen('out.txt', 'wb').write(os.urandom(8))\n")
    pipeline.commit_all("random")
    record(pipeline)
    code, outcome, _ = rerun(pipeline, "--check")
    assert code == 1
    assert outcome["reproduced"] is False and outcome["outputs"]["differs"] == ["out.txt"]
    assert rerun(pipeline)[0] == 0  # without --check the command's status


def test_a_dirty_run_replays_its_snapshot_after_the_edit_is_reverted(pipeline: Repo) -> None:
    pipeline.write("train.py", SCRIPT.replace(".upper()", ".upper() + 'v2'"))
    original = record(pipeline)
    assert original["git"]["dirty"] is True
    pipeline.git("checkout", "--", "train.py")
    code, outcome, _ = rerun(pipeline, original["id"])
    assert code == 0 and outcome["reproduced"] is True
    assert (pipeline.path / "train.py").read_text() == SCRIPT


def test_a_changed_input_is_refused_and_nothing_is_recorded(pipeline: Repo) -> None:
    record(pipeline)
    pipeline.write("data.txt", "changed\n")
    runs = len(pipeline.run_ids())
    code, _, err = rerun(pipeline)
    assert code == 128
    assert "data.txt (changed)" in err and "--allow-changed-inputs" in err and err.count("\n") == 1
    assert len(pipeline.run_ids()) == runs
    code, outcome, err = rerun(pipeline, "--allow-changed-inputs")
    assert code == 0 and outcome["reproduced"] is False and outcome["outputs"]["differs"] == ["out.txt"]
    assert "data.txt is changed" in err


def test_a_missing_input_is_named(pipeline: Repo) -> None:
    record(pipeline)
    (pipeline.path / "data.txt").unlink()
    code, _, err = rerun(pipeline)
    assert code == 128 and "data.txt (missing)" in err


def test_dry_run_shows_the_plan_and_runs_nothing(pipeline: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    pipeline.record("-i", "data.txt", "-i", "train.py", "--", "sh", "-c", f"echo x > {marker}")
    marker.unlink()
    runs = len(pipeline.run_ids())
    result = pipeline.prov("rerun", "--dry-run")
    assert result.code == 0, result.err
    assert "data.txt  from the work tree" in result.out and "train.py  from the recorded tree" in result.out
    assert f"sh -c 'echo x > {marker}'" in result.out
    plan = json.loads(pipeline.prov("rerun", "--dry-run", "--json").out)
    assert {i["path"]: i["from"] for i in plan["inputs"]} == {"data.txt": "worktree", "train.py": "tree"}
    assert not marker.exists() and len(pipeline.run_ids()) == runs
    assert not list((tmp_path / "scratch").glob("git-prov-*/git-prov-rerun-*"))


def test_a_rerun_of_a_rerun_names_the_first_original(pipeline: Repo) -> None:
    original = record(pipeline)
    _, first, _ = rerun(pipeline)
    _, second, _ = rerun(pipeline, str(first["rerun"]))
    assert second["original"] == first["rerun"]
    assert pipeline.newest()["rerun_of"] == original["id"]


def test_a_redacted_argument_cannot_be_replayed(pipeline: Repo) -> None:
    pipeline.record("--", "true", "--password", "hunter2-secret")
    code, _, err = rerun(pipeline)
    assert code == 128 and "redacted" in err and "environment" in err


def test_diff_of_original_and_rerun_names_the_environment_drift(pipeline: Repo) -> None:
    original = record(pipeline, env={"PIPELINE_MODE": "fast"})
    _, outcome, _ = rerun(pipeline, env={"PIPELINE_MODE": "slow"})
    diff = pipeline.prov("diff", "--json", str(original["id"]), str(outcome["rerun"])).json()
    changes = diff["sections"]["env"]["changes"]
    assert {"path": "env.vars.PIPELINE_MODE", "kind": "changed", "old": "fast", "new": "slow"} in changes
    assert diff["sections"]["outputs"]["changed"] is False and diff["sections"]["code"]["changed"] is False


def test_keep_leaves_the_directory_and_says_where(pipeline: Repo) -> None:
    record(pipeline)
    result = pipeline.prov("rerun", "--keep")
    assert result.code == 0, result.err
    kept = Path(result.err.split("kept the rerun's directory: ", 1)[1].strip())
    assert (kept / "out.txt").read_text() == "HELLO\n" and (kept / "train.py").read_text() == SCRIPT


def test_sigint_is_forwarded_and_the_directory_removed(pipeline: Repo, tmp_path: Path) -> None:
    where = tmp_path / "where"
    pipeline.write("slow.sh", f"pwd > {where}\nexec sleep 30\n")
    pipeline.commit_all("slow")
    pipeline.record("--", "sh", "slow.sh")
    where.unlink()
    child = subprocess.Popen([GIT_PROV, "rerun"], cwd=pipeline.path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not where.exists() or not where.read_text().strip():
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGINT, err
    assert not Path(where.read_text().strip()).exists()
    assert pipeline.newest()["status"]["signal"] == signal.SIGINT


def test_a_killed_reruns_directory_is_swept(pipeline: Repo, tmp_path: Path) -> None:
    record(pipeline)
    root = tmp_path / "scratch" / f"git-prov-{os.getuid()}"
    root.mkdir(parents=True, exist_ok=True)
    stale = root / "git-prov-rerun-999999999-abc"
    (stale / "sub").mkdir(parents=True)
    assert rerun(pipeline)[0] == 0
    assert not stale.exists()


ECHO = ("import os, sys\n"
        "words = b'|'.join(os.fsencode(a) for a in sys.argv[1:])\n"
        "open(os.path.join('..', 'out.txt'), 'wb').write(words)\n")


def test_a_run_recorded_in_a_subfolder_replays_its_paths_from_the_top(pipeline: Repo) -> None:
    """A record's paths are relative to the top of the work tree, its command's to cwd: a rerun of a
    run recorded in sub/ looked for sub/data.txt and refused to run."""
    pipeline.write("sub/step.py", SCRIPT.replace("'out.txt'", "'../out.txt'").replace("'data.txt'", "'../data.txt'"))
    pipeline.commit_all("step")
    done = pipeline.prov("-C", "sub", "record", "-i", "../data.txt", "-o", "../out.txt", "--", "python3", "step.py")
    assert done.code == 0, done.err
    original = pipeline.newest()
    assert original["command"]["cwd"] == "sub" and original["inputs"][0]["path"] == "data.txt"
    code, outcome, err = rerun(pipeline)
    assert code == 0, err
    assert outcome["reproduced"] is True and outcome["outputs"]["identical"] == ["out.txt"]
    assert [e["path"] for e in pipeline.newest()["inputs"]] == ["data.txt"]


def test_words_and_a_folder_that_are_not_utf8_are_replayed_as_given(pipeline: Repo) -> None:
    """A record keeps a word that is not UTF-8 in escape_name's quoted form: a rerun gives the
    command the bytes, not that text (it used to: "NOT reproduced", for a command it changed)."""
    odd = os.fsdecode(b"caf\xe9")  # Latin-1 bytes, as an old script may pass them
    literal = '"a\\377b"'  # typed as it is: reads like the quoted form of b"a\xffb"
    pipeline.write("echo.py", ECHO)
    (pipeline.path / odd).mkdir()
    (pipeline.path / odd / "keep").write_text("")
    pipeline.commit_all("echo")
    done = pipeline.prov("-C", odd, "record", "-o", "../out.txt", "--", "python3", "../echo.py", odd, literal,
                         "plain")
    assert done.code == 0, done.err
    original = pipeline.newest()
    assert (pipeline.path / "out.txt").read_bytes() == b'caf\xe9|"a\\377b"|plain'
    assert original["command"]["argv"][-3:] == ['"caf\\351"', '"\\"a\\\\377b\\""', "plain"]
    assert original["command"]["cwd"] == '"caf\\351"'
    code, outcome, err = rerun(pipeline)
    assert code == 0, err
    assert outcome["reproduced"] is True and outcome["outputs"]["identical"] == ["out.txt"]
    assert pipeline.newest()["command"] == original["command"]
