"""The run store: an orphan commit chain on refs/prov/runs.

Layout (docs/format.md): the tree holds runs/<id[0:2]>/<id>/run.json plus side files. Each run
appends one commit whose first parent is the previous tip and whose other parents pin the code
commits the run recorded. Commit dates strictly increase and are never earlier than the start of
the runs they carry, so a walk in date order meets runs newest first without reading records.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal, overload

import pygit2

from prov_git.errors import RunNotFound, SnapshotRace, StoreError
from prov_git.store import sign
from prov_git.store.repo import Repo

REF = "refs/prov/runs"
RUN_FILE = "run.json"
BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE
ROOT_MESSAGE = "prov: root\n"
MAX_ATTEMPTS = 400
STALE_LOCK_S = 60.0
LOCK_TIMEOUT_S = 10.0
HOLD_PREFIX = "refs/prov/tmp/"  # a record's hold on its snapshot while the command runs
MIN_FREE_BYTES = 1 << 20  # less free space than this beside the objects: refused before running
_RUN_LINE = re.compile(r"^prov: run ([0-9a-f]{64})$")
_STARTED_LINE = re.compile(r"^Prov-Started: (\S+)$", re.M)


def run_dir(run_id: str) -> str:
    return f"runs/{run_id[:2]}/{run_id}"


def parse_time(stamp: str) -> float:
    """Epoch seconds of an RFC 3339 UTC stamp as we write them (…Z, up to 9 fraction digits)."""
    head, _, frac = stamp.rstrip("Z").partition(".")
    whole = datetime.fromisoformat(head + "+00:00").timestamp()
    return whole + (float("0." + frac) if frac else 0.0)


class RunRef:
    """A run as its commit message names it. A plain class: @dataclass costs 0.6 ms at import."""

    __slots__ = ("commit", "id", "started_at")

    def __init__(self, id: str, started_at: str, commit: str) -> None:
        self.id = id
        self.started_at = started_at
        self.commit = commit

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunRef) and (self.id, self.started_at, self.commit) == (
            other.id, other.started_at, other.commit)

    def __hash__(self) -> int:
        return hash((self.id, self.started_at, self.commit))

    def __repr__(self) -> str:
        return f"RunRef(id={self.id!r}, started_at={self.started_at!r}, commit={self.commit!r})"

    @property
    def started(self) -> float:
        return parse_time(self.started_at)


def _signature(repo: Repo, when: int) -> pygit2.Signature:
    name = repo.config("user.name") or "git prov"
    email = repo.config("user.email") or "git-prov@localhost"
    return pygit2.Signature(name, email, when, 0)


def tip(repo: Repo) -> pygit2.Commit | None:
    try:
        ref = repo.git.references.get(REF)
    except pygit2.GitError as exc:
        raise StoreError(f"cannot read {REF}: {exc}") from None
    if ref is None:
        return None
    commit = repo.git.get(ref.target)
    for _ in range(20):  # a concurrent gc repacking, or a writer writing back what a prune took
        if commit is not None:
            break
        time.sleep(0.05)
        commit = pygit2.Repository(repo.git.path).get(ref.target)
    if commit is None:
        raise StoreError(_missing(ref.target))
    if not isinstance(commit, pygit2.Commit):
        raise StoreError(f"{REF} does not point at a commit; inspect it with `git log {REF}`")
    return commit


def _missing(target: object) -> str:
    return (f"{REF} points at {str(target)[:12]}, which the object store lacks (pruned by a `git gc "
            f"--prune=now` beside a writer that does not guard it); `git reflog {REF}` lists earlier tips")


def _insert(repo: Repo, base: pygit2.Tree | None, path: list[str], oid: pygit2.Oid,
            mode: int = TREE) -> pygit2.Oid:
    """A copy of base with oid (a tree, or a blob with mode=BLOB) placed at path (list of names),
    sharing every untouched subtree."""
    builder = repo.git.TreeBuilder(base) if base is not None else repo.git.TreeBuilder()
    head, rest = path[0], path[1:]
    if not rest:
        builder.insert(head, oid, mode)
        return builder.write()
    child = None
    if base is not None and head in base:
        entry = base[head]
        child = entry if isinstance(entry, pygit2.Tree) else None
    builder.insert(head, _insert(repo, child, rest, oid, mode), TREE)
    return builder.write()


def _write_run_tree(repo: Repo, files: dict[str, bytes]) -> pygit2.Oid:
    builder = repo.git.TreeBuilder()
    for name in sorted(files):
        builder.insert(name, _blob(repo, files[name]), BLOB)
    return builder.write()


_LOOK_FIRST = 64 << 10  # a blob this big is looked for before it is written


def _blob(repo: Repo, data: bytes) -> pygit2.Oid:
    """The blob of data, written only if the store lacks it. libgit2 deflates a blob before it finds
    it stored already: 5.6 ms for the 700 KB manifest that every re-record of an unchanged 5,000-file
    directory carries, against 0.3 ms for its SHA-1 here (a SHA-256 repository simply misses). A small
    blob is written straight away: deflating it costs less than loading hashlib (1-2.5 ms)."""
    if len(data) >= _LOOK_FIRST:
        import hashlib  # such a record hashed its inputs: loaded already

        sha = hashlib.sha1(b"blob %d\0" % len(data))
        sha.update(data)
        oid = pygit2.Oid(hex=sha.hexdigest())
        if oid in repo.git.odb:
            return oid
    for attempt in range(20):
        try:
            return repo.git.create_blob(data)
        except (OSError, pygit2.GitError) as exc:
            # `git gc` removing an emptied objects/xx/ under libgit2's lockfile rename: write again.
            if _no_space(exc) or _refused(exc) or attempt == 19:
                raise
            time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _load_commit(repo: Repo, oid: pygit2.Oid) -> pygit2.Commit:
    found = repo.git.get(oid)
    if not isinstance(found, pygit2.Commit):
        raise StoreError(f"{oid} in {REF} is not a commit; inspect it with `git log {REF}`")
    return found


def _commit(repo: Repo, tree: pygit2.Oid, parents: list[pygit2.Oid], message: str) -> pygit2.Oid:
    floor = max((_load_commit(repo, p).commit_time + 1 for p in parents[:1]), default=0)
    when = max(math.ceil(time.time()), floor)
    return sign.create_commit(repo, _signature(repo, when), message, tree, parents)


def _ensure_reflog(repo: Repo) -> None:
    # libgit2 only appends to a reflog that exists for refs outside refs/heads.
    log = repo.common_dir / "logs" / REF
    if not log.exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        _fsync_path(log.parent)  # once: later entries are appended in place, the folder stays as it is


def _lock_path(repo: Repo) -> str:
    return str(repo.common_dir / (REF + ".lock"))


def _sync_ref(repo: Repo) -> None:
    """fsync the ref, the folder it was renamed into, and its reflog: libgit2 reads the fsync option
    only when it opens a repository, which happened before make_durable() could ask for it. The
    reflog is appended to in place; _ensure_reflog synced its folder when it made it."""
    ref = repo.common_dir / REF
    for path in (ref, ref.parent, repo.common_dir / "logs" / REF):
        _fsync_path(path)


def _lock_timeout() -> float:
    """How old a held lock may get before we give up: PROV_LOCK_TIMEOUT seconds, else 10."""
    try:
        return max(0.0, float(os.environ.get("PROV_LOCK_TIMEOUT", LOCK_TIMEOUT_S)))
    except ValueError:
        return LOCK_TIMEOUT_S


def _lock_in_use(lock: str) -> bool:
    """Whether a live process holds the lock file open (Linux /proc; elsewhere age alone decides)."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return False
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") == lock:
                    return True
            except OSError:
                continue
    return False


