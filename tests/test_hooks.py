"""`git prov hooks install|uninstall`: branch pushes carry refs/prov/runs, pulls bring runs in."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Repo, git

REF = "refs/prov/runs"

LEGACY = """#!/bin/sh
# the team's own hook
echo "$(basename "$0") $*" >> "$(git rev-parse --git-dir)/legacy.log"
cat >> "$(git rev-parse --git-dir)/legacy.log"
exit 0
"""


@pytest.fixture
def shared(tmp_path: Path) -> str:
    bare = tmp_path / "project.git"
    git(tmp_path, "init", "-q", "--bare", bare.name)
    return bare.as_uri()


def clone(url: str, path: Path) -> Repo:
    git(path.parent, "clone", "-q", url, path.name)
    return Repo(path)


def seeded(repo: Repo, url: str) -> Repo:
    repo.git("remote", "add", "origin", url)
    repo.git("push", "-q", "-u", "origin", "main")
    return repo


def record(repo: Repo) -> None:
    result = repo.prov("record", "-q", "--no-exec", "--", "true")
    assert result.code == 0, result.err


def remote_ref(url: str, repo: Repo) -> str:
    out = repo.git("ls-remote", url, REF)
    return out.split()[0] if out else ""


def test_branch_push_carries_the_runs(repo: Repo, shared: str) -> None:
    seeded(repo, shared)
    installed = repo.prov("hooks", "install")
    assert installed.code == 0, installed.err
    hooks = repo.path / ".git" / "hooks"
    assert f"git prov: pre-push: installed ({hooks})" in installed.err
    assert os.access(hooks / "pre-push", os.X_OK) and os.access(hooks / "post-merge", os.X_OK)
    record(repo)
    repo.write("train.py", "print('v2')\n")
    repo.commit_all("v2")
    pushed = repo.git("push", "origin", "main")
    assert pushed == "" or "refs/prov" not in pushed
    assert remote_ref(shared, repo) == repo.git("rev-parse", REF).strip()
    # A push that carries no branch (a tag) leaves the runs alone.
    record(repo)
    repo.git("tag", "v1")
    repo.git("push", "-q", "origin", "v1")
    assert remote_ref(shared, repo) != repo.git("rev-parse", REF).strip()


def test_install_is_idempotent_and_chains_an_existing_hook(repo: Repo, shared: str) -> None:
    seeded(repo, shared)
    hooks = repo.path / ".git" / "hooks"
    (hooks / "pre-push").write_text(LEGACY)
    (hooks / "pre-push").chmod(0o755)
    first = repo.prov("hooks", "install")
    assert "pre-push: installed, runs the existing hook first (pre-push.pre-prov)" in first.err
    installed = (hooks / "pre-push").read_text()
    again = repo.prov("hooks", "install")
    assert again.code == 0 and "pre-push: already installed" in again.err
    assert (hooks / "pre-push").read_text() == installed and (hooks / "pre-push.pre-prov").read_text() == LEGACY
    record(repo)
    repo.write("train.py", "print('v2')\n")
    head = repo.commit_all("v2")
    repo.git("push", "-q", "origin", "main")
    assert remote_ref(shared, repo) == repo.git("rev-parse", REF).strip()
    log = (repo.path / ".git" / "legacy.log").read_text()
    # The team's hook saw the branch push with its arguments and input (and the runs push, once).
    assert f"pre-push.pre-prov origin {shared}" in log
    assert f"refs/heads/main {head} refs/heads/main" in log
    assert log.count(f" {REF} ") == 1
    removed = repo.prov("hooks", "uninstall")
    assert removed.code == 0 and "pre-push: removed, previous hook restored" in removed.err
    assert (hooks / "pre-push").read_text() == LEGACY and not (hooks / "pre-push.pre-prov").exists()
    assert not (hooks / "post-merge").exists()
    assert "pre-push: not ours, left alone" in repo.prov("hooks", "uninstall").err


def test_core_hooks_path_is_respected(repo: Repo, shared: str) -> None:
    seeded(repo, shared)
    repo.git("config", "core.hooksPath", "githooks")
    assert repo.prov("hooks", "install").code == 0
    assert (repo.path / "githooks" / "pre-push").is_file()
    assert not (repo.path / ".git" / "hooks" / "pre-push").exists()
    record(repo)
    repo.write("train.py", "print('v2')\n")
    repo.commit_all("v2")
    repo.git("push", "-q", "origin", "main")
    assert remote_ref(shared, repo) == repo.git("rev-parse", REF).strip()
    assert repo.prov("hooks", "uninstall").code == 0
    assert sorted(p.name for p in (repo.path / "githooks").iterdir()) == []


def test_a_hook_in_the_way_of_the_kept_one_is_reported(repo: Repo) -> None:
    hooks = repo.path / ".git" / "hooks"
    for name in ("pre-push", "pre-push.pre-prov"):
        (hooks / name).write_text(LEGACY)
    result = repo.prov("hooks", "install")
    assert result.code == 128 and result.err.count("\n") == 1
    assert "pre-push.pre-prov exist: move one of them away" in result.err
    assert (hooks / "pre-push").read_text() == LEGACY


def test_pull_brings_the_runs_in(repo: Repo, shared: str, tmp_path: Path) -> None:
    seeded(repo, shared)
    other = clone(shared, tmp_path / "other")
    assert other.prov("hooks", "install").code == 0
    assert repo.prov("hooks", "install").code == 0
    record(other)
    record(repo)
    repo.write("train.py", "print('v2')\n")
    repo.commit_all("v2")
    repo.git("push", "-q", "origin", "main")
    other.git("pull", "-q", "--no-rebase", "origin", "main")
    assert set(repo.run_ids()) < set(other.run_ids()) and len(other.run_ids()) == 2
    # A merge that is not a pull stays offline.
    record(repo)
    repo.git("push", "-q", "origin", "main")
    other.git("checkout", "-q", "-b", "side")
    other.git("checkout", "-q", "main")
    other.git("merge", "-q", "side")
    assert len(other.run_ids()) == 2


def test_pull_in_a_repository_without_runs_stays_offline(repo: Repo, shared: str, tmp_path: Path) -> None:
    seeded(repo, shared)
    other = clone(shared, tmp_path / "other")
    assert other.prov("hooks", "install").code == 0
    record(repo)
    repo.write("train.py", "print('v2')\n")
    repo.commit_all("v2")
    repo.git("push", "-q", "origin", "main")
    repo.prov("push", "-q")
    other.git("pull", "-q", "--no-rebase", "origin", "main")
    assert other.git("for-each-ref", "refs/prov/") == ""


def test_a_failed_runs_push_does_not_block_the_branch(repo: Repo, shared: str, tmp_path: Path) -> None:
    seeded(repo, shared)
    assert repo.prov("hooks", "install").code == 0
    record(repo)
    # The remote refuses refs/prov/* (a server-side policy): the branch still goes through.
    bare = Path(shared.removeprefix("file://"))
    hook = bare / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/prov/*) echo "no runs here" >&2; exit 1;; esac\n')
    hook.chmod(0o755)
    repo.write("train.py", "print('v2')\n")
    head = repo.commit_all("v2")
    done = subprocess.run(["git", "push", "origin", "main"], cwd=repo.path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "git prov: warning: refs/prov/runs was not pushed; run `git prov push`" in done.stderr
    assert repo.git("ls-remote", shared, "refs/heads/main").split()[0] == head
    assert remote_ref(shared, repo) == ""
