"""`git prov fetch|push|sync [REMOTE]`: share refs/prov/runs through the remotes git already has."""

from __future__ import annotations

import sys
from typing import Any

import click

from prov_git.commands._options import CONTEXT, say

_REMOTE_HELP = "Default: prov.remote, else the current branch's upstream remote, else origin."


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _runs(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'}"  # "1 run", "3 runs"


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        say(message)


def _fetched(result: Any) -> str:
    if result.tip is None:
        return f"{result.remote.label} has no runs yet"
    if not result.added:
        return f"{result.remote.label} has no runs that are new here"
    count = len(result.added)
    return f"fetched {count} new run{'' if count == 1 else 's'} from {result.remote.label}"


def _pushed(result: Any) -> str:
    if result.status == "nothing to push":
        return "nothing to push: no runs recorded yet"
    if result.status == "up to date":
        return f"{result.remote.label} is up to date"
    merged = f" (merged {_runs(len(result.fetched))} from it first)" if result.fetched else ""
    return f"pushed refs/prov/runs to {result.remote.label}{merged}"


@click.command(context_settings=CONTEXT, help=f"Fetch and merge the runs of REMOTE. {_REMOTE_HELP}")
@click.argument("remote", required=False)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary (errors still print).")
def fetch(remote: str | None, quiet: bool) -> int:
    from prov_git.app import remote as remote_store
    from prov_git.app.repository import open_here

    _say(quiet, _fetched(remote_store.fetch(open_here(), remote, progress=_progress(quiet))))
    return 0


@click.command(context_settings=CONTEXT, help=f"Push the runs to REMOTE, merging first if it moved. {_REMOTE_HELP}")
@click.argument("remote", required=False)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary (errors still print).")
def push(remote: str | None, quiet: bool) -> int:
    from prov_git.app import remote as remote_store
    from prov_git.app.repository import open_here

    _say(quiet, _pushed(remote_store.push(open_here(), remote, progress=_progress(quiet))))
    return 0


@click.command(context_settings=CONTEXT, help=f"Fetch, merge and push the runs. {_REMOTE_HELP}")
@click.argument("remote", required=False)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary (errors still print).")
def sync(remote: str | None, quiet: bool) -> int:
    from prov_git.app import remote as remote_store
    from prov_git.app.repository import open_here

    fetched, pushed = remote_store.sync(open_here(), remote, progress=_progress(quiet))
    _say(quiet, _fetched(fetched))
    _say(quiet, _pushed(pushed))
    return 0
