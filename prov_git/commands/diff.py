"""`git prov diff`: what changed between two runs, or between a run and the present state."""

from __future__ import annotations

import shutil
import sys

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, use_color, warn


@click.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, metavar="[RUN_A [RUN_B]]")
@json_option("Print the comparison as one JSON object.")
@click.option("-p", "--patch", is_flag=True, help="Show the full code patch.")
@click.option("--stat", is_flag=True, help="Show code changes as a diffstat, like git diff --stat.")
@click.option("--section", "sections", metavar="LIST",
              help="Only these sections, e.g. params,code (--exit-code then looks at these only).")
@click.option("--worktree", is_flag=True, help="Compare RUN (default @) with the present state; runs nothing.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the runs differ, 0 when they do not.")
@color_option
@click.option("--no-pager", is_flag=True, help="Do not page long output.")
def diff(runs: tuple[str, ...], as_json: bool, patch: bool, stat: bool, sections: str | None,
         worktree: bool, exit_code: bool, color: str | None, no_pager: bool) -> int:
    """Explain what changed between RUN_A and RUN_B (default @~1 and @; one RUN: it and @).

    Values that differ in every run by nature (timings, PWD, OLDPWD, SHLVL, _, terminal and session
    variables) never make runs differ. Add patterns over section-qualified paths with
    `git config --add prov.diff.ignore 'params.seed'`; a leading ! un-ignores ('!env.vars.DISPLAY').
    """
    from prov_git.app.diff import diff_runs
    from prov_git.app.repository import open_here, pager_command
    from prov_git.commands import _pager
    from prov_git.diff import render_json, render_text
    from prov_git.diff.compare import parse_sections
    from prov_git.records.render import wrap_lines

    repo = open_here()
    comparison = diff_runs(repo, runs, worktree=worktree, only=parse_sections(sections))
    for message in comparison.warnings:
        warn(message)
    if as_json:
        click.echo(render_json.dumps(comparison, patch))
    else:
        painted = use_color(color, repo)
        text = render_text.render(comparison, color=painted, stat=stat, patch=patch)
        if sys.stdout.isatty():  # on a terminal, long values wrap instead of running off the edge
            text = wrap_lines(text, shutil.get_terminal_size().columns)
        _pager.show(text, pager_command(repo), color=painted, enabled=not no_pager)
    return 1 if exit_code and not comparison.identical else 0
