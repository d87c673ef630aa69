"""`git prov hooks install|uninstall`: share runs automatically on push (and fetch them on pull)."""

from __future__ import annotations

import click

from prov_git.cli import CONTEXT, cli, repo_here


@cli.group(context_settings=CONTEXT)
def hooks() -> None:
    """Install or remove the hooks that share runs on push and pull.

    pre-push pushes refs/prov/runs to the same remote whenever a branch is pushed; post-merge fetches
    runs after `git pull`. Installed where git runs hooks from (core.hooksPath respected)."""


@hooks.command(context_settings=CONTEXT)
def install() -> None:
    """Install the hooks (idempotent; an existing hook is kept and run first)."""
    from prov_git import hooks_install

    folder, actions = hooks_install.install(repo_here())
    for action in actions:
        click.echo(f"git prov: {action.line(folder)}", err=True)


@hooks.command(context_settings=CONTEXT)
def uninstall() -> None:
    """Remove the hooks and put back the ones they kept."""
    from prov_git import hooks_install

    folder, actions = hooks_install.uninstall(repo_here())
    for action in actions:
        click.echo(f"git prov: {action.line(folder)}", err=True)
