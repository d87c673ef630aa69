"""What killed records leave (issue 11, items 3 and 24; docs/notes/0.2-round/robust.md): snapshot
holds are swept once nothing needs them, and `status` names the runs waiting for `git prov recover`."""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.helpers import Repo

LOCK = ".git/refs/prov/runs.lock"
HOLDS = "refs/prov/tmp/"


def _holds(repo: Repo) -> list[str]:
    return repo.git("for-each-ref", "--format=%(refname)", HOLDS).split()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _old(repo: Repo, ref: str) -> None:
    """Date a loose ref a day back, as a hold left by a record killed yesterday."""
    path = repo.path / ".git" / ref
    old = time.time() - 86400
    os.utime(path, (old, old))


def _left_pending(repo: Repo) -> str:
    """A dirty run whose command ran while the ref stayed locked: saved under .git/prov/pending/
    with its hold in place (what a record killed inside the ref window leaves too); returns the hold."""
    repo.record("-q", "--", "true")
    repo.write("train.py", "print('dirty')\n")
    result = repo.prov("record", "--", "sh", "-c", f"touch ran {LOCK}", env={"PROV_LOCK_TIMEOUT": "0.3"})
    assert result.code == 128 and "git prov recover" in result.err, result.err
    (repo.path / LOCK).unlink()
    (hold,) = _holds(repo)
    _old(repo, hold)
    return hold


def test_holds_of_killed_records_are_swept_but_never_one_a_pending_run_needs(repo: Repo) -> None:
    needed = _left_pending(repo)
    snapshot = repo.git("rev-parse", needed).strip()
    dead, live = f"{HOLDS}{_dead_pid()}-0badc0de", f"{HOLDS}{os.getpid()}-1badc0de"
    stored_hold = f"{HOLDS}{_dead_pid()}-2badc0de"
    young = f"{HOLDS}{_dead_pid()}-3badc0de"
    for ref in (dead, live, stored_hold, young):
        repo.git("update-ref", ref, snapshot)
    for ref in (dead, live, stored_hold):
        _old(repo, ref)
    # A pending folder left by a record killed after its run was stored: that hold is not needed.
    stored = repo.run_ids()[0]
    folder = repo.path / ".git" / "prov" / "pending" / stored
    folder.mkdir()
    (folder / "run.json").write_bytes(repo.blob(stored))
    (folder / ".pending.json").write_text(json.dumps({
        "run_id": stored, "pins": [], "started_at": "2026-01-01T00:00:00Z", "hold": stored_hold, "pid": _dead_pid()}))
    assert repo.prov("mirror").code == 0  # sweeps what killed processes left
    # fails on main: every hold stayed for ever
    assert sorted(_holds(repo)) == sorted([needed, live, young])
    done = repo.prov("recover")
    assert done.code == 0, done.err
    assert len(repo.run_ids()) == 2 and needed not in _holds(repo)


def test_status_lists_the_runs_waiting_for_recover(repo: Repo) -> None:
    _left_pending(repo)
    (run_id,) = [p.name for p in (repo.path / ".git" / "prov" / "pending").iterdir()]
    text = repo.prov("status")
    assert text.code == 0, text.err
    # fails on main: status said nothing of the run that ran but was not stored
    line = next(ln for ln in text.out.splitlines() if ln.startswith("pending:"))
    assert f"run {run_id[:12]} ran but is not stored" in line and "git prov recover" in line, text.out
    answer = repo.prov("status", "--json").json()
    assert [p["run"] for p in answer["pending"]] == [run_id]
    assert answer["pending"][0]["folder"].endswith(f"pending/{run_id}")
    assert repo.prov("recover").code == 0
    after = repo.prov("status", "--json").json()
    assert "pending" not in after and "pending:" not in repo.prov("status").out
