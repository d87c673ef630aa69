"""`git cat-file --batch` as a blob reader: git's delta cache reads a pack several times faster than
libgit2 object by object (the index build, fetch and verify --all read every run this way)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import pygit2


def feed(stdin: IO[bytes], oids: list[pygit2.Oid]) -> None:
    """Ask for every oid at once, then close: run in a thread, so git reads ahead while we parse."""
    with contextlib.suppress(OSError, ValueError):
        stdin.write("".join(f"{oid}\n" for oid in oids).encode())
    with contextlib.suppress(OSError):
        stdin.close()


def blobs(stdout: IO[bytes], oids: list[pygit2.Oid]) -> Iterator[tuple[pygit2.Oid, bytes]]:
    """(id, content) from `cat-file --batch` output; stops at the first answer that is not the blob asked."""
    for oid in oids:
        head = stdout.readline().split()
        if len(head) != 3 or head[1] != b"blob" or head[0] != str(oid).encode():
            return
        size = int(head[2])
        data = stdout.read(size + 1)
        if len(data) != size + 1:
            return
        yield oid, data[:size]


def trees(stdout: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(hex id, content) of every tree in `cat-file --batch` output, in order; answers that are not
    trees ("<request> missing", other kinds) are passed over. Ends where the output ends."""
    while True:
        head = stdout.readline().split()
        if len(head) == 2:
            continue  # missing or ambiguous: the reader of the walk looks it up itself
        if len(head) != 3:
            return
        size = int(head[2])
        data = stdout.read(size + 1)
        if len(data) != size + 1:
            return
        if head[1] == b"tree":
            yield head[0], data[:size]


class Lookahead:
    """Trees asked for in about the order a walk wants them: a lookup takes its answer from a window
    of the next few, pulling a bounded number more; an id not among them gives None (the walk then
    reads it itself), so a walk that leaves the predicted path only loses the speed-up."""

    WINDOW = 256
    PULL = 16  # more answers read per lookup, at most

    def __init__(self, stream: Iterator[tuple[bytes, bytes]]) -> None:
        self.stream: Iterator[tuple[bytes, bytes]] | None = stream
        self.window: dict[bytes, bytes] = {}

    def __call__(self, oid: pygit2.Oid) -> bytes | None:
        key = str(oid).encode()
        found = self.window.pop(key, None)
        for _ in range(self.PULL if found is None and self.stream is not None else 0):
            got = next(self.stream, None)  # type: ignore[arg-type]
            if got is None:
                self.stream = None
                break
            if got[0] == key:
                return got[1]
            if len(self.window) >= self.WINDOW:
                del self.window[next(iter(self.window))]
            self.window[got[0]] = got[1]
        return found
