"""The MUST contract of design.md, one focused test per statement, asserted as a user (or an outside test) sees it.

Other test files go deep; this one re-asserts in one place what the outside world relies on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import pty
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import rfc8785

from tests.helpers import GIT_PROV, SECTIONS, Repo, git, plant_paths, prov

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "run.schema.json").read_text())


def one_line_error(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("git prov: error: "), err
    assert "Traceback" not in err


def assert_dates_strictly_increase(where: Path) -> None:
    """Along the first-parent chain of refs/prov/runs (git log lists it newest first)."""
    dates = [int(d) for d in git(where, "log", "--first-parent", "--format=%ct", "refs/prov/runs").split()]
    assert all(newer > older for newer, older in itertools.pairwise(dates)), (where, dates)


def diff_json(repo: Repo, *args: str) -> dict[str, Any]:
    result = repo.prov("diff", "--json", *args)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


# --- Storage model -------------------------------------------------------------------------------------------


def test_store_is_an_orphan_chain_from_an_empty_root_one_commit_per_run(repo: Repo) -> None:
    ids = [repo.record("-q", "-p", f"i={i}", "--", "true")["id"] for i in range(2)]
    chain = repo.git("rev-list", "--first-parent", "refs/prov/runs").split()
    assert len(chain) == 3
    for commit, rid in zip(chain[:2], reversed(ids), strict=True):
        added = repo.git("diff", "--name-status", f"{commit}^1", commit).splitlines()
        assert added == [f"A\truns/{rid[:2]}/{rid}/run.json"], added
    project = set(repo.git("rev-list", "HEAD").split())
    assert not project & set(chain)
    root = chain[-1]
    assert repo.git("rev-parse", f"{root}^{{tree}}").strip() == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert repo.git("rev-list", "--parents", "-n1", root).split() == [root]


def test_tree_layout_and_plain_git_show(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    record = repo.record("-q", "-i", "data", "--", "true")
    rid = record["id"]
    paths = repo.git("ls-tree", "-r", "--name-only", "refs/prov/runs").split()
    assert f"runs/{rid[:2]}/{rid}/run.json" in paths
    assert all(p.startswith(f"runs/{rid[:2]}/{rid}/") for p in paths)
    assert len(paths) >= 2  # the directory's manifest sits beside run.json
    shown = repo.git("show", f"refs/prov/runs:runs/{rid[:2]}/{rid}/run.json")
    assert json.loads(shown) == record


def test_recorded_commit_and_snapshot_are_pinned_through_amend_and_gc(repo: Repo) -> None:
    clean = repo.record("-q", "--", "true")["git"]
    repo.write("train.py", "print('dirty')\n")
    repo.write("new.txt", "staged\n")
    repo.git("add", "new.txt")
    repo.write("untracked.txt", "not tracked\n")
    dirty = repo.record("-q", "--", "true")["git"]
    assert clean["dirty"] is False and clean["snapshot"] is None
    assert dirty["dirty"] is True and HEX40.match(dirty["snapshot"])
    snap = dirty["snapshot"]
    assert repo.git("rev-parse", f"{snap}^").strip() == clean["commit"]
    assert repo.git("show", f"{snap}:train.py") == "print('dirty')\n"
    assert repo.git("show", f"{snap}:new.txt") == "staged\n"
    # Untracked, non-ignored files are code too (design.md, Evidence rules).
    assert repo.git("ls-tree", "--name-only", snap).split() == ["new.txt", "train.py", "untracked.txt"]
    assert dirty["untracked"] == ["untracked.txt"]
    repo.git("commit", "-q", "--amend", "-am", "rewritten")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    pinned = set(repo.git("rev-list", "refs/prov/runs").split())
    assert {clean["commit"], snap} <= pinned
    assert repo.git("cat-file", "-t", snap).strip() == "commit"


def test_32_concurrent_records_give_32_runs_and_dates_strictly_increase(repo: Repo) -> None:
    procs = [subprocess.Popen([GIT_PROV, "record", "-q", "-p", f"n={i}", "--", "true"], cwd=repo.path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(32)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0] * 32, [p.stderr.read() for p in procs if p.stderr]
    assert len(repo.run_ids()) == 32
    repo.git("fsck", "--strict")
    assert_dates_strictly_increase(repo.path)


def test_mirror_is_a_view_with_a_gitignore_and_is_rebuilt(repo: Repo) -> None:
    rid = repo.record("-q", "--", "true")["id"]
    mirror = repo.path / ".prov" / "runs" / rid / "run.json"
    assert mirror.read_bytes() == repo.blob(rid)
    assert (repo.path / ".prov" / ".gitignore").exists()
    repo.git("add", "-A")
    assert ".prov" not in repo.git("status", "--porcelain")
    mirror.unlink()
    assert repo.prov("mirror").code == 0
    assert mirror.read_bytes() == repo.blob(rid)


def test_settings_live_in_git_config_under_prov(repo: Repo) -> None:
    blake3 = pytest.importorskip("blake3")
    repo.git("config", "prov.env.include", "CONTRACT_*")
    repo.git("config", "prov.env.exclude", "CONTRACT_HIDDEN")
    repo.git("config", "prov.hashAlgorithm", "blake3")
    record = repo.record("-q", "-i", "train.py", "--", "true", env={"CONTRACT_HIDDEN": "x", "CONTRACT_SHOWN": "y"})
    assert record["env"]["vars"] == {"CONTRACT_SHOWN": "y"}
    assert record["inputs"][0]["digest"] == "blake3:" + blake3.blake3((repo.path / "train.py").read_bytes()).hexdigest()
    assert repo.prov("verify").code == 0
    assert sorted(p.name for p in (repo.path / ".prov").iterdir()) == [".gitignore", "runs"]


# --- Run record ----------------------------------------------------------------------------------------------


def test_record_fields_and_types(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    (repo.path / "link").symlink_to("train.py")
    (repo.path / "sub").mkdir()
    # Metrics come only from a file the run wrote (design.md "Evidence rules").
    result = prov(repo.path / "sub", "record", "-q", "-i", "../data", "-i", "../train.py", "-i", "../link",
                  "-o", "../out.txt", "-p", "model.depth=3", "-p", "lr=0.1", "-m", "../metrics.json", "--",
                  "sh", "-c", "echo x > ../out.txt; echo '{\"acc\": 0.9}' > ../metrics.json",
                  env={"CONTRACT_PLAIN": "hello"})
    assert result.code == 0, result.err
    r = repo.newest()
    jsonschema.Draft202012Validator(SCHEMA).validate(r)
    assert HEX64.match(r["id"])
    body = {k: v for k, v in r.items() if k != "id"}
    assert hashlib.sha256(rfc8785.dumps(body)).hexdigest() == r["id"]
    assert r["schema_version"] == 2
    assert r["command"]["argv"] == ["sh", "-c", "echo x > ../out.txt; echo '{\"acc\": 0.9}' > ../metrics.json"]
    assert r["command"]["cwd"] == "sub"
    st = r["status"]
    assert st["exit_code"] == 0 and st["signal"] is None and isinstance(st["duration_s"], (int, float))
    assert RFC3339_UTC.match(st["started_at"]) and RFC3339_UTC.match(st["ended_at"])
    g = r["git"]
    assert HEX40.match(g["commit"]) and g["branch"] == "main" and isinstance(g["dirty"], bool)
    by_path = {f["path"]: f for f in r["inputs"] + r["outputs"]}
    assert by_path["data"]["type"] == "dir" and by_path["train.py"]["type"] == "file"
    assert by_path["link"]["type"] == "symlink"
    assert by_path["out.txt"]["type"] == "file" and by_path["out.txt"]["size"] == 2
    assert by_path["out.txt"]["digest"] == "sha256:" + hashlib.sha256(b"x\n").hexdigest()
    assert all(re.match(r"^[a-z0-9]+:[0-9a-f]+$", f["digest"]) for f in by_path.values())
    assert r["params"] == {"model": {"depth": 3}, "lr": 0.1}
    assert r["metrics"] == {"acc": 0.9}
    env = r["env"]
    assert {"platform", "python", "packages", "vars"} <= set(env)
    assert isinstance(env["packages"], dict) and all(isinstance(v, str) for v in env["packages"].values())
    assert env["vars"]["CONTRACT_PLAIN"] == "hello" and env["vars"]["HOME"] == os.environ["HOME"]
    assert set(env["vars"]) == {*os.environ, "CONTRACT_PLAIN"}  # every variable by default


def test_no_commit_yet_and_detached_head(empty_repo: Repo, repo: Repo) -> None:
    assert empty_repo.record("-q", "--", "true")["git"]["commit"] is None
    repo.git("checkout", "-q", "--detach")
    g = repo.record("-q", "--", "true")["git"]
    assert g["branch"] is None and HEX40.match(g["commit"])


def test_missing_input_is_an_error_before_running_and_missing_output_is_recorded(repo: Repo) -> None:
    result = repo.prov("record", "-i", "nope.csv", "--", "touch", "ran")
    assert result.code == 128 and not (repo.path / "ran").exists() and repo.run_ids() == []
    one_line_error(result.err)
    result = repo.prov("record", "-o", "never.txt", "--", "true")
    assert result.code == 0 and "never.txt" in result.err
    assert [(o["path"], o["type"]) for o in repo.newest()["outputs"]] == [("never.txt", "missing")]


def test_env_vars_keep_secret_names_with_a_redacted_marker(repo: Repo) -> None:
    secrets = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
               "DATABASE_URL": "postgres://app:dbpassw0rd@db.example.com/prod",
               "MY_API_TOKEN": "plain-looking-value", "HARMLESS": "ghp_" + "a1B2c3D4e5" * 4}
    record = repo.record("-q", "--", "true", env=secrets)
    for name, value in secrets.items():
        assert "REDACTED" in record["env"]["vars"][name]
        assert value not in json.dumps(record)
    assert "dbpassw0rd" not in json.dumps(record) and "db.example.com" in record["env"]["vars"]["DATABASE_URL"]
    repo.record("-q", "--", "true", env={**secrets, "MY_API_TOKEN": "another-value"})
    changes = diff_json(repo)["sections"]["env"]["changes"]
    assert [(c["path"], c["kind"]) for c in changes] == [("env.vars.MY_API_TOKEN", "changed")]
    assert "REDACTED" in changes[0]["old"] and "REDACTED" in changes[0]["new"]
    assert "another-value" not in repo.prov("diff").out


def test_argv_redaction(repo: Repo) -> None:
    token = "ghp_" + "Z9y8X7w6V5" * 4
    embedded = "glpat-" + "Q1w2E3r4T5y6U7i8O9p0"
    argv = ["echo", "--password", "hunter2pw", "--token", "tok3nvalue", "--api-key=k3yvalue", "--secret",
            "s3cretvalue", token, "https://alice:urlpassw0rd@example.com/repo.git", f"--header=Bearer {embedded}"]
    record = repo.record("-q", "--", *argv)
    stored = record["command"]["argv"]
    assert stored[0] == "echo" and stored[1] == "--password" and stored[3] == "--token"
    assert stored[5].startswith("--api-key=") and stored[6] == "--secret"
    for i in (2, 4, 7, 8):
        assert "REDACTED" in stored[i], stored
    assert "REDACTED" in stored[5] and "REDACTED" in stored[9] and "example.com" in stored[9]
    text = json.dumps(record) + repo.git("cat-file", "--batch-all-objects", "--batch", check=False)
    assert "REDACTED" in stored[10]
    for secret in ("hunter2pw", "tok3nvalue", "k3yvalue", "s3cretvalue", token, "urlpassw0rd", embedded):
        assert secret not in text


# --- Command line --------------------------------------------------------------------------------------------


def test_record_command_line_forms(repo: Repo) -> None:
    repo.write("params.yaml", "model:\n  depth: 3\n  name: tiny\n")
    record = repo.record("-q", "--name", "baseline", "--params-file", "params.yaml", "-p", "model.depth=5",
                         "--no-exec", "--", "touch", "ran")
    assert not (repo.path / "ran").exists()
    assert record["name"] == "baseline" and record["params"] == {"model": {"depth": 5, "name": "tiny"}}
    assert record["command"]["argv"] == ["touch", "ran"]
    assert repo.prov("show", "--json").json() == record


def test_record_streams_stdio_and_keeps_its_own_messages_on_stderr(repo: Repo) -> None:
    result = repo.prov("record", "-o", "never.txt", "--", "sh", "-c", "cat; echo out; echo err >&2", input=b"in\n")
    assert result.code == 0
    assert result.out == "in\nout\n"  # the warning about never.txt and the "recorded" line went to stderr
    assert result.err.startswith("err\n") and "never.txt" in result.err and "git prov" in result.err


def test_record_exits_with_the_command_status_and_records_failures(repo: Repo) -> None:
    assert repo.prov("record", "-q", "--", "sh", "-c", "exit 3").code == 3
    assert repo.newest()["status"]["exit_code"] == 3
    assert repo.prov("record", "-q", "--", "sh", "-c", "kill -TERM $$").code == 128 + signal.SIGTERM
    status = repo.newest()["status"]
    assert status["exit_code"] is None and status["signal"] == signal.SIGTERM
    assert len(repo.run_ids()) == 2


def test_record_forwards_sigint_and_exits_128_plus_n(repo: Repo) -> None:
    proc = subprocess.Popen([GIT_PROV, "record", "-q", "--", "sh", "-c", "echo up; exec sleep 30"],
                            cwd=repo.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 128 + signal.SIGINT
    assert repo.newest()["status"]["signal"] == signal.SIGINT


def test_python_dash_m_is_the_same_program(repo: Repo) -> None:
    repo.record("-q", "--", "true")
    via_module = subprocess.run([sys.executable, "-m", "prov_git", "log", "--json"], cwd=repo.path,
                                capture_output=True, text=True, check=False)
    assert via_module.returncode == 0 and via_module.stdout == repo.prov("log", "--json").out
    bad = subprocess.run([sys.executable, "-m", "prov_git", "show", "zzzz"], cwd=repo.path,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 128


def test_log_show_and_run_references(repo: Repo) -> None:
    ids = [repo.record("-q", "-p", f"i={i}", "--", "true")["id"] for i in range(3)]
    lines = repo.prov("log", "--json").out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ids[::-1]
    assert len(repo.prov("log", "-n", "2").out.splitlines()) == 2
    assert len(repo.prov("log", "-n", "1", "--json").out.splitlines()) == 1
    for ref, want in (("@", ids[2]), ("@~1", ids[1]), ("@~2", ids[0]), (ids[0], ids[0]), (ids[1][:4], ids[1])):
        shown = repo.prov("show", "--json", ref)
        assert shown.code == 0 and shown.json()["id"] == want, (ref, shown.err)
    assert repo.prov("show", "--json", "@").json() == json.loads(repo.blob(ids[2]))
    for bad in ("@~3", ids[0][:3], "f" * 64, "not-a-run"):
        result = repo.prov("show", bad)
        assert result.code == 128, (bad, result)
        one_line_error(result.err)


def test_diff_json_shape_and_section_names(repo: Repo) -> None:
    repo.record("-q", "--", "true")
    repo.record("-q", "--", "true")
    d = diff_json(repo)
    assert set(d) == {"a", "b", "identical", "sections"}
    assert HEX64.match(d["a"]) and HEX64.match(d["b"]) and isinstance(d["identical"], bool)
    assert set(d["sections"]) == set(SECTIONS)
    assert all(isinstance(d["sections"][s]["changed"], bool) for s in SECTIONS)
    same = diff_json(repo, "@", "@")
    assert same["identical"] is True and not any(s["changed"] for s in same["sections"].values())


def test_diff_defaults_to_previous_vs_newest_and_one_run_vs_newest(repo: Repo) -> None:
    ids = [repo.record("-q", "-p", f"i={i}", "--", "true")["id"] for i in range(3)]
    d = diff_json(repo)
    assert (d["a"], d["b"]) == (ids[1], ids[2])
    d = diff_json(repo, ids[0][:8])
    assert (d["a"], d["b"]) == (ids[0], ids[2])
    d = diff_json(repo, "@~2", "@~1")
    assert (d["a"], d["b"]) == (ids[0], ids[1])


def test_diff_inputs_and_outputs_name_files_inside_directories(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    repo.write("data/b.csv", "2\n")
    repo.write("data/gone.csv", "3\n")
    repo.record("-q", "-i", "data", "-o", "out", "--", "sh", "-c", "mkdir -p out; echo 1 > out/x; echo 1 > out/y")
    repo.write("data/a.csv", "changed\n")
    repo.write("data/new.csv", "4\n")
    (repo.path / "data" / "gone.csv").unlink()
    repo.record("-q", "-i", "data", "-o", "out", "--", "sh", "-c", "rm out/y; echo 2 > out/x; echo 1 > out/z")
    s = diff_json(repo)["sections"]
    assert s["inputs"]["changed"] and s["outputs"]["changed"]
    assert (s["inputs"]["added"], s["inputs"]["removed"], s["inputs"]["modified"]) == \
        (["data/new.csv"], ["data/gone.csv"], ["data/a.csv"])
    assert (s["outputs"]["added"], s["outputs"]["removed"], s["outputs"]["modified"]) == \
        (["out/z"], ["out/y"], ["out/x"])


def test_diff_params_env_metrics_changes_are_path_kind_old_new(repo: Repo) -> None:
    # The run writes m.json (only such a file's metrics are recorded); its argv stays the same.
    # next.json is ignored: an untracked, non-ignored file would be code (design.md, Evidence rules).
    (repo.path / ".git" / "info" / "exclude").write_text("next.json\n")
    repo.write("next.json", json.dumps({"acc": 0.5}))
    repo.record("-q", "-p", "model.depth=3", "-m", "m.json", "--", "cp", "next.json", "m.json",
                env={"CONTRACT_VAR": "one"})
    repo.write("next.json", json.dumps({"acc": 0.75}))
    repo.record("-q", "-p", "model.depth=4", "-m", "m.json", "--", "cp", "next.json", "m.json",
                env={"CONTRACT_VAR": "two"})
    s = diff_json(repo)["sections"]
    for name, path, old, new in (("params", "model.depth", 3, 4), ("metrics", "acc", 0.5, 0.75),
                                 ("env", "env.vars.CONTRACT_VAR", "one", "two")):
        changes = s[name]["changes"]
        assert s[name]["changed"] is True
        assert all({"path", "kind", "old", "new"} <= set(c) for c in changes), changes
        hit = [c for c in changes if c["path"].endswith(path)]
        assert len(hit) == 1 and (hit[0]["old"], hit[0]["new"]) == (old, new), changes
    for name in ("command", "code", "inputs", "outputs", "status"):
        assert s[name]["changed"] is False, name


def test_diff_code_counts_lines_between_commits_and_snapshots(repo: Repo) -> None:
    repo.record("-q", "--", "true")
    repo.write("train.py", "print('training')\nprint('more')\n")
    repo.commit_all()
    repo.record("-q", "--", "true")
    repo.write("train.py", "print('edited')\n")  # uncommitted: only the snapshot has it
    repo.record("-q", "--", "true")
    committed = diff_json(repo, "@~2", "@~1")["sections"]["code"]
    assert committed["changed"] is True
    assert [(f["path"], f["added"], f["removed"]) for f in committed["files"]] == [("train.py", 1, 0)]
    dirty = diff_json(repo, "@~1", "@")["sections"]["code"]
    assert [(f["path"], f["added"], f["removed"]) for f in dirty["files"]] == [("train.py", 1, 2)]
    patch = repo.prov("diff", "--patch", "@~1", "@")
    assert patch.code == 0 and "+print('edited')" in patch.out and "-print('more')" in patch.out


def test_diff_status_names_a_changed_exit_status(repo: Repo) -> None:
    for code in ("0", "3"):
        (repo.path / ".git" / "code").write_text(code)  # read by the command, invisible to every section
        repo.prov("record", "-q", "--", "sh", "-c", "exit $(cat .git/code)")
    d = diff_json(repo)
    assert d["identical"] is False
    assert [name for name in SECTIONS if d["sections"][name]["changed"]] == ["status"]


def test_diff_exit_code(repo: Repo) -> None:
    repo.record("-q", "-p", "x=1", "--", "true")
    repo.record("-q", "-p", "x=2", "--", "true")
    assert repo.prov("diff", "--exit-code").code == 1
    assert repo.prov("diff", "--exit-code", "@", "@").code == 0
    assert repo.prov("diff", "--exit-code", "--json").code == 1


def test_error_exit_codes_and_one_line_messages(repo: Repo, tmp_path: Path) -> None:
    repo.record("-q", "--", "true")
    for args in (["diff", "zzzz"], ["verify", "zzzz"], ["show", "@~5"]):
        result = repo.prov(*args)
        assert result.code == 128, (args, result)
        one_line_error(result.err)
    outside = tmp_path / "outside"
    outside.mkdir()
    result = prov(outside, "log", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert result.code == 128
    one_line_error(result.err)
    for args in (["log", "--no-such-flag"], ["log", "-n", "many"], ["diff", "@", "@", "@"], ["record"],
                 ["record", "-p", "novalue", "--", "true"], ["record", "--params-file"], ["no-such-command"],
                 ["push", "a", "b"], ["verify", "--bogus"]):
        result = repo.prov(*args)
        assert result.code == 2, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("git prov: "), (args, result.err)


def on_a_terminal(repo: Repo, *args: str) -> bytes:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([GIT_PROV, *args], cwd=repo.path, stdin=follower, stdout=follower, stderr=follower,
                            env={**os.environ, "TERM": "xterm", "GIT_PAGER": "cat", "PAGER": "cat"})
    proc.wait(timeout=60)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return out


def test_human_output_is_colored_on_a_terminal(repo: Repo) -> None:
    repo.record("-q", "-p", "x=1", "--", "true")
    repo.record("-q", "-p", "x=2", "--", "true")
    for args in (["log"], ["diff"]):
        assert b"\x1b[" in on_a_terminal(repo, *args), args


def test_human_output_is_plain_when_piped(repo: Repo) -> None:
    repo.record("-q", "-p", "x=1", "--", "true")
    repo.record("-q", "-p", "x=2", "--", "true")
    for args in (["log"], ["show"], ["diff"], ["verify"]):
        result = repo.prov(*args)
        assert result.code == 0 and result.out + result.err, args
        assert "\x1b" not in result.out + result.err, args
    lines = repo.prov("diff").out.splitlines()
    assert any(line.startswith("params") for line in lines)  # grouped by section
    assert "params changed" in lines[-1]  # ends with the one-line summary


def test_verify_defaults_to_newest_and_exits_1_on_problems(repo: Repo) -> None:
    repo.record("-q", "-o", "a.txt", "--", "sh", "-c", "echo a > a.txt")
    repo.record("-q", "-o", "b.txt", "--", "sh", "-c", "echo b > b.txt")
    repo.write("a.txt", "tampered\n")
    assert repo.prov("verify").code == 0  # only @ is checked
    assert repo.prov("verify", "@~1").code == 1
    repo.write("b.txt", "tampered\n")
    result = repo.prov("verify")
    assert result.code == 1 and "b.txt" in result.out + result.err


def test_verify_checks_the_mirror(repo: Repo) -> None:
    rid = repo.record("-q", "--", "true")["id"]
    mirror = repo.path / ".prov" / "runs" / rid / "run.json"
    mirror.write_bytes(mirror.read_bytes().replace(b'"true"', b'"false"'))
    result = repo.prov("verify")
    assert result.code == 1 and rid[:12] in result.out + result.err
    assert repo.prov("mirror").code == 0 and repo.prov("verify").code == 0


def test_verify_all_checks_each_path_against_the_newest_run_that_recorded_it(repo: Repo) -> None:
    repo.record("-q", "-o", "model.pkl", "-o", "old.txt", "--", "sh", "-c", "echo 1 > model.pkl; echo o > old.txt")
    repo.record("-q", "-o", "model.pkl", "--", "sh", "-c", "echo 2 > model.pkl")
    result = repo.prov("verify", "--all")
    assert result.code == 0, result.out + result.err  # the older model.pkl was legitimately overwritten
    repo.write("old.txt", "changed\n")  # recorded only by the older run: still checked
    result = repo.prov("verify", "--all")
    assert result.code == 1 and "old.txt" in result.out + result.err
    repo.write("old.txt", "o\n")
    repo.write("model.pkl", "3\n")
    result = repo.prov("verify", "--all")
    assert result.code == 1 and "model.pkl" in result.out + result.err


def test_an_edited_record_fails_its_id_check(repo: Repo) -> None:
    rid = repo.record("-q", "-p", "x=1", "--", "true")["id"]
    forged = repo.blob(rid).replace(b'"x": 1', b'"x": 2')
    assert forged != repo.blob(rid)
    plant_paths(repo, {f"runs/{rid[:2]}/{rid}/run.json": forged})
    result = repo.prov("verify", rid)
    assert result.code == 1 and rid[:12] in result.out + result.err
    assert repo.prov("verify", "--all").code == 1
    result = repo.prov("show", rid)
    assert result.code == 128
    one_line_error(result.err)


def test_a_schema_invalid_record_is_refused_on_read_even_with_a_matching_id(repo: Repo) -> None:
    record = repo.record("-q", "--", "true")
    body = {k: v for k, v in record.items() if k != "id"}
    body["status"]["exit_code"] = "zero"
    rid = hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    plant_paths(repo, {f"runs/{rid[:2]}/{rid}/run.json": json.dumps({**body, "id": rid}).encode()})
    result = repo.prov("show", rid)
    assert result.code == 128 and rid[:12] in result.err
    one_line_error(result.err)
    assert repo.prov("verify", "--all").code == 1


def test_pushing_the_ref_carries_pinned_commits_and_snapshots(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.git("checkout", "-q", "-b", "local-only")
    repo.write("local.py", "x = 1\n")
    commit = repo.commit_all("never pushed")
    repo.write("local.py", "x = 2\n")
    snapshot = repo.record("-q", "--", "true")["git"]["snapshot"]
    assert repo.prov("push").code == 0
    for sha in (commit, snapshot):
        assert git(remote, "cat-file", "-t", sha).strip() == "commit"
    assert git(remote, "for-each-ref", "--format=%(refname)").split() == ["refs/prov/runs"]


def test_hooks_install_pre_push_carries_the_runs(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    hooks = repo.path / "myhooks"
    hooks.mkdir()
    (hooks / "pre-push").write_text("#!/bin/sh\ntouch \"$(git rev-parse --show-toplevel)/kept-hook-ran\"\n")
    (hooks / "pre-push").chmod(0o755)
    repo.git("config", "core.hooksPath", "myhooks")
    assert repo.prov("hooks", "install").code == 0
    rid = repo.record("-q", "--", "true")["id"]
    repo.git("push", "-q", "origin", "main")
    assert (repo.path / "kept-hook-ran").exists()
    assert f"runs/{rid[:2]}/{rid}/run.json" in git(remote, "ls-tree", "-r", "--name-only", "refs/prov/runs")


def test_two_clones_sync_to_the_union_without_force(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "shared.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    git(remote, "config", "receive.denyNonFastForwards", "true")  # a force-push would fail
    clones = []
    for name in ("a", "b"):
        git(tmp_path, "clone", "-q", str(remote), name)
        clones.append(Repo(tmp_path / name))
    ids = {c.record("-q", "-p", f"who={c.path.name}", "--", "true")["id"] for c in clones}
    # b's push is rejected at first (a pushed): it must fetch, merge and retry on its own.
    for clone, command in ((clones[0], "push"), (clones[1], "push"), (clones[0], "fetch")):
        result = clone.prov(command)
        assert result.code == 0, (command, result.err)
    assert set(clones[0].run_ids()) == set(clones[1].run_ids()) == set(Repo(remote).run_ids()) == ids
    for clone in clones:  # the mirror follows merged runs too
        assert (clone.path / ".prov" / ".gitignore").exists()
        assert {p.name for p in (clone.path / ".prov" / "runs").iterdir()} == ids
        assert ".prov" not in clone.git("status", "--porcelain")
    logged = [json.loads(line) for line in clones[0].prov("log", "--json").out.splitlines()]
    keys = [(datetime.fromisoformat(r["status"]["started_at"].replace("Z", "+00:00")), r["id"]) for r in logged]
    assert keys == sorted(keys, reverse=True)  # newest first: start time, then id
    # prov.remote names the default remote.
    backup = tmp_path / "backup.git"
    git(tmp_path, "init", "-q", "--bare", str(backup))
    clones[0].git("remote", "add", "backup", str(backup))
    clones[0].git("config", "prov.remote", "backup")
    assert clones[0].prov("sync").code == 0
    assert set(Repo(backup).run_ids()) == ids
    for where in (clones[0].path, clones[1].path, remote):
        assert_dates_strictly_increase(where)

