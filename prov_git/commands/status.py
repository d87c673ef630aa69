"""`git prov status [--json]`: recorded outputs that are missing, modified, stale or fresh; runs unpushed."""

from __future__ import annotations

import json

import click

from prov_git.commands._options import CONTEXT, json_option


@click.command(context_settings=CONTEXT)
@json_option('Print {"outputs": [...], "unpushed": N or null}, plus "set_aside" and "pending" when there are any.')
def status(as_json: bool) -> int:
    """For each output of its newest run: missing, modified, stale (an input changed) or fresh;
    runs not pushed, runs a fetch set aside, and runs that ran but wait for `git prov recover`."""
    from prov_git.app.query import status as report
    from prov_git.app.repository import open_here
    from prov_git.records.render_query import status_text

    answer = report(open_here())
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False) if as_json else status_text(answer))
    return 0
