"""Git state of the work tree, and the snapshot commit that pins the code a run saw.

The snapshot is what `git add -A` would commit, built without touching the user's index: every
tracked file's work tree content, plus the untracked files git does not ignore, within the
`prov.snapshot.*` bounds. Declared outputs and metrics files are left out (they are results, not
code), and so are untracked declared inputs and params files (compared in their own sections).
Files with a `filter` attribute are hashed by git itself, so git-crypt stores ciphertext and git-lfs a
pointer, as in a commit. A sparse checkout, or an index libgit2 cannot read (a sparse index), is
snapshotted by git's own status and update-index on a private copy of the index.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

import pygit2

from prov_git.errors import SnapshotRace, StoreError
from prov_git.records.text import escape_name
from prov_git.redact import secret_file
from prov_git.store.repo import Repo

# Defaults of prov.snapshot.*: a script or a config file fits easily; a data set does not.
MAX_FILE_SIZE = 1 << 20  # one untracked file stored in the snapshot, bytes
MAX_FILES = 1000  # untracked files stored in the snapshot
MAX_TOTAL = 10 << 20  # all untracked files stored in the snapshot, bytes
MAX_NAMED = 1000  # untracked files beyond the bounds that are still named (size and digest)

_FS = pygit2.enums.FileStatus
_WT_CHANGED = _FS.WT_MODIFIED | _FS.WT_TYPECHANGE | _FS.WT_RENAMED
_INDEX_CHANGED = _FS.INDEX_NEW | _FS.INDEX_MODIFIED | _FS.INDEX_DELETED | _FS.INDEX_RENAMED | _FS.INDEX_TYPECHANGE
_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Bounds:
    def __init__(self, max_file_size: int = MAX_FILE_SIZE, max_files: int = MAX_FILES,
                 max_total: int = MAX_TOTAL) -> None:
        self.max_file_size = max_file_size
        self.max_files = max_files
        self.max_total = max_total


class Snapshot:
    """The record's git section, plus what the app still has to do: digest the omitted files."""

    def __init__(self, git: dict[str, object], tree: str | None, omitted: list[tuple[str, int]],
                 warnings: list[str]) -> None:
        self.git = git
        self.tree = tree  # the tree the run saw (HEAD's when clean); None in an empty repository
        self.omitted = omitted  # (path, size) of untracked files beyond the bounds
        self.warnings = warnings


def bounds(repo: Repo) -> Bounds:
    def get(name: str, default: int) -> int:
        try:
            return max(0, int(repo.git.config.get_int(f"prov.snapshot.{name}")))
        except (KeyError, pygit2.GitError, ValueError):
            return default

    return Bounds(get("maxFileSize", MAX_FILE_SIZE), get("maxFiles", MAX_FILES), get("maxTotal", MAX_TOTAL))


def head_state(repo: Repo) -> tuple[str | None, str | None]:
    """(commit id or None in an empty repository, branch name or None when detached)."""
    git = repo.git
    if git.head_is_detached:
        return str(git.head.target), None
    try:
        head_ref = git.references["HEAD"].target  # symbolic: refs/heads/<name>
    except KeyError:
        return None, None
    branch = str(head_ref).removeprefix("refs/heads/")
    if git.head_is_unborn:
        return None, branch
    return str(git.head.target), branch


