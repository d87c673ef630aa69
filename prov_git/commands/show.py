"""`git prov show [RUN] [--json]`: one run."""

from __future__ import annotations

import shutil
import sys

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, use_color


def _width() -> int | None:
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


@click.command(context_settings=CONTEXT)
@click.argument("run", default="@")
@json_option("Print the whole record as stored.")
@click.option("--full", is_flag=True, help="Full digests and ids (--json always has them).")
@color_option
def show(run: str, as_json: bool, full: bool, color: str | None) -> int:
    """Show one run (default @, the newest)."""
    from prov_git.app.read import load_spec
    from prov_git.app.repository import open_here, pager_command
    from prov_git.commands import _pager
    from prov_git.records import encode
    from prov_git.records.render import show_text

    repo = open_here()
    loaded = load_spec(repo, run)
    if as_json:
        click.echo(encode(loaded).decode().rstrip("\n"))
        return 0
    painted = use_color(color, repo)
    _pager.show(show_text(loaded, painted, full=full, width=_width()), pager_command(repo), color=painted)
    return 0
