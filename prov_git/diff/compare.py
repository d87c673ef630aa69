"""Assemble the sections of a diff from two sides. Pure: records, manifests and a code diff in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from prov_git.diff import SECTIONS, code, files, metrics, status, structure
from prov_git.diff.paths import Noise
from prov_git.records import Record
from prov_git.records.sections import SECTIONS as REGISTRY

if TYPE_CHECKING:  # the store builds it; the diff only reads its fields
    from prov_git.store.code import CodeDiff

Section = dict[str, Any]
DEFAULTS = Noise()  # the built-in noise patterns alone


@dataclass(frozen=True)
class Side:
    """One end of a diff: a stored run, or the present state (`--worktree`, no id)."""

    record: Record
    manifests: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    worktree: bool = False

    @property
    def id(self) -> str | None:
        return None if self.worktree else str(self.record["id"])


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    sections: dict[str, Section]
    warnings: list[str] = field(default_factory=list)
    patch: str = ""

    @property
    def identical(self) -> bool:
        return not any(s["changed"] for s in self.sections.values())

    def changed(self) -> list[str]:
        return [name for name, s in self.sections.items() if s["changed"]]

    def same(self) -> list[str]:
        return [name for name, s in self.sections.items() if not s["changed"] and s.get("compared", True)]

    def ignored_by_config(self) -> list[str]:
        """Section-qualified paths that differ but were left out by a prov.diff.ignore pattern
        (the built-in noise, PWD, SHLVL..., is not listed: it differs in nearly every pair)."""
        found = []
        for name, section in self.sections.items():
            for path in section.get("ignored", []):
                qualified = path if name == "env" else f"{name}.{path}"
                if not DEFAULTS.ignores(qualified):
                    found.append(qualified)
        return found

    def not_compared(self) -> list[str]:
        return [name for name, s in self.sections.items() if not s.get("compared", True)]


def compare(a: Side, b: Side, code_diff: CodeDiff | None, code_problem: str | None, noise: Noise,
            only: Sequence[str] = SECTIONS) -> dict[str, Section]:
    """Every selected section, in the contract's order."""
    # The registry names fields by string: read the records as plain mappings here.
    ra, rb = cast(Mapping[str, Any], a.record), cast(Mapping[str, Any], b.record)
    comparers: dict[str, Callable[[str, str], Section]] = {
        "command": lambda key, _: structure.command(ra[key], rb[key], noise),
        "code": lambda key, _: code.compare(ra[key], rb[key], code_diff, code_problem, noise),
        "files": lambda key, name: files.compare(ra[key], rb[key], a.manifests, b.manifests, name, noise),
        "params": lambda key, _: structure.params(ra[key], rb[key], noise),
        "env": lambda key, _: structure.env(ra[key], rb[key], noise),
        "metrics": lambda key, _: metrics.compare(ra[key], rb[key], noise),
        "status": lambda key, _: status.compare(ra[key], rb[key], noise),
    }
    sections = {spec.name: comparers[spec.comparer](spec.key, spec.name)
                for spec in REGISTRY if spec.name in only}
    if b.worktree:
        # Nothing ran: what a rerun would pass or produce is unknown, not equal.
        for spec in REGISTRY:
            if spec.needs_run and spec.name in sections:
                sections[spec.name]["compared"] = False
    return sections


def parse_sections(value: str | None) -> tuple[str, ...]:
    """`params,code` -> the sections in contract order; every section when None."""
    from prov_git.errors import UsageError

    if not value:
        return SECTIONS
    wanted = {v.strip() for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - set(SECTIONS))
    if unknown or not wanted:
        raise UsageError(f"unknown section {', '.join(unknown) or repr(value)}: choose from {', '.join(SECTIONS)}")
    return tuple(s for s in SECTIONS if s in wanted)


def run_specs(specs: Sequence[str], worktree: bool) -> tuple[str, str | None]:
    """Which runs to compare: none -> @~1 and @, one -> it and @; with --worktree, it and now."""
    from prov_git.errors import UsageError

    if worktree:
        if len(specs) > 1:
            raise UsageError("--worktree compares one run with the present state: give at most one RUN")
        return (specs[0] if specs else "@"), None
    if len(specs) > 2:
        raise UsageError("give at most two runs: git prov diff [RUN_A [RUN_B]]")
    if not specs:
        return "@~1", "@"
    return specs[0], (specs[1] if len(specs) == 2 else "@")
