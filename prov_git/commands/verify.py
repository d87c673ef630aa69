"""`git prov verify [RUN]... [--all] [--json]`: exit 0 when every check holds, 1 on any problem."""

from __future__ import annotations

import json
import sys

import click

from prov_git.cli import CONTEXT, cli, repo_here


@cli.command(context_settings=CONTEXT)
@click.argument("run_specs", nargs=-1, metavar="[RUN]...")
@click.option("--all", "check_all", is_flag=True, help="Every run; each path against the newest run that recorded it.")
@click.option("--json", "as_json", is_flag=True, help="One JSON report on stdout.")
def verify(run_specs: tuple[str, ...], check_all: bool, as_json: bool) -> None:
    """Check records, mirror, pinned commits and files on disk (default: @)."""
    from prov_git import verify as checks
    from prov_git.errors import UsageError
    from prov_git.store.resolve import resolve

    if check_all and run_specs:
        raise UsageError("give RUN arguments or --all, not both")
    repo = repo_here()
    if check_all:
        report = checks.verify_all(repo)
    else:
        report = checks.verify_runs(repo, [resolve(repo, spec) for spec in run_specs or ("@",)])
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(problem.line())
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"git prov: verified {len(report.runs)} run(s), {report.paths} path(s): {state}", err=True)
    sys.exit(0 if report.ok else 1)
