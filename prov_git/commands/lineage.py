"""`git prov lineage TARGET [--depth N] [--format tree|json|dot]`: what TARGET came from, upstream."""

from __future__ import annotations

import json

import click

from prov_git.commands._options import CONTEXT


@click.command(context_settings=CONTEXT)
@click.argument("target", metavar="TARGET")
@click.option("--depth", type=click.IntRange(min=1), help="Follow at most N runs upstream.")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "dot"]), default="tree", show_default=True)
def lineage(target: str, depth: int | None, fmt: str) -> int:
    """The runs and files upstream of TARGET (a path's current content, or a RUN), matched by digest."""
    from prov_git.app.query import lineage as walk
    from prov_git.app.repository import open_here
    from prov_git.records.render_query import lineage_dot, lineage_tree

    graph = walk(open_here(), target, depth)
    data = graph.as_dict()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(lineage_dot(data) if fmt == "dot" else lineage_tree(data, graph.root))
    return 0
