"""Hash file contents as fast as the machine allows, with a progress bar for long runs.

- SHA-256, any size: one read loop into a reused 256 KiB buffer (the size hashlib.file_digest uses: it
  stays in the CPU cache between the copy and the hash). Measured on a 512 MiB file in the page cache:
  the same CPU as hashlib.file_digest, against 1.33x for an mmap hashed in slices (its page faults and
  TLB misses cost more than the copy they save) and more for a reader thread, which also costs a
  second core. The kernel is told the access is sequential, so it reads ahead on a cold cache.
- BLAKE3, from MMAP_MIN: an mmap hashed in 64 MiB slices, which blake3 spreads over every core itself
  (a 256 KiB buffer would give its threads too little to share). The size is re-checked between slices.
- Many files: one worker thread per core; hashlib and os.readinto release the GIL, so two cores hash
  two files at once (1.76x one core measured here).
- Exactly the size seen at open is hashed, so the digest always belongs to the size recorded; a file
  that grew, shrank or was rewritten meanwhile shows in the stat key returned (taken after reading),
  which callers compare with the one they had (hashcache then stores nothing and warns).
- Limit of mmap (git's own hashing has it too): a file truncated by another process while mapped
  raises SIGBUS. The size is re-checked before every slice, which leaves a window of one slice.

Imports stay light (threading only): this module is on the path of every `git prov record`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from prov_git.errors import InputError
from prov_git.records.digest import make_hasher

CHUNK = 256 << 10  # the read buffer: hashlib.file_digest's size, small enough to stay in the CPU cache
MMAP_MIN = 4 << 20  # BLAKE3 maps files from this size (below it the page faults cost more than the copy)
ADVISE_MIN = 4 << 20  # a file this large is read with a sequential read-ahead hint
PARALLEL_MIN_BYTES = 8 << 20  # a batch smaller than this is hashed on the calling thread
SHA_SLICE = 16 << 20
BLAKE3_SLICE = 64 << 20  # blake3 splits each update over its threads: larger slices keep them busy

# (size, mtime_ns, ctime_ns, inode) of a file: what the hash cache keys on.
StatKey = tuple[int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal once hashing has taken `delay` s."""

    def __init__(self, total: int, stream: TextIO | None = None, delay: float = 1.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.delay = delay
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False
        self._lock = threading.Lock()
        self.enabled = total > 0 and _is_terminal(self.stream)

    def advance(self, n: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.done += n
            now = time.monotonic()
            if now - self.start < self.delay or now - self._last < 0.1:
                return
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = min(self.done / self.total, 1.0)
        rate = self.done / max(now - self.start, 1e-9)
        figures = f" {share:4.0%} {_size(self.done)}/{_size(self.total)} {_size(rate)}/s"
        # The bar takes what the terminal leaves (at most 30): a line wider than the terminal would wrap
        # and every redraw would add a line.
        room = min(30, _columns(self.stream) - len("git prov: hashing []") - len(figures) - 1)
        line = (f"git prov: hashing [{'#' * int(share * room):<{room}}]" if room >= 5 else "git prov: hashing")
        self.stream.write(f"\r{line}{figures}\x1b[K")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def new_hasher(algorithm: str) -> Any:
    factory: Any = make_hasher(algorithm)
    if algorithm == "blake3":
        return factory(max_threads=factory.AUTO)
    return factory()


def hash_path(path: str, algorithm: str, progress: Progress | None = None,
              mapped: bool | None = None, size: int | None = None) -> tuple[str, StatKey]:
    """('<algorithm>:<hex>', stat key of the file as it was after reading) of a regular file: the
    digest of its first `size` bytes (the size the caller recorded, else fstat's at open). mapped:
    force the mmap route (True) or the read loop (False); None takes the faster for the algorithm."""
    if mapped is None:
        mapped = algorithm == "blake3"
    try:
        with open(path, "rb", buffering=0) as fh:
            fd = fh.fileno()
            found = os.fstat(fd).st_size
            size = found if size is None else min(size, found)  # never map past the end: SIGBUS
            hasher = new_hasher(algorithm)
            step = BLAKE3_SLICE if algorithm == "blake3" else SHA_SLICE
            if not (mapped and size >= MMAP_MIN and _hash_mapped(fd, size, hasher, step, progress)):
                _read_plain(fh, size, hasher, progress)
            after = stat_key(os.fstat(fd))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    return f"{algorithm}:{hasher.hexdigest()}", after


def _read_plain(fh: Any, size: int, hasher: Any, progress: Progress | None) -> None:
    if size >= ADVISE_MIN and hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    buf = bytearray(min(CHUNK, max(size, 1)))
    view = memoryview(buf)
    left = size
    while left > 0 and (n := fh.readinto(view[:min(left, len(buf))])):
        hasher.update(view[:n])
        left -= n
        if progress is not None:
            progress.advance(n)


def _hash_mapped(fd: int, size: int, hasher: Any, step: int, progress: Progress | None) -> bool:
    """Hash the file through an mmap; False (nothing hashed) where it cannot be mapped (some FUSE
    and special file systems): the caller reads it instead."""
    import mmap

    try:
        mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return False
    with mapped:
        if hasattr(mapped, "madvise"):
            mapped.madvise(mmap.MADV_SEQUENTIAL)
        view = memoryview(mapped)
        try:
            for offset in range(0, size, step):
                if offset and os.fstat(fd).st_size < size:
                    return True  # truncated meanwhile: reading on would raise SIGBUS; the caller sees it
                part = view[offset:offset + step]
                hasher.update(part)
                part.release()
                if progress is not None:
                    progress.advance(min(step, size - offset))
        finally:
            view.release()
    return True


def hash_many(items: Sequence[tuple[str, int]], algorithm: str,
              progress: Progress | None = None) -> list[tuple[str, StatKey]]:
    """Hash (path, size) items, on every core when the batch is large enough; results in order."""
    total = sum(size for _, size in items)
    workers = min(os.cpu_count() or 1, len(items))
    if workers < 2 or total < PARALLEL_MIN_BYTES or algorithm == "blake3":
        # blake3 already spreads one file over every core.
        return [hash_path(p, algorithm, progress, size=n) for p, n in items]
    results: list[tuple[str, StatKey] | None] = [None] * len(items)
    order = sorted(range(len(items)), key=lambda i: items[i][1])  # popped largest first: even finish
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        while not errors:
            with lock:
                if not order:
                    return
                i = order.pop()
            try:
                results[i] = hash_path(items[i][0], algorithm, progress, size=items[i][1])
            except BaseException as exc:  # re-raised on the calling thread
                errors.append(exc)
                return

    _run_threads(work, workers)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _run_threads(work: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=work, name=f"prov-hash-{i}", daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
