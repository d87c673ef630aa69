"""`git prov rerun`: run a recorded run again from exactly what was recorded, and say whether its
outputs came out the same.

The code is the run's own tree (its snapshot when it ran dirty, else its commit), materialised in a
directory outside the work tree (store/checkout); the work tree, the index and HEAD are never
touched. Each declared input must have its recorded digest: the copy in that tree when it has one,
else the work tree's copy, which is copied in. A changed or missing input stops the rerun before
anything runs (every such input named) unless changed inputs are allowed. The command runs with
record's process handling and is recorded as a new run with `rerun_of` (a rerun of a rerun names
the first original); its outputs are compared with the original's file by file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prov_git.app import record as recording
from prov_git.capture import files
from prov_git.errors import InputError, NotReplayable
from prov_git.records import Record
from prov_git.records.manifest import decode_manifest, entries
from prov_git.records.text import given_text
from prov_git.store import checkout, resolve, runs
from prov_git.store.repo import Repo

REDACTED = "[REDACTED"


@dataclass(frozen=True)
class Source:
    """Where a rerun takes one input from: 'tree', 'worktree', or nowhere ('changed', 'missing')."""

    path: str
    origin: str

    @property
    def usable(self) -> bool:
        return self.origin in ("tree", "worktree")


@dataclass
class Plan:
    original: Record
    first: str  # what rerun_of names: the first original
    code: str | None  # the commit whose tree runs (the snapshot when the run was dirty)
    sources: list[Source] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return list(self.original["command"]["argv"])

    @property
    def cwd(self) -> str:
        return str(self.original["command"]["cwd"])

    def as_dict(self) -> dict[str, Any]:
        return {"original": self.original["id"], "code": self.code, "cwd": self.cwd, "argv": self.argv,
                "inputs": [{"path": s.path, "from": s.origin} for s in self.sources]}


@dataclass
class Outcome:
    """What `rerun --json` prints, plus the exit status of the command."""

    original: str
    rerun: str
    exit_status: int
    identical: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    kept: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return not self.differs and not self.missing

    def as_dict(self) -> dict[str, Any]:
        return {"original": self.original, "rerun": self.rerun, "reproduced": self.reproduced,
                "outputs": {"identical": self.identical, "differs": self.differs, "missing": self.missing}}


# ------------------------------------------------------------------------------------ planning


def refuse_redacted(record: Record) -> None:
    """A redacted argument cannot be replayed: the value is gone from the record on purpose."""
    hidden = [i for i, arg in enumerate(record["command"]["argv"]) if REDACTED in arg]
    if hidden:
        where = ", ".join(str(i) for i in hidden)
        raise NotReplayable(f"run {record['id'][:12]} cannot be replayed: argument {where} of its command was "
                            "redacted; pass secrets through the environment (e.g. DB_PASSWORD=...) rather "
                            "than on the command line, then record it again")


def code_of(record: Record) -> str | None:
    git = record["git"]
    code = git["snapshot"] or git["commit"]
    return str(code) if code else None


def _matches(root: Path, entry: Mapping[str, Any], algorithm: str) -> bool | None:
    """Whether root/path has the recorded content; None when it does not exist there."""
    try:
        now, _ = files.describe(root, entry["path"], algorithm, files.plain_digester(algorithm), must_exist=False)
    except InputError:
        return False
    if now["type"] == "missing":
        return None
    return bool(now["type"] == entry["type"] and now["digest"] == entry["digest"])


def source_of(tree: Path, workdir: Path, entry: Mapping[str, Any], algorithm: str) -> Source:
    """Tree copy first (it is the recorded code), then the work tree's; else why neither will do."""
    if _matches(tree, entry, algorithm):
        return Source(entry["path"], "tree")
    in_worktree = _matches(workdir, entry, algorithm)
    if in_worktree:
        return Source(entry["path"], "worktree")
    return Source(entry["path"], "missing" if in_worktree is None else "changed")


def first_original(record: Record) -> str:
    return str(record.get("rerun_of") or record["id"])


def plan(repo: Repo, spec: str, tree: Path) -> Plan:
    """How RUN would be replayed from the materialised tree: each input's source."""
    original = resolve.load_spec(repo, spec)
    workdir = repo.require_workdir()
    algorithm = str(original["recorder"].get("hash_algorithm") or "sha256")
    sources = [source_of(tree, workdir, e, algorithm) for e in original["inputs"]]
    return Plan(original=original, first=first_original(original), code=code_of(original), sources=sources)


def check_sources(plan: Plan, allow_changed: bool) -> list[str]:
    """Refuse (every bad input named) unless allowed; with allow, the warnings to print."""
    bad = [s for s in plan.sources if not s.usable]
    if not bad:
        return []
    named = ", ".join(f"{s.path} ({s.origin})" for s in bad)
    if not allow_changed:
        raise NotReplayable(f"inputs differ from run {plan.original['id'][:12]}: {named}; nothing was run "
                            "(restore them, or rerun with --allow-changed-inputs to use what is there now)")
    return [f"input {s.path} is {s.origin}; the rerun uses what the work tree has now" for s in bad]


