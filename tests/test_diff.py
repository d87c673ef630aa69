"""`git prov diff`: pairs of real runs where exactly one thing changed, and the diff names it."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GIT_PROV, SECTIONS, Repo

PY = sys.executable


@pytest.fixture(autouse=True)
def fake_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A venv of one package, so env.packages does not follow whatever the test venv holds."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")  # only its presence is looked at; it never runs
    (venv / "pyvenv.cfg").write_text("version = 3.11.0\ninclude-system-site-packages = false\n")
    (venv / "lib" / "python3.11" / "site-packages" / "foo-1.0.dist-info").mkdir(parents=True)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    return venv


def diff(repo: Repo, *args: str, **kwargs: Any) -> dict[str, Any]:
    result = repo.prov("diff", "--json", *args, **kwargs)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    assert list(data["sections"]) == [s for s in SECTIONS if s in data["sections"]]
    return data


def only_changed(data: dict[str, Any], section: str) -> dict[str, Any]:
    """Assert that section alone changed; return it."""
    changed = [name for name, s in data["sections"].items() if s["changed"]]
    assert changed == [section], json.dumps(data["sections"], indent=1)
    assert data["identical"] is False
    return data["sections"][section]  # type: ignore[no-any-return]


def paths(section: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["path"], c["kind"]) for c in section["changes"]]


# ------------------------------------------------------------------ one cause, one section


def test_committed_code_edit(repo: Repo) -> None:
    a = repo.record("--", "true")
    repo.write("train.py", "print('training v2')\n")
    repo.commit_all("v2")
    b = repo.record("--", "true")
    data = diff(repo)
    assert (data["a"], data["b"]) == (a["id"], b["id"])
    code = only_changed(data, "code")
    assert [(f["path"], f["status"], f["added"], f["removed"]) for f in code["files"]] == [
        ("train.py", "modified", 1, 1)]
    assert code["a"]["commit"] == a["git"]["commit"] and code["b"]["commit"] == b["git"]["commit"]


def test_uncommitted_edit_is_diffed_from_the_snapshot(repo: Repo) -> None:
    repo.record("--", "true")
    repo.write("train.py", "print('training')\nprint('more')\n")
    b = repo.record("--", "true")
    assert b["git"]["dirty"] is True
    code = only_changed(diff(repo), "code")
    assert [(f["path"], f["added"], f["removed"]) for f in code["files"]] == [("train.py", 1, 0)]
    assert code["b"]["snapshot"] == b["git"]["snapshot"]


def test_staged_new_file(repo: Repo) -> None:
    repo.record("--", "true")
    repo.write("lib/util.py", "X = 1\nY = 2\n")
    repo.git("add", "lib/util.py")
    repo.record("--", "true")
    code = only_changed(diff(repo), "code")
    assert [(f["path"], f["status"], f["added"]) for f in code["files"]] == [("lib/util.py", "added", 2)]


def test_one_file_inside_an_input_directory(repo: Repo) -> None:
    repo.write("data/a.csv", "x\n1\n")
    repo.write("data/sub/b.csv", "y\n2\n")
    repo.record("-i", "data", "--", "true")
    repo.write("data/sub/b.csv", "y\n3\n")
    repo.write("data/c.csv", "new\n")
    repo.record("-i", "data", "--", "true")
    inputs = only_changed(diff(repo), "inputs")
    assert inputs["modified"] == ["data/sub/b.csv"]
    assert inputs["added"] == ["data/c.csv"] and inputs["removed"] == []
    detail = next(d for d in inputs["details"] if d["path"] == "data/sub/b.csv")
    assert detail["old"]["digest"] != detail["new"]["digest"] and detail["new"]["size"] == 4


def test_parameter_in_a_nested_params_file(repo: Repo) -> None:
    repo.write("params.yaml", "model:\n  depth: 4\n  kind: tree\nlr: 0.1\n")
    repo.record("--params-file", "params.yaml", "--", "true")
    repo.write("params.yaml", "model:\n  depth: 6\n  kind: tree\nlr: 0.1\n")
    repo.record("--params-file", "params.yaml", "--", "true")
    params = only_changed(diff(repo), "params")
    assert params["changes"] == [{"path": "model.depth", "kind": "changed", "old": 4, "new": 6}]


def test_environment_variable(repo: Repo) -> None:
    repo.record("--", "true", env={"CUDA_VISIBLE_DEVICES": "0"})
    repo.record("--", "true", env={"CUDA_VISIBLE_DEVICES": "1"})
    env = only_changed(diff(repo), "env")
    assert env["changes"] == [{"path": "env.vars.CUDA_VISIBLE_DEVICES", "kind": "changed", "old": "0", "new": "1"}]


def test_changed_secret_shows_as_changed_without_its_value(repo: Repo) -> None:
    repo.record("--", "true", env={"API_TOKEN": "first-secret-value"})
    repo.record("--", "true", env={"API_TOKEN": "second-secret-value"})
    result = repo.prov("diff", "--json")
    env = only_changed(result.json(), "env")
    assert paths(env) == [("env.vars.API_TOKEN", "changed")]
    assert "REDACTED" in env["changes"][0]["old"] and "secret-value" not in result.out


def test_package_version(repo: Repo, fake_venv: Path) -> None:
    repo.record("--", "true")
    site = fake_venv / "lib" / "python3.11" / "site-packages"
    (site / "foo-1.0.dist-info").rename(site / "foo-2.0.dist-info")
    (site / "bar-0.1.dist-info").mkdir()
    repo.record("--", "true")
    env = only_changed(diff(repo), "env")
    assert env["changes"] == [
        {"path": "env.packages.bar", "kind": "added", "old": None, "new": "0.1"},
        {"path": "env.packages.foo", "kind": "changed", "old": "1.0", "new": "2.0"},
    ]


def test_output(repo: Repo) -> None:
    repo.write("model.bin", "weights 1\n")
    repo.record("-o", "model.bin", "-o", "report.txt", "--no-exec")
    repo.write("model.bin", "weights 2\n")
    repo.write("report.txt", "done\n")
    repo.record("-o", "model.bin", "-o", "report.txt", "--no-exec")
    outputs = only_changed(diff(repo), "outputs")
    # report.txt was recorded as missing the first time: it appeared.
    assert (outputs["added"], outputs["removed"], outputs["modified"]) == (["report.txt"], [], ["model.bin"])


def test_metric_with_delta(repo: Repo) -> None:
    repo.write("metrics.json", '{"acc": 0.81, "loss": 0.5, "epochs": 10}')
    repo.record("-m", "metrics.json", "--no-exec")
    repo.write("metrics.json", '{"acc": 0.84, "loss": 0.5, "epochs": 12}')
    repo.record("-m", "metrics.json", "--no-exec")
    metrics = only_changed(diff(repo), "metrics")
    assert metrics["changes"] == [
        {"path": "acc", "kind": "changed", "old": 0.81, "new": 0.84, "delta": 0.03},
        {"path": "epochs", "kind": "changed", "old": 10, "new": 12, "delta": 2},
    ]
    text = repo.prov("diff").out
    assert re.search(r"~ acc\s+0\.81 -> 0\.84 \(\+0\.03\)", text), text


def test_exit_status(repo: Repo) -> None:
    script = ["--", PY, "-c", "import sys; sys.exit(int(open('code.txt').read()))"]
    (repo.path / ".git" / "info" / "exclude").write_text("code.txt\n")  # ignored: not code
    repo.write("code.txt", "0")
    assert repo.prov("record", *script).code == 0
    repo.write("code.txt", "3")
    assert repo.prov("record", *script).code == 3
    status = only_changed(diff(repo), "status")
    assert status["changes"] == [{"path": "exit_code", "kind": "changed", "old": 0, "new": 3}]
    assert set(status["info"]) >= {"duration_s", "max_rss_kib"}


def test_same_run_twice_is_identical_and_noise_is_ignored(repo: Repo) -> None:
    repo.record("--", "true", env={"PWD": "/a", "OLDPWD": "/b", "SHLVL": "1", "_": "/x", "SSH_TTY": "/dev/pts/1"})
    repo.record("--", "true", env={"PWD": "/c", "OLDPWD": "/d", "SHLVL": "2", "_": "/y", "SSH_TTY": "/dev/pts/2"})
    data = diff(repo)
    assert data["identical"] is True, data["sections"]
    assert set(data["sections"]["env"]["ignored"]) == {
        "env.vars.PWD", "env.vars.OLDPWD", "env.vars.SHLVL", "env.vars._", "env.vars.SSH_TTY"}
    assert data["sections"]["status"]["info"]["duration_s"]["old"] is not None
    assert diff(repo, "@", "@")["identical"] is True
    assert repo.prov("diff", "--exit-code").code == 0


def test_noise_list_is_configurable(repo: Repo) -> None:
    repo.git("config", "--add", "prov.diff.ignore", "params.seed")
    repo.git("config", "--add", "prov.diff.ignore", "!env.vars.PWD")
    repo.record("-p", "seed=1", "--", "true", env={"PWD": "/a"})
    repo.record("-p", "seed=2", "--", "true", env={"PWD": "/b"})
    data = diff(repo)
    assert data["sections"]["params"] == {"changed": False, "changes": [], "ignored": ["seed"]}
    assert paths(only_changed(data, "env")) == [("env.vars.PWD", "changed")]


# ------------------------------------------------------------------------------ behaviour


def test_run_arguments_default_to_newest_two(repo: Repo) -> None:
    ids = [repo.record("-p", f"i={i}", "--", "true")["id"] for i in range(3)]
    assert (diff(repo)["a"], diff(repo)["b"]) == (ids[1], ids[2])
    one = diff(repo, ids[0][:8])
    assert (one["a"], one["b"]) == (ids[0], ids[2])
    two = diff(repo, "@", "@~2")
    assert (two["a"], two["b"]) == (ids[2], ids[0])
    assert two["sections"]["params"]["changes"] == [{"path": "i", "kind": "changed", "old": 2, "new": 0}]


def test_exit_code_and_section_filter(repo: Repo) -> None:
    repo.record("-p", "lr=0.1", "--", "true")
    repo.write("train.py", "print('edited')\n")
    repo.record("-p", "lr=0.2", "--", "true")
    assert repo.prov("diff", "--exit-code").code == 1
    assert repo.prov("diff", "--exit-code", "--json").code == 1
    assert repo.prov("diff", "--exit-code", "--section", "metrics,env").code == 0
    data = diff(repo, "--section", "params,code")
    assert list(data["sections"]) == ["code", "params"]
    assert data["sections"]["code"]["changed"] and data["sections"]["params"]["changed"]
    text = repo.prov("diff", "--section", "params").out
    assert "code" not in text and text.rstrip().endswith("params changed")
    assert repo.prov("diff", "--exit-code", "@", "@").code == 0


def test_patch_and_stat(repo: Repo) -> None:
    repo.record("--", "true")
    repo.write("train.py", "print('training')\nprint('epoch 2')\n")
    repo.write("b.py", "B = 1\n")
    repo.commit_all("more")
    repo.record("--", "true")
    patch = repo.prov("diff", "--patch").out
    assert "diff --git a/train.py b/train.py" in patch and "\n+print('epoch 2')\n" in patch
    stat = repo.prov("diff", "--stat").out
    assert " b.py     | 1 +\n train.py | 1 +\n 2 files changed, 2 insertions(+)\n" in stat
    data = diff(repo, "--patch")
    assert "+B = 1" in data["sections"]["code"]["patch"]


def test_diff_after_amend_and_gc(repo: Repo) -> None:
    repo.write("train.py", "print('v1')\n")
    repo.commit_all("v1")
    a = repo.record("--", "true")
    repo.write("train.py", "print('v2')\n")
    repo.git("commit", "-q", "-a", "--amend", "-m", "v1 amended")
    b = repo.record("--", "true")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    assert repo.git("cat-file", "-t", a["git"]["commit"]).strip() == "commit"
    code = only_changed(diff(repo), "code")
    assert [(f["path"], f["added"], f["removed"]) for f in code["files"]] == [("train.py", 1, 1)]
    assert "-print('v1')" in repo.prov("diff", "--patch").out and b["git"]["commit"] != a["git"]["commit"]


def test_missing_pinned_commit_warns_and_diffs_the_rest(repo: Repo) -> None:
    a = repo.record("-p", "x=1", "--", "true")
    repo.write("train.py", "print('v2')\n")
    repo.commit_all("v2")
    repo.record("-p", "x=2", "--", "true")
    commit = a["git"]["commit"]
    (repo.path / ".git" / "objects" / commit[:2] / commit[2:]).unlink()  # loose: gc.auto is 0
    result = repo.prov("diff", "--json")
    assert result.code == 0, result.err
    assert result.err.startswith("git prov: warning: ") and commit[:12] in result.err
    assert result.err.count("\n") == 1
    data = result.json()
    assert data["sections"]["code"]["changed"] is True and "missing" in data["sections"]["code"]["unavailable"]
    assert data["sections"]["params"]["changes"][0]["path"] == "x"
    text = repo.prov("diff")
    assert "not compared" in text.out and text.code == 0


def test_worktree(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    repo.write("out.txt", "o1\n")
    run = repo.record("-i", "data", "-o", "out.txt", "--", "true")
    now = diff(repo, "--worktree")
    assert now["a"] == run["id"] and now["b"] is None and now["identical"] is True, now["sections"]
    repo.write("train.py", "print('changed')\n")
    repo.write("data/a.csv", "2\n")
    repo.write("out.txt", "o2\n")
    data = diff(repo, "--worktree", env={"CUDA_VISIBLE_DEVICES": "3"})
    changed = [name for name, s in data["sections"].items() if s["changed"]]
    assert changed == ["code", "inputs", "env", "outputs"]
    assert [f["path"] for f in data["sections"]["code"]["files"]] == ["train.py"]
    assert data["sections"]["code"]["b"]["dirty"] is True
    assert data["sections"]["inputs"]["modified"] == ["data/a.csv"]
    assert data["sections"]["outputs"]["modified"] == ["out.txt"]
    assert paths(data["sections"]["env"]) == [("env.vars.CUDA_VISIBLE_DEVICES", "added")]
    assert repo.run_ids() == [run["id"]]  # nothing recorded
    assert repo.git("status", "--porcelain", "--untracked-files=no").strip() == "M train.py"
    assert all(data["sections"][name]["compared"] is False for name in ("command", "params", "metrics", "status"))
    text = repo.prov("diff", "--worktree", "@").out
    assert re.search(r"^b  worktree\s+now\s+\S+\+dirty\s+not run$", text, re.M), text
    assert text.rstrip().endswith("code, inputs, outputs changed; env same; "
                                  "command, params, metrics, status not compared (nothing was run)")


def test_worktree_sees_a_staged_new_file(repo: Repo) -> None:
    repo.record("--", "true")
    repo.write("new.py", "N = 1\n")
    repo.git("add", "new.py")
    code = only_changed(diff(repo, "--worktree"), "code")
    assert [(f["path"], f["status"]) for f in code["files"]] == [("new.py", "added")]


@pytest.mark.parametrize(("args", "code", "words"), [
    (["deadbeef"], 128, "unknown run"),
    (["@~7"], 128, "fewer than"),
    (["@", "@", "@"], 2, "at most two"),
    (["--worktree", "@", "@~1"], 2, "at most one"),
    (["--section", "params,bogus"], 2, "unknown section bogus"),
])
def test_bad_arguments(repo: Repo, args: list[str], code: int, words: str) -> None:
    repo.record("--", "true")
    repo.record("--", "true")
    result = repo.prov("diff", *args)
    assert result.code == code and words in result.err, result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err and result.out == ""


def test_too_few_runs(repo: Repo) -> None:
    result = repo.prov("diff")
    assert result.code == 128 and "fewer than 2 runs" in result.err
    repo.record("--", "true")
    result = repo.prov("diff")
    assert result.code == 128 and "fewer than 2 runs" in result.err and result.err.count("\n") == 1


# --------------------------------------------------------------------------- human output


PLAIN = """\
a  <A>  <TIME>  {c1}  exit 0
b  <B>  <TIME>  {c2}  exit 1

