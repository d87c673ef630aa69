"""`git prov mirror`: rebuild the .prov/runs/ view from refs/prov/runs."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT, say


@click.command(context_settings=CONTEXT)
def mirror() -> int:
    """Rebuild .prov/runs/ from refs/prov/runs."""
    from prov_git.app.read import rebuild_mirror
    from prov_git.app.repository import open_here

    repaired, total = rebuild_mirror(open_here())
    say(f"mirror has {total} runs ({repaired} written)")
    return 0
