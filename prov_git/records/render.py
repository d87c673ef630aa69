"""Human-readable text for runs (log lines, show). Pure: records in, strings out.

Every record string is passed through `text.inert` before it is styled: a hostile run name or path
cannot move the cursor, retitle the window or write the clipboard, on a terminal or through a pipe.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from prov_git.records import Record
from prov_git.records.text import inert


def inert_all(value: Any) -> Any:
    """A copy of a JSON-like value with every string (keys too) made inert, for human output."""
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, dict):
        return {inert(k) if isinstance(k, str) else k: inert_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [inert_all(v) for v in value]
    return value


def short(run_id: str) -> str:
    return run_id[:12]


DATE_MODES = ("default", "iso", "iso-strict", "local", "relative", "short", "unix", "rfc")


def when(stamp: str, mode: str = "default", now: float | None = None) -> str:
    """A record's UTC stamp as git's --date=MODE would print it (default: 2026-11-23 23:59:01Z);
    MODE may also be format:STRFTIME or format-local:STRFTIME."""
    if mode == "default":
        return stamp[:10] + " " + stamp[11:19] + "Z"
    if mode == "iso-strict":
        return stamp[:19] + "Z"
    moment = datetime.fromisoformat(stamp[:19] + "+00:00")
    local = mode == "local" or mode.endswith("-local") or mode.startswith("format-local:")
    shown = moment.astimezone() if local else moment
    if mode.startswith(("format:", "format-local:")):
        return shown.strftime(mode.partition(":")[2])
    if mode == "relative":
        return relative(moment.timestamp(), time.time() if now is None else now)
    if mode == "unix":
        return str(int(moment.timestamp()))
    if mode == "short":
        return shown.strftime("%Y-%m-%d")
    if mode == "rfc":
        return shown.strftime("%a, %d %b %Y %H:%M:%S %z")
    if mode in ("iso", "iso-local"):
        return shown.strftime("%Y-%m-%d %H:%M:%S %z")
    return shown.strftime("%Y-%m-%d %H:%M:%S")  # local


def relative(then: float, now: float) -> str:
    """git's relative dates: "5 minutes ago", "3 days ago", "2 months ago"."""
    seconds = int(now - then)
    if seconds < 0:
        return "in the future"
    for limit, unit, size in ((90, "second", 1), (90 * 60, "minute", 60), (36 * 3600, "hour", 3600),
                              (14 * 86400, "day", 86400), (70 * 86400, "week", 7 * 86400),
                              (365 * 86400, "month", 30 * 86400)):
        if seconds < limit:
            count = (seconds + size // 2) // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    years = (seconds + 182 * 86400) // (365 * 86400)
    return f"{years} year{'' if years == 1 else 's'} ago"


def human_size(size: int | None) -> str:
    """1536 -> "1.5 KiB"; bytes below 1 KiB as they are."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_digest(digest: str | None) -> str:
    """sha256:<64 hex> -> sha256:<12 hex>"""
    if not digest:
        return "-"
    algorithm, colon, hexes = digest.partition(":")
    return f"{algorithm}:{hexes[:12]}" if colon else digest[:12]


def fit(text: str, width: int | None) -> str:
    """text cut to width display columns with a final ellipsis; whole when width is None."""
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def outcome(status: Mapping[str, Any], executed: bool = True) -> str:
    if not executed:
        return "not run"
    if status["signal"] is not None:
        return f"signal {status['signal']}"
    return f"exit {status['exit_code']}"


def commit_label(git: Mapping[str, Any]) -> str:
    commit = git["commit"][:10] if git["commit"] else "(no commit)"
    return commit + ("+dirty" if git["dirty"] else "")


def command_line(record: Record) -> str:
    return shlex.join(record["command"]["argv"])


def wrap_lines(text: str, width: int | None) -> str:
    """Each line wider than width wrapped under its own indent (+4); whole when width is None."""
    if width is None:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if len(click.unstyle(line)) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent + "    ",
                             break_on_hyphens=False) or [line]
    return "\n".join(out)


STATUS_WIDTH = len("signal 15")
COMMIT_WIDTH = len("0123456789+dirty")


def log_line(record: Record, color: bool, width: int | None = None, date: str = "default") -> str:
    """One run per line in aligned columns; within width (the command cut with …) when given."""
    status = record["status"]
    failed = status["signal"] is not None or status["exit_code"] not in (0, None)
    label = outcome(status, record["command"]["executed"])
    name = f"[{record['name']}] " if record.get("name") else ""
    stamp = inert(when(status["started_at"], date))
    head = [short(record["id"]), stamp, f"{label:<{STATUS_WIDTH}}",
            f"{inert(commit_label(record['git'])):<{COMMIT_WIDTH}}"]
    used = sum(len(part) + 2 for part in head)
    tail = fit(inert(name + command_line(record)), None if width is None else max(width - used, 8))
    if color:
        head[0] = click.style(head[0], fg="yellow")
        head[2] = click.style(head[2], fg="red" if failed else "green")
    return "  ".join([*head, tail])


def oneline(record: Record, color: bool, width: int | None = None) -> str:
    """`log --oneline`: short id, status, name or command."""
    label = outcome(record["status"], record["command"]["executed"])
    text = inert(record.get("name") or command_line(record))
    run_id = click.style(short(record["id"]), fg="yellow") if color else short(record["id"])
    return f"{run_id} {label:<{STATUS_WIDTH}} " + fit(text, None if width is None else max(width - 23, 8))


_PLACEHOLDER = re.compile(r"%\(([A-Za-z0-9_.:@-]+)\)|%([Hhn%])")


def formatted(record: Record, template: str, date: str = "default") -> str:
    """`log --format`: %(id) %(short) %(name) %(status) %(date) %(commit) %(command), any record key as
    %(params.lr) or %(metrics.val.acc) (empty when absent), %H %h, %n a newline, %% a percent sign."""
    fields: dict[str, Callable[[], str]] = {
        "id": lambda: str(record["id"]), "short": lambda: short(record["id"]),
        "name": lambda: str(record.get("name") or ""),
        "status": lambda: outcome(record["status"], record["command"]["executed"]),
        "date": lambda: when(record["status"]["started_at"], date), "commit": lambda: commit_label(record["git"]),
        "command": lambda: command_line(record),
    }

    def one(match: re.Match[str]) -> str:
        key, letter = match.group(1), match.group(2)
        if letter:
            return {"H": str(record["id"]), "h": short(record["id"]), "n": "\n", "%": "%"}[letter]
        if key in fields:
            return inert(str(fields[key]()))
        item: Any = record
        for part in key.split("."):
            if not isinstance(item, dict) or part not in item:
                return ""
            item = item[part]
        return inert(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, sort_keys=True))

    return _PLACEHOLDER.sub(one, template)


def _entries(title: str, entries: Sequence[Mapping[str, Any]], full: bool = False) -> list[str]:
    if not entries:
        return [f"{title}: none"]
    rows = []
    for e in entries:
        digest = (e["digest"] or "-") if full else short_digest(e["digest"])
        size = (f"{e['size']} B" if e["size"] is not None else "-") if full else human_size(e["size"])
        kind = e["type"] + (f" ({e['files']} files)" if e["type"] == "dir" else "")
        kind += " (not written by this run)" if e.get("written") is False and e["type"] != "missing" else ""
        rows.append((e["path"], kind, size, digest))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{title}:"]
    for row in rows:
        cells = [f"{cell:<{w}}" for cell, w in zip(row[:3], widths, strict=True)]
        lines.append("  " + "  ".join([*cells, row[3]]))
    return lines


def _mapping(title: str, value: dict[str, Any]) -> list[str]:
    if not value:
        return [f"{title}: none"]
    return [f"{title}:"] + [f"  {k} = {json.dumps(v, ensure_ascii=False)}" for k, v in _flatten(value)]


def _flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    from prov_git.records.query import key_text

    out: list[tuple[str, Any]] = []
    for key in sorted(value):
        item = value[key]
        path = f"{prefix}{key_text([key])}"  # a key holding a dot is quoted, as in diff and --where
        if isinstance(item, dict) and item:
            out.extend(_flatten(item, path + "."))
        else:
            out.append((path, item))
    return out


def _untracked(git: Mapping[str, Any]) -> list[str]:
    """Which untracked files the snapshot holds (a byproduct here belongs in .gitignore) or names."""
    from prov_git.records.text import inert

    held = git.get("untracked") or []
    named = git.get("untracked_omitted") or []
    lines = [f"untracked: {inert(', '.join(held))}"] if held else []
    if named:
        lines.append("untracked, not stored: " + inert(", ".join(f"{e['path']} ({e['size']} bytes)" for e in named)))
    return lines


def show_text(record: Record, color: bool, full: bool = False, width: int | None = None) -> str:
    """`git prov show`: short digests and human sizes unless full; lines wrapped to width when given."""
    return wrap_lines("\n".join(_show_lines(inert_all(record), color, full)), width)


def _show_lines(record: Record, color: bool, full: bool) -> list[str]:
    status, git, env = record["status"], record["git"], record["env"]
    head = f"run {record['id']}"
    lines = [click.style(head, fg="yellow") if color else head]
    if record.get("name"):
        lines.append(f"name:     {record['name']}")
    lines += [
        f"command:  {command_line(record)}" + ("" if record["command"]["executed"] else "  (not run)"),
        f"cwd:      {record['command']['cwd']}",
        f"status:   {outcome(status, record['command']['executed'])}",
        f"started:  {status['started_at']}",
        f"duration: {status['duration_s']:.3f} s",
    ]
    res = status.get("resources")
    if res:
        lines.append(f"usage:    max RSS {res['max_rss_kib']} KiB, user {res['user_cpu_s']:.3f} s, "
                     f"sys {res['sys_cpu_s']:.3f} s")
    where = f" on {git['branch']}" if git["branch"] else " (detached)"
    lines.append(f"commit:   {git['commit'] or '(no commit)'}{where}")
    if git["dirty"]:
        lines.append(f"dirty:    yes, snapshot {git['snapshot']}")
    lines += _untracked(git)
    lines += _entries("inputs", record["inputs"], full)
    lines += _entries("outputs", record["outputs"], full)
    lines += _mapping("params", record["params"])
    lines += _mapping("metrics", record["metrics"])
    plat, py = env["platform"], env["python"]
    lines.append(f"platform: {plat['system']} {plat['release']} {plat['machine']}, {plat['cpu_count']} CPUs")
    lines.append(f"python:   {py['implementation']} {py['version']} ({py['executable']})")
    lines.append(f"packages: {len(env['packages'])} installed; env vars: {len(env['vars'])} recorded")
    for gpu in env.get("gpu", []):
        lines.append(f"gpu:      {gpu['name']} (driver {gpu['driver']})")
    return lines