class PathSet:
    """Repo-relative paths (files or directories); a path is in it when it or a folder above it is."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = {p.rstrip("/") for p in paths if p not in (".", "")}

    def __call__(self, path: str) -> bool:
        return self.cover(path) is not None

    def cover(self, path: str) -> str | None:
        """The member that path is or lies under, None when there is none."""
        if not self.paths:
            return None
        path = path.rstrip("/")
        if path in self.paths:
            return path
        parts = path.split("/")
        return next((p for p in ("/".join(parts[:i]) for i in range(1, len(parts))) if p in self.paths), None)


def capture(repo: Repo, results: Sequence[str] = (), declared: Sequence[str] = (),
            limits: Bounds | None = None, *, commit: bool = True) -> Snapshot:
    """The git section of a run about to start.

    results: outputs and metrics files (never code, tracked or not); declared: inputs and params
    files (left out only when untracked). With commit=False (`diff --worktree`) only the tree is built.
    """
    limits = limits or bounds(repo)
    head, branch = head_state(repo)
    workdir = repo.require_workdir()
    sparse = repo.config_bool("core.sparseCheckout", False)
    index: pygit2.Index | None = None
    if not sparse:
        try:
            index = repo.git.index
            index.read(force=False)
        except pygit2.GitError:  # an index extension libgit2 does not know (sparse index: 'sdir')
            index = None
    if index is not None and index.conflicts is not None:
        raise StoreError("the index has unresolved merge conflicts, so the work tree has no one state "
                         "to record: resolve them (`git status`) or `git merge --abort`, then record")
    try:
        status = _pygit2_status(repo) if index is not None else None
    except pygit2.GitError:  # libgit2 stops at 100 nested folders; git does not
        status = None
    changed, deleted, untracked, staged = status if status is not None else _git_status(workdir)
    skip_results, skip_declared = PathSet(results), PathSet(declared)
    # Results that differ from HEAD are named, so that a diff keeps them out of the other run's code too.
    kept_out = sorted({c for p in changed + deleted + untracked + staged if (c := skip_results.cover(p))})
    changed = [p for p in changed if not skip_results(p)]
    deleted = [p for p in deleted if not skip_results(p)]
    untracked = [p for p in untracked if not skip_results(p) and not skip_declared(p)]
    held, omitted, warnings = _within_bounds(workdir, sorted(untracked), limits, repo.git.odb)
    reset = [p for p in staged if skip_results(p)]  # a staged result: HEAD's version is the code
    head_obj = repo.git.get(head) if head else None
    head_tree = head_obj.peel(pygit2.Tree) if head_obj is not None else None
    try:
        if index is None:
            tree = _git_tree(repo, workdir, changed + held, deleted, reset, head_tree)
        else:
            try:
                tree = _pygit2_tree(repo, index, workdir, changed + held, deleted, reset, head_tree)
            finally:
                index.read(force=True)  # drop the in-memory edits: .git/index is never written
    except (pygit2.GitError, OSError) as exc:  # a file changing or vanishing as it is read
        raise SnapshotRace(f"cannot snapshot the dirty work tree ({exc}); the command was not run: "
                         "retry") from None
    base = str(head_tree.id) if head_tree is not None else _EMPTY_TREE
    # Dirty means the code differs from HEAD: judged on the trees, so a file whose stat data changed
    # (or that only libgit2 misreads, behind a filter) is not dirty. An omitted untracked file is code
    # that differs from HEAD too.
    dirty = tree != base or bool(omitted)
    snapshot = str(_commit(repo, head, tree)) if dirty and commit else None
    git: dict[str, object] = {"commit": head, "branch": branch, "dirty": dirty, "snapshot": snapshot}
    if held:
        git["untracked"] = [escape_name(p) for p in held]  # a name git holds need not be UTF-8
    # Every declared result, not only those that differ from HEAD now: a metrics file committed
    # between two runs is named by neither run otherwise, and a diff would call it code.
    excluded = sorted(set(kept_out) | set(results))
    if excluded:
        git["excluded"] = [escape_name(p) for p in excluded]
    return Snapshot(git, tree if (dirty or head_tree is not None) else None, omitted, warnings)


def _pygit2_status(repo: Repo) -> tuple[list[str], list[str], list[str], list[str]]:
    changed, deleted, untracked, staged = [], [], [], []
    for path, flags in repo.git.status(untracked_files="all").items():
        if flags & _FS.CONFLICTED:
            raise StoreError(f"{path} has merge conflicts; resolve them (git add) before recording")
        if flags & _FS.WT_NEW:
            if not path.endswith("/"):  # a nested repository: not this one's code
                untracked.append(path)
            continue
        if flags & _INDEX_CHANGED:
            staged.append(path)
        if flags & _FS.WT_DELETED:
            deleted.append(path)
        elif flags & _WT_CHANGED:
            changed.append(path)
    return changed, deleted, untracked, staged


def _git(workdir: os.PathLike[str] | str, args: list[str], *, env: dict[str, str] | None = None,
         stdin: bytes | None = None) -> bytes:
    import subprocess  # off the record path of a clean, unfiltered tree

    done = subprocess.run(["git", "--no-optional-locks", *args], cwd=workdir, input=stdin,
                          capture_output=True, env={**os.environ, **(env or {})}, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise StoreError(f"git {args[0]} failed while snapshotting the work tree: "
                         f"{message[-1] if message else f'exit {done.returncode}'}")
    return done.stdout


def _git_status(workdir: os.PathLike[str] | str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Status by git itself: it knows the sparse cone (skip-worktree files are not deleted)."""
    out = _git(workdir, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"])
    changed, deleted, untracked, staged = [], [], [], []
    for item in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(item) < 4:
            continue
        x, y, path = item[0], item[1], item[3:]
        if x == "?":
            if not path.endswith("/"):
                untracked.append(path)
            continue
        if "U" in (x, y) or (x, y) in (("A", "A"), ("D", "D")):
            raise StoreError(f"{path} has merge conflicts; resolve them (git add) before recording")
        if x not in (" ", "?"):
            staged.append(path)
        if y == "D":
            deleted.append(path)
        elif y in ("M", "T"):
            changed.append(path)
    return changed, deleted, untracked, staged


def _within_bounds(workdir: os.PathLike[str] | str, untracked: list[str], limits: Bounds,
                   odb: pygit2.Odb) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """The untracked files the snapshot stores; those it names by size and digest instead (past a
    bound, or looking like they hold credentials); and a warning for each kind."""
    held: list[str] = []
    omitted: list[tuple[str, int]] = []
    secret: list[tuple[str, str]] = []
    total = 0
    for path in untracked:
        full = os.path.join(workdir, path)
        try:
            st = os.lstat(full)
        except OSError:  # gone since status ran
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        size = st.st_size
        if size <= limits.max_file_size and len(held) < limits.max_files and total + size <= limits.max_total:
            why = _secret(full, path, st, odb)
            if why is not None:  # what enters git is pushed for good: it is named, not stored
                secret.append((path, why))
                omitted.append((path, size))
                continue
            held.append(path)
            total += size
        else:
            omitted.append((path, size))
    warnings = []
    if secret:
        shown = ", ".join(f"{p} ({why})" for p, why in secret[:5]) + (", ..." if len(secret) > 5 else "")
        warnings.append(f"{len(secret)} untracked file(s) look like they hold secrets and are named by size "
                        f"and digest, not stored: {shown}; `git add` one to record it as code")
    if len(omitted) > len(secret):
        named_secret = {p for p, _ in secret}
        beyond = [o for o in omitted if o[0] not in named_secret]
        shown = ", ".join(f"{p} ({s} bytes)" for p, s in beyond[:5]) + (", ..." if len(beyond) > 5 else "")
        warnings.append(f"{len(beyond)} untracked file(s) beyond prov.snapshot.maxFileSize/maxFiles/maxTotal "
                        f"are named by size and digest, not stored: {shown}")
    if len(omitted) > MAX_NAMED:
        warnings.append(f"{len(omitted) - MAX_NAMED} more untracked file(s) are neither stored nor named; "
                        "add them to .gitignore or commit them")
        omitted = omitted[:MAX_NAMED]
    return held, omitted, warnings


def _secret(full: str, path: str, st: os.stat_result, odb: pygit2.Odb) -> str | None:
    """Why an untracked file looks like it holds credentials (its name, or a key or token in it).
    Contents git already holds are not scanned again (~6 MB/s): storing them adds nothing new."""
    content = None
    if stat.S_ISREG(st.st_mode):
        try:
            with open(full, "rb") as f:
                content = f.read(st.st_size + 1)
        except OSError:  # unreadable: the snapshot's own read reports it
            content = None
        if content is not None and pygit2.hash(content) in odb:
            content = None
    return secret_file(path.rsplit("/", 1)[-1], content)


def _filtered(repo: Repo, paths: list[str]) -> set[str]:
    """The paths with a `filter` attribute: only git runs filter drivers (libgit2 does not)."""
    out = set()
    for path in paths:
        try:
            if repo.git.get_attr(path, "filter") not in (None, False):
                out.add(path)
        except pygit2.GitError:
            out.add(path)  # unsure: let git decide
    return out


def _hash_with_git(workdir: os.PathLike[str] | str, paths: list[str],
                   env: dict[str, str] | None = None) -> list[str]:
    """Blob ids of paths as git stores them, clean filters applied, written to the object database."""
    if not paths:
        return []
    out = _git(workdir, ["hash-object", "-w", "--stdin-paths"], env=env,
               stdin="".join(p + "\n" for p in paths).encode("utf-8", "surrogateescape"))
    return out.decode().split()


def _mode(st: os.stat_result) -> pygit2.enums.FileMode:
    if stat.S_ISLNK(st.st_mode):
        return pygit2.enums.FileMode.LINK
    return pygit2.enums.FileMode.BLOB_EXECUTABLE if st.st_mode & 0o100 else pygit2.enums.FileMode.BLOB


def _attributes_may_apply(repo: Repo, workdir: os.PathLike[str] | str, paths: list[str]) -> bool:
    """Whether any attribute or autocrlf may convert these paths' content on its way into git. When
    none can, a file's blob is the hash of its bytes: an unchanged untracked file costs one read."""
    if (repo.config("core.autocrlf") or "false").lower() not in ("false", "no", "off", "0"):
        return True
    if repo.config("core.attributesFile") is not None:
        return True
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    candidates = {os.path.join(repo.git.path, "info", "attributes"), os.path.join(home, "git", "attributes")}
    for path in paths:
        folder = os.path.dirname(path)
        while True:
            candidates.add(os.path.join(workdir, folder, ".gitattributes"))
            if not folder:
                break
            folder = os.path.dirname(folder)
    return any(os.path.exists(c) for c in candidates)


def _pygit2_tree(repo: Repo, index: pygit2.Index, workdir: os.PathLike[str] | str, add: list[str],
                 remove: list[str], reset: list[str], head_tree: pygit2.Tree | None) -> str:
    for path in remove:
        index.remove(path)
    for path in reset:
        _reset_entry(index, path, head_tree)
    converted = _attributes_may_apply(repo, workdir, add)
    filtered = _filtered(repo, add) if converted else set()
    odb = repo.git.odb
    for path in add:
        if path in filtered:
            continue
        if not converted:  # a blob already stored (the file is as the last run saw it): not rewritten
            full = os.path.join(workdir, path)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                blob = pygit2.hashfile(full)
                if blob in odb:
                    index.add(pygit2.IndexEntry(path, blob, _mode(st)))
                    continue
        index.add(path)
    by_git = [p for p in add if p in filtered]
    for path, oid in zip(by_git, _hash_with_git(workdir, by_git), strict=True):
        st = os.lstat(os.path.join(workdir, path))
        index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=oid), _mode(st)))
    return str(index.write_tree())


