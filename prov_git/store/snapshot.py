"""Git state of the work tree, and the snapshot commit that pins its dirty changes."""

from __future__ import annotations

import pygit2

from prov_git.errors import StoreError
from prov_git.store.repo import Repo

_WT_CHANGED = (
    pygit2.enums.FileStatus.WT_MODIFIED
    | pygit2.enums.FileStatus.WT_DELETED
    | pygit2.enums.FileStatus.WT_TYPECHANGE
    | pygit2.enums.FileStatus.WT_RENAMED
)
_WT_DELETED = pygit2.enums.FileStatus.WT_DELETED


def head_state(repo: Repo) -> tuple[str | None, str | None]:
    """(commit id or None in an empty repository, branch name or None when detached)."""
    git = repo.git
    if git.head_is_detached:
        return str(git.head.target), None
    try:
        head_ref = git.references["HEAD"].target  # symbolic: refs/heads/<name>
    except KeyError:
        return None, None
    branch = str(head_ref).removeprefix("refs/heads/")
    if git.head_is_unborn:
        return None, branch
    return str(git.head.target), branch


def capture(repo: Repo) -> dict[str, object]:
    """The record's git section; writes a snapshot commit when tracked files differ from HEAD.

    Like `git stash create`, the snapshot's tree is the index with every tracked file's work tree
    content; untracked files are not part of it. Its parent is HEAD (none in an empty repository).
    """
    commit, branch = head_state(repo)
    try:
        status = repo.git.status(untracked_files="no")
        conflicted = repo.git.index.conflicts is not None
    except pygit2.GitError as exc:  # libgit2 says a corrupt index "no longer exists"
        raise StoreError(f"cannot read the index {repo.git.path}index ({exc}); `git status` shows the "
                         "same: repair it (e.g. `rm .git/index && git reset`), then record") from None
    if conflicted:
        raise StoreError("the index has unresolved merge conflicts, so the work tree has no one state "
                         "to record: resolve them (`git status`) or `git merge --abort`, then record")
    dirty = bool(status)
    snapshot = None
    if dirty:
        try:
            snapshot = str(_snapshot_commit(repo, commit, status))
        except (pygit2.GitError, OSError) as exc:  # a tracked file changing or vanishing as it is read
            raise StoreError(f"cannot snapshot the dirty work tree ({exc}); the command was not run: "
                             "retry") from None
    return {"commit": commit, "branch": branch, "dirty": dirty, "snapshot": snapshot}


def _snapshot_commit(repo: Repo, head: str | None, status: dict[str, int]) -> pygit2.Oid:
    index = repo.git.index  # changes below stay in memory; .git/index is never written
    for path, flags in status.items():
        if flags & _WT_DELETED:
            index.remove(path)
        elif flags & _WT_CHANGED:
            index.add(path)
    tree = index.write_tree()
    index.read(force=True)  # drop the in-memory edits
    try:
        sig = repo.git.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("git prov", "git-prov@localhost")
    parents = [pygit2.Oid(hex=head)] if head else []
    return repo.git.create_commit(None, sig, sig, "git prov: snapshot of the dirty work tree\n", tree, parents)
