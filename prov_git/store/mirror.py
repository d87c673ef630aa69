"""The .prov/runs/<id>/ mirror: a plain-file view of refs/prov/runs, rebuilt from it at will."""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prov_git.errors import StoreError
from prov_git.fsutil import atomic_write
from prov_git.store import runs
from prov_git.store.repo import Repo

MIRROR_DIR = ".prov"
GITIGNORE = "# git prov mirror: a view of refs/prov/runs, never committed\n*\n"


def root(repo: Repo) -> Path:
    return repo.require_workdir() / MIRROR_DIR


def check(repo: Repo) -> None:
    """.prov/ must be git prov's own folder: a project file of that name, or a symlink (tracked or
    not) that every record would write through, is refused before a command runs."""
    path = root(repo)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: {exc.strerror}; git prov keeps its mirror there") from None
    if stat.S_ISLNK(mode):
        raise StoreError(f"{path} is a symlink; git prov never writes through one: remove it "
                         "(the mirror is rebuilt with `git prov mirror`)")
    if not stat.S_ISDIR(mode):
        raise StoreError(f"{path} is a file of the project, but git prov keeps its mirror there: "
                         "rename it, then record again")


def ensure_gitignore(repo: Repo) -> None:
    check(repo)  # every writer of the mirror passes here
    ignore = root(repo) / ".gitignore"
    if not ignore.exists():
        atomic_write(ignore, GITIGNORE.encode())


def run_path(repo: Repo, run_id: str) -> Path:
    return root(repo) / "runs" / run_id


def write_run(repo: Repo, run_id: str, files: dict[str, bytes]) -> None:
    """One run's files into the mirror, each whole (temp file + rename) but not fsynced: the ref,
    synced before this, holds the run; after a power cut verify names a file that came out empty
    and `git prov mirror` rewrites it (an fsync of up to ~1 ms here, saved)."""
    ensure_gitignore(repo)
    folder = run_path(repo, run_id)
    for name, data in files.items():
        target = folder / name
        try:
            if target.read_bytes() == data:
                continue
        except OSError:
            pass
        atomic_write(target, data, durable=False)


_TEMP_NAMES = itertools.count()
STAGE_PREFIX = ".fetch-"  # .prov/.fetch-<pid>-<random>/: a fetch's checked runs, before its ref moves


