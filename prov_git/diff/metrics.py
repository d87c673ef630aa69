"""Metrics: the structural comparison, plus a numeric delta for each number that moved."""

from __future__ import annotations

from typing import Any

from prov_git.diff import structure
from prov_git.diff.paths import Noise


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def delta(old: Any, new: Any) -> float | int | None:
    """new - old for two numbers, rounded so 0.84 - 0.81 reads 0.03; None otherwise."""
    if not (is_number(old) and is_number(new)):
        return None
    diff = new - old
    return diff if isinstance(diff, int) else round(diff, 12)


def compare(old: dict[str, Any], new: dict[str, Any], noise: Noise) -> structure.Section:
    section = structure.compare(old, new, "metrics", noise)
    for change in section["changes"]:
        if change["kind"] == "changed":
            moved = delta(change["old"], change["new"])
            if moved is not None:
                change["delta"] = moved
    return section
