"""Long output through a pager, the way git does it: only on a terminal, with LESS=FRX (quit when
one screen suffices, keep colors, no screen clear). Which pager is the app's answer (pager_command)."""

from __future__ import annotations

import os
import sys

import click


def show(text: str, command: str, *, color: bool, enabled: bool = True) -> None:
    command = command if enabled and sys.stdout.isatty() else ""
    if command in ("", "cat"):
        click.echo(text, color=color)
        return
    os.environ.setdefault("LESS", "FRX")
    os.environ.setdefault("LV", "-c")
    os.environ["PAGER"] = command  # click reads the pager from here
    click.echo_via_pager(text + "\n", color=color)
