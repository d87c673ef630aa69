"""Reading runs: one by reference, and the mirror rebuilt from the ref."""

from __future__ import annotations

from prov_git.store import mirror
from prov_git.store.repo import Repo
from prov_git.store.resolve import load, load_spec, resolve

__all__ = ["load", "load_spec", "rebuild_mirror", "resolve"]


def rebuild_mirror(repo: Repo) -> tuple[int, int]:
    """(runs written, runs in the mirror) after making .prov/runs/ match the ref."""
    return mirror.rebuild(repo)
