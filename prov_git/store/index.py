"""The derived query index: SQLite under .git/prov/index.sqlite, never pushed, never the truth.

Invariants:
- Every answer is computed after refresh(), which makes the index equal to the tree at the tip of
  refs/prov/runs: it compares the tip's runs/<xx>/ folder trees with the ones it indexed (256
  lookups) and reads only the run folders that appeared, vanished or changed. A record, a merge, a
  fetch, a rewind or plain git changing the ref therefore never leaves a wrong answer, and a query
  right after one new record reads one run. `record` itself never touches the index.
- A missing, corrupt or older-layout file is rebuilt from the tree (one pass over it). A big build
  (PARALLEL runs or more) streams the folders through one `git cat-file --batch`, parses them in a
  forked child and writes the rows here, in one transaction: a crash leaves no rows and no tip, and
  a child that dies is replaced by parsing here. Both ways give the same rows as refreshing one run
  at a time (test_fast_build_and_one_run_at_a_time_give_the_same_index).
- Rows: runs (id, start/end, name, folder tree, the range lo..hi of its field ids), fields (every
  node of the record but env, flattened to dotted keys as in EXPR: the run, the key and its typed
  value's id), vals (each distinct typed (key, value) once: 500,000 for the 2.7 million fields of
  100,000 runs, so the index that answers a test is small), env_fields (the env
  section, stored once per distinct env), files (digest, path, role, run; files inside directory
  manifests included) and forgotten.
- Concurrent refreshes take SQLite's write lock (BEGIN IMMEDIATE) and re-check the tip inside it;
  a new file is built empty beside the old one and renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import pygit2

from prov_git.records import query as q
from prov_git.store import catfile, forgotten, runs
from prov_git.store.repo import Repo

LAYOUT = 8  # PRAGMA user_version: bump to rebuild every index of an older layout
FILE = "index.sqlite"
KIND_RANK = q.KIND_RANK
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE fans (name TEXT PRIMARY KEY, tree TEXT) WITHOUT ROWID;
CREATE TABLE runs (rid INTEGER PRIMARY KEY, id TEXT UNIQUE, folder TEXT, started REAL, started_at TEXT,
                   ended_at TEXT, name TEXT, env INTEGER, lo INTEGER, hi INTEGER);
CREATE TABLE keys (kid INTEGER PRIMARY KEY, key TEXT UNIQUE);
CREATE TABLE fields (fid INTEGER PRIMARY KEY, run INTEGER, kid INTEGER, vid INTEGER);
CREATE TABLE vals (vid INTEGER PRIMARY KEY, kid INTEGER, t INTEGER, num REAL, txt TEXT);
CREATE TABLE envs (eid INTEGER PRIMARY KEY, hash TEXT UNIQUE);
CREATE TABLE env_fields (env INTEGER, kid INTEGER, t INTEGER, num REAL, txt TEXT, PRIMARY KEY (env, kid))
    WITHOUT ROWID;
CREATE TABLE files (digest TEXT, path TEXT, role TEXT, run INTEGER, inside TEXT);
CREATE TABLE forgotten (id TEXT, reason TEXT, author TEXT, time TEXT);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_newest ON runs (started DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_name ON runs (name, started DESC, id DESC);
CREATE INDEX IF NOT EXISTS vals_key ON vals (kid, t, num, txt);
CREATE INDEX IF NOT EXISTS fields_value ON fields (vid, run);
CREATE INDEX IF NOT EXISTS env_fields_key ON env_fields (kid, t, num, txt);
CREATE INDEX IF NOT EXISTS files_digest ON files (digest);
CREATE INDEX IF NOT EXISTS files_run ON files (run);
"""


def path_of(repo: Repo) -> str:
    return str(repo.state_dir / FILE)


# ------------------------------------------------------------------------------ flattening (pure)


Row = tuple[Any, int, float | None, str | None]  # key (or its id), type rank, number column, text column
_SEGMENTS: dict[str, str] = {}


def _segment(name: str) -> str:
    """A key segment as EXPR spells it (quoted when odd), memoised: the build names the same keys
    100,000 times."""
    text = _SEGMENTS.get(name)
    if text is None:
        text = _SEGMENTS[name] = q.key_text((name,))
    return text


