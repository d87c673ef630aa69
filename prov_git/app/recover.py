"""`git prov recover`: store the runs that ran but were saved under .git/prov/pending/ instead."""

from __future__ import annotations

from pathlib import Path

from prov_git import records as rec
from prov_git.errors import CorruptRecord, StoreError
from prov_git.store import mirror, pending, runs
from prov_git.store.repo import Repo


def recover(repo: Repo, folders: list[Path] | None = None) -> list[str]:
    """Append each saved run (all under .git/prov/pending/, or the folders given) to refs/prov/runs,
    then drop its folder and its hold on the snapshot; returns the run ids stored. A run the ref
    holds already is only cleaned up: recovering twice stores nothing twice."""
    done = []
    for folder in pending.listed(repo) if folders is None else folders:
        if folders is None and pending.in_use(folder):
            continue  # a record still storing it (its journal)
        try:
            saved = pending.load(folder)
        except ValueError as exc:
            raise StoreError(f"{exc}; nothing recovered from it") from None
        data = saved.files.get(runs.RUN_FILE)
        if data is None:
            raise StoreError(f"{folder} holds no {runs.RUN_FILE}; nothing recovered from it")
        try:
            rec.decode(data, expected_id=saved.run_id, where=str(folder / runs.RUN_FILE))
        except CorruptRecord as exc:
            raise StoreError(f"{exc}; left in place") from None
        if saved.run_id not in runs.ids_with_prefix(repo, saved.run_id):
            runs.append(repo, saved.run_id, saved.files, saved.pins, saved.started_at)
        runs.release(repo, saved.hold)
        pending.discard(folder)
        mirror.write_run(repo, saved.run_id, saved.files)
        done.append(saved.run_id)
    return done


def waiting(repo: Repo) -> int:
    """How many saved runs wait under .git/prov/pending/."""
    return len(pending.listed(repo))
