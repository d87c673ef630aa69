"""Long output through a pager, the way git does it: only on a terminal, GIT_PAGER, core.pager,
PAGER, then less with LESS=FRX (quit when one screen suffices, keep colors, no screen clear)."""

from __future__ import annotations

import os
import sys

import click

from prov_git.store.repo import Repo


def pager_command(repo: Repo) -> str:
    for candidate in (os.environ.get("GIT_PAGER"), repo.config("core.pager"), os.environ.get("PAGER")):
        if candidate is not None:
            return candidate.strip()
    return "less"


def show(text: str, repo: Repo, *, color: bool, enabled: bool = True) -> None:
    command = pager_command(repo) if enabled and sys.stdout.isatty() else ""
    if command in ("", "cat"):
        click.echo(text, color=color)
        return
    os.environ.setdefault("LESS", "FRX")
    os.environ.setdefault("LV", "-c")
    os.environ["PAGER"] = command  # click reads the pager from here
    click.echo_via_pager(text + "\n", color=color)
