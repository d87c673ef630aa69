"""Code: which tracked files differ between the trees two runs recorded, with line counts.

The tree a run saw is its snapshot commit when it ran dirty, else its commit. The git work is
done by prov_git.store.code; this module turns its result into the section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from prov_git.diff.paths import Noise

if TYPE_CHECKING:  # the store builds it; the diff only reads its fields
    from prov_git.store.code import CodeDiff


def tree_commit(git: Mapping[str, Any]) -> str | None:
    """The commit whose tree holds what the run saw (the snapshot when it ran dirty)."""
    return git.get("snapshot") or git.get("commit")


def _side(git: dict[str, Any]) -> dict[str, Any]:
    return {"commit": git.get("commit"), "dirty": git.get("dirty", False), "snapshot": git.get("snapshot")}


def compare(old_git: dict[str, Any], new_git: dict[str, Any], diff: CodeDiff | None, problem: str | None,
            noise: Noise) -> dict[str, Any]:
    """The code section; with `problem` (a commit is missing) only the commit ids can be compared."""
    section: dict[str, Any] = {"a": _side(old_git), "b": _side(new_git)}
    if diff is None:
        return {"changed": tree_commit(old_git) != tree_commit(new_git), **section, "files": [],
                "added": 0, "removed": 0, "ignored": [], "unavailable": problem or "not compared"}
    files: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    for change in diff.files:
        item = asdict(change)
        item["mode_change"] = list(change.mode_change) if change.mode_change else None
        (ignored if noise.ignores(f"code.{change.path}") else files).append(item)
    return {"changed": bool(files), **section, "files": files,
            "added": sum(f["added"] for f in files), "removed": sum(f["removed"] for f in files),
            "ignored": [i["path"] for i in ignored]}
