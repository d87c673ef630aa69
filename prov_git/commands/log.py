"""`git prov log [-n N] [--json] [--where EXPR]... [--sort KEY]... [--name GLOB] [--since] [--until]
[--forgotten]`: runs, newest first (or by --sort)."""

from __future__ import annotations

import json
import sys

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, selection_options, use_color


@click.command(name="log", context_settings=CONTEXT)
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0, max=sys.maxsize, clamp=True),
              help="Show at most N runs.")
@json_option("One JSON record per line.")
@selection_options
@click.option("--forgotten", is_flag=True, help="List the forgotten runs (with why, who and when) instead.")
@color_option
def log(limit: int | None, as_json: bool, where: tuple[str, ...], sort: tuple[str, ...], name: str | None,
        since: str | None, until: str | None, forgotten: bool, color: bool | None) -> int:
    """List runs, newest first."""
    from prov_git.app.query import Filters, log_runs
    from prov_git.app.repository import open_here
    from prov_git.records.render import log_line

    painted = use_color(color)
    filters = Filters(where, sort, name, since, until, limit, forgotten)
    for record, entries in log_runs(open_here(), filters):
        if as_json:
            click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False))
            continue
        click.echo(log_line(record, painted))
        for entry in entries:
            click.echo(f"    forgotten {entry['time'][:19]}Z by {entry['author']}: {entry['reason'] or '(no reason)'}")
    return 0