def typed(key: Any, value: Any) -> Row:
    """One node as the SQL of a comparison reads it; objects and lists only exist (and sort as ties)."""
    kind = type(value)
    if kind is str:
        return key, 1, None, value
    if kind is bool:
        return key, 2, float(value), None
    if kind is int or kind is float:
        return key, 0, float(value), None
    return key, 3 if value is None else 4, None, None


class Keys(dict[str, int]):
    """Dotted key -> its integer id in the keys table; a key seen first is numbered and listed in .new."""

    def __init__(self, known: Iterable[tuple[str, int]] = ()) -> None:
        super().__init__(known)
        self.new: list[tuple[int, str]] = []
        self.next = max(self.values(), default=0) + 1

    def __missing__(self, key: str) -> int:
        kid = self[key] = self.next
        self.next += 1
        self.new.append((kid, key))
        return kid


class Values(dict[tuple[int, int, Any, Any], int]):
    """(kid, t, num, txt) -> its id in the vals table; a value seen first is numbered and listed in
    .new. Complete: every stored value is loaded (a big load, or an empty index); otherwise a value
    not met yet is looked up in the index (a refresh of a few runs must not read 500,000 rows)."""

    def __init__(self, conn: sqlite3.Connection, complete: bool) -> None:
        self.conn = None if complete else conn
        super().__init__(((k, t, n, x), v) for v, k, t, n, x in conn.execute(
            "SELECT vid, kid, t, num, txt FROM vals" if complete else "SELECT 1, 1, 1, 1, 1 WHERE 0"))
        self.new: list[tuple[Any, ...]] = []
        self.next = int(conn.execute("SELECT coalesce(max(vid), 0) FROM vals").fetchone()[0]) + 1

    def __missing__(self, key: tuple[int, int, Any, Any]) -> int:
        if self.conn is not None:
            row = self.conn.execute("SELECT vid FROM vals WHERE kid = ? AND t = ? AND num IS ? AND txt IS ?",
                                    key).fetchone()
            if row is not None:
                vid: int = row[0]
                self[key] = vid
                return vid
        vid = self[key] = self.next
        self.next += 1
        self.new.append((vid, *key))
        return vid


def flatten(value: dict[str, Any], prefix: str, out: list[Row], keys: dict[str, Any] | None = None) -> list[Row]:
    """Every leaf under an object, keys dotted as in EXPR (or their ids, given keys). A non-empty
    object gets no row of its own (`exists` finds it by its children's key range); an empty one does.
    The hot loop of a build (26 rows a run): typed() inlined."""
    segments = _SEGMENTS
    for name, child in value.items():
        segment = segments.get(name)
        key = prefix + (segment if segment is not None else _segment(name))
        kind = type(child)
        if kind is dict and child:
            flatten(child, key + ".", out, keys)
            continue
        kid: Any = key if keys is None else keys[key]
        if kind is str:
            out.append((kid, 1, None, child))
        elif kind is int or kind is float:
            out.append((kid, 0, float(child), None))
        elif kind is bool:
            out.append((kid, 2, float(child), None))
        else:
            out.append((kid, 3 if child is None else 4, None, None))
    return out


def record_rows(record: dict[str, Any], keys: dict[str, Any] | None = None) -> list[Row]:
    return flatten({k: v for k, v in record.items() if k != "env"}, "", [], keys)


def env_rows(env: Any, keys: dict[str, Any] | None = None) -> list[Row]:
    return flatten({"env": env}, "", [], keys)


def file_rows(record: dict[str, Any], manifests: dict[str, bytes]) -> Iterator[tuple[str, str, str, str | None]]:
    """(digest, path, role, inside) of every input and output, files inside directories included."""
    from prov_git.records.manifest import manifest_files

    for role in ("input", "output"):
        for entry in record.get(role + "s") or ():
            if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
                continue
            yield entry["digest"], entry["path"], role, None
            blob = manifests.get(entry.get("manifest") or "")
            for item in (manifest_files(blob) or []) if blob else ():
                if isinstance(item.get("digest"), str):
                    yield item["digest"], item["path"], role, entry["path"]


# ------------------------------------------------------------------------------ opening and refreshing


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.create_function("pglob", 2, lambda pattern, text: text is not None and fnmatchcase(text, pattern),
                         deterministic=True)
    conn.execute("PRAGMA synchronous=OFF")  # derived data: a torn write is rebuilt, never trusted
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: a build keeps its B-trees in memory
    conn.execute("PRAGMA temp_store=MEMORY")  # the sorts of CREATE INDEX
    return conn


