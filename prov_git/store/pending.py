"""Runs whose command ran but whose record could not be stored: saved under .git/prov/pending/.

Every record writes its run here just before it touches refs/prov/runs and removes it once the
ref holds it: a record killed (even with SIGKILL) inside the ref window, or one the ref cannot take
(a lock left by a killed writer, a full disk, a store made read-only meanwhile), leaves its run
here, one folder per run, with what `runs.append` needs besides them (pins, start time, the
temporary ref that keeps the snapshot alive). `git prov recover` appends them later and removes
the folder. When .git/prov/ itself cannot be written, the folder goes to the system's temp directory
and the message names it: `git prov recover PATH` takes it from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from prov_git.fsutil import atomic_write
from prov_git.store.repo import Repo

META = ".pending.json"
_ID = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[^/\0]+$")


class Pending:
    """One saved run: its files as runs.append takes them."""

    def __init__(self, folder: Path, run_id: str, files: dict[str, bytes], pins: list[str],
                 started_at: str, hold: str | None) -> None:
        self.folder = folder
        self.run_id = run_id
        self.files = files
        self.pins = pins
        self.started_at = started_at
        self.hold = hold  # a refs/prov/tmp/ ref keeping the snapshot from gc, or None


def root(repo: Repo) -> Path:
    return repo.state_dir / "pending"


def save(repo: Repo, run_id: str, files: dict[str, bytes], pins: list[str], started_at: str,
         hold: str | None, *, durable: bool = True, spill: bool = True) -> Path:
    """Write the run under .git/prov/pending/<id>/ (with spill, else a temp folder); returns the
    folder. Not durable is for the journal a record removes a moment later: a killed process loses
    no page cache, only a power cut would."""
    meta = json.dumps({"run_id": run_id, "pins": pins, "started_at": started_at, "hold": hold,
                       "pid": os.getpid()}).encode()
    try:
        return _write(root(repo) / run_id, files, meta, durable)
    except OSError:
        if not spill:
            raise
        import tempfile

        return _write(Path(tempfile.gettempdir()) / f"git-prov-pending-{run_id}", files, meta, durable)


def _write(folder: Path, files: dict[str, bytes], meta: bytes, durable: bool) -> Path:
    try:
        for name, data in files.items():
            atomic_write(folder / name, data, durable=durable)
        atomic_write(folder / META, meta, durable=durable)  # last: a folder with its meta is complete
    except OSError:
        discard(folder)  # a full disk: no half folder left behind
        raise
    return folder


def in_use(folder: Path) -> bool:
    """Whether the record that wrote folder may still be storing it (its process lives)."""
    try:
        pid = json.loads((folder / META).read_bytes()).get("pid")
        if isinstance(pid, int) and pid != os.getpid():
            os.kill(pid, 0)
            return True
    except (OSError, ValueError, AttributeError):
        pass
    return False


def listed(repo: Repo) -> list[Path]:
    """The complete pending folders under .git/prov/pending/, oldest first."""
    try:
        folders = [p for p in root(repo).iterdir() if (p / META).is_file()]
    except OSError:
        return []
    return sorted(folders, key=lambda p: (p / META).stat().st_mtime)


def load(folder: Path) -> Pending:
    """A saved run; ValueError names what is wrong with a folder that is not one."""
    try:
        meta = json.loads((folder / META).read_bytes())
        run_id, pins, started, hold = meta["run_id"], meta["pins"], meta["started_at"], meta["hold"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"{folder} is not a saved run (no readable {META})") from None
    if not isinstance(run_id, str) or not _ID.match(run_id) or not isinstance(started, str):
        raise ValueError(f"{folder}/{META} names no run")
    files = {p.name: p.read_bytes() for p in folder.iterdir()
             if p.name != META and not p.name.startswith(".") and _NAME.match(p.name) and p.is_file()}
    return Pending(folder, run_id, files, [str(p) for p in pins], started, hold if isinstance(hold, str) else None)


def discard(folder: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(folder / META)  # first: a half-removed folder is no longer taken for a run
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):  # flat: no shutil on the record path
            with contextlib.suppress(OSError):
                os.unlink(folder / name)
        os.rmdir(folder)
