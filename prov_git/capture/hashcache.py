"""Digests of files kept across records in .git/prov/, so an unchanged input is not read again.

An entry maps an absolute path to (size, mtime_ns, ctime_ns, inode, hex digest), one file per hash
algorithm (`hashcache-sha256`). A lookup is served only when all four stat fields still match.

- Racy timestamps, as git does it: every file whose stat did not move while it was read is stored;
  an entry is trusted only when its file's mtime and ctime are older than the cache file's own write
  time (same clock, same tick granularity: a change in the tick of that write looks as new as the
  write). Entries not older, the racily-clean ones, are hashed again and stored again; the next write
  of the cache makes them old enough. So a data set written a second before its first record is cached
  by that record. Timestamps on whole seconds (FAT, some network file systems: ctime, which no user
  can set, ends in 0 ns) get a RACY_NS margin for their coarse ticks. Restoring mtime with utime does
  not fool it: that sets ctime to now.
- Limit (git has it too): a process writing through a shared writable mmap changes the content of
  pages already dirty without the kernel touching mtime or ctime (they move only on the first write
  after writeback), so such a change right after a record can be served stale until the file's next
  stat change. Set prov.hashCache=false for files written that way.
- A file that changed while it was read (its stat before and after differ: grown, shrunk, rewritten)
  is not stored, and `warnings` names it; its digest is of the size seen at open, as recorded.
- Concurrent records: the cache file is read once and replaced whole (temporary file + rename), so a
  reader sees an old or a new file, never half of one; when two records save at once the last wins
  and the other's new entries are simply hashed again next time. Never a wrong digest, at worst a miss.
- Corruption: the file is MAGIC + SHA-256 of the payload + payload (marshal of a dict: 1.3 ms to load
  5,000 entries, against 2.5 ms for JSON; sqlite3 alone costs 1 ms to import). Anything that does not
  check out is treated as empty and rewritten.

Derived and rebuildable: deleting .git/prov/hashcache-* only costs a re-hash.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from prov_git.capture.hashing import Progress, StatKey, hash_many, stat_key
from prov_git.fsutil import atomic_write

MAGIC = b"git-prov hash cache 1\n"
RACY_NS = 2_000_000_000  # the margin for whole-second timestamps: covers 1 s and 2 s (FAT) ticks
SECOND_NS = 1_000_000_000
MAX_ENTRIES = 1_000_000

Entry = tuple[int, int, int, int, str]  # size, mtime_ns, ctime_ns, inode, hex digest


class Stats:
    """What a digester did; `PROV_DEBUG_STATS=1 git prov record` prints it."""

    __slots__ = ("bytes_hashed", "hashed", "hits", "not_stored", "racy", "stored")

    def __init__(self) -> None:
        self.hits = 0
        self.hashed = 0
        self.bytes_hashed = 0
        self.stored = 0
        self.not_stored = 0  # changed while being read
        self.racy = 0  # matched an entry not older than the cache file: hashed again

    def line(self) -> str:
        return (f"hash cache: {self.hits} hits, {self.hashed} hashed ({self.bytes_hashed} bytes), "
                f"{self.stored} stored, {self.not_stored} changed while read, {self.racy} racily clean")


class HashCache:
    """The persistent map, read on first use and written back by save()."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._entries: dict[str, Any] | None = None
        self._loaded_stat: StatKey | None = None
        self._new: dict[str, Entry] = {}
        self._rewrite = False  # the file on disk is corrupt: write it even with nothing new

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries, self._loaded_stat, ok = _read(self.file)
            self._rewrite = not ok
        return self._entries

    def entries(self) -> dict[str, Any]:
        """Entries as loaded (unchecked: a reader compares every field, so a bad one is a miss)."""
        return self._load()

    def horizon(self) -> int:
        """Entries of files changed before this instant (ns) are trusted: the cache file's mtime."""
        self._load()
        return self._loaded_stat[1] if self._loaded_stat is not None else 0

    def new_entries(self) -> dict[str, Entry]:
        return self._new

    def put(self, path: str, key: StatKey, hex_digest: str) -> None:
        self._new[path] = (*key, hex_digest)

    def save(self) -> None:
        """Merge new entries into the file; failures only cost future re-hashing, so they pass."""
        if not self._new and not self._rewrite:
            return
        base = self._load()
        with contextlib.suppress(OSError):
            if _stat_key_of(self.file) != self._loaded_stat:
                base, _, _ = _read(self.file)  # another record saved meanwhile: keep its entries too
        merged = {**base, **self._new}
        if len(merged) > MAX_ENTRIES:
            merged = dict(self._new)
        with contextlib.suppress(OSError):
            _write(self.file, merged)
            self._entries, self._loaded_stat = merged, _stat_key_of(self.file)
            self._new = {}
            self._rewrite = False


def _stat_key_of(file: Path) -> StatKey:
    return stat_key(os.stat(file))


