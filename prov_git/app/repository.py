"""The repository a command works in, found the way git finds it."""

from __future__ import annotations

import os

from prov_git.store.repo import Repo, open_repo


def open_here() -> Repo:
    return open_repo(".")


def open_at(path: str | os.PathLike[str]) -> Repo:
    """The repository containing path."""
    return open_repo(path)
