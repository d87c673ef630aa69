"""`git prov log [-n N] [--json]`: runs, newest first."""

from __future__ import annotations

import json

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, use_color


@click.command(name="log", context_settings=CONTEXT)
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), help="Show at most N runs.")
@json_option("One JSON record per line.")
@color_option
def log(limit: int | None, as_json: bool, color: bool | None) -> int:
    """List runs, newest first."""
    from prov_git.app.read import newest_records
    from prov_git.app.repository import open_here
    from prov_git.records.render import log_line

    painted = use_color(color)
    for record in newest_records(open_here(), limit):
        click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False) if as_json else log_line(record, painted))
    return 0
