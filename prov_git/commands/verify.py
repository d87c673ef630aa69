"""`git prov verify [RUN]... [--all] [--signatures [--require-signed]] [--json]`: exit 0 when every
check holds, 1 on any problem."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from prov_git.commands._options import CONTEXT, json_option, say

if TYPE_CHECKING:
    from prov_git.app.verify import SignatureReport


@click.command(context_settings=CONTEXT)
@click.argument("run_specs", nargs=-1, metavar="[RUN]...")
@click.option("--all", "check_all", is_flag=True,
              help="Every run; each path on disk against every run that recorded it "
                   "(absent paths are listed, not failed).")
@click.option("--signatures", is_flag=True,
              help="Check each run's commit signature the way `git verify-commit` does (default: every run).")
@click.option("--require-signed", is_flag=True, help="With --signatures: exit 1 unless every run is signed "
              "by a trusted key.")
@json_option("One JSON report on stdout.")
def verify(run_specs: tuple[str, ...], check_all: bool, signatures: bool, require_signed: bool,
           as_json: bool) -> int:
    """Check records, mirror, pinned commits and files on disk (default: @)."""
    from prov_git.app import verify as checks
    from prov_git.app.repository import open_here
    from prov_git.errors import UsageError

    if check_all and run_specs:
        raise UsageError("give RUN arguments or --all, not both")
    repo = open_here()
    if signatures or require_signed:
        return _signatures(checks.verify_signatures(repo, run_specs), require_signed, as_json)
    progress = sys.stderr.isatty() and not as_json  # a counter while --all checks the runs
    report = checks.verify_all(repo, progress) if check_all else checks.verify_specs(repo, run_specs or ("@",))
    if as_json:
        click.echo(json.dumps(report.as_dict(), sort_keys=True, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(problem.line())
        for absent in report.absent:  # reported, not failed: a fresh clone has none of the outputs
            click.echo(absent.line())
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        say(f"verified {len(report.runs)} run(s), {report.paths} path(s): {state}")
    return 0 if report.ok else 1


def _signatures(report: SignatureReport, require_signed: bool, as_json: bool) -> int:
    from prov_git.records.text import inert

    if as_json:
        click.echo(json.dumps(report.as_dict(require_signed), sort_keys=True, ensure_ascii=False))
    else:
        for run_id, sig in report.runs:
            signer = f"  {inert(sig.signer)}" if sig.signer else ""
            key = f"  ({sig.format} key {sig.key})" if sig.key else ""
            detail = f"  {inert(sig.detail)}" if sig.detail and sig.state != "unsigned" else ""
            click.echo(f"{run_id[:12]}  {sig.state}{signer}{key}{detail}")
        counts = ", ".join(f"{n} {state}" for state, n in sorted(report.counts().items()))
        say(f"signatures of {len(report.runs)} run(s): {counts or 'no runs'}")
    if report.hint:
        say(f"hint: {report.hint}")
    return 1 if report.failed(require_signed) else 0
