"""Materialise a recorded code tree in a directory of its own, outside the work tree.

The work tree, the index and HEAD are never touched: libgit2 writes the tree's files straight into
the directory (DONT_UPDATE_INDEX: without it libgit2 rewrites .git/index to match). A tree that
needs git's own machinery (a filter attribute such as git-lfs, or submodules) is checked out as a
detached `git worktree` instead, which runs the filters; it is removed again by `remove`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pygit2

from prov_git.errors import MissingCommit, ProvError
from prov_git.store.repo import Repo

PREFIX = "git-prov-rerun-"
_FILTER = re.compile(rb"(^|\s)filter=", re.M)
_COMMIT = pygit2.enums.FileMode.COMMIT


def _tree(repo: Repo, commit_id: str) -> pygit2.Tree:
    try:
        commit = repo.git.get(commit_id)
    except (ValueError, pygit2.GitError):
        commit = None
    if not isinstance(commit, pygit2.Commit):
        raise MissingCommit(f"commit {commit_id[:12]} that the run recorded is not in this repository; "
                            "fetch it (git prov fetch) or rerun a run recorded here")
    return commit.tree


def needs_git(tree: pygit2.Tree) -> bool:
    """Whether a plain write of the blobs would differ from git's checkout (filters, submodules)."""
    for entry in tree:
        if entry.filemode == _COMMIT:
            return True
        if isinstance(entry, pygit2.Tree) and needs_git(entry):
            return True
        if entry.name == ".gitattributes" and isinstance(entry, pygit2.Blob) and _FILTER.search(entry.data):
            return True
    return False


def scratch_root() -> Path:
    """The folder holding reruns' directories: one per user under the system's temporary folder."""
    root = Path(tempfile.gettempdir()) / f"git-prov-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def sweep() -> list[Path]:
    """Remove the directories of reruns whose process is gone (killed before it could clean up)."""
    removed = []
    for folder in scratch_root().glob(PREFIX + "*"):
        pid = folder.name.removeprefix(PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def materialise(repo: Repo, commit_id: str) -> Path:
    """A new directory holding commit_id's tree as a checkout would write it."""
    tree = _tree(repo, commit_id)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=scratch_root()))
    if needs_git(tree):
        _git_worktree(repo, commit_id, folder)
    else:
        strategy = pygit2.enums.CheckoutStrategy
        repo.git.checkout_tree(tree, directory=str(folder),  # type: ignore[no-untyped-call]
                               strategy=strategy.FORCE | strategy.DONT_UPDATE_INDEX)
    return folder


def _git_worktree(repo: Repo, commit_id: str, folder: Path) -> None:
    folder.rmdir()  # git worktree add wants to create it
    done = subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(folder), commit_id],
                          cwd=repo.common_dir, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProvError(f"cannot check out {commit_id[:12]}: {done.stderr.strip() or 'git worktree add failed'}")
    if (folder / ".gitmodules").exists():
        subprocess.run(["git", "submodule", "update", "--init", "--quiet"], cwd=folder,
                       capture_output=True, check=False)


def remove(repo: Repo, folder: Path) -> None:
    """Remove a materialised directory (and its worktree registration, if it is one)."""
    if (folder / ".git").is_file():
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=repo.common_dir,
                       capture_output=True, check=False)
    shutil.rmtree(folder, ignore_errors=True)