@contextlib.contextmanager
def staging(repo: Repo) -> Iterator[str | None]:
    """A hidden folder of .prov/ where a fetch's checkers write each run they pass, in the layout of
    .prov/runs/, while the chain is still being walked; once the ref holds the runs, place_staged
    moves them into the mirror (all in one rename when the mirror has no runs yet). Nothing reads
    it, so its files need no temp names; it is removed whatever happens (sweep: a killed fetch's)."""
    if repo.workdir is None:
        yield None
        return
    import shutil  # off the record path

    ensure_gitignore(repo)
    stage = os.fspath(root(repo) / f"{STAGE_PREFIX}{os.getpid()}-{os.urandom(6).hex()}")
    try:
        os.mkdir(stage)  # the mode of a folder of the mirror: it may become .prov/runs
    except OSError:
        yield None  # the mirror is written the slower way after the merge
        return
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def stage_run(stage: str, run_id: str, files: dict[str, bytes]) -> bool:
    """One checked run's files into the stage (a checker process calls this); False when that fails,
    and the run is then mirrored from git after the merge."""
    folder = f"{stage}/{run_id}"
    try:
        os.mkdir(folder)
        for name, data in files.items():
            fd = os.open(f"{folder}/{name}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
    except OSError:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


def place_staged(repo: Repo, stage: str, run_ids: list[str], staged: set[str]) -> list[str]:
    """Move the staged runs among run_ids (the ref holds them now) into the mirror; returns the
    run ids still to write. A run folder the mirror already has is left to write_fetched, which
    rewrites only the files that differ."""
    folder = root(repo) / "runs"
    wanted = set(run_ids)
    # Whole only when it holds exactly these runs: a run the walk set aside after its checker had
    # staged it is still in there (os.listdir: ~70 ms at 100,000 runs).
    if staged and staged == wanted and set(os.listdir(stage)) == wanted:
        with contextlib.suppress(OSError):  # replaces only a missing or empty folder: atomic
            os.rename(stage, folder)
            return []
    folder.mkdir(parents=True, exist_ok=True)
    left = []
    for run_id in run_ids:
        if run_id in staged:
            with contextlib.suppress(OSError):
                os.rename(f"{stage}/{run_id}", folder / run_id)  # a folder onto a missing or empty one
                continue
        left.append(run_id)
    return left


def write_fetched(repo: Repo, fetched: Iterable[tuple[str, dict[str, bytes]]],
                  progress: Callable[[int, int], None] | None = None, total: int = 0) -> None:
    """Write many runs (a fetch's) into the mirror: each file through a temp file and a rename, so a
    reader never sees half of one, but with no fsync and paths relative to one open folder. The
    mirror is derived: `git prov mirror` rebuilds it, a later fetch refills a run that is missing
    and verify names a file that differs, so a crash costs a rebuild, never a run."""
    ensure_gitignore(repo)
    folder = root(repo) / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    at = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for done, (run_id, files) in enumerate(fetched, 1):
            if progress is not None:
                progress(done, total)
            try:
                os.mkdir(run_id, dir_fd=at)
                fresh = True
            except FileExistsError:
                fresh = False
            for name, data in files.items():
                if fresh or _differs_at(at, f"{run_id}/{name}", data):
                    _write_at(at, run_id, name, data)
    finally:
        os.close(at)


def _write_at(at: int, run_id: str, name: str, data: bytes) -> None:
    tmp = f"{run_id}/.{name}.{os.getpid()}.{next(_TEMP_NAMES)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=at)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=at)
        raise
    os.close(fd)
    os.replace(tmp, f"{run_id}/{name}", src_dir_fd=at, dst_dir_fd=at)


def _differs_at(at: int, path: str, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY, dir_fd=at)
    except OSError:
        return True
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read(len(data) + 1) != data
    except OSError:
        return True


def rebuild(repo: Repo) -> tuple[int, int]:
    """Write every run of the ref into the mirror; returns (runs written or repaired, runs checked)."""
    head = runs.tip(repo)
    ensure_gitignore(repo)
    if head is None:
        return 0, 0
    repaired = 0
    ids = runs.all_ids(repo, head)
    for run_id in ids:
        files = runs.run_files(repo, run_id, head)
        folder = run_path(repo, run_id)
        stale = any(_differs(folder / n, d) for n, d in files.items())
        if stale:
            write_run(repo, run_id, files)
            repaired += 1
    sweep(repo)
    return repaired, len(ids)


def _remove_abandoned_temp_files(folder: Path, min_age_s: float = 60.0) -> None:
    """Temp files of writers killed before their rename; young ones may belong to a live writer."""
    cutoff = time.time() - min_age_s
    for tmp in folder.glob("*/.*.tmp"):
        with contextlib.suppress(OSError):
            if tmp.lstat().st_mtime < cutoff:
                tmp.unlink()


def _differs(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() != data
    except OSError:
        return True


def refill(repo: Repo) -> int:
    """Write the runs of the ref that the mirror lacks (a fetch killed between its ref update and
    its mirror writes left them out, and the next fetch brings nothing new); returns how many."""
    head = runs.tip(repo)
    if head is None or repo.workdir is None:
        return 0
    folder = os.fspath(root(repo) / "runs")
    missing = [i for i in runs.all_ids(repo, head) if not os.path.exists(f"{folder}/{i}/{runs.RUN_FILE}")]
    for run_id in missing:
        write_run(repo, run_id, runs.run_files(repo, run_id, head))
    return len(missing)


def sweep(repo: Repo) -> None:
    """Remove what killed processes left: fetch quarantines (objects/tmp_objdir-prov-*, an hour
    old: a live fetch holds one for seconds) and stages (.prov/.fetch-<pid>-*: that process is
    gone, or an hour old), hash cache and mirror temp files."""
    import shutil

    state = repo.state_dir
    objects = repo.common_dir / "objects"
    for tmp in [*objects.glob("tmp_objdir-prov-*"), *objects.glob("prov-pack-*")]:  # runs.write_pack's
        if _older(tmp, 3600.0):
            shutil.rmtree(tmp, ignore_errors=True)
    for tmp in state.glob(".hashcache-*.tmp"):
        if _older(tmp, 600.0):
            with contextlib.suppress(OSError):
                tmp.unlink()
    if repo.workdir is not None:
        _remove_abandoned_temp_files(root(repo) / "runs")
        for stage in root(repo).glob(f"{STAGE_PREFIX}*"):
            if _older(stage, 3600.0) or not _alive(stage.name.removeprefix(STAGE_PREFIX).partition("-")[0]):
                shutil.rmtree(stage, ignore_errors=True)
    from prov_git.store import stale_holds  # off the record path

    stale_holds.sweep(repo)  # snapshot holds left by killed records that no pending run needs


def _alive(pid: str) -> bool:
    """Whether a process of this id runs here (it may be another one that took a dead one's id)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, OverflowError, ProcessLookupError):
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def _older(path: Path, seconds: float) -> bool:
    try:
        return path.lstat().st_mtime < time.time() - seconds
    except OSError:
        return False
