"""Check runs fetched from a remote, then merge two refs/prov/runs chains by tree union.

A remote is untrusted: every run it sends that the local tree does not hold byte for byte is
checked before anything points at it (layout runs/<xx>/<id>/, entry names and modes, sizes, JSON
depth, schema, id = hash of content, manifests = their digests). Runs are content-addressed, so
the merge is a union of the two trees; the same run id with different content on the two sides
cannot happen honestly and is refused as tampering, never resolved silently.

The checks on names, bytes and plans are pure; the functions that read or write git objects take
a pygit2 repository and are kept thin.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import accumulate

import pygit2

from prov_git.errors import CorruptRecord, RefusedData, RunConflict
from prov_git.records import Record, decode
from prov_git.store import forgotten, runs, sign
from prov_git.store.repo import Repo

MAX_RECORD_BYTES = 4 << 20  # run.json: real records are a few KiB to a few hundred KiB
MAX_SIDE_BYTES = 32 << 20  # a manifest lists every file of a directory: ~150 bytes a file
MAX_FILES_PER_RUN = 1000
MAX_JSON_DEPTH = 128  # records nest a few levels; params may nest more, never this deep
MERGE_PREFIX = "prov: merge"

TREE_MODE = b"40000"
BLOB_MODE = b"100644"
_ODD_MODES = {b"120000": "a symlink", b"160000": "a submodule (gitlink)", b"100755": "an executable file",
              b"100664": "a group-writable file (obsolete mode)"}
_FAN = re.compile(rb"^[0-9a-f]{2}$")
_TOP = ("runs", forgotten.FOLDER)  # the only top-level folders of the tree
_RUN_ID = re.compile(rb"^[0-9a-f]{64}$")
# Lowercase only: two names differing in case would collide in a mirror on macOS or Windows.
_SIDE_NAME = re.compile(r"^[a-z0-9_][a-z0-9._-]{0,199}$")
_MANIFEST = re.compile(r"^manifest-([0-9a-f]{64})\.json$")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def refused(where: str, problem: str) -> RefusedData:
    """The error for fetched data that breaks a rule: names the path, then the rule."""
    return RefusedData(f"{where}: {problem}")


def tampering(run_ids: list[str], remote: str) -> RunConflict:
    shown_ids = ", ".join(r[:12] for r in run_ids[:3]) + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3 else "")
    return RunConflict(f"run {shown_ids} differs between here and {remote} although run ids are content hashes "
                       "(tampering or corruption)", run_ids)


# ------------------------------------------------------------------------------ pure checks


@dataclass(frozen=True)
class Entry:
    mode: bytes
    name: bytes
    oid: pygit2.Oid


def shown(name: bytes) -> str:
    """A tree entry name made safe to print on one line (escapes, never raw control bytes)."""
    text = name.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def parse_tree(data: bytes, where: str, oid_size: int = 20) -> list[Entry]:
    """The entries of a raw tree object; refuses malformed trees and duplicate names.

    Parsed by hand rather than through libgit2 so that odd modes, names and duplicates are seen
    exactly as they were sent.
    """
    out: list[Entry] = []
    seen: set[bytes] = set()
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1) if space >= 0 else -1
        if space < 0 or nul < 0 or nul + 1 + oid_size > len(data):
            raise refused(where, "malformed tree object")
        mode, name = data[pos:space], data[space + 1:nul]
        oid = pygit2.Oid(raw=data[nul + 1:nul + 1 + oid_size])
        pos = nul + 1 + oid_size
        if name in seen:
            raise refused(f"{where}/{shown(name)}", "the tree lists this name twice")
        seen.add(name)
        out.append(Entry(mode, name, oid))
    return out


def check_name(name: bytes, where: str) -> str:
    """A tree entry name as text, refused when it could escape a folder or is not UTF-8."""
    if name in (b"", b".", b".."):
        raise refused(f"{where}/{shown(name)}", "a path entry named '.' or '..' (or empty) could escape .prov/")
    if b"/" in name or b"\\" in name or b"\0" in name:
        raise refused(f"{where}/{shown(name)}", "entry name contains a path separator")
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        raise refused(f"{where}/{shown(name)}", "entry name is not valid UTF-8") from None
    if not text.isprintable():
        raise refused(f"{where}/{shown(name)}", "entry name contains control characters")
    return text


def check_mode(entry: Entry, want: bytes, where: str) -> None:
    if entry.mode == want:
        return
    path = f"{where}/{shown(entry.name)}"
    if entry.mode == TREE_MODE:
        raise refused(path, "is a folder; only files belong here")
    if want == TREE_MODE:
        raise refused(path, "is a file outside the runs/<xx>/<id>/ layout")
    odd = _ODD_MODES.get(entry.mode, f"an entry of odd mode {shown(entry.mode)}")
    raise refused(path, f"is {odd}; runs hold plain files only")


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text, counted without parsing it (no recursion)."""
    brackets = _STRINGS.sub(b"", data).translate(None, delete=bytes(c for c in range(256) if c not in _DEPTH_STEP))
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def check_json_depth(data: bytes, where: str) -> None:
    if json_depth(data) > MAX_JSON_DEPTH:
        raise refused(where, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


def check_run(run_id: str, files: dict[str, bytes]) -> Record:
    """The decoded record of one fetched run folder whose files were read; refuses any defect."""
    folder = runs.run_dir(run_id)
    data = files.get(runs.RUN_FILE)
    if data is None:
        raise refused(folder, f"run folder without {runs.RUN_FILE}")
    where = f"{folder}/{runs.RUN_FILE}"
    check_json_depth(data, where)
    try:
        record = decode(data, expected_id=run_id, where=where)
    except CorruptRecord as exc:
        raise refused(where, str(exc).removeprefix(f"{where}: ")) from None
    except (ValueError, RecursionError) as exc:  # e.g. 1e999 or 2**60: no canonical JSON, so no id
        raise refused(where, f"has no canonical form to hash ({exc})") from None
    for name, blob in files.items():
        if _MANIFEST.match(name):
            check_json_depth(blob, f"{folder}/{name}")
    from prov_git.records.manifest import check_manifests, entries

    problems = check_manifests(run_id, record, files)
    if problems:
        path = problems[0].path
        raise refused(path if path.startswith(runs.REF) else f"{folder} ({path})", problems[0].message)
    referenced = {e.get("manifest") for e in entries(record)}
    for name in files:
        if _MANIFEST.match(name) and name not in referenced:
            raise refused(f"{folder}/{name}", "manifest that the record does not refer to")
    return record


# ------------------------------------------------------------------------------ reading fetched trees


def _read(git: pygit2.Repository, oid: pygit2.Oid, want: pygit2.enums.ObjectType, where: str,
          limit: int | None = None) -> bytes:
    try:
        kind, size = git.odb.read_header(oid)
    except KeyError:
        raise refused(where, f"object {oid} was not sent") from None
    if kind != want:
        raise refused(where, f"object {str(oid)[:12]} is a {_TYPE_NAMES.get(kind, kind)}, expected a "
                             f"{_TYPE_NAMES[want]}")
    if limit is not None and size > limit:
        raise refused(where, f"file of {size} bytes exceeds the {limit >> 20} MiB limit")
    return bytes(git.odb.read(oid)[1])


_TYPE_NAMES = {pygit2.enums.ObjectType.COMMIT: "commit", pygit2.enums.ObjectType.TREE: "tree",
               pygit2.enums.ObjectType.BLOB: "blob", pygit2.enums.ObjectType.TAG: "tag"}


def _tree(git: pygit2.Repository, oid: pygit2.Oid, where: str) -> list[Entry]:
    return parse_tree(_read(git, oid, pygit2.enums.ObjectType.TREE, where), where, len(oid.raw))


def _subtree(tree: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if tree is None or name not in tree:
        return None
    sub = tree[name]
    return sub if isinstance(sub, pygit2.Tree) else None


def incoming_runs(git: pygit2.Repository, local: pygit2.Tree | None, remote_tree: pygit2.Oid
                  ) -> dict[str, pygit2.Oid]:
    """Run id -> folder tree of every run the fetched tree holds that the local one does not hold
    byte for byte; walks only where the trees differ and refuses anything outside the layout."""
    found: dict[str, pygit2.Oid] = {}
    top = _tree(git, remote_tree, "(top of the tree)")
    for entry in top:
        name = check_name(entry.name, "")
        if name not in _TOP:
            raise refused(shown(entry.name), "entry outside the runs/<xx>/<id>/ layout")
        check_mode(entry, TREE_MODE, "")
        if name == forgotten.FOLDER:
            check_forgotten(git, _subtree(local, name), entry.oid)
    runs_entry = next((e for e in top if e.name == b"runs"), None)
    local_runs = _subtree(local, "runs")
    if runs_entry is None or (local_runs is not None and local_runs.id == runs_entry.oid):
        return found
    for fan in _tree(git, runs_entry.oid, "runs"):
        fan_name = check_name(fan.name, "runs")
        if not _FAN.match(fan.name):
            raise refused(f"runs/{fan_name}", "entry outside the runs/<xx>/<id>/ layout")
        check_mode(fan, TREE_MODE, "runs")
        local_fan = _subtree(local_runs, fan_name)
        if local_fan is None or local_fan.id != fan.oid:
            found.update(_incoming_in_fan(git, local_fan, fan, fan_name))
    return found


def _incoming_in_fan(git: pygit2.Repository, local_fan: pygit2.Tree | None, fan: Entry, fan_name: str
                     ) -> dict[str, pygit2.Oid]:
    """incoming_runs for one runs/<xx>/ folder that differs from the local one."""
    found: dict[str, pygit2.Oid] = {}
    for run in _tree(git, fan.oid, f"runs/{fan_name}"):
        run_name = check_name(run.name, f"runs/{fan_name}")
        if not _RUN_ID.match(run.name) or not run.name.startswith(fan.name):
            raise refused(f"runs/{fan_name}/{run_name}", "entry outside the runs/<xx>/<id>/ layout")
        check_mode(run, TREE_MODE, f"runs/{fan_name}")
        mine = local_fan[run_name] if local_fan is not None and run_name in local_fan else None
        if mine is None or mine.id != run.oid:
            found[run_name] = run.oid
    return found


def check_forgotten(git: pygit2.Repository, local: pygit2.Tree | None, tree: pygit2.Oid) -> None:
    """forgotten/<xx>/<id>/<sha256>.json (store/forgotten.py): small entries named by their hash,
    each naming the run of its folder; only folders that differ from the local ones are read."""
    if local is not None and local.id == tree:
        return
    for fan in _tree(git, tree, forgotten.FOLDER):
        where = f"{forgotten.FOLDER}/{check_name(fan.name, forgotten.FOLDER)}"
        if not _FAN.match(fan.name):
            raise refused(where, "entry outside the forgotten/<xx>/<id>/ layout")
        check_mode(fan, TREE_MODE, forgotten.FOLDER)
        mine = _subtree(local, fan.name.decode())
        if mine is None or mine.id != fan.oid:
            _check_forgotten_fan(git, mine, fan, where)


def _check_forgotten_fan(git: pygit2.Repository, local: pygit2.Tree | None, fan: Entry, where: str) -> None:
    for run in _tree(git, fan.oid, where):
        run_id = check_name(run.name, where)
        if not _RUN_ID.match(run.name) or not run.name.startswith(fan.name):
            raise refused(f"{where}/{run_id}", "entry outside the forgotten/<xx>/<id>/ layout")
        check_mode(run, TREE_MODE, where)
        mine = _subtree(local, run_id)
        if mine is not None and mine.id == run.oid:
            continue
        entries = _tree(git, run.oid, f"{where}/{run_id}")
        if len(entries) > MAX_FILES_PER_RUN:
            raise refused(f"{where}/{run_id}", f"{len(entries)} forget entries for one run (limit {MAX_FILES_PER_RUN})")
        for entry in entries:
            path = f"{where}/{run_id}/{check_name(entry.name, f'{where}/{run_id}')}"
            check_mode(entry, BLOB_MODE, f"{where}/{run_id}")
            data = _read(git, entry.oid, pygit2.enums.ObjectType.BLOB, path, forgotten.MAX_ENTRY_BYTES)
            problem = forgotten.entry_problem(run_id, entry.name.decode(), data)
            if problem is not None:
                raise refused(path, problem)


def read_run(git: pygit2.Repository, run_id: str, tree: pygit2.Oid) -> dict[str, bytes]:
    """The files of one fetched run folder, refusing odd entries and oversized blobs before reading them."""
    folder = runs.run_dir(run_id)
    entries = _tree(git, tree, folder)
    if len(entries) > MAX_FILES_PER_RUN:
        raise refused(folder, f"{len(entries)} files in one run folder (limit {MAX_FILES_PER_RUN})")
    files: dict[str, bytes] = {}
    for entry in entries:
        name = check_name(entry.name, folder)
        check_mode(entry, BLOB_MODE, folder)
        if not _SIDE_NAME.match(name):
            raise refused(f"{folder}/{shown(entry.name)}", "file name outside [a-z0-9._-] (lowercase, no leading dot)")
        limit = MAX_RECORD_BYTES if name == runs.RUN_FILE else MAX_SIDE_BYTES
        files[name] = _read(git, entry.oid, pygit2.enums.ObjectType.BLOB, f"{folder}/{name}", limit)
    return files


def check_incoming(git: pygit2.Repository, local: pygit2.Tree | None, remote_tree: pygit2.Oid,
                   progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Check every run the fetched tree adds or changes; returns their ids (sorted)."""
    found = incoming_runs(git, local, remote_tree)
    for done, (run_id, tree) in enumerate(sorted(found.items()), 1):
        check_run(run_id, read_run(git, run_id, tree))
        if progress is not None:
            progress(done, len(found))
    return sorted(found)


def _chain_commit(git: pygit2.Repository, oid: pygit2.Oid, *, tip: bool = False) -> pygit2.Commit:
    """A commit that belongs to a refs/prov/runs chain: following the chain never enters project history.

    The tip's tree is checked entry by entry afterwards (check_incoming), with a more precise message.
    """
    commit = git.get(oid)
    where = f"commit {str(oid)[:12]}"
    if not isinstance(commit, pygit2.Commit):
        raise refused(where, "the chain points at something that is not a commit")
    if not commit.message.startswith("prov: ") or (not tip and any(e.name not in _TOP for e in commit.tree)):
        raise refused(where, f"is not a {runs.REF} commit: the chain must not lead into the project's history")
    return commit


def check_chain(git: pygit2.Repository, tip: pygit2.Oid, known: pygit2.Odb) -> None:
    """The new commits of a fetched chain keep its rules: they and their chain parents are store
    commits (never the project's), dates strictly increase along the chain, and a run commit is not
    older than the run it carries (`log` relies on these to stop early and to stay in the store).

    Walks only commits that were not in the local object store before the fetch (`known`).
    """
    stack, seen = [tip], {tip}
    while stack:
        oid = stack.pop()
        commit = _chain_commit(git, oid, tip=oid == tip)
        if known.exists(oid):
            continue
        ref = runs.run_of(commit)
        if ref is not None:
            try:
                started = ref.started
            except ValueError:
                raise refused(f"commit {str(oid)[:12]}", "run commit with a malformed Prov-Started time") from None
            if commit.commit_time < math.floor(started):
                raise refused(f"commit {str(oid)[:12]}", "run commit dated before its run started")
        for pid in runs.chain_parents(commit):
            parent = _chain_commit(git, pid)
            if parent.commit_time >= commit.commit_time:
                raise refused(f"commit {str(oid)[:12]}", "commit dates do not increase along the chain")
            if pid not in seen:
                seen.add(pid)
                stack.append(pid)


# ------------------------------------------------------------------------------ union merge


@dataclass(frozen=True)
class Union:
    tree: pygit2.Oid
    added: list[str]  # run ids the local tree did not have


def _entries(tree: pygit2.Tree) -> Iterator[tuple[str, pygit2.Object]]:
    for entry in tree:
        if entry.name:
            yield entry.name, entry


def _fans(tree: pygit2.Tree | None) -> Iterator[tuple[str, pygit2.Tree]]:
    """(name, subtree) of a checked runs/ tree: every entry is a folder."""
    for name, entry in _entries(tree) if tree is not None else ():
        if isinstance(entry, pygit2.Tree):
            yield name, entry


def union(git: pygit2.Repository, local: pygit2.Tree | None, remote: pygit2.Tree, label: str = "the remote"
          ) -> Union:
    """The local tree plus every run folder of the (checked) remote tree; refuses a changed run
    (label names the remote in that refusal)."""
    remote_runs = _subtree(remote, "runs")
    if local is None:
        return Union(remote.id, sorted(run for _, fan in _fans(remote_runs) for run, _ in _entries(fan)))
    local = _with_forgotten(git, local, remote, label)
    local_runs = _subtree(local, "runs")
    if remote_runs is None or (local_runs is not None and local_runs.id == remote_runs.id):
        return Union(local.id, [])
    added: list[str] = []
    conflicts: list[str] = []
    runs_builder = git.TreeBuilder(local_runs) if local_runs is not None else git.TreeBuilder()
    for fan_name, fan in _fans(remote_runs):
        mine = _subtree(local_runs, fan_name)
        if mine is not None and mine.id == fan.id:
            continue
        tree, new, changed = _union_fan(git, mine, fan)
        runs_builder.insert(fan_name, tree, runs.TREE)  # mine again when nothing is new: no change
        added += new
        conflicts += changed
    if conflicts:
        raise tampering(sorted(conflicts), label)
    root = git.TreeBuilder(local)
    root.insert("runs", runs_builder.write(), runs.TREE)
    return Union(root.write(), sorted(added))


def _with_forgotten(git: pygit2.Repository, local: pygit2.Tree, remote: pygit2.Tree, label: str) -> pygit2.Tree:
    """local with the union of both forgotten/ folders (content-addressed: equal paths, equal bytes)."""
    theirs = _subtree(remote, forgotten.FOLDER)
    mine = _subtree(local, forgotten.FOLDER)
    if theirs is None or (mine is not None and mine.id == theirs.id):
        return local
    root = git.TreeBuilder(local)
    root.insert(forgotten.FOLDER, _union_tree(git, mine, theirs, label), runs.TREE)
    merged = git.get(root.write())
    assert isinstance(merged, pygit2.Tree)
    return merged


def _union_tree(git: pygit2.Repository, mine: pygit2.Tree | None, theirs: pygit2.Tree, label: str) -> pygit2.Oid:
    if mine is None or mine.id == theirs.id:
        return theirs.id if mine is None else mine.id
    builder = git.TreeBuilder(mine)
    for name, entry in _entries(theirs):
        if name not in mine:
            builder.insert(name, entry.id, entry.filemode)
        elif isinstance(entry, pygit2.Tree) and isinstance(mine[name], pygit2.Tree):
            builder.insert(name, _union_tree(git, mine[name], entry, label), runs.TREE)  # type: ignore[arg-type]
        elif mine[name].id != entry.id:
            raise RunConflict(f"{forgotten.FOLDER}/.../{name} differs between here and {label} "
                              "although forget entries are content-addressed (tampering or corruption)", [])
    return builder.write()


def _union_fan(git: pygit2.Repository, mine: pygit2.Tree | None, theirs: pygit2.Tree
               ) -> tuple[pygit2.Oid, list[str], list[str]]:
    """One runs/<xx>/ folder of both sides: (merged tree, runs only theirs holds, runs both hold that differ)."""
    if mine is None:
        return theirs.id, [run for run, _ in _entries(theirs)], []
    builder = git.TreeBuilder(mine)
    added: list[str] = []
    conflicts: list[str] = []
    for run, entry in _entries(theirs):
        if run not in mine:
            builder.insert(run, entry.id, runs.TREE)
            added.append(run)
        elif mine[run].id != entry.id:
            conflicts.append(run)
    # Nothing new (mine only holds more, or a conflict): keep mine without writing it again.
    return (builder.write() if added else mine.id), added, conflicts


def merge_commit(repo: Repo, tree: pygit2.Oid, parents: list[pygit2.Commit], message: str) -> pygit2.Oid:
    """A chain merge commit: dated after every parent (the chain's dates strictly increase)."""
    assert not message.startswith("prov: run "), "a merge must not look like a run commit"
    when = max(math.ceil(time.time()), *(p.commit_time + 1 for p in parents))
    sig = runs._signature(repo, when)  # the same identity as the run commits of the chain
    return sign.create_commit(repo, sig, message, tree, [p.id for p in parents])  # signed like a run commit


@dataclass(frozen=True)
class Merged:
    tip: pygit2.Oid
    added: list[str]


def merge_into_local(repo: Repo, remote_tip: pygit2.Commit, label: str) -> Merged:
    """Union the (checked) remote chain into refs/prov/runs with compare-and-swap; returns what was added."""
    sign.require_signed_incoming(repo, remote_tip, label)  # prov.fetch.requireSigned
    outcome: dict[str, list[str]] = {}

    def build(old: pygit2.Commit | None) -> pygit2.Oid:
        result = union(repo.git, old.tree if old is not None else None, remote_tip.tree, label)
        outcome["added"] = result.added
        if old is None:
            return remote_tip.id
        if old.id == remote_tip.id or (result.tree == old.tree.id and repo.git.descendant_of(old.id, remote_tip.id)):
            return old.id
        if result.tree == remote_tip.tree.id and repo.git.descendant_of(remote_tip.id, old.id):
            return remote_tip.id  # fast-forward: the remote already holds everything we have
        return merge_commit(repo, result.tree, [old, remote_tip], f"{MERGE_PREFIX} {label}\n")

    tip = runs.update_ref(repo, build, f"git prov: merge {label}")
    return Merged(tip, outcome.get("added", []))