def _clear_stale_lock(repo: Repo, notify: Callable[[str], None] | None = None) -> float | None:
    """Remove a ref lock abandoned by a killed writer; returns the age of a lock still held."""
    lock = _lock_path(repo)
    try:
        age = time.time() - os.stat(lock).st_mtime
    except FileNotFoundError:
        return None
    # A ref update holds its lock for microseconds: one a minute old whose file no live
    # process has open was left by a writer that died; a younger one may still be in use.
    if age > STALE_LOCK_S and not _lock_in_use(lock):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
            if notify is not None:
                notify(f"removed a stale lock {lock} ({_age(age)} old, no live writer)")
        return None
    return age


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.0f}h"


class _Moved(Exception):
    """The ref no longer holds the value a swap expected (private: aborts the transaction)."""


def _swap(repo: Repo, expected: pygit2.Oid | None, new: pygit2.Oid, message: str) -> bool:
    """Point REF at new if it still holds expected (None: it does not exist); False if it moved.

    The comparison happens under the ref's lock. libgit2's own create-if-absent checks before it
    locks, so two first writers could both pass and the second overwrote the first's run.
    """
    try:
        with repo.git.transaction() as txn:
            txn.lock_ref(REF)
            current = repo.git.references.get(REF)
            if (current.target if current is not None else None) != expected:
                raise _Moved
            txn.set_target(REF, new, message=message)
    except _Moved:
        return False
    return True


