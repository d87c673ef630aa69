"""The one registry of a record's compared sections: name, record key, comparer, renderer.

`diff` (text and JSON), `diff --section`, `compare`'s section list and the schema test read this
table, so adding a section is one row here, a schema entry, a comparer kind in diff/compare.py and
(if it is a new kind) a renderer in diff/render_text.py. The order is the contract's (design.md
"diff"): sections appear in it everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Comparer = Literal["command", "code", "files", "params", "env", "metrics", "status"]
Renderer = Literal["structure", "code", "files", "status"]


@dataclass(frozen=True)
class Section:
    name: str  # the section's name in diff output and --section
    key: str  # the record field it compares
    comparer: Comparer  # which diff/ comparison (diff/compare.py maps kinds to functions)
    renderer: Renderer  # which text renderer (diff/render_text.py)
    needs_run: bool  # known only for a run that happened: `diff --worktree` marks it not compared


SECTIONS: tuple[Section, ...] = (
    Section("command", "command", "command", "structure", needs_run=True),
    Section("code", "git", "code", "code", needs_run=False),
    Section("inputs", "inputs", "files", "files", needs_run=False),
    Section("params", "params", "params", "structure", needs_run=True),
    Section("env", "env", "env", "structure", needs_run=False),
    Section("outputs", "outputs", "files", "files", needs_run=False),
    Section("metrics", "metrics", "metrics", "structure", needs_run=True),
    Section("status", "status", "status", "status", needs_run=True),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SECTIONS)
BY_NAME: dict[str, Section] = {s.name: s for s in SECTIONS}
