"""Human output of a diff: a header line per run, the changed sections, a one-line summary. Pure."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import click

from prov_git.diff.compare import Comparison, Side
from prov_git.diff.files import KINDS
from prov_git.records.render import commit_label, inert_all, outcome, short, when
from prov_git.records.sections import BY_NAME
from prov_git.records.text import inert

Section = dict[str, Any]
WIDTH = 80  # long values go on their own lines past this; --stat scales its graph to it


class Paint:
    """click.style when coloring, identity otherwise."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, **style: Any) -> str:
        return click.style(text, **style) if self.color else text

    def old(self, text: str) -> str:
        return self(text, fg="red")

    def new(self, text: str) -> str:
        return self(text, fg="green")

    def title(self, text: str) -> str:
        return self(text, bold=True)

    def dim(self, text: str) -> str:
        return self(text, dim=True)


# ------------------------------------------------------------------------------------ header


def _header(label: str, side: Side, paint: Paint) -> list[str]:
    record = side.record
    if side.worktree:
        return [label, "worktree", "now", commit_label(record["git"]), "not run"]
    return [label, paint(short(record["id"]), fg="yellow"), when(record["status"]["started_at"]),
            commit_label(record["git"]), outcome(record["status"], record["command"]["executed"])]


def header(comparison: Comparison, paint: Paint) -> list[str]:
    rows = [_header("a", comparison.a, paint), _header("b", comparison.b, paint)]
    names = [None if side.worktree else side.record.get("name") for side in (comparison.a, comparison.b)]
    if any(names):  # `diff baseline@ deeper@` shows which is which
        rows = [[*row, f"[{name}]" if name else ""] for row, name in zip(rows, names, strict=False)]
    return _table(rows, paint)


