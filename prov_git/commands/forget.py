"""`git prov forget RUN... [--reason TEXT]`: hide runs from queries and @, append-only."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT, say


@click.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--reason", metavar="TEXT", help="Why (kept with the run, shown by `log --forgotten`).")
def forget(runs: tuple[str, ...], reason: str | None) -> int:
    """Hide runs from log, compare, which, lineage, status and @ (show by id still works; pushed with sync)."""
    from prov_git.app.query import forget as hide
    from prov_git.app.repository import open_here

    done = hide(open_here(), runs, reason)
    say(f"forgot {len(done)} run(s)" + "".join(f"\n  {run_id[:12]}" for run_id in done) if done
        else "nothing to forget: every run given is forgotten already")
    return 0
