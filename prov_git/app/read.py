"""Reading runs: one by reference, several newest first, and the mirror rebuilt from the ref."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from prov_git.records import Record
from prov_git.store import mirror, runs
from prov_git.store.repo import Repo
from prov_git.store.resolve import load, load_spec, resolve

__all__ = ["load", "load_spec", "newest_records", "rebuild_mirror", "resolve", "select"]


def newest_records(repo: Repo, limit: int | None = None) -> Iterator[Record]:
    refs = runs.iter_newest(repo)
    for ref in itertools.islice(refs, limit):
        yield load(repo, ref.id)


def select(repo: Repo, *, where: str | None = None, sort: list[str] | None = None, name: str | None = None,
           limit: int | None = None) -> list[Record]:
    """Records newest first, narrowed by a run-name glob and a query, ordered by sort keys."""
    import fnmatch

    if where or sort:
        from prov_git.errors import UsageError

        raise UsageError("where= and sort= need the query language, which this version does not have yet")
    found = []
    for record in newest_records(repo):
        if name is not None and not fnmatch.fnmatchcase(record.get("name") or "", name):
            continue
        found.append(record)
        if limit is not None and len(found) >= limit:
            break
    return found


def rebuild_mirror(repo: Repo) -> tuple[int, int]:
    """(runs written, runs in the mirror) after making .prov/runs/ match the ref."""
    return mirror.rebuild(repo)
