"""`git prov recover [FOLDER]...`: store runs whose command ran but whose record was saved aside."""

from __future__ import annotations

from pathlib import Path

import click

from prov_git.commands._options import CONTEXT, say


@click.command(context_settings=CONTEXT)
@click.argument("folders", nargs=-1, metavar="[FOLDER]...", type=click.Path(path_type=Path))
def recover(folders: tuple[Path, ...]) -> int:
    """Store the runs saved under .git/prov/pending/ (or in the FOLDERs a record named)."""
    from prov_git.app.recover import recover as store_saved
    from prov_git.app.repository import open_here

    done = store_saved(open_here(), list(folders) or None)
    say(f"recovered {len(done)} run(s)" + "".join(f"\n  {run_id[:12]}" for run_id in done) if done
        else "nothing to recover: no saved runs")
    return 0
