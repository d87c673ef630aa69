"""Read several runs at once, newest first."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from prov_git.record import Record
from prov_git.store import runs
from prov_git.store.repo import Repo
from prov_git.store.resolve import load


def newest_records(repo: Repo, limit: int | None = None) -> Iterator[Record]:
    refs = runs.iter_newest(repo)
    for ref in itertools.islice(refs, limit):
        yield load(repo, ref.id)
