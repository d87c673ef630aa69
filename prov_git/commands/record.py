"""`git prov record [OPTIONS] -- CMD [ARG]...`: run a command and record it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from prov_git.commands._options import CONTEXT, say, warn
from prov_git.errors import UsageError


class Finished(int):
    """An exit status after which the process may skip the interpreter's teardown: the run is
    stored, every file closed and every thread joined (see cli.main)."""


class _RecordCommand(click.Command):
    """Keeps the raw arguments: click cannot tell `-i a b -- cmd` (b is stray) from `-i a -- b -- cmd`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["prov.raw_args"] = list(args)
        return super().parse_args(ctx, args)


def stray_words(raw: list[str], command: tuple[str, ...]) -> list[str]:
    """Words click took as the command that were not after the `--` ending the options (a glob the
    shell expanded: `-i data/*.csv` -> `-i data/a.csv data/b.csv`)."""
    cuts = [k for k, word in enumerate(raw) if word == "--"]
    if any(tuple(raw[k + 1:]) == command for k in cuts):
        return []
    for k in cuts:
        tail = tuple(raw[k + 1:])
        head = command[:len(command) - len(tail)]
        if command[len(head):] == tail and head[-1:] == ("--",):
            return list(head[:-1])
    return list(command)


@click.command(cls=_RecordCommand, context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.option("-i", "--input", "inputs", multiple=True, metavar="PATH", help="Input file or directory.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="PATH", help="Output file or directory.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (dotted keys nest).")
@click.option("--params-file", multiple=True, metavar="FILE", help="JSON, YAML or TOML parameters.")
@click.option("-m", "--metrics", "metrics", multiple=True, metavar="FILE",
              help="JSON or YAML metrics written by the command.")
@click.option("--name", help="A label for this run.")
@click.option("--no-exec", is_flag=True, help="Record inputs, params and outputs without running anything.")
@click.option("--sign/--no-sign", default=None,
              help="Sign the run's commit as git signs commits (default: prov.sign, else commit.gpgSign).")
@click.option("-q", "--quiet", is_flag=True, help="Do not report the recorded run on stderr.")
@click.option("--id-file", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Write the recorded run's full id (and a newline) to FILE, for scripts.")
@click.option("--porcelain", is_flag=True, help="Report the run as `recorded <full id>` on stderr, for scripts.")
@click.option("--show-env", is_flag=True, help="Print the environment variables a record would store "
              "(secrets marked REDACTED) and record nothing.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(inputs: tuple[str, ...], outputs: tuple[str, ...], params: tuple[str, ...],
           params_file: tuple[str, ...], metrics: tuple[str, ...], name: str | None,
           no_exec: bool, sign: bool | None, quiet: bool, id_file: str | None, porcelain: bool,
           show_env: bool, command: tuple[str, ...]) -> int:
    """Run COMMAND and record it: git prov record [OPTIONS] -- CMD [ARG]..."""
    from prov_git.app.ahead import read_ahead

    read_ahead()  # git's settings are read while the imports below run
    from prov_git.app import record as app
    from prov_git.app.repository import open_here

    if show_env:
        variables = app.preview_env(open_here())
        for var, value in variables.items():
            click.echo(f"{var}={value}")
        hidden = sum("REDACTED" in v for v in variables.values())
        say(f"{len(variables)} variables, {hidden} redacted; nothing was recorded")
        return 0
    stray = stray_words(click.get_current_context().meta.get("prov.raw_args", []), command)
    if stray:
        raise UsageError(f"unexpected argument(s) before --: {' '.join(stray)}; the command goes after --, "
                         "and a glob for -i/-o needs quotes (-i 'data/*.csv')")
    request = app.RecordRequest(argv=list(command), inputs=list(inputs), outputs=list(outputs),
                                params=list(params), params_files=list(params_file),
                                metrics_files=list(metrics), name=name, execute=not no_exec, sign=sign)
    result = app.record_run(open_here(), request, Path.cwd(), notify=warn)
    if os.environ.get("PROV_DEBUG_STATS") == "1":
        say(result.stats)
    for message in result.warnings:
        warn(message)
    run_id = result.record["id"]
    if id_file is not None:
        from prov_git.fsutil import atomic_write

        atomic_write(Path(id_file), f"{run_id}\n".encode(), durable=False)
    if porcelain:
        click.echo(f"recorded {run_id}", err=True)
    elif not quiet:
        say(f"recorded run {run_id[:12]}")
    return Finished(result.exit_status)
