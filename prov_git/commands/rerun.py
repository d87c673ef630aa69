"""`git prov rerun [RUN]`: does this result still reproduce?"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import click

from prov_git.commands._options import CONTEXT, json_option, say, warn

if TYPE_CHECKING:
    from prov_git.app.rerun import Outcome, Plan


@click.command(context_settings=CONTEXT)
@click.argument("run", default="@")
@click.option("--dry-run", is_flag=True, help="Print the code tree, each input and where it comes from, and the "
              "command; run nothing.")
@click.option("--check", is_flag=True, help="Exit 1 when the command succeeded but an output differs or is missing.")
@click.option("--keep", is_flag=True, help="Keep the temporary directory (its path is printed).")
@json_option("Print the outcome as one JSON object.")
@click.option("--allow-changed-inputs", is_flag=True, help="Run with the inputs the work tree has now, "
              "even when they differ from the record.")
@click.option("--name", help="A label for the new run (default: the original's).")
def rerun(run: str, dry_run: bool, check: bool, keep: bool, as_json: bool, allow_changed_inputs: bool,
          name: str | None) -> int:
    """Run RUN (default @) again from its recorded code and inputs, record it, compare its outputs.

    The code is the run's own tree (its dirty snapshot included), checked out in a temporary
    directory outside the work tree; the work tree, index and HEAD are never touched."""
    from prov_git.app import rerun as app
    from prov_git.app.repository import open_here

    repo = open_here()
    if dry_run:
        plan = app.dry_run(repo, run)
        click.echo(json.dumps(plan.as_dict(), sort_keys=True) if as_json else _plan_text(plan))
        return 0
    outcome = app.rerun(repo, run, allow_changed=allow_changed_inputs, keep=keep, name=name, notify=warn)
    for message in outcome.warnings:
        warn(message)
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), sort_keys=True))
    else:
        say(_summary(outcome))
    if outcome.kept is not None:
        say(f"kept the rerun's directory: {outcome.kept}")
    if check and outcome.exit_status == 0 and not outcome.reproduced:
        return 1
    return outcome.exit_status


def _plan_text(plan: Plan) -> str:
    lines = [f"rerun of {plan.original['id'][:12]}",
             f"code:     {plan.code or '(none)'}" + ("  (dirty snapshot)" if plan.original["git"]["dirty"] else ""),
             f"cwd:      {plan.cwd}",
             f"command:  {shlex.join(plan.argv)}"]
    lines += [f"input:    {s.path}  from {_origin(s.origin)}" for s in plan.sources] or ["inputs:   none"]
    return "\n".join(lines)


def _origin(origin: str) -> str:
    return {"tree": "the recorded tree", "worktree": "the work tree (digest checked)",
            "changed": "nowhere: CHANGED since the run", "missing": "nowhere: MISSING"}[origin]


def _summary(outcome: Outcome) -> str:
    head = f"rerun {outcome.rerun[:12]} of {outcome.original[:12]}: "
    if outcome.reproduced:
        return head + f"reproduced ({len(outcome.identical)} output file(s) identical)"
    parts = [f"{len(outcome.differs)} differ ({', '.join(outcome.differs[:5])})" if outcome.differs else "",
             f"{len(outcome.missing)} missing ({', '.join(outcome.missing[:5])})" if outcome.missing else ""]
    return head + "NOT reproduced: " + "; ".join(p for p in parts if p) + \
        f"; see `git prov diff {outcome.original[:12]} {outcome.rerun[:12]}`"