def _create(path: str) -> sqlite3.Connection:
    """A fresh, empty index put in place atomically (a concurrent reader keeps the file it opened)."""
    temp = f"{path}.{os.getpid()}.tmp"
    conn = sqlite3.connect(temp, isolation_level=None)
    conn.executescript(_SCHEMA)
    conn.execute(f"PRAGMA user_version={LAYOUT}")
    conn.close()
    os.replace(temp, path)
    return _connect(path)


def open_index(repo: Repo) -> sqlite3.Connection:
    """The index, refreshed to the tip; rebuilt once when missing, of another layout or corrupt."""
    os.makedirs(repo.state_dir, exist_ok=True)
    path = path_of(repo)
    for attempt in range(2):
        try:
            conn = _connect(path) if os.path.exists(path) else _create(path)
            if conn.execute("PRAGMA user_version").fetchone()[0] != LAYOUT:
                conn.close()
                conn = _create(path)
            refresh(repo, conn)
            return conn
        except sqlite3.DatabaseError:
            if attempt:
                raise
            with contextlib.suppress(OSError):
                os.unlink(path)
    raise AssertionError("unreachable")


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def refresh(repo: Repo, conn: sqlite3.Connection) -> None:
    tip = runs.tip(repo)
    tip_id = str(tip.id) if tip is not None else ""
    if _meta(conn, "tip") == tip_id:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _meta(conn, "tip") != tip_id:  # another process may have caught up meanwhile
            _catch_up(repo, conn, tip)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('tip', ?)", (tip_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _catch_up(repo: Repo, conn: sqlite3.Connection, tip: pygit2.Commit | None) -> None:
    empty = conn.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None  # count(*) reads every row
    top = tip.tree["runs"] if tip is not None and "runs" in tip.tree else None
    top = top if isinstance(top, pygit2.Tree) else None
    known = dict(conn.execute("SELECT name, tree FROM fans").fetchall())
    present = {f.name: f for f in top or () if isinstance(f, pygit2.Tree) and f.name}
    if empty:
        conn.execute("DELETE FROM fans")  # no runs: nothing a fan row could vouch for
        known = {}
    pending: list[tuple[str, pygit2.Tree]] = []
    for name in sorted(set(known) | set(present)):
        fan = present.get(name)
        if fan is None or known.get(name) != str(fan.id):
            pending += _fan(conn, name, fan, empty)
    _load(repo, conn, pending)
    if empty:  # built after a bulk load: faster than kept up row by row
        for statement in filter(str.strip, _INDEXES.split(";")):
            conn.execute(statement)
    _forgotten(conn, tip)


def _fan(conn: sqlite3.Connection, name: str, fan: pygit2.Tree | None,
         empty: bool) -> list[tuple[str, pygit2.Tree]]:
    """Bring one runs/<xx>/ folder's rows up to date: drop runs gone or changed; the new ones to read."""
    indexed = {} if empty else dict(conn.execute("SELECT id, folder FROM runs WHERE id >= ? AND id < ?",
                                                 (name, name + "g")).fetchall())
    there = {e.name: e for e in fan or () if isinstance(e, pygit2.Tree) and e.name}
    stale = [i for i, folder in indexed.items() if i not in there or str(there[i].id) != folder]
    _delete(conn, stale)
    if fan is None:
        conn.execute("DELETE FROM fans WHERE name = ?", (name,))
    else:
        conn.execute("INSERT OR REPLACE INTO fans VALUES (?, ?)", (name, str(fan.id)))
    return [(run_id, folder) for run_id, folder in there.items() if indexed.get(run_id) != str(folder.id)]


def _delete(conn: sqlite3.Connection, run_ids: Sequence[str]) -> None:
    for run_id in run_ids:
        rid, lo, hi = conn.execute("SELECT rid, lo, hi FROM runs WHERE id = ?", (run_id,)).fetchone()
        vids = conn.execute("SELECT DISTINCT vid FROM fields WHERE fid BETWEEN ? AND ?", (lo, hi)).fetchall()
        conn.execute("DELETE FROM fields WHERE fid BETWEEN ? AND ?", (lo, hi))
        # a value no run holds any more goes too: the index stays what a fresh build would make
        conn.executemany("DELETE FROM vals WHERE vid = ?1 AND NOT EXISTS (SELECT 1 FROM fields WHERE vid = ?1)",
                         vids)
        conn.execute("DELETE FROM files WHERE run = ?", (rid,))
        conn.execute("DELETE FROM runs WHERE rid = ?", (rid,))


