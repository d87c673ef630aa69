"""Inputs and outputs: added, removed and modified paths, looking inside directories.

A directory whose digest changed is opened through the manifests kept beside each run.json, so a
change names the file (`data/a.csv`), not just `data`. An entry recorded as `missing` counts as
absent: an output that appears is `added`, one that vanishes is `removed`.
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
    for item in changed_paths(old, new, old_manifests, new_manifests):
        (ignored if noise.ignores(f"{section}.{item['path']}") else details).append(item)
    by_kind = {kind: [d["path"] for d in details if d["change"] == kind] for kind in ("added", "removed", "modified")}
    return {"changed": bool(details), **by_kind, "details": details, "ignored": [i["path"] for i in ignored]}
