"""What the subcommands share: click settings, common options, color choice, one-line messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
F = TypeVar("F", bound=Callable[..., Any])


def use_color(flag: bool | None = None) -> bool:
    """Color on a terminal unless --no-color, NO_COLOR or a dumb terminal says otherwise."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def color_option(func: F) -> F:
    return click.option("--color/--no-color", default=None,
                        help="Color the output (default: on a terminal).")(func)


def json_option(help: str) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def say(message: str) -> None:
    """One line of git prov's own on stderr."""
    click.echo(f"git prov: {message}", err=True)


def warn(message: str) -> None:
    click.echo(f"git prov: warning: {message}", err=True)


def selection_options(func: F) -> F:
    """--where/--sort/--name/--since/--until, shared by log and compare (design.md "Querying")."""
    options = [
        click.option("--where", "where", multiple=True, metavar="EXPR",
                     help="Only runs where EXPR holds, e.g. \"params.lr >= 0.01 and not metrics.acc exists\" "
                          "(several are and-ed)."),
        click.option("--sort", "sort", multiple=True, metavar="KEY",
                     help="Order by KEY (-KEY descending; several in order; missing values last)."),
        click.option("--name", "name", metavar="GLOB", help="Only runs whose name matches GLOB."),
        click.option("--since", metavar="DATE", help="Only runs started at or after DATE (RFC 3339 or 2026-11-30)."),
        click.option("--until", metavar="DATE", help="Only runs started before DATE (a plain date: through that day)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
