"""The repository a command works in, found the way git finds it, and the git settings that shape
how a command talks to the terminal (color, pager), read the way git reads them."""

from __future__ import annotations

import os

from prov_git import settings
from prov_git.store.repo import Repo, open_repo

__all__ = ["Repo", "color_config", "open_at", "open_here", "pager_command"]


def open_here() -> Repo:
    return open_repo(".")


def open_at(path: str | os.PathLike[str]) -> Repo:
    """The repository containing path."""
    return open_repo(path)


def color_config(repo: Repo) -> bool | None:
    """color.prov, else color.ui: True (always), False (never) or None (auto)."""
    for key in ("color.prov", "color.ui"):
        values = repo.config_values(key)
        if values:
            return settings.color_choice(key, values[-1])
    return None


def pager_command(repo: Repo) -> str:
    """git's choice of pager (pager.c): GIT_PAGER, else pager.prov when it names a command, else
    core.pager, PAGER, then less; pager.prov=false means none. "" or "cat" means none."""
    values = repo.config_values("pager.prov")
    wanted = settings.pager_choice("pager.prov", values[-1]) if values else True
    if wanted is False:
        return ""
    configured = wanted if isinstance(wanted, str) else repo.config("core.pager")
    for candidate in (os.environ.get("GIT_PAGER"), configured, os.environ.get("PAGER")):
        if candidate is not None:
            return candidate.strip()
    return "less"


def date_mode(repo: Repo, flag: str | None) -> str:
    """--date=MODE, else git's log.date, else default; a mode git prov does not know is an error."""
    from prov_git.errors import ConfigError, UsageError
    from prov_git.records.render import DATE_MODES

    mode = flag if flag is not None else repo.config("log.date", "default") or "default"
    known = mode in DATE_MODES or (mode.endswith("-local") and mode[:-6] in DATE_MODES)
    if known or mode.startswith(("format:", "format-local:")):
        return mode
    if flag is not None:
        raise UsageError(f"unknown date format {mode}; one of {', '.join(DATE_MODES)} or format:STRFTIME")
    raise ConfigError(f"bad config value '{mode}' for 'log.date'")