def _table(rows: list[list[str]], paint: Paint) -> list[str]:
    """Columns padded to their widest cell (widths measured without color codes)."""
    widths = [max(len(click.unstyle(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [c + " " * (w - len(click.unstyle(c))) for c, w in zip(row, widths, strict=False)]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    return out


# ----------------------------------------------------------------------------------- values


def value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def signed(number: float | int) -> str:
    return f"{number:+d}" if isinstance(number, int) else f"{number:+.6g}"


def _structural(section: Section, paint: Paint) -> list[str]:
    changes = section["changes"]
    width = max((len(c["path"]) for c in changes), default=0)
    lines = []
    for c in changes:
        path = c["path"].ljust(width)
        if c["kind"] == "added":
            lines.append(paint.new(f"  + {path}  {value(c['new'])}"))
        elif c["kind"] == "removed":
            lines.append(paint.old(f"  - {path}  {value(c['old'])}"))
        else:
            lines += _changed(path, c, paint)
    return lines


def _changed(path: str, change: dict[str, Any], paint: Paint) -> list[str]:
    old, new = value(change["old"]), value(change["new"])
    moved = f" ({signed(change['delta'])})" if "delta" in change else ""
    if len(path) + len(old) + len(new) + len(moved) + 10 <= WIDTH:
        return [f"  {paint('~', fg='yellow')} {path}  {paint.old(old)} -> {paint.new(new)}{moved}"]
    return [f"  {paint('~', fg='yellow')} {path.rstrip()}{moved}",
            paint.old(f"      - {old}"), paint.new(f"      + {new}")]


def _status(section: Section, paint: Paint) -> list[str]:
    lines = _structural(section, paint)
    info = [(name, i) for name, i in section.get("info", {}).items() if i["old"] is not None and i["new"] is not None]
    width = max((len(name) for name, _ in info), default=0)
    for name, i in info:
        moved = f" ({signed(i['delta'])})" if i["delta"] is not None else ""
        lines.append(paint.dim(f"    {name.ljust(width)}  {value(i['old'])} -> {value(i['new'])}{moved}"))
    return lines


# ------------------------------------------------------------------------------------ files

_LETTER = {"added": "A", "removed": "D", "modified": "M", "deleted": "D", "renamed": "R", "copied": "C",
           "typechange": "T", "missing": "!", "not_written": "="}


def _size(meta: dict[str, Any] | None) -> str:
    if meta is None or meta.get("size") is None:
        return "-"
    return f"{meta['size']} B"


def _digest(meta: dict[str, Any] | None) -> str:
    digest = (meta or {}).get("digest")
    if not digest:
        return "-"
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest[:10]}"


def _file_detail(item: dict[str, Any]) -> str:
    old, new = item["old"], item["new"]
    if item["change"] == "missing":
        side = "a" if old is not None else "b"
        return f"missing in {side} (declared, not produced); not declared in {'b' if side == 'a' else 'a'}"
    if item["change"] == "not_written":
        wrote = "a" if item["written"][0] else "b"
        return f"same content, but only {wrote} wrote it (the other found an earlier run's file)"
    if old is None:
        return f"{_size(new)}  {_digest(new)}"
    if new is None:
        return f"{_size(old)}  {_digest(old)}"
    kind = f"{old['type']} -> {new['type']}, " if old["type"] != new["type"] else ""
    return f"{kind}{_size(old)} -> {_size(new)}  {_digest(old)} -> {_digest(new)}"


def _files(section: Section, paint: Paint) -> list[str]:
    details = section["details"]
    width = max((len(d["path"]) for d in details), default=0)
    yellow: Callable[[str], str] = lambda t: paint(t, fg="yellow")  # noqa: E731
    style: dict[str, Callable[[str], str]] = {"added": paint.new, "removed": paint.old, "modified": yellow,
                                              "missing": paint.old, "not_written": yellow}
    return [f"  {style[d['change']](_LETTER[d['change']])} {d['path'].ljust(width)}  {_file_detail(d)}"
            for d in details]


# ------------------------------------------------------------------------------------- code


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def code_summary(section: Section) -> str:
    """git's shortstat: 2 files changed, 3 insertions(+), 1 deletion(-)."""
    parts = [f"{_plural(len(section['files']), 'file')} changed"]
    if section["added"]:
        parts.append(f"{_plural(section['added'], 'insertion')}(+)")
    if section["removed"]:
        parts.append(f"{_plural(section['removed'], 'deletion')}(-)")
    return ", ".join(parts)


def _name(f: dict[str, Any]) -> str:
    return f"{f['old_path']} => {f['path']}" if f.get("old_path") else f["path"]


def _code_files(section: Section, paint: Paint) -> list[str]:
    files = section["files"]
    width = max((len(_name(f)) for f in files), default=0)
    lines = []
    for f in files:
        if f["binary"]:
            counts = "binary"
        elif f.get("mode_change") and not (f["added"] or f["removed"]):
            counts = "mode {:o} -> {:o}".format(*f["mode_change"])
        else:
            counts = " ".join(filter(None, [paint.new(f"+{f['added']}") if f["added"] else "",
                                            paint.old(f"-{f['removed']}") if f["removed"] else ""]))
        letter = paint(_LETTER[f["status"]], fg="yellow")
        lines.append(f"  {letter} {_name(f).ljust(width)}  {counts}".rstrip())
    return lines


def stat_lines(section: Section, paint: Paint, width: int = WIDTH) -> list[str]:
    """git diff --stat: ` name | count +++--`, the graph scaled to fit width."""
    files = section["files"]
    names = [_name(f) for f in files]
    name_w = max((len(n) for n in names), default=0)
    most = max((f["added"] + f["removed"] for f in files), default=0)
    count_w = max(len(str(most)), 3 if any(f["binary"] for f in files) else 1)
    room = max(width - name_w - count_w - 6, 10)
    lines = []
    for f, name in zip(files, names, strict=True):
        if f["binary"]:
            lines.append(f" {name.ljust(name_w)} | {'Bin'.rjust(count_w)}")
            continue
        plus, minus = f["added"], f["removed"]
        if most > room:
            scale = room / most
            plus = max(round(plus * scale), 1 if plus else 0)
            minus = max(round(minus * scale), 1 if minus else 0)
        graph = paint.new("+" * plus) + paint.old("-" * minus)
        lines.append(f" {name.ljust(name_w)} | {str(f['added'] + f['removed']).rjust(count_w)} {graph}".rstrip())
    return [*lines, " " + code_summary(section)]


def _code(section: Section, paint: Paint, stat: bool) -> list[str]:
    if "unavailable" in section:
        return [f"  not compared: {section['unavailable']}"]
    return stat_lines(section, paint) if stat else _code_files(section, paint)


def patch_lines(patch: str, paint: Paint) -> list[str]:
    """The full patch, colored the way git colors it."""
    out = []
    for line in patch.rstrip("\n").split("\n"):
        if line.startswith(("diff --git", "index ", "--- ", "+++ ", "new file", "deleted file",
                            "old mode", "new mode", "rename ", "similarity ")):
            out.append(paint.title(line))
        elif line.startswith("@@"):
            out.append(paint(line, fg="cyan"))
        elif line.startswith("+"):
            out.append(paint.new(line))
        elif line.startswith("-"):
            out.append(paint.old(line))
        else:
            out.append(line)
    return out


# ---------------------------------------------------------------------------------- sections


def _title(name: str, section: Section, stat: bool) -> str:
    if name == "code" and "unavailable" not in section and not stat:  # --stat ends with the same line
        return f"{name}  ({code_summary(section)})"
    if name in ("inputs", "outputs"):
        counts = [f"{len(section[k])} {k.replace('_', ' ')}" for k in KINDS if section.get(k)]
        return f"{name}  ({', '.join(counts)})"
    return name


def summary(comparison: Comparison, paint: Paint) -> str:
    """params, inputs changed; code, env, outputs same (or: identical: ... same)."""
    changed, same, unknown = comparison.changed(), comparison.same(), comparison.not_compared()
    tail = (f"; {', '.join(same)} same" if same else "") + (
        f"; {', '.join(unknown)} not compared (nothing was run)" if unknown else "")
    if not changed:
        return paint("identical", fg="green") + (": " + tail[2:] if tail else "")
    return paint(", ".join(changed) + " changed", fg="yellow", bold=True) + tail


def _inert(comparison: Comparison) -> Comparison:
    """The comparison with every record string made inert (a patch keeps its tabs)."""
    side = dataclasses.replace
    return side(comparison, a=side(comparison.a, record=inert_all(comparison.a.record)),
                b=side(comparison.b, record=inert_all(comparison.b.record)),
                sections=inert_all(comparison.sections),
                patch="\t".join(inert(part, newlines=True) for part in comparison.patch.split("\t")))


def render(comparison: Comparison, *, color: bool, stat: bool = False, patch: bool = False) -> str:
    comparison = _inert(comparison)
    paint = Paint(color)
    body: dict[str, Callable[[Section], list[str]]] = {
        "structure": lambda s: _structural(s, paint),
        "code": lambda s: _code(s, paint, stat),
        "files": lambda s: _files(s, paint),
        "status": lambda s: _status(s, paint),
    }
    lines = header(comparison, paint)
    for name, section in comparison.sections.items():
        if section["changed"]:
            lines += ["", paint.title(_title(name, section, stat)), *body[BY_NAME[name].renderer](section)]
    if patch and comparison.patch:
        lines += ["", *patch_lines(comparison.patch, paint)]
    ignored = comparison.ignored_by_config()
    if ignored:  # "identical" must say what it did not look at
        lines += ["", paint.dim("ignored (prov.diff.ignore): " + ", ".join(ignored))]
    lines += ["", summary(comparison, paint)]
    return "\n".join(lines)
