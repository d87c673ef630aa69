"""`git prov log [-n N] [--json | --oneline | --format FMT] [--date MODE] [--where EXPR]... [--sort KEY]...
[--name GLOB] [--since] [--until] [--forgotten]`: runs, newest first (or by --sort), paged on a terminal."""

from __future__ import annotations

import json
import shutil
import sys

import click

from prov_git.commands._options import CONTEXT, color_option, json_option, selection_options, use_color


@click.command(name="log", context_settings=CONTEXT)
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0, max=sys.maxsize, clamp=True),
              help="Show at most N runs.")
@json_option("One JSON record per line.")
@click.option("--oneline", is_flag=True, help="Short id, status and name (or command) only.")
@click.option("--format", "template", metavar="FMT",
              help="Each run as FMT: %(id) %(short) %(name) %(status) %(date) %(commit) %(command), any record "
                   "key as %(params.lr) or %(metrics.acc), %H %h, %n newline, %% percent.")
@click.option("--date", "date", metavar="MODE",
              help="default, iso, iso-strict, local, relative, short, unix, rfc or format:STRFTIME "
                   "(default: log.date).")
@selection_options
@click.option("--forgotten", is_flag=True, help="List the forgotten runs (with why, who and when) instead.")
@color_option
def log(limit: int | None, as_json: bool, oneline: bool, template: str | None, date: str | None,
        where: tuple[str, ...], sort: tuple[str, ...], name: str | None, since: str | None, until: str | None,
        forgotten: bool, color: str | None) -> int:
    """List runs, newest first."""
    from prov_git.app.query import Filters, log_runs
    from prov_git.app.repository import date_mode, open_here, pager_command
    from prov_git.commands import _pager
    from prov_git.records.render import formatted, log_line
    from prov_git.records.render import oneline as oneline_text

    repo = open_here()
    painted = use_color(color, repo)
    mode = date_mode(repo, date)
    # On a terminal each line fits its width (the command cut with …); piped, every line is whole.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    filters = Filters(where, sort, name, since, until, limit, forgotten)
    lines: list[str] = []
    for record, entries in log_runs(repo, filters):
        if as_json:
            click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False))
            continue
        if template is not None:
            lines.append(formatted(record, template, mode))
        elif oneline:
            lines.append(oneline_text(record, painted, width))
        else:
            lines.append(log_line(record, painted, width, mode))
        for entry in entries:
            why = entry["reason"] or "(no reason)"
            lines.append(f"    forgotten {entry['time'][:19]}Z by {entry['author']}: {why}")
    if lines:
        _pager.show("\n".join(lines), pager_command(repo), color=painted)
    return 0
