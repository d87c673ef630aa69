"""Human and machine renderings of query answers: the compare table (table, md, csv, tsv, json),
the lineage graph (tree, dot) and which/status lines. Pure: data in, text out.

Human renderings (table, md, tree, which, status) pass record text through `text.inert`; the
machine ones (json, csv, tsv, dot) carry it as recorded, quoted by their own format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from prov_git.records.text import inert

MISSING_CELL = ""
MIN_CELL = 8


def cell(value: Any) -> str:
    """A value as a table cell: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cells(columns: Sequence[str], rows: Sequence[dict[str, Any]], short_ids: bool) -> list[list[str]]:
    out = []
    for row in rows:
        line = [cell(row[c]) if c in row else MISSING_CELL for c in columns]
        if short_ids and columns and columns[0] == "id":
            line[0] = line[0][:12]
        out.append(line)
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def _fit(widths: list[int], limit: int) -> tuple[list[int], int]:
    """Column widths shrunk (widest first, never below MIN_CELL nor the 12 of a short id) to fit
    limit, and how many columns then fit (the rest are dropped and counted)."""
    floors = [min(w, 12 if i == 0 else MIN_CELL) for i, w in enumerate(widths)]
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        room = [w - f for w, f in zip(widths, floors, strict=True)]
        if max(room) <= 0:
            break
        widths[room.index(max(room))] -= 1
    keep = len(widths)
    while keep > 1 and sum(widths[:keep]) + 2 * (keep - 1) > limit:
        keep -= 1
    return widths[:keep], keep


def grid(header: list[str], body: list[list[str]], width: int) -> list[str]:
    """Aligned columns that fit width; columns that do not fit are dropped and counted."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fitted, keep = _fit(widths, width)
    lines = ["  ".join(_clip(c, w).ljust(w) for c, w in zip(row[:keep], fitted, strict=False)).rstrip()
             for row in [header, *body]]
    if keep < len(header):
        lines.append(_clip(f"({len(header) - keep} more columns do not fit: see --format csv)", width))
    return lines


def compare_text(table: dict[str, Any], width: int, transpose: bool) -> str:
    columns, rows = table["columns"], table["rows"]
    body = _cells(columns, rows, short_ids=True)
    if transpose:
        header = ["", *(line[0] for line in body)]
        lines = grid(header, [[c, *(line[i] for line in body)] for i, c in enumerate(columns) if i], width)
    else:
        lines = grid(list(columns), body, width)
    if not rows:
        lines = ["no runs match"]
    return inert("\n".join([*lines, *_footer(table["constant"], width)]), newlines=True)


def _footer(constant: dict[str, Any], width: int) -> list[str]:
    import textwrap

    if not constant:
        return []
    text = "same in every row: " + ", ".join(f"{k}={cell(v)}" for k, v in constant.items())
    return ["", *textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False)]


def compare_md(table: dict[str, Any]) -> str:
    columns = table["columns"]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    lines = [line(columns), "|" + "|".join("---" for _ in columns) + "|"]
    lines += [line(r) for r in _cells(columns, table["rows"], short_ids=True)]
    if table["constant"]:
        lines += ["", "Same in every row: " + ", ".join(f"`{k}` = `{cell(v)}`" for k, v in table["constant"].items())]
    return inert("\n".join(lines), newlines=True)


def compare_delimited(table: dict[str, Any], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(table["columns"])
    writer.writerows(_cells(table["columns"], table["rows"], short_ids=False))
    return out.getvalue().rstrip("\n")


def compare(table: dict[str, Any], fmt: str, width: int, transpose: bool) -> str:
    if fmt == "json":
        return json.dumps(table, indent=2, ensure_ascii=False)
    if fmt == "md":
        return compare_md(table)
    if fmt in ("csv", "tsv"):
        return compare_delimited(table, "," if fmt == "csv" else "\t")
    return compare_text(table, width, transpose or len(table["rows"]) <= 3)


# ------------------------------------------------------------------------------ lineage


def _label(node: dict[str, Any]) -> str:
    if node["kind"] == "run":
        name = f" [{node['name']}]" if node.get("name") else ""
        return f"run {node['run'][:12]}{name}  {' '.join(node['argv'])}"
    return f"{node['path']}  {node['digest'][:19]}"


def lineage_tree(graph: dict[str, Any], root: str) -> str:
    """The graph upstream of root, indented; a node met again is marked instead of repeated."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    upstream: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        upstream.setdefault(edge["to"], []).append(edge["from"])
    lines: list[str] = []
    seen: set[str] = set()

    def visit(node_id: str, prefix: str, tail: str) -> None:
        node = nodes[node_id]
        again = node_id in seen
        note = " (see above)" if again else ("  (source: no run produced it)" if node["kind"] == "file"
                                             and node_id not in upstream else "")
        lines.append(f"{prefix}{tail}{_label(node)}{note}")
        seen.add(node_id)
        if again:
            return
        children = upstream.get(node_id, [])
        inner = prefix + ("    " if tail == "└── " else "│   " if tail else "")
        for i, child in enumerate(children):
            visit(child, inner, "└── " if i == len(children) - 1 else "├── ")

    if root in nodes:
        visit(root, "", "")
    return inert("\n".join(lines), newlines=True)


def _dot_id(text: str) -> str:
    return json.dumps(text)


def lineage_dot(graph: dict[str, Any]) -> str:
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for node in graph["nodes"]:
        shape = "box" if node["kind"] == "run" else "note"
        lines.append(f"  {_dot_id(node['id'])} [shape={shape}, label={_dot_id(_label(node))}];")
    for edge in graph["edges"]:
        lines.append(f"  {_dot_id(edge['from'])} -> {_dot_id(edge['to'])} [label={_dot_id(edge['kind'])}];")
    return "\n".join([*lines, "}"])


# ------------------------------------------------------------------------------ which, status


def which_text(found: list[dict[str, Any]]) -> str:
    lines = []
    for item in found:
        lines.append(f"{item['path']}  {item['digest'][:19]}")
        for label, key in (("produced by", "produced_by"), ("used by", "used_by")):
            for use in item[key]:
                inside = f" (as {use['path']})" if use["path"] != item["path"] else ""
                lines.append(f"  {label} run {use['run'][:12]}  {use['started_at'][:19]}Z{inside}")
        if not item["produced_by"]:
            lines.append("  produced by no recorded run")
    return inert("\n".join(lines), newlines=True)


def status_text(report: dict[str, Any]) -> str:
    lines = []
    for row in report["outputs"]:
        why = f" ({', '.join(row['changed_inputs'])} changed)" if row["state"] == "stale" else ""
        lines.append(f"{row['state']:<9} {row['path']}  run {row['run'][:12]}{why}")
    if not lines:
        lines.append("no recorded outputs")
    unpushed = report["unpushed"]
    lines.append("unpushed: unknown (never pushed or fetched)" if unpushed is None else f"unpushed: {unpushed} run(s)")
    for row in report.get("set_aside", []):
        lines.append(f"set aside by fetch from {row['remote']}: run {row['run'][:12]}: {row['problem']}")
    for row in report.get("pending", []):
        lines.append(f"pending: run {row['run'][:12]} ran but is not stored (saved in {row['folder']}); "
                     "store it with `git prov recover`")
    return inert("\n".join(lines), newlines=True)
