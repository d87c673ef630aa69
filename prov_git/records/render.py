"""Human-readable text for runs (log lines, show). Pure: records in, strings out."""

from __future__ import annotations

import json
import shlex
from typing import Any

import click

from prov_git.records import Record


def short(run_id: str) -> str:
    return run_id[:12]


def when(stamp: str) -> str:
    """2026-11-23T23:59:01.123456Z -> 2026-11-23 23:59:01Z"""
    return stamp[:10] + " " + stamp[11:19] + "Z"


def outcome(status: dict[str, Any], executed: bool = True) -> str:
    if not executed:
        return "not run"
    if status["signal"] is not None:
        return f"signal {status['signal']}"
    return f"exit {status['exit_code']}"


def commit_label(git: dict[str, Any]) -> str:
    commit = git["commit"][:10] if git["commit"] else "(no commit)"
    return commit + ("+dirty" if git["dirty"] else "")


def command_line(record: Record) -> str:
    return shlex.join(record["command"]["argv"])


def log_line(record: Record, color: bool) -> str:
    status = record["status"]
    failed = status["signal"] is not None or status["exit_code"] not in (0, None)
    label = outcome(status, record["command"]["executed"])
    name = f"[{record['name']}] " if record.get("name") else ""
    return "  ".join([
        click.style(short(record["id"]), fg="yellow") if color else short(record["id"]),
        when(status["started_at"]),
        click.style(f"{label:<8}", fg="red" if failed else "green") if color else f"{label:<8}",
        commit_label(record["git"]),
        name + command_line(record),
    ])


def _entries(title: str, entries: list[dict[str, Any]]) -> list[str]:
    lines = [f"{title}:"] if entries else [f"{title}: none"]
    for e in entries:
        digest = e["digest"] or "-"
        size = "-" if e["size"] is None else f"{e['size']} B"
        extra = f" ({e['files']} files)" if e["type"] == "dir" else ""
        lines.append(f"  {e['path']}  {e['type']}{extra}  {size}  {digest}")
    return lines


def _mapping(title: str, value: dict[str, Any]) -> list[str]:
    if not value:
        return [f"{title}: none"]
    return [f"{title}:"] + [f"  {k} = {json.dumps(v, ensure_ascii=False)}" for k, v in _flatten(value)]


def _flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key in sorted(value):
        item = value[key]
        path = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            out.extend(_flatten(item, path + "."))
        else:
            out.append((path, item))
    return out


def _untracked(git: dict[str, Any]) -> list[str]:
    """Which untracked files the snapshot holds (a byproduct here belongs in .gitignore) or names."""
    from prov_git.records.text import inert

    held = git.get("untracked") or []
    named = git.get("untracked_omitted") or []
    lines = [f"untracked: {inert(', '.join(held))}"] if held else []
    if named:
        lines.append("untracked, not stored: " + inert(", ".join(f"{e['path']} ({e['size']} bytes)" for e in named)))
    return lines


def show_text(record: Record, color: bool) -> str:
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
    lines += _entries("inputs", record["inputs"])
    lines += _entries("outputs", record["outputs"])
    lines += _mapping("params", record["params"])
    lines += _mapping("metrics", record["metrics"])
    plat, py = env["platform"], env["python"]
    lines.append(f"platform: {plat['system']} {plat['release']} {plat['machine']}, {plat['cpu_count']} CPUs")
    lines.append(f"python:   {py['implementation']} {py['version']} ({py['executable']})")
    lines.append(f"packages: {len(env['packages'])} installed; env vars: {len(env['vars'])} recorded")
    for gpu in env.get("gpu", []):
        lines.append(f"gpu:      {gpu['name']} (driver {gpu['driver']})")
    return "\n".join(lines)
