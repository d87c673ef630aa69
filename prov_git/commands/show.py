"""`git prov show [RUN] [--json]`: one run."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, use_color


@click.command(context_settings=CONTEXT)
@click.argument("run", default="@")
@json_option("Print the whole record as stored.")
@color_option
def show(run: str, as_json: bool, color: bool | None) -> int:
    """Show one run (default @, the newest)."""
    from prov_git.app.read import load_spec
    from prov_git.app.repository import open_here
    from prov_git.records import encode
    from prov_git.records.render import show_text

    loaded = load_spec(open_here(), run)
    click.echo(encode(loaded).decode().rstrip("\n") if as_json else show_text(loaded, use_color(color)))
    return 0