def _read(file: Path) -> tuple[dict[str, Any], StatKey | None, bool]:
    """(entries, stat of the file read, whether it was sound); a missing file is sound and empty."""
    try:
        with open(file, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
    except FileNotFoundError:
        return {}, None, True
    except OSError:
        return {}, None, False
    import hashlib  # here, not at the top: a record without inputs reads no cache

    head, payload = data[:len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if head[:len(MAGIC)] != MAGIC or head[len(MAGIC):] != hashlib.sha256(payload).digest():
        return {}, stat_key(st), False
    try:
        entries = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return {}, stat_key(st), False
    if type(entries) is not dict:
        return {}, stat_key(st), False
    return entries, stat_key(st), True


def _write(file: Path, entries: dict[str, Any]) -> None:
    import hashlib

    payload = marshal.dumps(entries)
    # No fsync: a torn file after a crash fails its checksum and is rebuilt.
    atomic_write(file, MAGIC + hashlib.sha256(payload).digest() + payload, durable=False, mode=0o600)


def trusted(key: StatKey, horizon: int) -> bool:
    """Whether an entry with this stat key is older than a cache file written at horizon (git's racy
    rule), with a margin for whole-second timestamps."""
    newest = max(key[1], key[2])
    if key[2] % SECOND_NS == 0:
        newest += RACY_NS
    return newest < horizon


class CachedDigester:
    """A files.Digester that serves unchanged files from the cache and hashes the rest on all cores."""

    def __init__(self, cache: HashCache | None, algorithm: str) -> None:
        self.cache = cache
        self.algorithm = algorithm
        self.stats = Stats()
        self.warnings: list[str] = []  # files that changed while they were read
        self._session: dict[str, tuple[StatKey, str]] = {}  # this record's digests, racy ones included

    def __call__(self, path: str, st: os.stat_result) -> str:
        return self.many([(path, st)])[0]

    def many(self, items: Sequence[tuple[str, os.stat_result]]) -> list[str]:
        """Digests of (path, lstat) pairs, in order."""
        out: list[str | None] = []
        misses: list[int] = []
        # The hot loop of a re-record (5,000 files: ~2 ms): lookups and trusted() inlined, no per-file
        # calls. Entries are checked field by field here rather than all at load time: a bad one is a miss.
        session = self._session
        stored = self.cache.entries() if self.cache is not None else {}
        horizon = self.cache.horizon() if self.cache is not None else 0
        prefix = self.algorithm + ":"
        racy = 0
        for i, (path, st) in enumerate(items):
            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            seen = session.get(path)
            if seen is not None and seen[0] == key:
                out.append(seen[1])
                continue
            entry = stored.get(path)
            if type(entry) is tuple and len(entry) == 5 and entry[:4] == key and type(entry[4]) is str:
                ctime = key[2]
                newest = max(key[1], ctime) + (RACY_NS if ctime % SECOND_NS == 0 else 0)
                if newest < horizon:  # trusted(key, horizon)
                    out.append(prefix + entry[4])
                    continue
                racy += 1
            misses.append(i)
            out.append(None)
        self.stats.hits += len(items) - len(misses)
        self.stats.racy += racy
        if misses:
            self._hash(items, misses, out)
        return cast(list[str], out)  # _hash filled in every None

    def _hash(self, items: Sequence[tuple[str, os.stat_result]], misses: list[int],
              out: list[str | None]) -> None:
        jobs = [(items[i][0], items[i][1].st_size) for i in misses]
        progress = Progress(sum(size for _, size in jobs))
        try:
            results = hash_many(jobs, self.algorithm, progress)
        finally:
            progress.finish()
        for i, (digest, after) in zip(misses, results, strict=True):
            path, st = items[i]
            key = stat_key(st)
            out[i] = digest
            self._session[path] = (key, digest)
            self.stats.hashed += 1
            self.stats.bytes_hashed += st.st_size
            if after != key:  # grown, rewritten, or replaced (another inode) between lstat and read
                self.stats.not_stored += 1
                self.warnings.append(_changed(path, key, after))
            elif self.cache is not None:
                self.cache.put(path, key, digest.split(":", 1)[1])
                self.stats.stored += 1

    def save(self) -> None:
        if self.cache is not None:
            self.cache.save()


def _changed(path: str, before: StatKey, after: StatKey) -> str:
    grew = f", {before[0]} -> {after[0]} bytes" if after[0] != before[0] else ""
    return (f"{path} changed while it was hashed{grew}; recorded as its first {before[0]} bytes "
            "were read (record it again once it is complete)")


def cache_file(state_dir: Path, algorithm: str) -> Path:
    return state_dir / f"hashcache-{algorithm}"


def digester_for(state_dir: Path, algorithm: str, enabled: bool = True) -> CachedDigester:
    """The digester a record uses; prov.hashCache=false turns the persistent part off."""
    return CachedDigester(HashCache(cache_file(state_dir, algorithm)) if enabled else None, algorithm)
