"""Turn a RUN argument (full id, unique prefix, @, @~N) into a run id, and load its record."""

from __future__ import annotations

import itertools
import re

from prov_git.errors import AmbiguousRun, RunNotFound
from prov_git.records import Record, decode
from prov_git.store import runs
from prov_git.store.repo import Repo

_RELATIVE = re.compile(r"^@(?:~(\d+))?$")
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


def resolve(repo: Repo, spec: str) -> str:
    match = _RELATIVE.match(spec)
    if match:
        back = int(match.group(1) or 0)
        found = next(itertools.islice(runs.iter_newest(repo), back, None), None)
        if found is None:
            count = "no runs" if back == 0 else f"fewer than {back + 1} runs"
            raise RunNotFound(f"{spec}: the store has {count}; record one with `git prov record`")
        return found.id
    lowered = spec.lower()
    if not _HEX.match(lowered):
        raise RunNotFound(f"{spec!r} is not a run: give a run id (4+ hex characters), @ or @~N")
    matches = runs.ids_with_prefix(repo, lowered)
    if not matches:
        raise RunNotFound(f"unknown run {spec!r}: see `git prov log` for recorded runs")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5])
        raise AmbiguousRun(f"run prefix {spec!r} is ambiguous ({shown}...): give more characters")
    return matches[0]


def load(repo: Repo, run_id: str) -> Record:
    data = runs.read_file(repo, run_id)
    return decode(data, expected_id=run_id, where=f"run {run_id[:12]}")


def load_spec(repo: Repo, spec: str) -> Record:
    return load(repo, resolve(repo, spec))
