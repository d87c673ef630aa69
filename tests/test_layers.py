"""The layer rules of docs/architecture.md, read from the source with an AST scan (no import runs).

    cli -> commands -> app -> {record, capture, diff, store} -> errors

Every import counts, also one inside a function (it is a real dependency, only a later one); an
import under `if TYPE_CHECKING:` does not (it never runs). Each rule names the module that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "prov_git"

# Lower layers never import higher ones. Leaf helpers sit at 0 beside errors.
LEVELS = {
    "prov_git": 0, "prov_git.errors": 0, "prov_git.fsutil": 0, "prov_git.resources": 0, "prov_git.settings": 0,
    "prov_git.records": 1, "prov_git.redact": 1,
    "prov_git.capture": 2, "prov_git.diff": 2, "prov_git.store": 2,
    "prov_git.app": 3,
    "prov_git.commands": 4, "prov_git.api": 4,
    "prov_git.cli": 5, "prov_git.__main__": 5,
}
# The package root re-exports the Python API on first use (module __getattr__): the one upward import.
ALLOWED = {("prov_git", "prov_git.api")}
# Within layer 2 each package stands alone: the capture never writes to git but through app -> store,
# the diff reads nothing but what it is handed.
SIBLINGS_APART = ("prov_git.capture", "prov_git.diff", "prov_git.store")
# Commands reach the library through app/ (and render with record/ and diff/, which are pure).
COMMANDS_MAY_NOT = ("prov_git.store", "prov_git.capture")
OWNERS = {
    "pygit2": ("prov_git.store",),
    "subprocess": ("prov_git.store", "prov_git.capture.process", "prov_git.capture.env"),
    "sqlite3": ("prov_git.store",),
}
# The index build forks a parser of its own code (never the user's command), whose child must leave
# with os._exit: returning would run the parent's stack twice.
WORKER_FORKS = {"prov_git.store.index"}
SPAWNS = ("posix_spawn", "posix_spawnp", "fork", "execv", "execvp", "execve", "execvpe", "system")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(tree):
        if _type_checking_only(child):
            continue
        yield child
        yield from _runtime_nodes(child)


def imports(name: str, tree: ast.Module) -> set[str]:
    """Every module name this module imports at run time (`from a import b` counts a and a.b)."""
    found: set[str] = set()
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_package(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()


def level(name: str) -> int | None:
    best = None
    for prefix, value in LEVELS.items():
        if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, value)
    return None if best is None else best[1]


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def ours(found: set[str]) -> set[str]:
    return {m for m in found if m in modules()}


def violations() -> list[str]:
    """Every broken rule, one line each: 'module: rule'."""
    out = []
    trees = modules()
    for name, tree in trees.items():
        found = imports(name, tree)
        out += _layer_violations(name, ours(found))
        out += _owner_violations(name, found)
        out += _spawn_violations(name, tree)
        out += _exit_violations(name, tree)
    out += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(trees)]
    return out


def _layer_violations(name: str, found: set[str]) -> list[str]:
    out = []
    mine = level(name)
    for target in sorted(found):
        theirs = level(target)
        if mine is not None and theirs is not None and theirs > mine and (name, target) not in ALLOWED:
            out.append(f"{name}: imports {target}, a higher layer")
        for package in SIBLINGS_APART:
            if within(name, (package,)) and within(target, SIBLINGS_APART) and not within(target, (package,)):
                out.append(f"{name}: imports {target}; {package} stands alone in its layer")
        if within(name, ("prov_git.commands",)) and within(target, COMMANDS_MAY_NOT):
            out.append(f"{name}: imports {target}; commands go through prov_git.app")
    return out


def _owner_violations(name: str, found: set[str]) -> list[str]:
    out = []
    for outside, owners in OWNERS.items():
        if outside in found and not within(name, owners):
            out.append(f"{name}: imports {outside}, which only {', '.join(owners)} may use")
    return out


def _spawn_violations(name: str, tree: ast.Module) -> list[str]:
    # store/gitconfig.py runs git itself (settings, discovery) without subprocess's import cost.
    if name in ("prov_git.capture.process", "prov_git.store.gitconfig"):
        return []
    return [f"{name}: calls os.{node.attr}; only prov_git.capture.process starts the user's command"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in SPAWNS
            and not (name in WORKER_FORKS and node.attr == "fork")
            and isinstance(node.value, ast.Name) and node.value.id == "os"]


def _exit_violations(name: str, tree: ast.Module) -> list[str]:
    if name == "prov_git.cli":
        return []
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in {("sys", "exit"), ("os", "_exit")}
                and not (name in WORKER_FORKS and node.attr == "_exit")):
            out.append(f"{name}: calls {node.value.id}.{node.attr}; only prov_git.cli ends the process")
        if within(name, ("prov_git.app",)) and isinstance(node, ast.Call) and ast.unparse(node.func) == "print":
            out.append(f"{name}: prints; app/ returns data and commands render it")
    return out


def cycles(trees: dict[str, ast.Module]) -> list[list[str]]:
    """Import cycles between our modules (a package's __init__ importing its own submodules is no cycle)."""
    graph = {name: {t for t in imports(name, tree) if t in trees and t != name and not name.startswith(t + ".")
                    and not t.startswith(name + ".")}
             for name, tree in trees.items()}
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def test_the_layers_hold() -> None:
    assert violations() == []


@pytest.mark.parametrize(("module", "source", "rule"), [
    ("prov_git.app.verify", "import pygit2\n", "imports pygit2"),
    ("prov_git.store.runs", "from prov_git.app import record\n", "a higher layer"),
    ("prov_git.diff.compare", "from prov_git.store import code\n", "stands alone"),
    ("prov_git.commands.show", "from prov_git.store import resolve\n", "go through prov_git.app"),
    ("prov_git.app.hooks", "import subprocess\n", "imports subprocess"),
    ("prov_git.commands.remote", "import sys\nsys.exit(1)\n", "only prov_git.cli ends the process"),
    ("prov_git.store.runs", "import os\nos.posix_spawnp('x', [], {})\n", "starts the user's command"),
])
def test_each_rule_catches_what_it_forbids(module: str, source: str, rule: str) -> None:
    # The scan of one planted line, so a rule that silently stopped matching fails here.
    tree = ast.parse(source)
    found = imports(module, tree)
    lines = (_layer_violations(module, ours(found) | {m for m in found if m.startswith("prov_git")})
             + _owner_violations(module, found) + _spawn_violations(module, tree) + _exit_violations(module, tree))
    assert any(rule in line for line in lines), lines


def test_a_planted_cycle_is_found() -> None:
    trees = {"prov_git.capture.files": ast.parse("from prov_git.capture import hashing\n"),
             "prov_git.capture.hashing": ast.parse("def f():\n    from prov_git.capture.files import x\n"),
             "prov_git.capture": ast.parse("")}
    assert cycles(trees) == [["prov_git.capture.files", "prov_git.capture.hashing", "prov_git.capture.files"]]
