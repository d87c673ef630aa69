"""Inputs and outputs: added, removed and modified paths, looking inside directories.

A directory whose digest changed is opened through the manifests kept beside each run.json, so a
change names the file (`data/a.csv`), not just `data`. An entry recorded as `missing` counts as
absent against a present one: an output that appears is `added`, one that vanishes is `removed`.
An output `missing` in one run and not declared in the other is a change too (`missing`): a run
that failed to produce what it promised never reads as identical. An output one run wrote and the
other did not (`written` true against false, same content) is `not_written`: the second run
only found an earlier run's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prov_git.diff.paths import Noise

Entry = dict[str, Any]
Manifests = Mapping[str, list[Entry]]  # manifest file name -> the files it lists


def _meta(entry: Entry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"type": entry["type"], "size": entry.get("size"), "digest": entry.get("digest")}


def _same(old: Entry, new: Entry) -> bool:
    return bool(old["type"] == new["type"] and old.get("digest") == new.get("digest"))


def _present(entries: list[Entry]) -> dict[str, Entry]:
    return {e["path"]: e for e in entries if e["type"] != "missing"}


def _missing_only(old: list[Entry], new: list[Entry]) -> list[dict[str, Any]]:
    """Paths recorded `missing` in one run and not declared at all in the other."""
    declared_a, declared_b = {e["path"]: e for e in old}, {e["path"]: e for e in new}
    out = []
    for path in sorted(declared_a.keys() ^ declared_b.keys()):
        a, b = declared_a.get(path), declared_b.get(path)
        if (a or b or {}).get("type") == "missing":
            out.append({"path": path, "change": "missing", "old": _meta(a), "new": _meta(b)})
    return out


def _unwritten(old: list[Entry], new: list[Entry]) -> list[dict[str, Any]]:
    """Same content in both runs, but written by only one of them (null: not known, no change)."""
    written_a = {e["path"]: e for e in old if e["type"] != "missing"}
    out = []
    for b in new:
        a = written_a.get(b["path"])
        if a is None or not _same(a, b):
            continue
        if {a.get("written"), b.get("written")} == {True, False}:
            out.append({"path": b["path"], "change": "not_written", "old": _meta(a), "new": _meta(b),
                        "written": [a["written"], b["written"]]})
    return out


def _pairs(old: dict[str, Entry], new: dict[str, Entry]) -> list[tuple[str, Entry | None, Entry | None]]:
    return [(p, old.get(p), new.get(p)) for p in sorted(old.keys() | new.keys())
            if p not in old or p not in new or not _same(old[p], new[p])]


def _files_of(entry: Entry | None, manifests: Manifests) -> list[Entry] | None:
    if entry is None or entry["type"] != "dir":
        return None
    return manifests.get(entry.get("manifest") or "")


def changed_paths(old: list[Entry], new: list[Entry], old_manifests: Manifests,
                  new_manifests: Manifests) -> list[dict[str, Any]]:
    """One {path, change, old, new} per changed path, files inside directories named by their own path."""
    out: list[dict[str, Any]] = []
    for path, a, b in _pairs(_present(old), _present(new)):
        inside_a, inside_b = _files_of(a, old_manifests), _files_of(b, new_manifests)
        if inside_a is not None and inside_b is not None:
            out.extend(changed_paths(inside_a, inside_b, {}, {}))
            continue
        change = "added" if a is None else "removed" if b is None else "modified"
        out.append({"path": path, "change": change, "old": _meta(a), "new": _meta(b)})
    return out


def compare(old: list[Entry], new: list[Entry], old_manifests: Manifests, new_manifests: Manifests,
            section: str, noise: Noise) -> dict[str, Any]:
    details: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    found = changed_paths(old, new, old_manifests, new_manifests) + _missing_only(old, new) + _unwritten(old, new)
    for item in sorted(found, key=lambda i: str(i["path"])):
        (ignored if noise.ignores(f"{section}.{item['path']}") else details).append(item)
    by_kind = {kind: [d["path"] for d in details if d["change"] == kind] for kind in KINDS}
    return {"changed": bool(details), **by_kind, "details": details, "ignored": [i["path"] for i in ignored]}


KINDS = ("added", "removed", "modified", "missing", "not_written")
