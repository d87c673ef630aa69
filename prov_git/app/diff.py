"""The I/O edge of `git prov diff`: read records, manifests and code diffs through the store, or
capture the present state for `--worktree` (nothing is run and nothing is written)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from prov_git.diff import SECTIONS
from prov_git.diff.code import tree_commit
from prov_git.diff.compare import Comparison, Side, compare
from prov_git.diff.paths import noise_from_config
from prov_git.errors import InputError, MissingCommit, ProvError
from prov_git.records import Record
from prov_git.records.model import Entry
from prov_git.store import code as code_store
from prov_git.store import resolve, runs
from prov_git.store.repo import Repo


def _decode(data: bytes) -> list[dict[str, Any]]:
    from prov_git.records.manifest import decode_manifest

    return decode_manifest(data)


def _dir_entries(record: Record) -> list[Entry]:
    return [e for e in record["inputs"] + record["outputs"] if e["type"] == "dir" and e.get("manifest")]


def known_fields(record: Record, warnings: list[str]) -> Record:
    """A record of a newer schema_version is compared on the fields this release knows; the others
    are named in a warning, so that "same" never covers what was not compared."""
    from prov_git.records.schema import NEWEST, is_newer, known_part

    if not is_newer(record):
        return record
    kept, dropped = known_part(record)  # the fields of the newest known version: a Record
    if dropped:
        warnings.append(f"run {record['id'][:12]} has schema_version {record['schema_version']}, newer than "
                        f"{NEWEST}: not compared: {', '.join(dropped)}")
    return cast(Record, kept)


def load_side(repo: Repo, run_id: str, warnings: list[str]) -> Side:
    """A stored run with the manifests of its directories (a missing one is warned about)."""
    record = known_fields(resolve.load(repo, run_id), warnings)
    manifests: dict[str, list[dict[str, Any]]] = {}
    for entry in _dir_entries(record):
        name = entry["manifest"]
        if name in manifests:
            continue
        try:
            manifests[name] = _decode(runs.read_file(repo, run_id, name))
        except (ProvError, ValueError, KeyError, TypeError):
            warnings.append(f"run {run_id[:12]}: manifest of {entry['path']} is unreadable; "
                            "its changes are shown for the whole directory")
    return Side(record=record, manifests=manifests)


def present_side(repo: Repo, base: Record, warnings: list[str]) -> tuple[Side, str | None]:
    """The state a rerun of base would see now: HEAD + dirty files, its paths' hashes, this
    environment; and the tree of the present code, built by the snapshot rules of a record (its
    objects are written, unreferenced; no commit, no ref)."""
    from prov_git.app import record as recorder
    from prov_git.capture import files, hashcache

    workdir = repo.require_workdir()
    algorithm = base["recorder"]["hash_algorithm"]
    # The record's hash cache: unchanged inputs are not read again.
    digester = hashcache.digester_for(repo.state_dir, algorithm, repo.config_bool("prov.hashCache", True))
    manifests: dict[str, list[dict[str, Any]]] = {}

    def describe(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for old in entries:
            try:
                # verify's rule: a recorded path (forged, or a folder since replaced by a symlink) may
                # lead out of the work tree; nothing there is read, not even to print its digest.
                files.repo_relative(workdir, workdir, old["path"])
            except InputError as exc:
                warnings.append(f"{old['path']} not read: {exc}")
                out.append({"path": old["path"], "type": "missing", "size": None, "digest": None})
                continue
            entry, side = files.describe(workdir, old["path"], algorithm, digester, must_exist=False)
            manifests.update({name: _decode(data) for name, data in side.items()})
            out.append(entry)
        return out

    results = [e["path"] for e in base["outputs"]] + list(base["git"].get("excluded", []))
    git, _, tree = recorder.capture_git(repo, results, [e["path"] for e in base["inputs"]], algorithm,
                                        digester, commit=False)
    present = {**base, "git": git, "inputs": describe(base["inputs"]), "outputs": describe(base["outputs"]),
               "env": recorder.capture_env(repo, recorder.redactor(repo))}
    digester.save()
    # The present state in the record's shape (with the base's fields a worktree cannot know).
    return Side(record=cast(Record, present), manifests=manifests, worktree=True), tree


def _results(a: Record, b: Record) -> Callable[[str], bool]:
    """Outputs and metrics files of either run: results, never code (design.md, Evidence rules)."""
    from prov_git.store.snapshot import PathSet

    return PathSet([e["path"] for r in (a, b) for e in r["outputs"]]
                   + [p for r in (a, b) for p in r["git"].get("excluded", [])])


def code_diff(repo: Repo, a: Side, b: Side, warnings: list[str],
              present_tree: str | None = None) -> tuple[code_store.CodeDiff | None, str | None]:
    old = tree_commit(a.record["git"])
    exclude = _results(a.record, b.record)
    try:
        new = present_tree if b.worktree else tree_commit(b.record["git"])
        diff = code_store.CodeDiff() if old == new else code_store.between(repo, old, new, exclude=exclude)
    except MissingCommit as exc:
        problem = f"{exc}; the code section compares commit ids only"
        warnings.append(problem)
        return None, problem
    return code_store.with_omitted(diff, a.record["git"].get("untracked_omitted", []),
                                   b.record["git"].get("untracked_omitted", []), exclude), None


def diff_runs(repo: Repo, specs: Sequence[str], *, worktree: bool = False,
              only: Sequence[str] = SECTIONS) -> Comparison:
    """Compare two runs (or a run and the present state) section by section."""
    from prov_git.diff.compare import run_specs

    spec_a, spec_b = run_specs(specs, worktree)
    warnings: list[str] = []
    id_a = resolve.resolve(repo, spec_a)
    id_b = resolve.resolve(repo, spec_b) if spec_b is not None else None
    a = load_side(repo, id_a, warnings)
    present_tree = None
    if id_b is not None:
        b = load_side(repo, id_b, warnings)
    else:
        b, present_tree = present_side(repo, a.record, warnings)
    diff, problem = code_diff(repo, a, b, warnings, present_tree) if "code" in only else (None, None)
    noise = noise_from_config(repo.config_all("prov.diff.ignore"))
    sections = compare(a, b, diff, problem, noise, only)
    return Comparison(a=a, b=b, sections=sections, warnings=warnings, patch=diff.patch if diff else "")
