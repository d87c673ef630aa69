"""Structural comparison of JSON values (command, params, env, metrics), delegated to deepdiff.

A change is `{path, kind, old, new}`. Kinds: `added` (only in B; old is null), `removed` (only in
A; new is null), `changed` (both present, value or type differs: 1 -> 1.0 is a change).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from prov_git.diff.paths import Noise, Part, readable

Change = dict[str, Any]
Section = dict[str, Any]

_KINDS = {
    "dictionary_item_added": "added", "iterable_item_added": "added", "set_item_added": "added",
    "attribute_added": "added",
    "dictionary_item_removed": "removed", "iterable_item_removed": "removed",
    "set_item_removed": "removed", "attribute_removed": "removed",
}


class _Indexed(dict[int, Any]):
    """A list seen as {index: item}. deepdiff aligns lists with a sequence matcher, which names
    items differently in each direction; by position, diff(a, b) is the mirror of diff(b, a)."""


def _by_index(value: Any) -> Any:
    if isinstance(value, list):
        return _Indexed((i, _by_index(item)) for i, item in enumerate(value))
    if isinstance(value, dict):
        return {k: _by_index(v) for k, v in value.items()}
    return value


def _as_json(value: Any) -> Any:
    if isinstance(value, _Indexed):
        return [_as_json(value[i]) for i in range(len(value))]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


@cache
def _key_by_key() -> dict[str, Any]:
    """deepdiff 8 reports two dicts sharing few keys as one change of the whole dict (at the root:
    an empty path); threshold 0 lists every key instead (older releases always did)."""
    import deepdiff

    return {"threshold_to_diff_deeper": 0} if int(deepdiff.__version__.split(".")[0]) >= 8 else {}


def _leaves(parts: list[Part], kind: str, before: Any, after: Any) -> list[tuple[list[Part], str, Any, Any]]:
    """An added or removed object as one change per leaf inside it (design.md: changes are per key)."""
    value = after if kind == "added" else before if kind == "removed" else None
    if not isinstance(value, dict) or not value:
        return [(parts, kind, before, after)]
    out = []
    for name, item in value.items():
        out += _leaves([*parts, name], kind, None if kind == "added" else item, item if kind == "added" else None)
    return out


def raw_changes(old: Any, new: Any) -> list[tuple[list[Part], str, Any, Any]]:
    """(path parts, kind, old, new) for every difference, sorted by path; lists compare by position."""
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent

    found = []
    for report, levels in DeepDiff(_by_index(old), _by_index(new), view="tree", **_key_by_key()).items():
        kind = _KINDS.get(report, "changed")
        for level in levels:
            before = None if level.t1 is notpresent else _as_json(level.t1)
            after = None if level.t2 is notpresent else _as_json(level.t2)
            found += _leaves(list(level.path(output_format="list")), kind, before, after)
    return sorted(found, key=lambda c: [(isinstance(p, int), str(p).zfill(12) if isinstance(p, int) else p)
                                       for p in c[0]])


def compare(old: Any, new: Any, section: str, noise: Noise, shown_root: Sequence[Part] = ()) -> Section:
    """The section's changes; those matching a noise pattern go to `ignored` (paths only)."""
    kept: list[Change] = []
    ignored: list[str] = []
    for parts, kind, before, after in raw_changes(old, new):
        path = readable([*shown_root, *parts])
        last = parts[-1] if parts and isinstance(parts[-1], str) else None
        if noise.ignores(readable([section, *parts]), last):
            ignored.append(path)
        else:
            kept.append({"path": path, "kind": kind, "old": before, "new": after})
    return {"changed": bool(kept), "changes": kept, "ignored": ignored}


def command(old: dict[str, Any], new: dict[str, Any], noise: Noise) -> Section:
    return compare(old, new, "command", noise)


def params(old: dict[str, Any], new: dict[str, Any], noise: Noise) -> Section:
    return compare(old, new, "params", noise)


def env(old: dict[str, Any], new: dict[str, Any], noise: Noise) -> Section:
    return compare(old, new, "env", noise, shown_root=("env",))