def update_ref(
    repo: Repo, build: Callable[[pygit2.Commit | None], pygit2.Oid], message: str,
    notify: Callable[[str], None] | None = None,
) -> pygit2.Oid:
    """Compare-and-swap refs/prov/runs to build(old_tip) -> new commit id; retry on conflict.

    build may be called several times (once per attempt), always with the tip it must extend; an
    attempt whose objects vanished under it (`git gc` packing or pruning) is built again.
    A lock older than PROV_LOCK_TIMEOUT is reported with its age, one older than a minute that no
    live process holds is removed as stale (notify hears about it). A full disk is said as such.
    """
    _ensure_reflog(repo)
    kept: list[Path] = []
    try:
        return _update_ref(repo, build, message, notify, kept)
    finally:
        # Only now: a retry may write the very same pack again (same tip, same second), and a
        # repack that listed it unkept in between would delete it under the ref.
        for path in kept:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _update_ref(
    repo: Repo, build: Callable[[pygit2.Commit | None], pygit2.Oid], message: str,
    notify: Callable[[str], None] | None, kept: list[Path],
) -> pygit2.Oid:
    timeout = _lock_timeout()
    for attempt in range(MAX_ATTEMPTS):
        try:
            current = repo.git.references.get(REF)
            old = repo.git.get(current.target) if current is not None else None
            if current is not None and old is None:  # never ours (write_pack): another tool's race
                raise KeyError(_missing(current.target))
            if old is not None and not isinstance(old, pygit2.Commit):
                raise StoreError(f"{REF} does not point at a commit; inspect it with `git log {REF}`")
            new = build(old)
        except (pygit2.GitError, OSError, KeyError) as exc:
            _raise_if_full(exc)
            # A store that refuses writes stays so; objects gc moved or pruned come back on a retry.
            if _refused(exc) or attempt >= 50:
                raise StoreError(f"could not update {REF}: {exc}") from None
            _backoff(attempt)
            continue
        if old is not None and new == old.id:
            return new
        try:  # a kept pack: what a prune running now deletes of ours is only a loose copy
            kept.append(write_pack(repo, _new_objects(repo, new, old.id if old is not None else None), keep=True))
        except (pygit2.GitError, KeyError, OSError, ValueError) as exc:
            _raise_if_full(exc)
            if _refused(exc) or attempt >= 50:
                raise StoreError(f"could not update {REF}: {exc}") from None
            _backoff(attempt)  # pruned before we could pack it: build again
            continue
        try:
            if _swap(repo, old.id if old is not None else None, new, message):
                _sync_ref(repo)
                return new
            continue  # another writer moved the ref first: build again on its tip
        except (pygit2.GitError, OSError) as exc:
            _raise_if_full(exc)
            held = _clear_stale_lock(repo, notify)
            # Concurrent writers hold the lock for microseconds; one that stays is reported.
            if held is not None and (held >= timeout or attempt == MAX_ATTEMPTS - 1):
                raise StoreError(
                    f"{REF} is locked: {_lock_path(repo)} is {_age(held)} old; retry when the writer "
                    "holding it is done, or remove it if no git or git prov is running"
                ) from None
            _backoff(attempt)
    raise StoreError(f"could not update {REF}: too many concurrent writers; retry")


def _backoff(attempt: int) -> None:
    import random  # only under contention: not worth its import on every record

    time.sleep(random.uniform(0.001, 0.004) * min(attempt + 1, 10))


