"""The repository's redaction key: 32 random bytes in .git/prov/redact.key, never pushed.

The key makes `redact.marker` a keyed fingerprint: equal secrets give equal markers in one repository,
and nobody holding only the records can guess a short secret offline. It lives in the store because
the store owns .git/; redact.py stays pure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prov_git.errors import ProvError

KEY_FILE = "redact.key"
KEY_BYTES = 32


def load_key(state_dir: Path) -> bytes:
    """The repository's redaction key, created on first use (first writer wins)."""
    state_dir = Path(state_dir)
    path = state_dir / KEY_FILE
    try:
        for _ in range(200):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                _create_key(state_dir, path)
                continue
            if len(data) == KEY_BYTES:
                return data
            if len(data) > KEY_BYTES:
                raise ProvError(f"{path} is corrupt; delete it (old runs' secret markers will differ)")
            # Short only while a writer without hard links is still writing it: wait for it.
            time.sleep(0.005)
    except OSError as exc:
        raise ProvError(f"cannot read or create {path}: {exc.strerror or exc}; "
                        f"check the permissions of {state_dir}") from None
    raise ProvError(f"{path} stays incomplete; delete it and run again")


def _create_key(state_dir: Path, path: Path) -> None:
    import tempfile  # only on the first record in a repository

    state_dir.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so the key is never readable by others, not even briefly.
    fd, tmp = tempfile.mkstemp(prefix=".redact.key.", dir=state_dir)
    try:
        _write_key(fd)
        try:
            # link() fails if the name exists: the first writer wins, a loser re-reads its key.
            # (os.replace would let the last writer win and two runs could see two keys.)
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:
            _create_key_without_links(path)
    finally:
        os.unlink(tmp)


def _create_key_without_links(path: Path) -> None:
    """Filesystems without hard links: O_EXCL create; readers wait while it is short."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    _write_key(fd)


def _write_key(fd: int) -> None:
    """A fresh random key into fd, on disk before anyone can rely on it; closes fd."""
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)


def peek_key(state_dir: Path) -> bytes | None:
    """The key if one exists already; never creates it (a preview must write nothing)."""
    return load_key(state_dir) if (Path(state_dir) / KEY_FILE).exists() else None
