"""Long output through a pager, the way git does it (pager.c): only when stdout is a terminal, with
LESS=FRX (quit when one screen suffices, keep colors, no screen clear) and LV=-c unless set. Which
pager is the app's answer (app.repository.pager_command); `git prov --no-pager` turns it off."""

from __future__ import annotations

import os
import sys

import click

from prov_git.commands._options import pager_wanted


def show(text: str, command: str, *, color: bool, enabled: bool = True) -> None:
    command = command if enabled and pager_wanted() and sys.stdout.isatty() else ""
    if command in ("", "cat"):
        click.echo(text, color=color)
        return
    os.environ.setdefault("LESS", "FRX")
    os.environ.setdefault("LV", "-c")
    os.environ["PAGER"] = command  # click runs it through the shell, as git does
    click.echo_via_pager(text + "\n", color=color)