BULK = 64  # folders from which one `git cat-file --batch` beats libgit2's per-object reads
# git's cache of delta bases (default 96 MiB) holds too few run.json bases for reads in id order, not
# pack order: at 100,000 runs 512 MiB cuts cat-file from 6.1 s to 0.9-1.2 s CPU (380 MB RSS; 256 MiB: 1.4 s).
DELTA_CACHE = "512m"


def _contents(repo: Repo, folders: list[tuple[str, pygit2.Tree]]
              ) -> Iterator[tuple[str, pygit2.Tree, dict[str, bytes]]]:
    """(run id, folder, file name -> bytes) of each folder. Many folders are read through one
    `git cat-file --batch`, streamed so that git reads ahead while Python parses: libgit2 resolves
    the deltas of a packed store ~7x slower (its delta base cache is small and these reads are in id
    order, not pack order). A blob the stream cannot give is read by libgit2."""
    listing = [(run_id, folder, [(e.name, e.id) for e in folder if isinstance(e, pygit2.Blob) and e.name])
               for run_id, folder in folders]
    git = repo.git
    with contextlib.ExitStack() as stack:
        stream = (stack.enter_context(_CatFile(repo, [oid for _, _, names in listing for _, oid in names]))
                  if len(listing) >= BULK else None)
        for run_id, folder, names in listing:
            files = {}
            for name, oid in names:
                blob = stream.read(oid) if stream is not None else None
                if blob is None:
                    obj = git[oid]
                    blob = obj.data if isinstance(obj, pygit2.Blob) else b""
                files[name] = blob
            yield run_id, folder, files


class _CatFile:
    """Blob contents from one `git cat-file --batch`, asked for all at once and read in that order.
    read() gives None for a blob git does not have, and for every blob once the stream is broken
    (git missing, killed, out of step): the caller reads those through libgit2."""

    def __init__(self, repo: Repo, oids: list[pygit2.Oid]) -> None:
        import subprocess
        import threading

        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = subprocess.Popen(
                ["git", "-c", f"core.deltaBaseCacheLimit={DELTA_CACHE}", "--git-dir", repo.git.path,
                 "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"}, bufsize=1 << 20)
        except OSError:
            return
        assert self.proc.stdin is not None
        self.writer = threading.Thread(target=catfile.feed, args=(self.proc.stdin, oids), daemon=True)
        self.writer.start()

    def read(self, oid: pygit2.Oid) -> bytes | None:
        if self.proc is None:
            return None
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            head = stdout.readline().split()
            if len(head) == 2 and head[1] == b"missing" and head[0].decode() == str(oid):
                return None
            if len(head) == 3 and head[1] == b"blob" and head[0].decode() == str(oid):
                size = int(head[2])
                blob = stdout.read(size + 1)
                if len(blob) == size + 1:
                    return blob[:size]
        except (OSError, ValueError):
            pass
        self.close()  # out of step: trust nothing more from this stream
        return None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            self.writer.join()
            assert proc.stdout is not None
            proc.stdout.close()

    def __enter__(self) -> _CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Batch:
    """Rows of some runs, numbered by a _Parser: written in order, they need no lookups."""

    keys: list[tuple[int, str]] = field(default_factory=list)  # keys first named in this batch
    envs: list[tuple[int, str]] = field(default_factory=list)
    env_fields: list[tuple[Any, ...]] = field(default_factory=list)
    vals: list[tuple[Any, ...]] = field(default_factory=list)  # values first met in this batch
    runs: list[tuple[Any, ...]] = field(default_factory=list)
    fields: list[tuple[Any, ...]] = field(default_factory=list)
    files: list[tuple[Any, ...]] = field(default_factory=list)

    def rows(self) -> tuple[list[Any], ...]:
        """Its lists in field order (dataclasses.astuple would copy every row)."""
        return self.keys, self.envs, self.env_fields, self.vals, self.runs, self.fields, self.files