def _reset_entry(index: pygit2.Index, path: str, head_tree: pygit2.Tree | None) -> None:
    try:
        entry = head_tree[path] if head_tree is not None else None
    except KeyError:
        entry = None
    if entry is None:
        if path in index:
            index.remove(path)
    else:
        index.add(pygit2.IndexEntry(path, entry.id, entry.filemode))


def _git_tree(repo: Repo, workdir: os.PathLike[str] | str, add: list[str], remove: list[str],
              reset: list[str], head_tree: pygit2.Tree | None) -> str:
    """The snapshot tree by git's update-index on a private copy of the index (sparse checkouts)."""
    import tempfile

    index_file = os.path.join(repo.git.path, "index")
    fd, private = tempfile.mkstemp(prefix="prov-snapshot-", suffix=".index", dir=repo.git.path)
    try:
        with os.fdopen(fd, "wb") as copy:
            try:
                with open(index_file, "rb") as original:
                    copy.write(original.read())
            except FileNotFoundError:
                pass
        env = {"GIT_INDEX_FILE": private}
        if reset:
            listing = []
            for path in reset:
                try:
                    entry = head_tree[path] if head_tree is not None else None
                except KeyError:
                    entry = None
                listing.append(f"{entry.filemode:o} {entry.id}\t{path}" if entry is not None
                               else f"0 {'0' * 40}\t{path}")
            _git(workdir, ["update-index", "--index-info"], env=env,
                 stdin="".join(f"{line}\n" for line in listing).encode("utf-8", "surrogateescape"))
        paths = add + remove
        if paths:
            _git(workdir, ["update-index", "--add", "--remove", "-z", "--stdin"], env=env,
                 stdin="".join(p + "\0" for p in paths).encode("utf-8", "surrogateescape"))
        return _git(workdir, ["write-tree"], env=env).decode().strip()
    finally:
        os.unlink(private)


def _commit(repo: Repo, head: str | None, tree: str) -> pygit2.Oid:
    try:
        sig = repo.git.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("git prov", "git-prov@localhost")
    parents = [pygit2.Oid(hex=head)] if head else []
    return repo.git.create_commit(None, sig, sig, "git prov: snapshot of the dirty work tree\n",
                                  pygit2.Oid(hex=tree), parents)
