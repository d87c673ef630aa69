"""The code commits a run pins: do they exist, and does refs/prov/runs keep them alive?

Answers are plain strings and sets of hex ids, so callers never hold a pygit2 object."""

from __future__ import annotations

import pygit2

from prov_git.store import runs
from prov_git.store.repo import Repo


def kind(repo: Repo, oid: str) -> str:
    """'commit', 'missing', or git's type name of another object (blob, tree, tag)."""
    try:
        found = repo.git.get(oid)
    except (ValueError, pygit2.GitError):
        return "missing"
    if found is None:
        return "missing"
    return "commit" if isinstance(found, pygit2.Commit) else str(found.type_str)


def reachable(repo: Repo, oid: str) -> bool:
    """Whether oid is the tip of refs/prov/runs or one of its ancestors (through any parent)."""
    head = runs.tip(repo)
    if head is None:
        return False
    return str(head.id) == oid or bool(repo.git.descendant_of(head.id, pygit2.Oid(hex=oid)))


def pinned_commits(repo: Repo) -> set[str]:
    """Every commit the chain pins (the non-chain parents of its commits), in one walk."""
    head = runs.tip(repo)
    found: set[str] = set()
    if head is None:
        return found
    seen = {head.id}
    stack = [head]
    while stack:
        commit = stack.pop()
        chain = runs.chain_parents(commit)
        found.update(str(p) for p in commit.parent_ids if p not in chain)
        for pid in chain:
            if pid in seen:
                continue
            seen.add(pid)
            parent = repo.git.get(pid)
            if isinstance(parent, pygit2.Commit):
                stack.append(parent)
    return found
