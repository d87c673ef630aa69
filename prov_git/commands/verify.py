"""`git prov verify [RUN]... [--all] [--json]`: exit 0 when every check holds, 1 on any problem."""

from __future__ import annotations

import json

import click

from prov_git.commands._options import CONTEXT, json_option, say


@click.command(context_settings=CONTEXT)
@click.argument("run_specs", nargs=-1, metavar="[RUN]...")
@click.option("--all", "check_all", is_flag=True, help="Every run; each path against the newest run that recorded it.")
@json_option("One JSON report on stdout.")
def verify(run_specs: tuple[str, ...], check_all: bool, as_json: bool) -> int:
    """Check records, mirror, pinned commits and files on disk (default: @)."""
    from prov_git.app import verify as checks
    from prov_git.app.repository import open_here
    from prov_git.errors import UsageError

    if check_all and run_specs:
        raise UsageError("give RUN arguments or --all, not both")
    repo = open_here()
    report = checks.verify_all(repo) if check_all else checks.verify_specs(repo, run_specs or ("@",))
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(problem.line())
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        say(f"verified {len(report.runs)} run(s), {report.paths} path(s): {state}")
    return 0 if report.ok else 1
