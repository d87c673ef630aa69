"""Digests as records write them: "<algorithm>:<hex>", and the registry of hash algorithms.

hashlib is imported only where something is hashed: loading its OpenSSL binding costs 1-2.5 ms of
a start-up, and `git prov record -- true` hashes no file (tests/test_startup.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prov_git.errors import InputError

ALGORITHMS = ("sha256", "blake3")


def check_algorithm(algorithm: str) -> None:
    """Refuse an unknown algorithm, or blake3 without its package, before anything is hashed."""
    if algorithm != "sha256":
        make_hasher(algorithm)


def make_hasher(algorithm: str) -> Callable[[], Any]:
    if algorithm == "sha256":
        import hashlib

        return hashlib.sha256
    if algorithm == "blake3":
        try:
            from blake3 import blake3
        except ImportError:
            raise InputError(
                "prov.hashAlgorithm is blake3 but the blake3 package is not installed: "
                "pip install 'git-prov[blake3]'"
            ) from None
        return blake3
    raise InputError(f"unknown hash algorithm {algorithm!r} (prov.hashAlgorithm): use sha256 or blake3")


def hash_bytes(data: bytes, algorithm: str) -> str:
    hasher = make_hasher(algorithm)()
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"