code  (1 file changed, 1 insertion(+), 1 deletion(-))
  M train.py  +1 -1

inputs  (1 added, 1 modified)
  M data/a.csv  4 B -> 4 B  sha256:52186c9339 -> sha256:162d69039f
  A data/c.csv  4 B  sha256:7aa7a53591

params
  + batch        32
  - dropout      0.5
  ~ model.depth  4 -> 6

metrics
  ~ acc  0.81 -> 0.84 (+0.03)

status
  ~ exit_code  0 -> 1
    <INFO>

code, inputs, params, metrics, status changed; command, env, outputs same
"""


def _normalize(text: str, a: str, b: str) -> str:
    text = text.replace(a[:12], "<A>").replace(b[:12], "<B>")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", "<TIME>", text)
    # Durations and resource usage differ in every run: keep only that they are shown.
    return re.sub(r"(\n {4}(duration_s|max_rss_kib|user_cpu_s|sys_cpu_s) [^\n]*(\x1b\[0m)?)+", "\n    <INFO>",
                  text)


def _snapshot_pair(repo: Repo) -> tuple[dict[str, Any], dict[str, Any]]:
    # The run writes metrics.json (only such a file's metrics are recorded).
    cmd = ["--", PY, "-c", "import os, sys; os.utime('metrics.json'); sys.exit(int(open('code.txt').read()))"]
    repo.write("data/a.csv", "1,2\n")
    repo.write("metrics.json", '{"acc": 0.81}')
    repo.write("code.txt", "0")
    a = repo.record("-i", "data", "-p", "model.depth=4", "-p", "dropout=0.5", "-m", "metrics.json", *cmd)
    repo.write("train.py", "print('training v2')\n")
    repo.commit_all("v2")
    repo.write("data/a.csv", "1,3\n")
    repo.write("data/c.csv", "new\n")
    repo.write("metrics.json", '{"acc": 0.84}')
    repo.write("code.txt", "1")
    assert repo.prov("record", "-i", "data", "-p", "model.depth=6", "-p", "batch=32", "-m", "metrics.json",
                     *cmd).code == 1
    return a, repo.newest()


def test_human_output_plain_snapshot(repo: Repo) -> None:
    repo.write(".gitignore", "data/\nmetrics.json\ncode.txt\n")
    repo.commit_all("ignore")
    a, b = _snapshot_pair(repo)
    result = repo.prov("diff")  # piped: plain
    assert result.code == 0 and "\x1b[" not in result.out
    expected = PLAIN.format(c1=a["git"]["commit"][:10], c2=b["git"]["commit"][:10])
    assert _normalize(result.out, a["id"], b["id"]) == expected
    assert repo.prov("diff", "--color", env={"NO_COLOR": "1"}).out.count("\x1b[") > 10  # the flag wins
    assert repo.prov("diff", "--no-color").out == result.out


COLORED = (
    "a  \x1b[33m<A>\x1b[0m  <TIME>  {c}  exit 0\n"
    "b  \x1b[33m<B>\x1b[0m  <TIME>  {c}  exit 0\n"
    "\n"
    "\x1b[1mparams\x1b[0m\n"
    "\x1b[32m  + batch        32\x1b[0m\n"
    "\x1b[31m  - dropout      0.5\x1b[0m\n"
    "  \x1b[33m~\x1b[0m model.depth  \x1b[31m4\x1b[0m -> \x1b[32m6\x1b[0m\n"
    "\n"
    "\x1b[33m\x1b[1mparams changed\x1b[0m; command, code, inputs, env, outputs, metrics, status same\n"
)


def test_human_output_colored_snapshot(repo: Repo) -> None:
    a = repo.record("-p", "model.depth=4", "-p", "dropout=0.5", "--", "true")
    b = repo.record("-p", "model.depth=6", "-p", "batch=32", "--", "true")
    out = repo.prov("diff", "--color").out
    assert _normalize(out, a["id"], b["id"]) == COLORED.format(c=a["git"]["commit"][:10])


def test_identical_summary_and_long_values(repo: Repo) -> None:
    repo.record("--", "true")
    assert repo.prov("diff", "@", "@").out.rstrip().endswith(
        "identical: command, code, inputs, params, env, outputs, metrics, status same")
    repo.record("--", "true", env={"LONG_PATHS": "/opt/a/very/long/path/" * 4})
    repo.record("--", "true", env={"LONG_PATHS": "/opt/b/very/long/path/" * 4})
    lines = repo.prov("diff").out.splitlines()
    at = lines.index("  ~ env.vars.LONG_PATHS")
    assert lines[at + 1].startswith('      - "/opt/a/') and lines[at + 2].startswith('      + "/opt/b/')


def test_pager_on_a_terminal(repo: Repo) -> None:
    """On a tty the output goes through GIT_PAGER (colored); --no-pager and pipes skip it."""
    repo.record("-p", "x=1", "--", "true")
    repo.record("-p", "x=2", "--", "true")
    pager = repo.write("pager.py", "import sys\nsys.stdout.write('PAGED\\n' + sys.stdin.read())\n")
    env = {**os.environ, "GIT_PAGER": f"{PY} {pager}", "TERM": "xterm"}

    def on_tty(*args: str) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.Popen([GIT_PROV, "diff", *args], cwd=repo.path, env=env, stdin=follower,
                                stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        return b"".join(chunks).decode()

    paged = on_tty()
    assert paged.startswith("PAGED") and "\x1b[" in paged and "x" in paged
    direct = on_tty("--no-pager")
    assert "PAGED" not in direct and "\x1b[" in direct
    env["NO_COLOR"] = "1"
    assert "\x1b[" not in on_tty()
    assert "PAGED" not in repo.prov("diff", env={"GIT_PAGER": f"{PY} {pager}"}).out


# ------------------------------------------------------------------- pure parts, literal data


def test_readable_paths_and_noise_patterns() -> None:
    from prov_git.diff.paths import noise_from_config, readable

    assert readable(["model", "depth"]) == "model.depth"
    assert readable(["env", "vars", "CUDA_VISIBLE_DEVICES"]) == "env.vars.CUDA_VISIBLE_DEVICES"
    assert readable(["argv", 2]) == "argv[2]" and readable(["a.b", "c d"]) == '`a.b`.`c d`'
    noise = noise_from_config(["outputs.logs/*", "!env.vars.DISPLAY"])
    assert noise.ignores("env.vars.SSH_AUTH_SOCK") and noise.ignores("outputs.logs/a/b.txt")
    assert not noise.ignores("env.vars.DISPLAY") and not noise.ignores("env.vars.pwd")


def test_structural_kinds_and_metric_deltas() -> None:
    from prov_git.diff import metrics, structure
    from prov_git.diff.paths import NONE

    section = structure.compare({"a": [1, 2], "b": {"c": 1}, "d": 1}, {"a": [1, 3, 4], "b": {}, "d": 1.0},
                                "params", NONE)
    assert [(c["path"], c["kind"], c["old"], c["new"]) for c in section["changes"]] == [
        ("a[1]", "changed", 2, 3), ("a[2]", "added", None, 4), ("b.c", "removed", 1, None),
        ("d", "changed", 1, 1.0)]
    moved = metrics.compare({"acc": 0.81, "ok": True, "n": 3}, {"acc": 0.84, "ok": False, "n": 1}, NONE)
    assert [c.get("delta") for c in moved["changes"]] == [0.03, -2, None]


def test_directory_changes_are_named_by_file() -> None:
    from prov_git.diff import files
    from prov_git.diff.paths import NONE

    def f(path: str, digest: str) -> dict[str, Any]:
        return {"path": path, "type": "file", "size": 1, "digest": digest}

    old: list[dict[str, Any]] = [{"path": "d", "type": "dir", "size": 2, "digest": "x:1", "manifest": "m1"},
                                 f("k", "x:k")]
    new: list[dict[str, Any]] = [{"path": "d", "type": "dir", "size": 2, "digest": "x:2", "manifest": "m2"},
                                 {"path": "k", "type": "missing", "size": None, "digest": None}]
    manifests = {"m1": [f("d/a", "x:a"), f("d/b", "x:b")], "m2": [f("d/a", "x:A"), f("d/c", "x:c")]}
    section = files.compare(old, new, manifests, manifests, "inputs", NONE)
    assert (section["added"], section["removed"], section["modified"]) == (["d/c"], ["d/b", "k"], ["d/a"])
    blind = files.compare(old, new, {}, {}, "inputs", NONE)  # manifests unreadable: the directory itself
    assert blind["modified"] == ["d"]


def test_stat_graph_scales_to_the_width() -> None:
    from prov_git.diff.render_text import Paint, stat_lines

    section = {"files": [{"path": "big.py", "old_path": None, "status": "modified", "added": 300, "removed": 100,
                          "binary": False},
                         {"path": "img.png", "old_path": None, "status": "added", "added": 0, "removed": 0,
                          "binary": True}], "added": 300, "removed": 100}
    lines = stat_lines(section, Paint(False), width=40)
    assert lines[0].startswith(" big.py  | 400 +++") and len(lines[0]) <= 40
    assert lines[1] == " img.png | Bin" and lines[2] == " 2 files changed, 300 insertions(+), 100 deletions(-)"
