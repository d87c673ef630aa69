"""`git prov export [RUN]... [--lineage PATH] --to prov-json|prov-n|prov-jsonld [-o FILE]`."""

from __future__ import annotations

from pathlib import Path

import click

from prov_git.commands._options import CONTEXT, say


@click.command(context_settings=CONTEXT)
@click.argument("run_specs", nargs=-1, metavar="[RUN]...")
@click.option("--to", "fmt", type=click.Choice(["prov-json", "prov-n", "prov-jsonld"]), default="prov-json",
              show_default=True, help="The W3C PROV serialization.")
@click.option("--lineage", metavar="PATH", help="Every run upstream of PATH's current content (or of a RUN).")
@click.option("-o", "--output", "output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
def export(run_specs: tuple[str, ...], fmt: str, lineage: str | None, output: Path | None) -> int:
    """RUNs (default: @) as a W3C PROV document: runs are activities, files entities named by digest."""
    from prov_git.app import export as app
    from prov_git.app.repository import open_here
    from prov_git.errors import UsageError

    text = app.export(open_here(), run_specs, fmt, lineage)
    if output is None:
        click.echo(text, nl=False)
        return 0
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    say(f"wrote {fmt} to {output}")
    return 0