class _Parser:
    """Run folders -> rows. Run, field, key and env ids are numbered here from the largest ones in the
    index, so a batch parsed in another process is written as it is; a run's fields have the ids
    runs.lo..runs.hi (a range instead of an index on fields.run)."""

    def __init__(self, conn: sqlite3.Connection, bulk: bool = False) -> None:
        def top(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        self.rid = top("SELECT coalesce(max(rid), 0) FROM runs")
        self.fid = top("SELECT coalesce(max(fid), 0) FROM fields")
        self.eid = top("SELECT coalesce(max(eid), 0) FROM envs")
        self.keys = Keys(conn.execute("SELECT key, kid FROM keys"))
        empty = conn.execute("SELECT 1 FROM vals LIMIT 1").fetchone() is None
        self.vals = Values(conn, complete=bulk or empty)  # bulk: a forked child must not query conn
        self.envs: dict[str, int] = dict(conn.execute("SELECT hash, eid FROM envs").fetchall())
        self.last_env: tuple[Any, int] | None = None  # (env section, id) of the previous run: most share it
        self.batch = _Batch()

    def add(self, run_id: str, folder: str, files: dict[str, bytes]) -> None:
        try:
            record = json.loads(files[runs.RUN_FILE])
            status = record["status"]
            started = runs.parse_time(status["started_at"])
        except (KeyError, ValueError, TypeError):
            return  # not a readable record: `show` and `verify` report it; queries do not see it
        batch = self.batch
        self.rid += 1
        rid, lo = self.rid, self.fid + 1
        env = self._env(record.get("env"))
        rows = record_rows(record, self.keys)
        vals = self.vals
        batch.fields.extend([(fid, rid, row[0], vals[row]) for fid, row in enumerate(rows, lo)])
        self.fid += len(rows)
        batch.runs.append((rid, run_id, folder, started, status["started_at"], status.get("ended_at"),
                           record.get("name"), env, lo, self.fid))
        batch.files.extend((digest, path, role, rid, inside) for digest, path, role, inside in file_rows(record, files))

    def _env(self, env: Any) -> int:
        """The id of this env section, stored once however many runs share it."""
        if self.last_env is not None and self.last_env[0] == env:
            return self.last_env[1]
        digest = hashlib.sha1(json.dumps(env).encode()).hexdigest()  # stored with sorted keys: stable
        eid = self.envs.get(digest)
        if eid is None:
            self.eid += 1
            eid = self.envs[digest] = self.eid
            self.batch.envs.append((eid, digest))
            self.batch.env_fields.extend((eid, *row) for row in env_rows(env, self.keys))
        self.last_env = (env, eid)
        return eid

    def take(self) -> _Batch:
        batch, self.batch = self.batch, _Batch()
        batch.keys, self.keys.new = self.keys.new, []
        batch.vals, self.vals.new = self.vals.new, []
        return batch


BATCH = 2000  # runs a batch: what a forked parser hands over at a time
PARALLEL = 4000  # runs from which a forked child parses while this process writes


def _parsed(repo: Repo, folders: list[tuple[str, pygit2.Tree]], parser: _Parser) -> Iterator[_Batch]:
    for n, (run_id, folder, files) in enumerate(_contents(repo, folders), 1):
        parser.add(run_id, str(folder.id), files)
        if n % BATCH == 0:
            yield parser.take()
    yield parser.take()


def _write(conn: sqlite3.Connection, batch: _Batch) -> None:
    conn.executemany("INSERT INTO keys VALUES (?, ?)", batch.keys)
    conn.executemany("INSERT INTO envs VALUES (?, ?)", batch.envs)
    conn.executemany("INSERT INTO env_fields VALUES (?, ?, ?, ?, ?)", batch.env_fields)
    conn.executemany("INSERT INTO vals VALUES (?, ?, ?, ?, ?)", batch.vals)
    conn.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch.runs)
    conn.executemany("INSERT INTO fields VALUES (?, ?, ?, ?)", batch.fields)
    conn.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)", batch.files)


def _load(repo: Repo, conn: sqlite3.Connection, folders: list[tuple[str, pygit2.Tree]]) -> None:
    """Parse and write the folders' runs. Many runs are parsed in a forked child (json and flattening
    on the second core while this one writes); if it dies, they are parsed here instead."""
    import threading

    # fork only from a single thread: a lock held by another thread would stay locked in the child
    if len(folders) >= PARALLEL and hasattr(os, "fork") and (os.cpu_count() or 1) > 1 \
            and threading.active_count() == 1:
        conn.execute("SAVEPOINT parsed")
        try:
            with contextlib.closing(_forked(_parsed(repo, folders, _Parser(conn, bulk=True)))) as batches:
                for batch in batches:
                    _write(conn, batch)
            conn.execute("RELEASE parsed")
            return
        except _Lost:
            conn.execute("ROLLBACK TO parsed")
            conn.execute("RELEASE parsed")
    for batch in _parsed(repo, folders, _Parser(conn)):
        _write(conn, batch)


