"""The code a run saw, compared: a git tree diff between two recorded commits (or snapshots).

Reads only objects pinned by refs/prov/runs, so a diff still works after the branch was rebased or
amended and gc ran. The work-tree comparison (`diff --worktree`) diffs the recorded tree against a
tree of the present built by the same snapshot rules (store/snapshot.py), never against the index:
so right after a record nothing differs, whatever was staged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def between(repo: Repo, old: str | None, new: str | None, context: int = 3,
            exclude: Callable[[str], bool] | None = None) -> CodeDiff:
    """The diff from commit (or tree) old to new, either may be None (the empty tree); paths for
    which exclude is true (outputs and metrics files) are left out of the files and the patch."""
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
        return _summarize(diff, exclude)
    except pygit2.GitError as exc:
        if "extension" not in str(exc):
            raise MissingCommit(f"objects of commit {(old or new or '')[:12]} are missing ({exc})") from None
        # libgit2 reads the index for attributes and cannot read a sparse one ('sdir'): git diffs.
        return _summarize(_git_diff(repo, old_tree, new_tree, context), exclude)
    except KeyError as exc:
        raise MissingCommit(f"objects of commit {(old or new or '')[:12]} are missing ({exc})") from None


def _git_diff(repo: Repo, old: pygit2.Tree | None, new: pygit2.Tree | None, context: int) -> pygit2.Diff:
    import subprocess

    ids = [str(t.id) if t is not None else _EMPTY_TREE for t in (old, new)]
    done = subprocess.run(["git", "--no-optional-locks", "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                           "--binary", f"-U{context}", "--inter-hunk-context=0", *ids],
                          cwd=repo.git.path, capture_output=True, check=False)
    if done.returncode != 0:
        raise MissingCommit(f"git diff {ids[0][:12]} {ids[1][:12]} failed: "
                            f"{done.stderr.decode(errors='replace').strip()}")
    return pygit2.Diff.parse_diff(done.stdout.decode("utf-8", "surrogateescape"))


_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _summarize(diff: pygit2.Diff, exclude: Callable[[str], bool] | None = None) -> CodeDiff:
    from unidiff.patch import PatchSet

    diff.find_similar()
    files: list[FileChange] = []
    texts: list[str] = []
    for patch in diff:
        if patch is None:
            continue
        delta = patch.delta
        if exclude is not None and (exclude(delta.new_file.path) or exclude(delta.old_file.path)):
            continue
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


def with_omitted(diff: CodeDiff, old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                 exclude: Callable[[str], bool] | None = None) -> CodeDiff:
    """diff with the untracked files each side named (size and digest) instead of storing: a change
    to one is a binary modification; a file stored on one side and named on the other is modified,
    not added or deleted (neither tree has both)."""
    if not old and not new:
        return diff
    before = {e["path"]: e for e in old}
    after = {e["path"]: e for e in new}
    by_path = {f.path: f for f in diff.files}
    files = [f for f in diff.files if f.path not in before and f.path not in after]
    for path in sorted(before.keys() | after.keys()):
        if exclude is not None and exclude(path):
            continue
        a, b = before.get(path), after.get(path)
        if a is not None and b is not None:
            if (a["size"], a["digest"]) != (b["size"], b["digest"]):
                files.append(FileChange(path, None, "modified", 0, 0, True))
            continue
        in_tree = by_path.get(path)
        if in_tree is not None and in_tree.status in ("added", "deleted"):
            files.append(FileChange(path, None, "modified", 0, 0, True))
        else:
            files.append(FileChange(path, None, "deleted" if b is None else "added", 0, 0, True))
    files.sort(key=lambda f: f.path)
    return CodeDiff(files=files, patch=diff.patch)
