"""Turn a RUN argument (full id, unique prefix, @, @~N, NAME@, NAME@~N) into a run id, and load its record.

Forgotten runs are skipped by @, @~N and NAME@ (they are hidden, not gone); an id or prefix still
finds them. @ reads the chain newest first (no index) within a budget of commits read: a chain
padded with merges that add nothing (a hostile remote's, see store/chain_rules.py) is answered by the
derived index instead, in the same order (start time, then id), so the cost of @~N never grows with
their number. NAME@ asks the derived index."""

from __future__ import annotations

import itertools
import re
import sys

from prov_git.errors import AmbiguousRun, RunNotFound
from prov_git.records import Record, decode
from prov_git.store import forgotten, runs
from prov_git.store.repo import Repo

_RELATIVE = re.compile(r"^@(?:~(\d+))?$")
_NAMED = re.compile(r"^(.+)@(?:~(\d+))?$")
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


def resolve(repo: Repo, spec: str) -> str:
    match = _RELATIVE.match(spec)
    if match:
        return _newest(repo, spec, int(match.group(1) or 0))
    named = _NAMED.match(spec)
    if named:
        return _named(repo, spec, named.group(1), int(named.group(2) or 0))
    lowered = spec.lower()
    if not _HEX.match(lowered):
        raise RunNotFound(f"{spec!r} is not a run: give a run id (4+ hex characters), @, @~N, NAME@ or NAME@~N")
    matches = runs.ids_with_prefix(repo, lowered)
    if not matches:
        raise RunNotFound(f"unknown run {spec!r}: see `git prov log` for recorded runs")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5])
        raise AmbiguousRun(f"run prefix {spec!r} is ambiguous ({shown}...): give more characters")
    return matches[0]


WALK_BASE = 1024  # commits a walk for the newest runs may read before the index answers...
WALK_PER_RUN = 8  # ...and as many more for each run it has met (a merge or two per run is usual)


def walk_newest(repo: Repo, limit: int | None) -> list[str]:
    """The ids of the newest limit (None: all) runs not forgotten, newest first: the chain walked
    within its budget, else the derived index."""
    hidden = forgotten.ids(repo)
    # No store holds sys.maxsize runs; islice takes no larger index.
    wanted = None if limit is None else min(limit, sys.maxsize - 1)
    try:
        visible = (r.id for r in runs.iter_newest(repo, (WALK_BASE, WALK_PER_RUN)) if r.id not in hidden)
        return list(itertools.islice(visible, wanted))
    except runs.LongWalk:
        from prov_git.store import index

        return index.select(repo, index.Selection(limit=None if wanted is None else min(wanted, 2**62)))


def _newest(repo: Repo, spec: str, back: int) -> str:
    found = walk_newest(repo, back + 1)
    if len(found) <= back:
        count = "no runs" if back == 0 else f"fewer than {back + 1} runs"
        hidden = forgotten.ids(repo)
        raise RunNotFound(f"{spec}: the store has {count}{' not forgotten' if hidden else ''}; "
                          "record one with `git prov record`")
    return found[back]


def _named(repo: Repo, spec: str, name: str, back: int) -> str:
    from prov_git.store import index

    found = index.named(repo, name, min(back, 2**62))  # sqlite's OFFSET is a 64-bit integer
    if found is None:
        many = "no run" if back == 0 else f"fewer than {back + 1} runs"
        raise RunNotFound(f"{spec}: {many} named {name!r}; see `git prov log --name {name!r}`")
    return found


def load(repo: Repo, run_id: str) -> Record:
    data = runs.read_file(repo, run_id)
    return decode(data, expected_id=run_id, where=f"run {run_id[:12]}")


def load_spec(repo: Repo, spec: str) -> Record:
    return load(repo, resolve(repo, spec))
