"""`git prov help [COMMAND]`: a command's help, or the manual page when no command is named."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT


@click.command(name="help", context_settings=CONTEXT)
@click.argument("command", required=False)
@click.pass_context
def help_command(ctx: click.Context, command: str | None) -> int:
    """Show COMMAND's help (or the list of commands)."""
    from prov_git.errors import UsageError

    root = ctx.find_root()
    group = root.command
    assert isinstance(group, click.Group)
    if command is None:
        click.echo(group.get_help(root))
        return 0
    target = group.get_command(root, command)
    if target is None:
        raise UsageError(f"no such command '{command}'; `git prov help` lists them")
    with click.Context(target, info_name=command, parent=root) as sub:
        click.echo(target.get_help(sub))
    return 0
