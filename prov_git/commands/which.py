"""`git prov which PATH... [--json]`: the runs that produced (and used) each path's current content."""

from __future__ import annotations

import json

import click

from prov_git.commands._options import CONTEXT, json_option


@click.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@json_option("Print one object per path: path, digest, produced_by, used_by.")
def which(paths: tuple[str, ...], as_json: bool) -> int:
    """Name the runs whose outputs hold PATH's current content (exit 1 if none did, 128 if PATH is missing)."""
    from prov_git.app.query import which as find
    from prov_git.app.repository import open_here
    from prov_git.records.render_query import which_text

    answer = find(open_here(), paths)
    for path in answer.missing:
        click.echo(f"git prov: error: {path} does not exist", err=True)
    if answer.found:
        click.echo(json.dumps(answer.found, indent=2, ensure_ascii=False) if as_json else which_text(answer.found))
    elif as_json:
        click.echo("[]")
    return answer.exit_code
