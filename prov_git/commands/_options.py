"""What the subcommands share: click settings, common options, color choice, one-line messages."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from prov_git.app.repository import Repo

CONTEXT: dict[str, Any] = {"help_option_names": ["-h", "--help"]}
F = TypeVar("F", bound=Callable[..., Any])


def use_color(flag: bool | str | None = None, repo: Repo | None = None) -> bool:
    """git's rule: --color[=WHEN] or --no-color, else color.prov, else color.ui, else auto; auto is
    on when stdout is a terminal or git's pager reads it (GIT_PAGER_IN_USE), off for TERM=dumb."""
    choice: bool | None = {"always": True, "never": False, "auto": None}[flag] if isinstance(flag, str) else flag
    if choice is None and flag is None and repo is not None:
        from prov_git.app.repository import color_config

        choice = color_config(repo)
    if choice is not None:
        return choice
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty() or os.environ.get("GIT_PAGER_IN_USE", "").lower() in ("true", "1", "yes", "on")


WHEN = click.Choice(["always", "never", "auto"])


def color_option(func: F) -> F:
    """--color[=always|never|auto] and --no-color, handed to func as one `color` argument."""

    @functools.wraps(func)
    def merged(*args: Any, no_color: bool, **kwargs: Any) -> Any:
        if no_color:
            kwargs["color"] = "never"
        return func(*args, **kwargs)

    with_color = click.option("--color", "color", type=WHEN, is_flag=False, flag_value="always", default=None,
                              metavar="[=WHEN]", help="Color: always (the default WHEN), never or auto "
                              "(on a terminal); default from color.prov, color.ui.")(merged)
    return cast(F, click.option("--no-color", "no_color", is_flag=True, help="Same as --color=never.")(with_color))


def pager_wanted() -> bool:
    """False after `git prov --no-pager ...`."""
    ctx = click.get_current_context(silent=True)
    return not (ctx is not None and ctx.find_root().params.get("no_pager"))


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
