"""The `git prov` command line: the click group, the table of subcommands, and the one place where
exceptions become a line on stderr and an exit status. Each subcommand lives in its own module
under prov_git/commands/, imported only when it runs (a `record` never pays for `diff`)."""

from __future__ import annotations

import gc

# A command's imports make ~20,000 objects, and the cyclic collector's default (a young collection
# every 700 allocations) walks them ~40 times: ~4 ms of `git prov record -- true`. Every 50,000
# still collects cycles, so a long fetch stays bounded. Set here, before click and pygit2 load,
# and only for the command line: importing the library leaves its host's collector alone.
gc.set_threshold(50_000, 10, 10)

import importlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from contextlib import suppress  # noqa: E402
from typing import Any  # noqa: E402

import click  # noqa: E402

from prov_git import __version__  # noqa: E402
from prov_git.errors import FATAL, ProvError, UsageError  # noqa: E402

# name -> "module:attribute" under prov_git.commands; `git prov --help` lists them in this order.
COMMANDS: dict[str, str] = {
    "record": "record:record",
    "log": "log:log",
    "show": "show:show",
    "diff": "diff:diff",
    "verify": "verify:verify",
    "compare": "compare:compare",
    "which": "which:which",
    "lineage": "lineage:lineage",
    "status": "status:status",
    "forget": "forget:forget",
    "fetch": "remote:fetch",
    "push": "remote:push",
    "sync": "remote:sync",
    "rerun": "rerun:rerun",
    "mirror": "mirror:mirror",
    "recover": "recover:recover",
    "hooks": "hooks:hooks",
    "help": "help:help_command",
    "completion": "completion:completion",
    "attest": "attest:attest",
    "export": "export:export",
}


class _Table(click.Group):
    """Subcommands come from COMMANDS, imported on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        try:
            loaded = importlib.import_module(f"prov_git.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prov_git.commands.{module}":
                raise
            return None  # listed but not installed: an unknown command, not a crash of `--help`
        command: click.Command = getattr(loaded, attribute)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)


@click.group(cls=_Table, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="git prov")
@click.option("-C", "chdir", multiple=True, metavar="PATH",
              help="Run as if started in PATH (several: each relative to the one before), like git -C.")
@click.option("--no-pager", is_flag=True, help="Never page the output (like git --no-pager).")
def cli(chdir: tuple[str, ...], no_pager: bool) -> None:
    """Record what went into a run and what came out; diff two runs.

    `git prov help COMMAND` or `git prov COMMAND -h` shows a command's help; `man git-prov` the manual.
    """
    for path in chdir:
        if not path:
            continue  # git ignores an empty -C
        try:
            os.chdir(path)
        except OSError as exc:
            raise ProvError(f"cannot change to '{path}': {exc.strerror}") from None


def _report(exc: BaseException, debug: bool) -> int:
    """The exit status for exc, after its one line on stderr."""
    from prov_git.records.text import inert  # only on the way out with an error

    if isinstance(exc, ProvError):
        if debug:
            raise exc
        # inert: a message may quote a run name or a path from a hostile record.
        click.echo(f"git prov: {'usage: ' if isinstance(exc, UsageError) else 'error: '}{inert(str(exc))}",
                   err=True)
        return exc.exit_code
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, click.Abort):
        click.echo("git prov: aborted", err=True)
        return 130
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show()  # `git prov hooks` alone: the help is the answer
        return exc.exit_code
    if isinstance(exc, click.UsageError):
        # The contract: one line naming the problem and what to do, not click's four-line block.
        where = exc.ctx.command_path if exc.ctx else "git prov"
        click.echo(f"git prov: usage: {exc.format_message()} (see `{where} --help`)", err=True)
        return exc.exit_code
    if isinstance(exc, click.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        click.echo("git prov: interrupted", err=True)
        return 130
    if isinstance(exc, BrokenPipeError):
        # `git prov log | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if debug:
        raise exc
    name = type(exc).__name__
    click.echo(f"git prov: error: {name}: {inert(str(exc))} (rerun with PROV_DEBUG=1 for details)", err=True)
    return FATAL


def run(argv: list[str] | None = None) -> tuple[int, bool]:
    """Run one command line; (exit status, whether the interpreter's teardown may be skipped)."""
    try:
        result: Any = cli.main(args=argv, prog_name="git prov", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as exc:
        return _report(exc, os.environ.get("PROV_DEBUG") == "1"), False
    status = result if isinstance(result, int) else 0
    from prov_git.commands.record import Finished  # loaded already whenever it matters

    return status, isinstance(result, Finished)


def main(argv: list[str] | None = None) -> None:
    status, finished = run(argv)
    if finished and argv is None:
        # From the console script after a record, skip the interpreter's teardown (freeing every
        # module and the final garbage collection cost ~14 ms, 15% of `git prov record -- true`):
        # the run is stored, every file is closed and every thread joined; only streams need flushing.
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):  # a closed pipe: the reader left, as with `| head`
                stream.flush()
        os._exit(status)
    sys.exit(status)
