"""Sharing runs: fetch, push and sync through the remotes git already has, and the hooks that do it
on every push and pull. The store does the git work; this is the action layer commands call."""

from __future__ import annotations

from prov_git.store.hooks import install as install_hooks
from prov_git.store.hooks import uninstall as uninstall_hooks
from prov_git.store.remote import fetch, push, sync

__all__ = ["fetch", "install_hooks", "push", "sync", "uninstall_hooks"]