def _no_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc)
    return "No space left" in text or "quota exceeded" in text.lower()


def _refused(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return True
    return any(text in str(exc) for text in ("Read-only file system", "Permission denied"))


def _raise_if_full(exc: BaseException) -> None:
    if _no_space(exc):
        raise StoreError(f"no space left on device (ENOSPC): {REF} could not be written; "
                         "free some space and retry") from None


def _new_objects(repo: Repo, new: pygit2.Oid, old: pygit2.Oid | None) -> list[pygit2.Oid]:
    """What the ref gains by moving from old to new: each commit down to old along first parents
    (a merge's replayed runs), with the trees and blobs it adds over its first parent; with no old,
    new and the root commit it may stand on. What a concurrent `gc --prune=now` may delete.

    Less a big blob that one of old's last commits added (_held): old reaches it, so a prune that
    walks before the ref moves keeps it, and one after finds it in new; a retry on a moved ref asks
    again. A re-record of an unchanged data set thus does not pack its manifest a second time."""
    out: list[pygit2.Oid] = []
    commit = repo.git.get(new)
    while isinstance(commit, pygit2.Commit) and commit.id != old:
        parent = repo.git.get(commit.parent_ids[0]) if commit.parent_ids else None
        out += commit_objects(commit, parent)
        on_root = isinstance(parent, pygit2.Commit) and parent.message == ROOT_MESSAGE
        if not commit.parent_ids or (old is None and not on_root):
            return out  # a fast-forward to a fetched chain walks it to its root
        commit = parent
    if commit is None:
        raise KeyError(f"a commit under {new} is missing")  # pruned under us: build again
    big = [oid for oid in out if repo.git.odb.read_header(oid)[1] >= BIG_BLOB]
    held = _held(repo, old) if big else set()
    return [oid for oid in out if oid not in held]


BIG_BLOB = 64 << 10  # bytes: below this, packing a blob again costs less than looking for it
HELD_DEPTH = 8  # old's first-parent commits looked at: a few steps that take turns share manifests


def _held(repo: Repo, old: pygit2.Oid | None) -> set[pygit2.Oid]:
    """The objects the last HELD_DEPTH commits down from old added (old reaches them all)."""
    held: set[pygit2.Oid] = set()
    commit = repo.git.get(old) if old is not None else None
    for _ in range(HELD_DEPTH):
        if not isinstance(commit, pygit2.Commit):
            break
        parent = repo.git.get(commit.parent_ids[0]) if commit.parent_ids else None
        held.update(commit_objects(commit, parent))
        commit = parent
    return held


def commit_objects(commit: pygit2.Commit, parent: object) -> list[pygit2.Oid]:
    """commit and the trees and blobs it adds over parent (its first parent, if a commit)."""
    return [commit.id, *_tree_delta(commit.tree, parent.tree if isinstance(parent, pygit2.Commit) else None)]


def _tree_delta(tree: pygit2.Tree, before: pygit2.Tree | None) -> list[pygit2.Oid]:
    """The trees and blobs of tree that before does not hold at the same path."""
    out: list[pygit2.Oid] = []
    stack: list[tuple[pygit2.Tree, pygit2.Tree | None]] = [(tree, before)]
    while stack:
        tree, before = stack.pop()
        if before is not None and tree.id == before.id:
            continue
        out.append(tree.id)
        for entry in tree:
            name = entry.name or ""
            prior = before[name] if before is not None and name in before else None
            if prior is not None and prior.id == entry.id:
                continue
            if isinstance(entry, pygit2.Tree):
                stack.append((entry, prior if isinstance(prior, pygit2.Tree) else None))
            elif entry.filemode != pygit2.enums.FileMode.COMMIT:  # a submodule's commit is not ours
                out.append(entry.id)
    return out


KEEP_MARK = b"git prov: kept until refs/prov/runs holds it\n"


@overload
def write_pack(repo: Repo, oids: list[pygit2.Oid], keep: Literal[True]) -> Path: ...
@overload
def write_pack(repo: Repo, oids: list[pygit2.Oid], keep: Literal[False]) -> None: ...
def write_pack(repo: Repo, oids: list[pygit2.Oid], keep: bool) -> Path | None:
    """oids as one pack in objects/pack/ (returns its .keep file when keep).

    Why a pack: `git gc --prune=now` deletes every loose object its walk did not reach, however
    new, while the objects of a pack are only ever dropped by a repack that listed that pack, and a
    repack lists the packs before it walks the refs. So a pack that appears after a ref names its
    objects is safe (a snapshot under its hold), and one written before the ref moves is safe when
    a .keep guards it until then (a repack never drops a kept pack). Loose copies may still go."""
    pack_dir = repo.common_dir / "objects" / "pack"
    work = repo.common_dir / "objects" / f"prov-pack-{os.getpid()}-{os.urandom(4).hex()}"
    os.mkdir(work)  # private: libgit2 names the pack only once it is written
    try:
        builder = pygit2.PackBuilder(repo.git)
        builder.set_threads(1)
        for oid in oids:
            builder.add(oid)
        # Without libgit2's fsync, which would also sync the private folder twice: the two files
        # are synced here, before they are put in place, and pack/ after.
        pygit2.option(pygit2.enums.Option.ENABLE_FSYNC_GITDIR, 0)
        try:
            builder.write(str(work))
        finally:
            make_durable()
        (index,) = [n for n in os.listdir(work) if n.endswith(".idx")]
        stem = index[: -len(".idx")]
        for name in (f"{stem}.pack", index):
            _fsync_path(work / name, strict=True)
        kept = pack_dir / f"{stem}.keep" if keep else None
        if kept is not None:
            kept.write_bytes(KEEP_MARK)
        os.replace(work / f"{stem}.pack", pack_dir / f"{stem}.pack")
        os.replace(work / index, pack_dir / index)  # the index last: it makes the pack visible
        _fsync_path(pack_dir)
        return kept
    finally:
        for name in os.listdir(work):
            with contextlib.suppress(OSError):
                os.unlink(work / name)
        with contextlib.suppress(OSError):
            os.rmdir(work)


def _fsync_path(path: Path, strict: bool = False) -> None:
    """fsync a file or a folder; one that is gone (packed away, no reflog) has nothing of ours.
    strict: the file must be on disk before it is put in place, so an error is raised."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if strict:
            raise
        return
    try:
        os.fsync(fd)
    except OSError:
        if strict:
            raise
    finally:
        os.close(fd)


def _root(repo: Repo) -> pygit2.Oid:
    empty = repo.git.TreeBuilder().write()
    return _commit(repo, empty, [], ROOT_MESSAGE)


def make_durable() -> None:
    """fsync every object and ref we write from now on: libgit2 does not by default, and a run
    reported as recorded (with the snapshot it pins) must survive a power cut."""
    pygit2.option(pygit2.enums.Option.ENABLE_FSYNC_GITDIR, 1)


def append(
    repo: Repo, run_id: str, files: dict[str, bytes], pins: list[str], started_at: str,
    notify: Callable[[str], None] | None = None,
) -> pygit2.Oid:
    """Add one run (run.json + side files) as a new commit on refs/prov/runs; returns the commit.
    Whatever goes wrong is a StoreError, so the caller can save the run for `git prov recover`."""
    make_durable()
    pin_ids = list(dict.fromkeys(pygit2.Oid(hex=p) for p in pins))
    message = f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {started_at}\n"
    path = ["runs", run_id[:2], run_id]

    def build(old: pygit2.Commit | None) -> pygit2.Oid:
        # Loose copies need no fsync: the pack update_ref writes before the ref moves holds them
        # all, fsynced; that saves more CPU (system time) than the pack costs.
        pygit2.option(pygit2.enums.Option.ENABLE_FSYNC_GITDIR, 0)
        try:
            run_tree = _write_run_tree(repo, files)  # again on each attempt: a gc may have pruned it
            parent = old.id if old is not None else _root(repo)
            base = _load_commit(repo, parent).tree
            tree = _insert(repo, base, path, run_tree)
            return _commit(repo, tree, [parent, *pin_ids], message)
        finally:
            make_durable()

    try:
        new = update_ref(repo, build, f"git prov: record {run_id[:12]}", notify)
    except (pygit2.GitError, OSError) as exc:
        _raise_if_full(exc)
        raise StoreError(f"could not write {REF}: {exc}") from None
    maybe_pack(repo)
    return new


def check_writable(repo: Repo, notify: Callable[[str], None] | None = None) -> None:
    """What append needs and can be checked before a command runs, so that a run is not lost for a
    store it could never have been written to: the objects and refs folders take a file, the disk
    has room, and no lock left by a killed writer stands on the ref."""
    for folder in (repo.common_dir / "objects", repo.common_dir / "refs"):
        probe = folder / f".prov-probe-{os.getpid()}"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
            free = os.statvfs(folder)
        except OSError as exc:
            raise StoreError(f"cannot write to {folder}: {exc.strerror}; the command was not run") from None
        if free.f_bavail * free.f_frsize < MIN_FREE_BYTES:
            raise StoreError(f"no space left on device (ENOSPC) for {folder}; the command was not run")
    _check_lock(repo, notify)


def _check_lock(repo: Repo, notify: Callable[[str], None] | None) -> None:
    """A ref lock that stays for half a second and that no live process holds was left by a killed
    writer; one younger than a minute is not removed (it might still be in use over NFS)."""
    deadline = time.monotonic() + 0.5
    while (held := _clear_stale_lock(repo, notify)) is not None:
        if time.monotonic() > deadline:
            if _lock_in_use(_lock_path(repo)):
                return  # a live writer: append waits for it
            raise StoreError(
                f"{REF} is locked: {_lock_path(repo)} is {_age(held)} old and no running process holds it "
                "(a killed writer left it); remove it and retry; the command was not run"
            )
        time.sleep(0.02)


def hold(repo: Repo, oid: str | None) -> str | None:
    """A temporary ref on oid (a snapshot) while the command runs, so `git gc --prune=now` cannot
    delete it before the run's commit pins it; None when there is nothing to hold."""
    if oid is None:
        return None
    name = f"{HOLD_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
    try:
        repo.git.references.create(name, pygit2.Oid(hex=oid))
        # A prune that walked before the ref existed may still delete the loose objects it holds:
        # a pack written now is safe (write_pack), a snapshot already gone is taken again.
        snap = repo.git.get(pygit2.Oid(hex=oid))
        if not isinstance(snap, pygit2.Commit):
            raise KeyError(oid)
        write_pack(repo, commit_objects(snap, repo.git.get(snap.parent_ids[0]) if snap.parent_ids else None),
                   keep=False)
    except (pygit2.GitError, OSError, ValueError, KeyError):
        release(repo, name)
        raise SnapshotRace("a concurrent `git gc --prune=now` deleted the snapshot of the work tree "
                         "before it could be held; the command was not run: retry") from None
    return name


def release(repo: Repo, name: str | None) -> None:
    """Drop a hold once the run's commit pins what it held (a leftover only keeps a snapshot).

    A hold a gc packed meanwhile is deleted by git itself: libgit2 rewrites packed-refs from the
    copy it read before taking packed-refs.lock, so two records releasing at once wrote each
    other's hold back. A loose one libgit2 deletes without touching packed-refs."""
    if name is None:
        return
    lock = repo.common_dir / "packed-refs.lock"
    for attempt in range(40):  # up to a few seconds under a gc that packs refs round after round
        try:
            if not (repo.common_dir / name).is_file():
                _git_delete_ref(repo, name)
                return
            before = _stamp(repo)
            repo.git.references.delete(name)
        except KeyError:
            return
        except (pygit2.GitError, OSError):
            time.sleep(0.01 * min(attempt + 1, 5))  # a lock held by a concurrent gc or writer
            continue
        # A `git pack-refs` that read the refs before that delete writes the hold into packed-refs:
        # it holds packed-refs.lock from before its read until after its write. Wait, look again.
        deadline = time.monotonic() + 5.0
        while lock.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        if _stamp(repo) == before or not _in_packed_refs(repo, name):
            return


def _stamp(repo: Repo) -> tuple[int, int] | None:
    try:
        st = os.stat(repo.common_dir / "packed-refs")
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _in_packed_refs(repo: Repo, name: str) -> bool:
    """Whether packed-refs names name, read afresh (libgit2 caches it)."""
    try:
        return (" " + name + "\n").encode() in (repo.common_dir / "packed-refs").read_bytes()
    except OSError:
        return False


def _git_delete_ref(repo: Repo, name: str) -> None:
    import subprocess  # only for a hold some gc packed

    done = subprocess.run(["git", "update-ref", "-d", name], cwd=repo.common_dir, capture_output=True, check=False)
    if done.returncode != 0:
        raise OSError(done.stderr.decode(errors="replace").strip())


def holds(repo: Repo) -> list[str]:
    return [r for r in repo.git.references if r.startswith(HOLD_PREFIX)]


def append_files(repo: Repo, files: dict[str, bytes], message: str) -> pygit2.Oid:
    """A commit on refs/prov/runs adding files at their slash paths (e.g. forget entries), with
    the same compare-and-swap as a run; a path already there is left as it is (content-addressed)."""
    make_durable()
    blobs = {path: _blob(repo, data) for path, data in files.items()}

    def build(old: pygit2.Commit | None) -> pygit2.Oid:
        parent = old.id if old is not None else _root(repo)
        tree = _load_commit(repo, parent).tree
        for path, oid in sorted(blobs.items()):
            if path not in tree:
                grown = repo.git.get(_insert(repo, tree, path.split("/"), oid, BLOB))
                assert isinstance(grown, pygit2.Tree)
                tree = grown
        return _commit(repo, tree.id, [parent], message)

    return update_ref(repo, build, message.split("\n", 1)[0].replace("prov:", "git prov:", 1))


def count_unpushed(repo: Repo, tracking: str) -> int | None:
    """Runs on refs/prov/runs that the remote's last known copy (tracking ref) lacks; None if unknown."""
    try:
        theirs = repo.git.references.get(tracking)
    except pygit2.GitError:
        return None
    head = tip(repo)
    if theirs is None or head is None:
        return None if theirs is None else 0
    walker = repo.git.walk(head.id, pygit2.enums.SortMode.NONE)
    walker.hide(theirs.target)
    return sum(1 for commit in walker if run_of(commit) is not None)


def maybe_pack(repo: Repo) -> None:
    """Pack the way git does after commits; libgit2 never packs on its own.

    More than gc.auto/256 loose objects in objects/17 (snapshots are loose): `git gc --auto`, as git
    does. More packs than half of gc.autoPackLimit (each run adds one, write_pack): `git repack
    --geometric=2 -d`, which rolls up only the small packs, so its cost follows the runs since the
    last roll-up, not the size of the repository (gc --auto would repack everything into one pack
    every ~50 runs), and git's own gc --auto never sees our packs pile up. Kept packs of records
    killed inside the ref window are unkept here once an hour old, so a roll-up may take them.
    """
    try:
        limit = int(repo.config("gc.auto") or 6700)
        pack_limit = int(repo.config("gc.autoPackLimit") or 50)
        packs = os.listdir(repo.common_dir / "objects" / "pack")
    except (OSError, ValueError):
        return
    try:
        loose = len(os.listdir(repo.common_dir / "objects" / "17"))
    except OSError:
        loose = 0
    if any(name.endswith(".keep") for name in packs):
        _sweep_keeps(repo.common_dir / "objects" / "pack", packs)
    if limit > 0 and loose > (limit + 255) // 256:
        argv = ["git", "gc", "--auto", "--quiet"]
    elif pack_limit > 0 and sum(name.endswith(".idx") for name in packs) > max(2, pack_limit // 2):
        argv = ["git", "repack", "--geometric=2", "-d", "-q"]
    else:
        return
    import subprocess

    subprocess.Popen(argv, cwd=repo.common_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


STALE_KEEP_S = 3600.0


def _sweep_keeps(pack_dir: Path, names: list[str]) -> None:
    """Remove our .keep files an hour old (a killed record's: its run is stored, or pending and
    written anew by `git prov recover`); a .keep of anyone else is left alone."""
    old = time.time() - STALE_KEEP_S
    for name in names:
        path = pack_dir / name
        try:
            if name.endswith(".keep") and path.stat().st_mtime < old and path.read_bytes() == KEEP_MARK:
                path.unlink()
        except OSError:
            continue


def chain_parents(commit: pygit2.Commit) -> list[pygit2.Oid]:
    """The parents that belong to the store (run commits pin code commits as further parents)."""
    if _RUN_LINE.match(commit.message.split("\n", 1)[0]):
        return list(commit.parent_ids[:1])
    return list(commit.parent_ids)


def run_of(commit: pygit2.Commit) -> RunRef | None:
    first, _, rest = commit.message.partition("\n")
    match = _RUN_LINE.match(first)
    if not match:
        return None
    started = _STARTED_LINE.search(rest)
    stamp = started.group(1) if started else "1970-01-01T00:00:00Z"
    return RunRef(id=match.group(1), started_at=stamp, commit=str(commit.id))


class LongWalk(Exception):
    """iter_newest read more commits than its budget allows (merges that add nothing, say)."""


def iter_newest(repo: Repo, budget: tuple[int, int] | None = None) -> Iterator[RunRef]:
    """Runs newest first by (start time, id), reading only the commits it must. With budget
    (base, per_run), LongWalk once it has read more than base + per_run * runs yielded commits."""
    head = tip(repo)
    if head is None:
        return
    frontier: list[tuple[int, str, pygit2.Commit]] = [(-head.commit_time, str(head.id), head)]
    seen = {head.id}
    ready: list[tuple[float, str, RunRef]] = []  # max-heap on (start, id) via negation
    base, per_run = budget if budget is not None else (0, 0)
    while frontier:
        newest_date = -frontier[0][0]
        # No unvisited run can have started after newest_date (dates >= starts, date-ordered walk).
        while ready and -ready[0][0] > newest_date:
            base += per_run
            yield heapq.heappop(ready)[2]
        if budget is not None and len(seen) > base:
            raise LongWalk
        _, _, commit = heapq.heappop(frontier)
        ref = run_of(commit)
        if ref is not None:
            heapq.heappush(ready, (-ref.started, _neg(ref.id), ref))
        for pid in chain_parents(commit):
            if pid not in seen:
                seen.add(pid)
                parent = _load_commit(repo, pid)
                heapq.heappush(frontier, (-parent.commit_time, str(pid), parent))
    while ready:
        yield heapq.heappop(ready)[2]


def _neg(run_id: str) -> str:
    # Ties on start time order by id, larger first, inside a min-heap.
    return "".join(chr(0x7F - ord(c)) for c in run_id)


def ids_with_prefix(repo: Repo, prefix: str) -> list[str]:
    head = tip(repo)
    if head is None:
        return []
    try:
        fan = head.tree["runs"][prefix[:2]]  # type: ignore[index]
    except KeyError:
        return []
    if not isinstance(fan, pygit2.Tree):
        return []
    return sorted(e.name for e in fan if e.name and e.name.startswith(prefix))


def all_ids(repo: Repo, commit: pygit2.Commit | None = None) -> list[str]:
    head = commit if commit is not None else tip(repo)
    if head is None or "runs" not in head.tree:
        return []
    out: list[str] = []
    for fan in head.tree["runs"]:  # type: ignore[union-attr]
        if isinstance(fan, pygit2.Tree):
            out.extend(e.name for e in fan if e.name)
    return out


def read_file(repo: Repo, run_id: str, name: str = RUN_FILE) -> bytes:
    head = tip(repo)
    if head is None:
        raise RunNotFound("no runs recorded yet: record one with `git prov record -- CMD`")
    try:
        blob = head.tree[f"{run_dir(run_id)}/{name}"]
    except KeyError:
        raise RunNotFound(f"run {run_id[:12]} has no {name} in {REF}") from None
    if not isinstance(blob, pygit2.Blob):
        raise RunNotFound(f"{run_dir(run_id)}/{name} in {REF} is not a file")
    return blob.data


def run_files(repo: Repo, run_id: str, commit: pygit2.Commit | None = None) -> dict[str, bytes]:
    head = commit if commit is not None else tip(repo)
    if head is None:
        return {}
    try:
        tree = head.tree[run_dir(run_id)]
    except KeyError:
        return {}
    return {e.name: e.data for e in tree if isinstance(e, pygit2.Blob) and e.name}  # type: ignore[union-attr]
