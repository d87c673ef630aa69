"""Sharing runs: fetch, push and sync through the remotes git already has, and the hooks that do it
on every push and pull. The store does the git work; this is the action layer commands call."""

from __future__ import annotations

from prov_git.store import mirror
from prov_git.store import remote as _remote
from prov_git.store.hooks import install as install_hooks
from prov_git.store.hooks import uninstall as uninstall_hooks
from prov_git.store.remote import FetchResult, PushResult, Remote, push
from prov_git.store.repo import Repo

__all__ = ["fetch", "install_hooks", "push", "sync", "uninstall_hooks"]


def fetch(repo: Repo, name: str | Remote | None, *, progress: bool = False) -> FetchResult:
    """store.remote.fetch, after sweeping what killed fetches left and followed by a refill of the
    mirror with any run a killed fetch merged but never mirrored."""
    mirror.sweep(repo)
    result = _remote.fetch(repo, name, progress=progress)
    if repo.workdir is not None:
        mirror.refill(repo)
    return result


def sync(repo: Repo, name: str | None, *, progress: bool = False) -> tuple[FetchResult, PushResult]:
    remote = _remote.resolve_remote(repo, name)
    return fetch(repo, remote, progress=progress), push(repo, remote, progress=progress)
