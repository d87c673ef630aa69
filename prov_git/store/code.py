"""The code a run saw, compared: a git tree diff between two recorded commits (or snapshots).

Reads only objects pinned by refs/prov/runs, so a diff still works after the branch was rebased or
amended and gc ran. The work-tree comparison (`diff --worktree`) writes no object: it merges the
tree-to-index and index-to-workdir diffs, as `git diff <commit>` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygit2

from prov_git.errors import MissingCommit
from prov_git.store.repo import Repo

_STATUS = {
    "A": "added", "D": "deleted", "M": "modified", "R": "renamed", "C": "copied", "T": "typechange",
}


@dataclass(frozen=True)
class FileChange:
    path: str
    old_path: str | None  # set for renames and copies
    status: str  # added, deleted, modified, renamed, copied, typechange
    added: int
    removed: int
    binary: bool
    mode_change: tuple[int, int] | None = None


@dataclass(frozen=True)
class CodeDiff:
    files: list[FileChange] = field(default_factory=list)
    patch: str = ""


def _tree(repo: Repo, commit: str | None) -> pygit2.Tree | None:
    """The tree of a recorded commit id; None for a run recorded before the first commit."""
    if commit is None:
        return None
    try:
        obj = repo.git.get(commit)
        tree = obj.peel(pygit2.Tree) if obj is not None else None
    except (pygit2.GitError, KeyError, ValueError):
        tree = None
    if tree is None:
        raise MissingCommit(f"commit {commit[:12]} is missing from this repository")
    return tree


def between(repo: Repo, old: str | None, new: str | None, context: int = 3) -> CodeDiff:
    """The diff from commit old to commit new (either may be None: the empty tree)."""
    old_tree, new_tree = _tree(repo, old), _tree(repo, new)
    try:
        if old_tree is None and new_tree is None:
            return CodeDiff()
        if old_tree is None:
            assert new_tree is not None
            diff = new_tree.diff_to_tree(context_lines=context, interhunk_lines=0, swap=True)
        elif new_tree is None:
            diff = old_tree.diff_to_tree(context_lines=context, interhunk_lines=0)
        else:
            diff = old_tree.diff_to_tree(new_tree, context_lines=context, interhunk_lines=0)
        return _summarize(diff)
    except (pygit2.GitError, KeyError) as exc:
        raise MissingCommit(f"objects of commit {(old or new or '')[:12]} are missing ({exc})") from None


def against_workdir(repo: Repo, old: str | None, context: int = 3) -> CodeDiff:
    """The diff from commit old to the tracked files as they are now (index + work tree)."""
    old_tree = _tree(repo, old)
    index = repo.git.index
    index.read(force=False)
    try:
        if old_tree is None:
            # libgit2 knows the empty tree without it being stored: nothing is written here.
            old_tree = repo.git[_EMPTY_TREE].peel(pygit2.Tree)
        staged = old_tree.diff_to_index(index, context_lines=context, interhunk_lines=0)
        staged.merge(index.diff_to_workdir(context_lines=context, interhunk_lines=0))
        return _summarize(staged)
    except (pygit2.GitError, KeyError) as exc:
        raise MissingCommit(f"objects of commit {(old or '')[:12]} are missing ({exc})") from None


_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _summarize(diff: pygit2.Diff) -> CodeDiff:
    from unidiff.patch import PatchSet

    diff.find_similar()
    files: list[FileChange] = []
    texts: list[str] = []
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        text = patch.data.decode("utf-8", "replace")
        texts.append(text)
        parsed = PatchSet(text)
        added = sum(f.added for f in parsed)
        removed = sum(f.removed for f in parsed)
        status = _STATUS.get(delta.status_char(), "modified")
        old_mode, new_mode = int(delta.old_file.mode), int(delta.new_file.mode)
        mode_change = (old_mode, new_mode) if status == "modified" and old_mode != new_mode else None
        files.append(FileChange(
            path=delta.new_file.path if status != "deleted" else delta.old_file.path,
            old_path=delta.old_file.path if status in ("renamed", "copied") else None,
            status=status, added=added, removed=removed, binary=bool(delta.is_binary),
            mode_change=mode_change,
        ))
    return CodeDiff(files=files, patch="".join(texts))


def present_commit(repo: Repo) -> tuple[str | None, bool]:
    """HEAD's commit id (None before the first commit) and whether tracked files differ from it."""
    from prov_git.store.snapshot import head_state

    commit, _ = head_state(repo)
    return commit, bool(repo.git.status(untracked_files="no"))
