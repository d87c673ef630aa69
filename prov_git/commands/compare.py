"""`git prov compare [RUN]... [-n N] [--where]... [--sort]... [--name] [--columns GLOB]... [--all]
[--format table|md|csv|tsv|json]`: runs side by side, only what varies."""

from __future__ import annotations

import shutil
import sys

import click

from prov_git.commands._options import CONTEXT, selection_options


@click.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, metavar="[RUN]...")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0, max=sys.maxsize, clamp=True),
              help="At most N runs (default 20).")
@selection_options
@click.option("--columns", "columns", multiple=True, metavar="GLOB", help="Also show record keys matching GLOB.")
@click.option("--all", "show_all", is_flag=True, help="Show constant columns too.")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "tsv", "json"]), default="table",
              show_default=True)
@click.option("--transpose", is_flag=True, help="One column per run (the default for 3 runs or fewer).")
def compare(runs: tuple[str, ...], limit: int | None, where: tuple[str, ...], sort: tuple[str, ...],
            name: str | None, since: str | None, until: str | None, columns: tuple[str, ...], show_all: bool,
            fmt: str, transpose: bool) -> int:
    """A table of runs x the params and metrics that differ between them; constant ones are named below."""
    from prov_git.app.query import Filters, compare_runs
    from prov_git.app.repository import open_here, pager_command
    from prov_git.commands import _pager
    from prov_git.records import render_query

    repo = open_here()
    filters = Filters(where, sort, name, since, until, limit)
    table = compare_runs(repo, runs, filters, columns, show_all).as_dict()
    width = shutil.get_terminal_size((120, 24)).columns
    text = render_query.compare(table, fmt, width, transpose)
    if fmt == "table":
        _pager.show(text, pager_command(repo), color=False)  # paged on a terminal, like log
    else:
        click.echo(text)
    return 0