class _Lost(Exception):
    """The forked parser ended before its last batch."""


def _forked(batches: Iterator[_Batch]) -> Generator[_Batch, None, None]:
    """batches, produced by a forked child and passed back through a pipe: frames of an 8-byte length
    and marshal.dumps of the rows (only ints, floats, strings and None; faster than pickle, and
    marshal.load on a stream makes a Python call for every item). The child never returns and never
    touches the parent's SQLite connection (os._exit: no clean-up runs in it)."""
    import marshal
    import signal

    try:
        read_fd, write_fd = os.pipe()
    except OSError as exc:
        raise _Lost from exc
    try:
        pid = os.fork()
    except OSError as exc:  # out of processes or memory: parse here
        os.close(read_fd)
        os.close(write_fd)
        raise _Lost from exc
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as out:
                for batch in batches:
                    frame = marshal.dumps(batch.rows())
                    out.write(len(frame).to_bytes(8, "big") + frame)
                out.write(bytes(8))  # the end, a frame of length 0: anything short of it is _Lost
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as stream:
            while True:
                head = stream.read(8)
                size = int.from_bytes(head, "big")
                frame = stream.read(size) if len(head) == 8 and size else b""
                if len(head) == 8 and not size:
                    return
                if len(head) != 8 or len(frame) != size:
                    raise _Lost
                try:
                    rows = marshal.loads(frame)
                except (EOFError, ValueError, TypeError) as exc:
                    raise _Lost from exc
                yield _Batch(*rows)
    finally:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _forgotten(conn: sqlite3.Connection, tip: pygit2.Commit | None) -> None:
    tree = forgotten.tree_of(tip)
    tree_id = str(tree.id) if tree is not None else ""
    if _meta(conn, "forgotten") == tree_id:
        return
    conn.execute("DELETE FROM forgotten")
    rows = [(e["run"], e["reason"], e["author"], e["time"]) for e in forgotten.entries(tip)]
    conn.executemany("INSERT INTO forgotten VALUES (?, ?, ?, ?)", rows)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('forgotten', ?)", (tree_id,))


# ------------------------------------------------------------------------------ EXPR -> SQL


def _owner(key: tuple[str, ...]) -> str:
    """The table holding a key."""
    return "env_fields" if key[0] == "env" else "fields"


def _test_sql(expr: q.Compare) -> tuple[str, list[Any]]:
    """The condition on one field row (f.*) for KEY OP VALUE, or '0' when it can never hold."""
    kind = q.kind(expr.value)
    rank = KIND_RANK[kind]
    column = "f.num" if kind in ("number", "bool") else "f.txt"
    value = float(expr.value) if kind in ("number", "bool") else expr.value
    if kind == "other" or (expr.op == "~" and kind != "string"):
        return "0", []
    if kind == "null":
        return ("f.t = ?", [rank]) if expr.op == "=" else ("0", [])
    if expr.op == "~":
        return "f.t = ? AND pglob(?, f.txt)", [rank, value]
    if expr.op in ("<", "<=", ">", ">=") and kind == "bool":
        return "0", []
    return f"f.t = ? AND {column} {'!=' if expr.op == '!=' else expr.op} ?", [rank, value]


_KID = "(SELECT kid FROM keys WHERE key = ?)"


