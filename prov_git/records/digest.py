"""Digests as records write them: "<algorithm>:<hex>", and the registry of hash algorithms."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from prov_git.errors import InputError

ALGORITHMS = ("sha256", "blake3")


def make_hasher(algorithm: str) -> Callable[[], Any]:
    if algorithm == "sha256":
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
