"""What a command starts before it loads pygit2 (~30 ms of imports), to run meanwhile: the
`git config` child that reads the repository's settings (store.gitconfig.read_ahead)."""

from __future__ import annotations

from prov_git.store.gitconfig import read_ahead

__all__ = ["read_ahead"]