def compile_expr(expr: q.Expr, probe: bool = False) -> tuple[str, list[Any]]:
    """SQL over runs r for an EXPR, with the semantics of query.evaluate. By default each test is the
    set of runs it holds for (its values from vals_key, their runs from fields_value: quick when few
    runs match); with probe, each run's own
    rows are looked at (its field range, its env), for a few runs taken in order."""
    if isinstance(expr, (q.Compare, q.Exists)):
        table = _owner(expr.key)
        key = q.key_text(expr.key)
        if isinstance(expr, q.Exists):  # the key itself, or any key under it ('/' follows '.')
            test, args = "f.kid IN (SELECT kid FROM keys WHERE key = ? OR (key > ? AND key < ?))", [
                key, key + ".", key + "/"]
        else:
            test, args = _test_sql(expr)
            if test == "0":
                return "0", []
            test, args = f"f.kid = {_KID} AND {test}", [key, *args]
        if table == "env_fields":
            if not probe:
                return f"r.env IN (SELECT f.env FROM env_fields f WHERE {test})", args
            return f"EXISTS (SELECT 1 FROM env_fields f WHERE f.env = r.env AND {test})", args
        if not probe:  # the few matching values (vals_key), then the runs holding them (fields_value)
            return f"r.rid IN (SELECT x.run FROM vals f CROSS JOIN fields x ON x.vid = f.vid WHERE {test})", args
        # NOT INDEXED: the run's rows by rowid range, never a walk of an index; the key before the value
        return ("EXISTS (SELECT 1 FROM fields x NOT INDEXED CROSS JOIN vals f ON f.vid = x.vid "
                f"WHERE x.fid BETWEEN r.lo AND r.hi AND {test.replace('f.kid', 'x.kid', 1)})"), args
    if isinstance(expr, q.Not):
        inner, args = compile_expr(expr.term, probe)
        return f"NOT ({inner})", args
    parts = [compile_expr(t, probe) for t in expr.terms]
    joiner = " AND " if isinstance(expr, q.And) else " OR "
    return joiner.join(f"({p})" for p, _ in parts), [a for _, args in parts for a in args]


@dataclass(frozen=True)
class Selection:
    """What log/compare select: all optional, and-ed."""

    where: q.Expr | None = None
    sort: tuple[q.SortKey, ...] = ()
    name: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int | None = None
    forgotten: bool = False  # True: only forgotten runs; False: never them


WINDOW = 1000  # newest runs in which `log -n N --where` looks for its N first (~3 ms when not there)
LEAD_RANKS = (0, 1, 2, 3, 4)  # number, string, bool, null, other: the order of kinds in a sort


def _select_sql(sel: Selection, lead: int | None = None, limit: int | None = None,
                window: int | None = None) -> tuple[str, list[Any]]:
    """SQL for sel. With lead (a type rank, or -1 for runs lacking the key): only the runs whose first
    sort key has that kind, driven by the fields_key index in sort order, so a LIMIT stops early
    instead of sorting every run. With window (no sort keys): only among the newest `window` runs,
    each tested by probing its own rows."""
    joins, order, conds, args, join_args = [], [], ["1"], [], []
    head = "runs r"
    for n, sort in enumerate(sel.sort):
        table = _owner(sort.key)
        way = "DESC" if sort.descending else "ASC"
        join_args.append(q.key_text(sort.key))
        if n == 0 and lead is not None and lead >= 0:  # CROSS JOIN: SQLite keeps this table order
            head = "vals v0 CROSS JOIN fields s0 CROSS JOIN runs r"
            conds += ["v0.kid = " + _KID, "v0.t = ?", "s0.vid = v0.vid", "r.rid = s0.run"]
            args += [join_args.pop(), lead]
            order += [f"v0.num {way}", f"v0.txt {way}"]
            continue
        value = f"s{n}"  # the row holding t, num, txt
        if table == "env_fields":
            joins.append(f"LEFT JOIN env_fields s{n} ON s{n}.env = r.env AND s{n}.kid = {_KID}")
        else:
            value = f"v{n}"
            joins.append(f"LEFT JOIN fields s{n} ON s{n}.fid BETWEEN r.lo AND r.hi AND s{n}.kid = {_KID} "
                         f"LEFT JOIN vals v{n} ON v{n}.vid = s{n}.vid")
        if n == 0 and lead is not None:
            conds.append("s0.kid IS NULL")
            continue
        order += [f"{value}.t IS NULL", f"{value}.t", f"{value}.num {way}", f"{value}.txt {way}"]
    order += ["r.started DESC", "r.id DESC"]
    if window is not None:  # runs at least as new as the window-th newest: a prefix of the order
        conds.append("r.started >= coalesce((SELECT started FROM runs ORDER BY started DESC, id DESC "
                     f"LIMIT 1 OFFSET {int(window) - 1}), -1e308)")
    if sel.where is not None:
        sql, more = compile_expr(sel.where, probe=window is not None)
        conds.append(f"({sql})")  # a top-level OR must not swallow the filters and-ed after it
        args += more
    if sel.name is not None:
        conds.append("pglob(?, r.name)")
        args.append(sel.name)
    for bound, op in ((sel.since, ">="), (sel.until, "<")):
        if bound is not None:
            conds.append(f"r.started {op} ?")
            args.append(bound)
    conds.append(("" if sel.forgotten else "NOT ") + "(r.id IN (SELECT id FROM forgotten))")
    limit = sel.limit if limit is None else limit
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    sql = (f"SELECT r.id FROM {head} {' '.join(joins)} WHERE {' AND '.join(conds)} "
           f"ORDER BY {', '.join(order)}{tail}")
    return sql, join_args + args


