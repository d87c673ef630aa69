"""Replace a file so that readers see the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o666) -> None:
    """Temp file beside path + rename. durable also fsyncs before the rename; a cache that checks
    itself can skip that, a file a user relies on cannot. mode is filtered by the umask as usual."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Own unique name rather than tempfile.mkstemp: tempfile's import costs ~1 ms of every record.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
