"""`git prov record`, `log`, `show`: the record lands on refs/prov/runs, the mirror and the schema."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import rfc8785

from prov_git.resources import read_text
from tests.helpers import GIT_PROV, Repo

PY = sys.executable
SCHEMA = json.loads(read_text("schemas", "run.schema.json"))


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_record_captures_every_section(repo: Repo) -> None:
    repo.write("data/a.csv", "x,y\n1,2\n")
    repo.write("data/sub/b.csv", "3\n")
    repo.write("params.yaml", "model:\n  depth: 4\n  kind: tree\n")
    repo.commit_all("data")
    script = "open('model.pkl','w').write('m'); open('metrics.json','w').write('{\"acc\": 0.9}')"
    record = repo.record(
        "-i", "data", "-i", "train.py", "-p", "lr=0.1", "-p", "model.depth=6",
        "--params-file", "params.yaml", "-o", "model.pkl", "-m", "metrics.json",
        "--name", "baseline", "--", PY, "-c", script,
    )
    assert record["name"] == "baseline"
    assert record["command"] == {"argv": [PY, "-c", script], "cwd": ".", "executed": True}
    assert record["status"]["exit_code"] == 0 and record["status"]["signal"] is None
    assert record["status"]["resources"]["max_rss_kib"] > 0
    head = repo.git("rev-parse", "HEAD").strip()
    # The declared results are named as results (never code), the rest is the commit as it is.
    assert record["git"] == {"commit": head, "branch": "main", "dirty": False, "snapshot": None,
                             "excluded": ["metrics.json", "model.pkl"]}
    by_path = {e["path"]: e for e in record["inputs"]}
    assert by_path["train.py"] == {"path": "train.py", "type": "file", "size": 18,
                                   "digest": sha256(b"print('training')\n")}
    assert by_path["data"]["type"] == "dir" and by_path["data"]["files"] == 2
    assert record["outputs"] == [{"path": "model.pkl", "type": "file", "size": 1, "digest": sha256(b"m"),
                                  "written": True}]
    assert record["params"] == {"lr": 0.1, "model": {"depth": 6, "kind": "tree"}}
    assert record["metrics"] == {"acc": 0.9}
    env = record["env"]
    assert env["platform"]["cpu_count"] >= 1 and env["python"]["version"]
    assert "pygit2" in env["packages"] and env["vars"]["HOME"] == os.environ["HOME"]


def test_directory_manifest_is_stored_beside_the_record(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    repo.write("data/sub/b.csv", "2\n")
    record = repo.record("-i", "data", "--no-exec")
    entry = record["inputs"][0]
    manifest = repo.blob(record["id"], entry["manifest"])
    assert sha256(manifest) == entry["digest"]
    files = json.loads(manifest)["files"]
    assert [f["path"] for f in files] == ["data/a.csv", "data/sub/b.csv"]
    mirrored = repo.path / ".prov" / "runs" / record["id"] / entry["manifest"]
    assert mirrored.read_bytes() == manifest


def test_id_is_sha256_of_canonical_json_without_id(repo: Repo) -> None:
    record = repo.record("--", "true")
    body = {k: v for k, v in record.items() if k != "id"}
    assert record["id"] == hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def test_records_are_valid_and_schema_rejects_broken_ones(repo: Repo) -> None:
    record = repo.record("-p", "a=1", "--", "true")
    jsonschema.Draft202012Validator(SCHEMA).validate(record)
    broken = [
        {**record, "id": "XYZ"},
        {**record, "extra": 1},
        {**record, "status": {**record["status"], "exit_code": "0"}},
        {**record, "git": {**record["git"], "commit": "abc"}},
        {**record, "inputs": [{"path": "/etc/passwd", "type": "file", "size": 1, "digest": None}]},
        {**record, "inputs": [{"path": "a", "type": "file", "size": 1, "digest": "md5:00"}]},
        {k: v for k, v in record.items() if k != "env"},
    ]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for bad in broken:
        assert not validator.is_valid(bad), bad


def test_ref_layout_mirror_and_fsck(repo: Repo) -> None:
    first = repo.record("--", "true")
    runs = repo.run_ids()
    assert runs == [first["id"]]
    blob = repo.blob(first["id"])
    assert json.loads(blob) == first
    mirror = repo.path / ".prov" / "runs" / first["id"] / "run.json"
    assert mirror.read_bytes() == blob
    assert (repo.path / ".prov" / ".gitignore").exists()
    assert repo.git("status", "--porcelain") == ""
    repo.git("fsck", "--strict")
    # The chain is orphan: first parents never enter the project's history.
    chain = repo.git("rev-list", "--first-parent", "refs/prov/runs").split()
    main = set(repo.git("rev-list", "main").split())
    assert chain and not set(chain) & main
    root = repo.git("rev-list", "--max-parents=0", "--first-parent", "refs/prov/runs").split()
    assert repo.git("ls-tree", root[0]) == ""


def test_failed_run_is_recorded_and_status_propagates(repo: Repo) -> None:
    result = repo.prov("record", "--", PY, "-c", "import sys; sys.exit(3)")
    assert result.code == 3
    record = repo.newest()
    assert record["status"]["exit_code"] == 3


def test_stdio_passes_through_untouched(repo: Repo) -> None:
    code = "import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data[::-1]); sys.stderr.write('E')"
    payload = bytes(range(256)) * 10
    result = subprocess.run([GIT_PROV, "record", "-q", "--", PY, "-c", code], cwd=repo.path,
                            input=payload, capture_output=True, check=False)
    assert result.returncode == 0
    assert result.stdout == payload[::-1]
    assert result.stderr == b"E"


def test_sigint_is_forwarded_and_recorded(repo: Repo) -> None:
    code = "import time, sys; print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([GIT_PROV, "record", "--", PY, "-c", code], cwd=repo.path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=20) == 128 + signal.SIGINT
    record = repo.newest()
    assert record["status"]["signal"] == signal.SIGINT and record["status"]["exit_code"] is None


def test_sigterm_is_forwarded(repo: Repo) -> None:
    code = "import time; print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([GIT_PROV, "record", "--", PY, "-c", code], cwd=repo.path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == 128 + signal.SIGTERM
    assert repo.newest()["status"]["signal"] == signal.SIGTERM


def test_missing_input_stops_before_running(repo: Repo) -> None:
    result = repo.prov("record", "-i", "nope.csv", "--", "touch", "ran")
    assert result.code == 128
    assert "nope.csv" in result.err and result.err.count("\n") == 1
    assert not (repo.path / "ran").exists()
    assert repo.run_ids() == []


def test_missing_output_is_recorded_with_warning(repo: Repo) -> None:
    result = repo.prov("record", "-o", "never.pkl", "--", "true")
    assert result.code == 0
    assert "never.pkl" in result.err and "warning" in result.err
    assert repo.newest()["outputs"] == [{"path": "never.pkl", "type": "missing", "size": None, "digest": None,
                                          "written": False}]


def test_paths_are_repo_relative_from_a_subdirectory(repo: Repo) -> None:
    repo.write("sub/in.txt", "in\n")
    done = subprocess.run([GIT_PROV, "record", "-i", "in.txt", "-i", "../train.py", "--", "true"],
                          cwd=repo.path / "sub", capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    record = repo.newest()
    assert [e["path"] for e in record["inputs"]] == ["sub/in.txt", "train.py"]
    assert record["command"]["cwd"] == "sub"


def test_path_outside_repository_is_refused(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    for path in (str(outside), "../outside.txt"):
        result = repo.prov("record", "-i", path, "--", "true")
        assert result.code == 128 and "outside the repository" in result.err
    assert repo.run_ids() == []


def test_dirty_tree_is_snapshotted_and_pinned(repo: Repo) -> None:
    repo.write("train.py", "print('changed')\n")
    repo.write("new.py", "staged = True\n")
    repo.git("add", "new.py")
    record = repo.record("--", "true")
    git = record["git"]
    assert git["dirty"] is True and git["snapshot"]
    assert repo.git("show", f"{git['snapshot']}:train.py") == "print('changed')\n"
    assert repo.git("show", f"{git['snapshot']}:new.py") == "staged = True\n"
    assert repo.git("rev-parse", f"{git['snapshot']}^").strip() == git["commit"]
    # The user's index is untouched.
    assert repo.git("diff", "--cached", "--name-only").split() == ["new.py"]


def test_recorded_commit_survives_amend_and_gc(repo: Repo) -> None:
    repo.write("train.py", "print('v2')\n")
    old = repo.commit_all("v2")
    repo.write("train.py", "print('v2 dirty')\n")
    record = repo.record("--", "true")
    repo.git("checkout", "--", "train.py")
    repo.git("commit", "-q", "--amend", "-m", "v2 amended")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    assert repo.git("cat-file", "-t", old).strip() == "commit"
    assert repo.git("cat-file", "-t", record["git"]["snapshot"]).strip() == "commit"
    repo.git("fsck", "--strict")


def test_empty_repository_and_detached_head(empty_repo: Repo, repo: Repo) -> None:
    record = empty_repo.record("--", "true")
    assert record["git"]["commit"] is None and record["git"]["branch"] == "main"
    repo.git("checkout", "-q", "--detach")
    record = repo.record("--", "true")
    assert record["git"]["branch"] is None and record["git"]["commit"]


def test_linked_worktree_shares_the_store(repo: Repo, tmp_path: Path) -> None:
    other = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(other), "-b", "side")
    done = subprocess.run([GIT_PROV, "record", "--", "true"], cwd=other, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    first = repo.newest()
    assert first["git"]["branch"] == "side"
    repo.record("--", "true")
    assert len(repo.run_ids()) == 2


def test_concurrent_records_lose_nothing(repo: Repo) -> None:
    procs = [subprocess.Popen([GIT_PROV, "record", "-q", "-p", f"n={i}", "--", "true"], cwd=repo.path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(16)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0] * 16, [p.stderr.read() for p in procs if p.stderr]
    ids = repo.run_ids()
    assert len(ids) == 16
    logged = repo.prov("log", "--json").out.splitlines()
    assert sorted(json.loads(line)["params"]["n"] for line in logged) == list(range(16))
    repo.git("fsck", "--strict")


def test_commit_dates_strictly_increase_along_the_chain(repo: Repo) -> None:
    for _ in range(3):
        repo.record("-q", "--", "true")
    dates = [int(d) for d in repo.git("log", "--first-parent", "--format=%ct", "refs/prov/runs").split()]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)


def test_log_show_and_run_references(repo: Repo) -> None:
    ids = []
    for i in range(3):
        ids.append(repo.record("-p", f"i={i}", "--", "true")["id"])
        time.sleep(0.01)
    lines = repo.prov("log").out.splitlines()
    assert [line.split()[0] for line in lines] == [i[:12] for i in reversed(ids)]
    assert len(repo.prov("log", "-n", "2").out.splitlines()) == 2
    json_lines = [json.loads(x) for x in repo.prov("log", "--json").out.splitlines()]
    assert [r["id"] for r in json_lines] == list(reversed(ids))
    assert repo.prov("show", "--json", "@~2").json()["id"] == ids[0]
    assert repo.prov("show", "--json", ids[1][:8]).json()["id"] == ids[1]
    assert repo.prov("show", "--json", ids[1]).json()["params"] == {"i": 1}
    text = repo.prov("show", ids[2][:6]).out
    assert ids[2] in text and "i = 2" in text


def test_bad_run_references(repo: Repo) -> None:
    repo.record("--", "true")
    for spec, words in (("@~5", "fewer than"), ("deadbeef", "unknown run"), ("zz!", "not a run")):
        result = repo.prov("show", spec)
        assert result.code == 128 and words in result.err, result.err
        assert "Traceback" not in result.err and result.err.count("\n") == 1


def test_ambiguous_prefix(repo: Repo) -> None:
    record = repo.record("--", "true")
    run_id = record["id"]
    twin = run_id[:6] + ("0" if run_id[6] != "0" else "1") + run_id[7:]
    # Plant a second folder sharing the first 6 characters, with plain git plumbing.
    env = {**os.environ, "GIT_INDEX_FILE": str(repo.path / ".git" / "tmp-index")}
    subprocess.run(["git", "read-tree", "refs/prov/runs"], cwd=repo.path, env=env, check=True)
    blob = repo.git("rev-parse", f"refs/prov/runs:runs/{run_id[:2]}/{run_id}/run.json").strip()
    subprocess.run(["git", "update-index", "--add", "--cacheinfo",
                    f"100644,{blob},runs/{twin[:2]}/{twin}/run.json"], cwd=repo.path, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo.path, env=env, capture_output=True,
                          text=True, check=True).stdout.strip()
    commit = repo.git("commit-tree", tree, "-p", "refs/prov/runs", "-m", "planted").strip()
    repo.git("update-ref", "refs/prov/runs", commit)
    result = repo.prov("show", run_id[:6])
    assert result.code == 128 and "ambiguous" in result.err
    assert repo.prov("show", "--json", run_id[:7]).json()["id"] == run_id


def test_outside_a_repository(tmp_path: Path) -> None:
    result = subprocess.run([GIT_PROV, "log"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
                            check=False)
    assert result.returncode == 128 and "not a git repository" in result.stderr


def test_corrupt_record_is_reported(repo: Repo) -> None:
    record = repo.record("--", "true")
    bad = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=b"{not json",
                         capture_output=True, check=True).stdout.decode().strip()
    tree_path = f"runs/{record['id'][:2]}/{record['id']}/run.json"
    env = {**os.environ, "GIT_INDEX_FILE": str(repo.path / ".git" / "tmp-index")}
    subprocess.run(["git", "read-tree", "refs/prov/runs"], cwd=repo.path, env=env, check=True)
    subprocess.run(["git", "update-index", "--cacheinfo", f"100644,{bad},{tree_path}"],
                   cwd=repo.path, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo.path, env=env, capture_output=True,
                          text=True, check=True).stdout.strip()
    commit = repo.git("commit-tree", tree, "-p", "refs/prov/runs", "-m",
                      f"prov: run {record['id']}").strip()
    repo.git("update-ref", "refs/prov/runs", commit)
    result = repo.prov("show", "@")
    assert result.code == 128 and "not valid JSON" in result.err and "Traceback" not in result.err


def test_malformed_command_line_exits_2(repo: Repo) -> None:
    assert repo.prov("record", "--bogus").code == 2
    assert repo.prov("log", "-n", "x").code == 2
    assert repo.prov("record").code == 2


def test_python_dash_m_is_the_same_program(repo: Repo) -> None:
    done = subprocess.run([PY, "-m", "prov_git", "record", "-q", "--", "true"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(repo.run_ids()) == 1


def test_git_prov_through_git(repo: Repo) -> None:
    done = subprocess.run(["git", "prov", "record", "-q", "--", "true"], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(repo.git("prov", "log").splitlines()) == 1


def test_mirror_rebuilds_a_deleted_mirror_and_sweeps_abandoned_temp_files(repo: Repo) -> None:
    record = repo.record("--", "true")
    folder = repo.path / ".prov" / "runs" / record["id"]
    (folder / "run.json").unlink()
    old_tmp = folder / ".run.json.abc.tmp"
    young_tmp = folder / ".run.json.def.tmp"
    old_tmp.write_text("half")
    young_tmp.write_text("half")
    os.utime(old_tmp, (time.time() - 3600, time.time() - 3600))
    result = repo.prov("mirror")
    assert result.code == 0 and "1 written" in result.err
    assert (folder / "run.json").read_bytes() == repo.blob(record["id"])
    assert not old_tmp.exists() and young_tmp.exists()


def test_a_command_that_cannot_start_exits_127_and_records_nothing(repo: Repo) -> None:
    result = repo.prov("record", "--", "no-such-command-anywhere")
    assert result.code == 127
    assert result.err == "git prov: error: no-such-command-anywhere: command not found; nothing was recorded\n"
    assert repo.run_ids() == []
