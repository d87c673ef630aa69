"""`git prov hooks install|uninstall`: share runs automatically on push (and fetch them on pull)."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT, say


@click.group(context_settings=CONTEXT)
def hooks() -> None:
    """Install or remove the hooks that share runs on push and pull.

    pre-push pushes refs/prov/runs to the same remote whenever a branch is pushed; post-merge fetches
    runs after `git pull`. Installed where git runs hooks from (core.hooksPath respected)."""


@hooks.command(context_settings=CONTEXT)
def install() -> int:
    """Install the hooks (idempotent; an existing hook is kept and run first)."""
    from prov_git.app import remote
    from prov_git.app.repository import open_here

    folder, actions = remote.install_hooks(open_here())
    for action in actions:
        say(action.line(folder))
    return 0


@hooks.command(context_settings=CONTEXT)
def uninstall() -> int:
    """Remove the hooks and put back the ones they kept."""
    from prov_git.app import remote
    from prov_git.app.repository import open_here

    folder, actions = remote.uninstall_hooks(open_here())
    for action in actions:
        say(action.line(folder))
    return 0
