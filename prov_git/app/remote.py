"""Sharing runs: fetch, push and sync through the remotes git already has (store/remote does the git)."""

from __future__ import annotations

from prov_git.store.remote import fetch, push, sync

__all__ = ["fetch", "push", "sync"]
