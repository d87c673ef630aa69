"""Drop the snapshot holds (refs/prov/tmp/<pid>-<hex>, runs.hold) that killed records left behind.

A record holds its snapshot with a ref while the command runs and drops it once the run's commit
pins the snapshot. A record killed meanwhile leaves the ref; so does one whose run was saved under
.git/prov/pending/ (the hold must then stay until `git prov recover` stores the run). A hold is
dropped only when all of these hold: the process named in it is gone, its ref is a minute old (a
record in another PID namespace may share the repository), and no pending folder names it for a
run the ref does not hold yet (spilled
folders in the temp directory included). A leftover hold only keeps one snapshot alive, so when in doubt it stays.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

from prov_git.store import pending, runs
from prov_git.store.repo import Repo

MIN_AGE_S = 60.0
_HOLD = re.compile(r"^(\d+)-[0-9a-f]+$")  # runs.hold's names; refs/prov/tmp/fetch-* are not holds


def sweep(repo: Repo) -> list[str]:
    """Delete the holds that nothing needs any more; returns their names."""
    candidates = [name for name in runs.holds(repo) if _dead(repo, name)]
    if not candidates:
        return []
    needed = _needed(repo)
    dropped = [name for name in candidates if name not in needed]
    for name in dropped:
        runs.release(repo, name)
    return dropped


def _dead(repo: Repo, name: str) -> bool:
    match = _HOLD.match(name.removeprefix(runs.HOLD_PREFIX))
    if match is None or _alive(int(match.group(1))):
        return False
    try:
        age = time.time() - os.stat(repo.common_dir / name).st_mtime
    except OSError:
        return True  # packed by a gc: older than any live record's
    return age >= MIN_AGE_S


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a name we cannot judge: keep it
    return True


def _needed(repo: Repo) -> set[str]:
    """The holds that pending runs the ref does not hold yet name: those under .git/prov/pending/
    and those spilled to the temp directory (any repository's: keeping one too many is harmless)."""
    import json
    import tempfile
    from pathlib import Path

    metas = [folder / pending.META for folder in pending.listed(repo)]
    metas += Path(tempfile.gettempdir()).glob(f"git-prov-pending-*/{pending.META}")
    out: set[str] = set()
    for meta in metas:
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            saved = json.loads(meta.read_bytes())
            hold, run_id = saved.get("hold"), saved.get("run_id")
            if isinstance(hold, str) and not (isinstance(run_id, str) and len(run_id) == 64
                                              and run_id in runs.ids_with_prefix(repo, run_id)):
                out.add(hold)
    return out
