"""The contract's JSON object: {"a", "b", "identical", "sections"}."""

from __future__ import annotations

import json
from typing import Any

from prov_git.diff.compare import Comparison


def to_object(comparison: Comparison, patch: bool = False) -> dict[str, Any]:
    sections = {name: dict(section) for name, section in comparison.sections.items()}
    if patch and "code" in sections:
        sections["code"]["patch"] = comparison.patch
    out: dict[str, Any] = {"a": comparison.a.id, "b": comparison.b.id, "identical": comparison.identical,
                           "sections": sections}
    if comparison.b.worktree:
        out["worktree"] = True
    return out


def dumps(comparison: Comparison, patch: bool = False) -> str:
    return json.dumps(to_object(comparison, patch), indent=2, sort_keys=False, ensure_ascii=False)
