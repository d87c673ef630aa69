"""A good git citizen (design.md "Git citizenship"): the repository and settings found the way git
finds them, ids for scripts, pager and color by git's rules, output that fits the terminal, a manual
page and completion. Every check runs the installed console script in real repositories."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Repo, git, init_project, prov

SECRET_FREE = {"MY_PLAIN_VAR": "visible-value"}


def shown(repo: Repo, *git_args: str, env: dict[str, str] | None = None) -> str:
    """MY_PLAIN_VAR as `record --show-env` would store it, run as `git [ARGS] prov`."""
    done = subprocess.run(["git", *git_args, "prov", "record", "--show-env"], cwd=repo.path, capture_output=True,
                          env={**os.environ, **SECRET_FREE, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.decode().splitlines() if x.startswith("MY_PLAIN_VAR="))
    return line.partition("=")[2]


def git_says(repo: Repo, key: str, env: dict[str, str], *git_args: str) -> list[str]:
    done = subprocess.run(["git", *git_args, "config", "--get-all", key], cwd=repo.path, capture_output=True,
                          env={**os.environ, **env}, check=False)
    return done.stdout.decode().splitlines()


def test_a_plain_value_is_shown_plainly(repo: Repo) -> None:
    assert shown(repo) == "visible-value"


@pytest.mark.parametrize("form", ["git -c", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_GLOBAL",
                                  "GIT_CONFIG_SYSTEM", "include.path"])
def test_settings_are_read_the_way_git_reads_them(repo: Repo, tmp_path: Path, form: str) -> None:
    extra = tmp_path / "extra.gitconfig"
    extra.write_text("[prov \"redact\"]\n\tdeny = MY_PLAIN_*\n")
    args: list[str] = []
    env: dict[str, str] = {}
    if form == "git -c":
        args = ["-c", "prov.redact.deny=MY_PLAIN_*"]
    elif form == "GIT_CONFIG_COUNT":
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "prov.redact.deny", "GIT_CONFIG_VALUE_0": "MY_PLAIN_*"}
    elif form == "GIT_CONFIG_PARAMETERS":
        env = {"GIT_CONFIG_PARAMETERS": "'prov.redact.deny'='MY_PLAIN_*'"}
    elif form == "GIT_CONFIG_GLOBAL":
        env = {"GIT_CONFIG_GLOBAL": str(extra)}
    elif form == "GIT_CONFIG_SYSTEM":
        env = {"GIT_CONFIG_SYSTEM": str(extra), "GIT_CONFIG_NOSYSTEM": "0"}
    else:
        repo.git("config", "include.path", str(extra))
    assert git_says(repo, "prov.redact.deny", env, *args) == ["MY_PLAIN_*"]  # git's own answer
    assert "REDACTED" in shown(repo, *args, env=env)


def test_no_system_hides_the_system_file_as_it_does_for_git(repo: Repo, tmp_path: Path) -> None:
    system = tmp_path / "system.gitconfig"
    system.write_text("[prov \"redact\"]\n\tdeny = MY_PLAIN_*\n")
    env = {"GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": "1"}
    assert git_says(repo, "prov.redact.deny", env) == []
    assert shown(repo, env=env) == "visible-value"


@pytest.mark.parametrize(("raw", "redacted"), [("true", True), ("off", False), ("0", False), ("", False),
                                               ("YES", True), ("2", True), (None, True)])
def test_booleans_follow_gits_rules(repo: Repo, raw: str | None, redacted: bool) -> None:
    setting = "prov.redact.enabled" if raw is None else f"prov.redact.enabled={raw}"
    args = ["-c", setting, "-c", "prov.redact.deny=MY_PLAIN_*"]
    want = git(repo.path, *args[:2], "config", "--type=bool", "prov.redact.enabled").strip()
    assert (want == "true") == redacted
    assert ("REDACTED" in shown(repo, *args)) == redacted


@pytest.mark.parametrize(("key", "raw"), [("prov.redact.enabled", "nope"), ("prov.hashCache", "maybe"),
                                          ("prov.hashAlgorithm", "md5")])
def test_an_invalid_value_is_an_error_naming_the_key(repo: Repo, key: str, raw: str) -> None:
    result = repo.prov("record", "--", "true", env={"GIT_CONFIG_PARAMETERS": f"'{key}'='{raw}'"})
    assert result.code == 128
    assert key in result.err and raw in result.err and len(result.err.splitlines()) == 1
    assert repo.git("for-each-ref", "refs/prov").strip() == ""  # nothing recorded


def test_a_broken_config_file_is_gits_message(repo: Repo, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gitconfig"
    broken.write_text("[core\n")
    result = repo.prov("log", env={"GIT_CONFIG_GLOBAL": str(broken)})
    assert result.code == 128 and "bad config line 1" in result.err, result.err
    assert len(result.err.splitlines()) == 1


# Repository discovery: GIT_DIR, GIT_WORK_TREE, git --git-dir, git -C, git prov -C.

@pytest.fixture
def two(tmp_path: Path) -> tuple[Repo, Repo]:
    a, b = Repo(init_project(tmp_path / "a")), Repo(init_project(tmp_path / "b"))
    a.record("--name", "in-a", "--", "true")
    b.record("--name", "in-b", "--", "true")
    return a, b


def names(out: str) -> list[str]:
    return re.findall(r"\[(in-[ab])\]", out)


def test_git_dir_from_inside_another_repository_wins(two: tuple[Repo, Repo]) -> None:
    a, b = two
    assert names(b.prov("log").out) == ["in-b"]
    assert names(b.prov("log", env={"GIT_DIR": str(a.path / ".git")}).out) == ["in-a"]


@pytest.mark.parametrize("form", ["git --git-dir", "git -C", "git prov -C"])
def test_gits_own_options_choose_the_repository(two: tuple[Repo, Repo], form: str) -> None:
    a, b = two
    argv = {"git --git-dir": ["git", f"--git-dir={a.path / '.git'}", "prov", "log"],
            "git -C": ["git", "-C", str(a.path), "prov", "log"],
            "git prov -C": ["git", "prov", "-C", "..", "-C", "a", "log"]}[form]
    done = subprocess.run(argv, cwd=b.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert names(done.stdout) == ["in-a"]


def test_a_missing_dash_c_folder_is_one_line(repo: Repo) -> None:
    result = repo.prov("-C", "nowhere", "log")
    assert result.code == 128 and "cannot change to 'nowhere'" in result.err


def test_git_work_tree_sets_the_root_paths_are_relative_to(tmp_path: Path) -> None:
    work, gitdir = tmp_path / "w", tmp_path / "store.git"
    work.mkdir()
    git(tmp_path, "init", "-q", f"--separate-git-dir={gitdir}", str(work))
    (work / ".git").unlink()  # the git dir is only reachable through GIT_DIR
    (work / "sub").mkdir()
    (work / "sub" / "f.txt").write_text("x\n")
    env = {"GIT_DIR": str(gitdir), "GIT_WORK_TREE": str(work)}
    prefix = subprocess.run(["git", "rev-parse", "--show-prefix"], cwd=work / "sub", env={**os.environ, **env},
                            capture_output=True, text=True, check=True).stdout.strip()
    assert prefix == "sub/"
    with_tree = prov(work / "sub", "record", "-q", "-i", "f.txt", "--", "true", env=env)
    assert with_tree.code == 0, with_tree.err
    # GIT_DIR alone: git takes the current folder as the top of the work tree.
    alone = prov(work / "sub", "record", "-q", "-i", "f.txt", "--", "true", env={"GIT_DIR": str(gitdir)})
    assert alone.code == 0, alone.err
    out = prov(work, "log", "--format", "%(short) %(inputs)", env=env).out.splitlines()
    assert '"path": "f.txt"' in out[0] and '"path": "sub/f.txt"' in out[1], out
    assert "core.worktree" not in (gitdir / "config").read_text()  # nothing written to the repository


# Ids for scripts.

def test_record_hands_back_the_id(repo: Repo, tmp_path: Path) -> None:
    id_file = tmp_path / "id"
    result = repo.prov("record", "--id-file", str(id_file), "--porcelain", "--", "sh", "-c", "exit 3")
    assert result.code == 3
    run_id = repo.newest()["id"]
    assert id_file.read_text() == run_id + "\n"
    assert result.err.splitlines()[-1] == f"recorded {run_id}"