def select(repo: Repo, sel: Selection) -> list[str]:
    """Run ids chosen by sel, in its order (newest first by default)."""
    conn = open_index(repo)
    try:
        if not sel.sort and sel.limit is not None and sel.where is not None:
            # The newest N matching runs are often among the newest few: probing WINDOW runs in order
            # beats building the set of every run a test holds for (100,000 for `params.seed >= 3`).
            # Found all N there: they are the answer; else the full query.
            sql, args = _select_sql(sel, window=WINDOW)
            newest = [row[0] for row in conn.execute(sql, args)]
            if len(newest) >= sel.limit:
                return newest
        if not sel.sort or sel.limit is None or sel.sort[0].key[0] == "env":
            sql, args = _select_sql(sel)
            return [row[0] for row in conn.execute(sql, args)]
        # The first N by a sort key: each kind of value in turn, then the runs lacking the key.
        found: list[str] = []
        for lead in (*LEAD_RANKS, -1):
            if len(found) >= sel.limit:
                break
            sql, args = _select_sql(sel, lead, sel.limit - len(found))
            found += [row[0] for row in conn.execute(sql, args)]
        return found
    finally:
        conn.close()


# ------------------------------------------------------------------------------ other questions


def named(repo: Repo, name: str, back: int) -> str | None:
    """The back-th newest run called name that is not forgotten (NAME@~back)."""
    conn = open_index(repo)
    try:
        row = conn.execute("SELECT id FROM runs WHERE name = ? AND id NOT IN (SELECT id FROM forgotten) "
                           "ORDER BY started DESC, id DESC LIMIT 1 OFFSET ?", (name, back)).fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


@dataclass(frozen=True)
class FileUse:
    run: str
    started_at: str
    ended_at: str | None
    path: str
    role: str  # input or output
    inside: str | None  # the recorded directory this file was listed in, if any


def uses(repo: Repo, digests: Iterable[str]) -> dict[str, list[FileUse]]:
    """digest -> every use by a run that is not forgotten, newest run first."""
    wanted = sorted(set(digests))
    conn = open_index(repo)
    try:
        out: dict[str, list[FileUse]] = {d: [] for d in wanted}
        for digest in wanted:
            for row in conn.execute(
                    "SELECT f.digest, r.id, r.started_at, r.ended_at, f.path, f.role, f.inside FROM files f "
                    "JOIN runs r ON r.rid = f.run WHERE f.digest = ? AND r.id NOT IN (SELECT id FROM forgotten) "
                    "ORDER BY r.started DESC, r.id DESC, f.path", (digest,)):
                out[digest].append(FileUse(*row[1:]))
        return out
    finally:
        conn.close()


def newest_outputs(repo: Repo) -> list[tuple[str, str]]:
    """(path, run id) for each path declared as an output, with its newest producing run."""
    conn = open_index(repo)
    try:
        rows = conn.execute(
            "SELECT f.path, r.id FROM files f JOIN runs r ON r.rid = f.run WHERE f.role = 'output' "
            "AND f.inside IS NULL AND r.id NOT IN (SELECT id FROM forgotten) "
            "ORDER BY f.path, r.started DESC, r.id DESC").fetchall()
    finally:
        conn.close()
    newest: dict[str, str] = {}
    for path, run_id in rows:
        newest.setdefault(path, run_id)
    return sorted(newest.items())


def forgotten_entries(repo: Repo) -> list[dict[str, Any]]:
    conn = open_index(repo)
    try:
        rows = conn.execute("SELECT id, reason, author, time FROM forgotten ORDER BY time, id").fetchall()
    finally:
        conn.close()
    return [{"run": r[0], "reason": r[1], "author": r[2], "time": r[3]} for r in rows]
