"""Reading runs: one by reference, several newest first, and the mirror rebuilt from the ref."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from prov_git.records import Record
from prov_git.store import mirror, runs
from prov_git.store.repo import Repo
from prov_git.store.resolve import load, load_spec, resolve

__all__ = ["load", "load_spec", "newest_records", "rebuild_mirror", "resolve"]


def newest_records(repo: Repo, limit: int | None = None) -> Iterator[Record]:
    refs = runs.iter_newest(repo)
    for ref in itertools.islice(refs, limit):
        yield load(repo, ref.id)


def rebuild_mirror(repo: Repo) -> tuple[int, int]:
    """(runs written, runs in the mirror) after making .prov/runs/ match the ref."""
    return mirror.rebuild(repo)
