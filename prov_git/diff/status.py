"""Status: exit code and signal changes are meaningful; timing and resources are information."""

from __future__ import annotations

from typing import Any

from prov_git.diff import structure
from prov_git.diff.metrics import delta
from prov_git.diff.paths import Noise

MEANINGFUL = ("exit_code", "signal")
_RESOURCES = ("max_rss_kib", "user_cpu_s", "sys_cpu_s")


def _info(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Old, new and delta of duration and resource usage (never makes runs differ)."""
    pairs = {"duration_s": (old.get("duration_s"), new.get("duration_s"))}
    old_res, new_res = old.get("resources") or {}, new.get("resources") or {}
    for name in _RESOURCES:
        pairs[name] = (old_res.get(name), new_res.get(name))
    return {name: {"old": a, "new": b, "delta": delta(a, b)} for name, (a, b) in pairs.items()
            if a is not None or b is not None}


def compare(old: dict[str, Any], new: dict[str, Any], noise: Noise) -> structure.Section:
    section = structure.compare({k: old.get(k) for k in MEANINGFUL}, {k: new.get(k) for k in MEANINGFUL},
                                "status", noise)
    section["info"] = _info(old, new)
    section["started_at"] = {"old": old.get("started_at"), "new": new.get("started_at")}
    return section