# ----------------------------------------------------------------------------------- preparing


def bring_inputs(plan: Plan, tree: Path, workdir: Path) -> None:
    """Copy into the tree each input taken from the work tree (changed ones too, when allowed)."""
    for source in plan.sources:
        if source.origin == "tree":
            continue
        origin, target = workdir / source.path, tree / source.path
        if not os.path.lexists(origin):
            continue
        _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            os.symlink(os.readlink(origin), target)
        elif origin.is_dir():
            shutil.copytree(origin, target, symlinks=True)
        else:
            shutil.copy2(origin, target)  # a copy, never a link: the command may write to its inputs


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


# ----------------------------------------------------------------------------------- comparing


def file_digests(entry: Mapping[str, Any], manifests: dict[str, list[dict[str, Any]]]) -> dict[str, str | None]:
    """path -> digest of each file an output entry stands for (files inside a directory one by one)."""
    if entry["type"] == "missing":
        return {}
    if entry["type"] == "dir":
        listed = manifests.get(entry.get("manifest") or "")
        if listed is None:
            return {entry["path"]: entry["digest"]}
        return {f["path"]: f.get("digest") for f in listed}
    return {entry["path"]: entry["digest"]}


def compare_outputs(old: Iterable[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                    old_manifests: dict[str, list[dict[str, Any]]],
                    new_manifests: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[str], list[str]]:
    """(identical, differs, missing) file paths; a file only the rerun produced differs."""
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    for entry in old:
        before.update(file_digests(entry, old_manifests))
    for entry in new:
        after.update(file_digests(entry, new_manifests))
    identical = sorted(p for p in before if p in after and after[p] == before[p])
    differs = sorted(p for p in after if (p in before and after[p] != before[p]) or p not in before)
    missing = sorted(p for p in before if p not in after)
    return identical, differs, missing


def manifests_of(repo: Repo, record: Record) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for entry in entries(record):
        name = entry.get("manifest")
        if entry["type"] == "dir" and name and name not in found:
            try:
                found[name] = decode_manifest(runs.read_file(repo, record["id"], name))
            except (ValueError, KeyError, TypeError):
                continue
    return found


# ---------------------------------------------------------------------------------------- driver


def dry_run(repo: Repo, spec: str) -> Plan:
    """The plan only: the tree is materialised to look at the inputs and removed again."""
    original = resolve.load_spec(repo, spec)
    refuse_redacted(original)
    tree = checkout.materialise(repo, _code(original))
    try:
        return plan(repo, original["id"], tree)
    finally:
        checkout.remove(repo, tree)


def _code(record: Record) -> str:
    code = code_of(record)
    if code is None:
        raise NotReplayable(f"run {record['id'][:12]} was recorded before the repository's first commit: "
                            "there is no code tree to replay it from")
    return code


def rerun(repo: Repo, spec: str, *, allow_changed: bool = False, keep: bool = False, name: str | None = None,
          notify: Callable[[str], None] | None = None) -> Outcome:
    """Replay RUN in a fresh copy of its tree, record it with rerun_of, compare its outputs."""
    checkout.sweep()
    original = resolve.load_spec(repo, spec)
    refuse_redacted(original)
    tree = checkout.materialise(repo, _code(original))
    try:
        outcome = _replay(repo, plan(repo, original["id"], tree), tree, allow_changed, name, notify)
    except BaseException:
        checkout.remove(repo, tree)
        raise
    if keep:
        outcome.kept = tree
    else:
        checkout.remove(repo, tree)
    return outcome


def _replay(repo: Repo, the_plan: Plan, tree: Path, allow_changed: bool, name: str | None,
            notify: Callable[[str], None] | None) -> Outcome:
    warnings = check_sources(the_plan, allow_changed)
    bring_inputs(the_plan, tree, repo.require_workdir())
    original = the_plan.original
    # The words, folder and name as the OS gave them: a record holds one that is not UTF-8 quoted.
    # Its paths are relative to the top of the tree, a request's to cwd: given whole.
    if name is None and original["name"] is not None:
        name = given_text(original["name"])
    request = recording.RecordRequest(
        argv=[given_text(a) for a in the_plan.argv], inputs=[str(tree / e["path"]) for e in original["inputs"]],
        outputs=[str(tree / e["path"]) for e in original["outputs"]], name=name,
    )
    request.replay = recording.Replay(workdir=tree, git=dict(original["git"]), params=original["params"],
                                      rerun_of=the_plan.first)
    cwd = tree / given_text(the_plan.cwd) if the_plan.cwd != "." else tree
    result = recording.record_run(repo, request, cwd, notify=notify)
    new = result.record
    identical, differs, missing = compare_outputs(original["outputs"], list(new["outputs"]),
                                                  manifests_of(repo, original), manifests_of(repo, new))
    return Outcome(original=original["id"], rerun=new["id"], exit_status=result.exit_status,
                   identical=identical, differs=differs, missing=missing,
                   warnings=warnings + list(result.warnings))
