"""The `git prov` command line: parse, call the library, render. Nothing else lives here."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import click

from prov_git import __version__
from prov_git.errors import FATAL, ProvError, UsageError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def use_color(flag: bool | None = None) -> bool:
    """Color on a terminal unless --no-color, NO_COLOR or a dumb terminal says otherwise."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def repo_here() -> Any:
    from prov_git.store.repo import open_repo

    return open_repo(".")


class _LazyGroup(click.Group):
    """Imports prov_git.commands only when a command is not built in (or for --help): a plain
    `git prov record` never pays for the other subcommands' modules."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            _register()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)


@click.group(cls=_LazyGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="git prov")
def cli() -> None:
    """Record what went into a run and what came out; diff two runs."""


@cli.command(context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.option("-i", "--input", "inputs", multiple=True, metavar="PATH", help="Input file or directory.")
@click.option("-o", "--output", "outputs", multiple=True, metavar="PATH", help="Output file or directory.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="A parameter (dotted keys nest).")
@click.option("--params-file", multiple=True, metavar="FILE", help="JSON, YAML or TOML parameters.")
@click.option("-m", "--metrics", "metrics", multiple=True, metavar="FILE",
              help="JSON or YAML metrics written by the command.")
@click.option("--name", help="A label for this run.")
@click.option("--no-exec", is_flag=True, help="Record inputs, params and outputs without running anything.")
@click.option("-q", "--quiet", is_flag=True, help="Do not report the recorded run on stderr.")
@click.option("--show-env", is_flag=True, help="Print the environment variables a record would store "
              "(secrets marked REDACTED) and record nothing.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(inputs: tuple[str, ...], outputs: tuple[str, ...], params: tuple[str, ...],
           params_file: tuple[str, ...], metrics: tuple[str, ...], name: str | None,
           no_exec: bool, quiet: bool, show_env: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND and record it: git prov record [OPTIONS] -- CMD [ARG]..."""
    from prov_git.recorder import RecordRequest, preview_env, record_run, warn

    if show_env:
        variables = preview_env(repo_here())
        for var, value in variables.items():
            click.echo(f"{var}={value}")
        hidden = sum("REDACTED" in v for v in variables.values())
        click.echo(f"git prov: {len(variables)} variables, {hidden} redacted; nothing was recorded", err=True)
        return

    request = RecordRequest(argv=list(command), inputs=list(inputs), outputs=list(outputs),
                            params=list(params), params_files=list(params_file),
                            metrics_files=list(metrics), name=name, execute=not no_exec)
    result = record_run(repo_here(), request, Path.cwd())
    for message in result.warnings:
        warn(message)
    if not quiet:
        click.echo(f"git prov: recorded run {result.record['id'][:12]}", err=True)
    _finish(result.exit_status)


@cli.command(name="log", context_settings=CONTEXT)
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), help="Show at most N runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
@click.option("--color/--no-color", default=None, help="Color the output (default: on a terminal).")
def log_cmd(limit: int | None, as_json: bool, color: bool | None) -> None:
    """List runs, newest first."""
    from prov_git.render import log_line
    from prov_git.store import reading

    for record in reading.newest_records(repo_here(), limit):
        if as_json:
            click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False))
        else:
            click.echo(log_line(record, use_color(color)))


@cli.command(context_settings=CONTEXT)
@click.argument("run", default="@")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as stored.")
@click.option("--color/--no-color", default=None, help="Color the output (default: on a terminal).")
def show(run: str, as_json: bool, color: bool | None) -> None:
    """Show one run (default @, the newest)."""
    from prov_git.record import encode
    from prov_git.render import show_text
    from prov_git.store.resolve import load_spec

    loaded = load_spec(repo_here(), run)
    click.echo(encode(loaded).decode().rstrip("\n") if as_json else show_text(loaded, use_color(color)))


@cli.command(context_settings=CONTEXT)
def mirror() -> None:
    """Rebuild .prov/runs/ from refs/prov/runs."""
    from prov_git.store import mirror as mirror_store

    repaired, total = mirror_store.rebuild(repo_here())
    click.echo(f"git prov: mirror has {total} runs ({repaired} written)", err=True)


def _register() -> None:
    """Import every module of prov_git.commands; each adds its commands to `cli`."""
    import importlib

    from prov_git import commands

    folder = commands.__path__[0]
    for name in sorted(os.listdir(folder)):
        stem, dot, ext = name.partition(".")
        if dot and ext == "py" and stem.isidentifier() and not stem.startswith("_"):
            importlib.import_module(f"prov_git.commands.{stem}")
        elif not dot and os.path.isfile(os.path.join(folder, name, "__init__.py")):
            importlib.import_module(f"prov_git.commands.{name}")


@contextmanager
def _errors() -> Iterator[None]:
    """The one place where exceptions become one line on stderr and an exit status."""
    debug = os.environ.get("PROV_DEBUG") == "1"
    try:
        yield
    except ProvError as exc:
        if debug:
            raise
        click.echo(f"git prov: {'usage: ' if isinstance(exc, UsageError) else 'error: '}{exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("git prov: aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `git prov hooks` alone: the help is the answer
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # The contract: one line naming the problem and what to do, not click's four-line block.
        where = exc.ctx.command_path if exc.ctx else "git prov"
        click.echo(f"git prov: usage: {exc.format_message()} (see `{where} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("git prov: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        # `git prov log | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:
        if debug:
            raise
        name = type(exc).__name__
        click.echo(f"git prov: error: {name}: {exc} (rerun with PROV_DEBUG=1 for details)", err=True)
        sys.exit(FATAL)


_FAST_EXIT = False  # set by main(): only the console script may skip the interpreter's teardown


def _finish(status: int) -> None:
    """End a record. From the console script, skip the interpreter's teardown (freeing every module
    and the final garbage collection cost ~14 ms, 15% of a whole `git prov record -- true`): by now
    the run is stored, every file is closed and every thread joined; only our streams need flushing."""
    if not _FAST_EXIT:
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe: the reader left, as with `| head`
            stream.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> None:
    global _FAST_EXIT
    _FAST_EXIT = argv is None
    with _errors():
        cli.main(args=argv, prog_name="git prov", standalone_mode=False)
