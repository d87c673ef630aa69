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

import contextlib
import hashlib
import math
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple, cast

import pygit2

from prov_git.errors import CorruptRecord, RefusedData, RunConflict
from prov_git.records import Record, decode_stored, limits, schema
from prov_git.store import chain_rules, forgotten, mirror, runs, sign
from prov_git.store.repo import Repo

# The limits live in records/limits.py, shared with `record` so it never writes what fetch refuses.
MAX_RECORD_BYTES = limits.MAX_RECORD_BYTES
MAX_SIDE_BYTES = limits.MAX_SIDE_BYTES
MAX_FILES_PER_RUN = limits.MAX_FILES_PER_RUN
MAX_JSON_DEPTH = limits.MAX_JSON_DEPTH
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
json_depth = limits.json_depth


def refused(where: str, problem: str) -> RefusedData:
    """The error for fetched data that breaks a rule: names the path, then the rule."""
    return RefusedData(f"{where}: {problem}")


def tampering(run_ids: list[str], remote: str) -> RunConflict:
    shown_ids = ", ".join(r[:12] for r in run_ids[:3]) + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3 else "")
    return RunConflict(f"run {shown_ids} differs between here and {remote} although run ids are content hashes "
                       "(tampering or corruption)", run_ids)


# ------------------------------------------------------------------------------ pure checks


class Entry(NamedTuple):  # a tuple: tens of thousands are made per fetch, a frozen dataclass is 4x slower
    mode: bytes
    name: bytes
    oid: pygit2.Oid


def shown(name: bytes) -> str:
    """A tree entry name made safe to print on one line (escapes, never raw control bytes)."""
    text = name.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


@cache
def _tree_syntax(oid_size: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    # mode up to the first space, name up to the next NUL, then the raw object id: git's tree format.
    entry = rb"([^ ]*) ([^\0]*)\0(.{%d})" % oid_size
    return re.compile(rb"(?:%s)*" % entry.replace(b"(", b"(?:"), re.S), re.compile(entry, re.S)


def parse_tree(data: bytes, where: str, oid_size: int = 20) -> list[Entry]:
    """The entries of a raw tree object; refuses malformed trees and duplicate names.

    Parsed here rather than through libgit2 so that odd modes, names and duplicates are seen
    exactly as they were sent (two regexes: the scan runs in C, not one find() per field).
    """
    whole, one = _tree_syntax(oid_size)
    if whole.fullmatch(data) is None:
        raise refused(where, "malformed tree object")
    out = [Entry(mode, name, pygit2.Oid(raw=raw)) for mode, name, raw in one.findall(data)]
    if len({e.name for e in out}) != len(out):
        seen: set[bytes] = set()
        twice = next(e.name for e in out if e.name in seen or seen.add(e.name))  # type: ignore[func-returns-value]
        raise refused(f"{where}/{shown(twice)}", "the tree lists this name twice")
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


def check_json_depth(data: bytes, where: str) -> None:
    problem = limits.depth_problem(data)
    if problem is not None:
        raise refused(where, problem)


def check_run(run_id: str, files: dict[str, bytes], now: float | None = None, bulk: bool = False) -> Record:
    """The decoded record of one fetched run folder whose files were read; refuses any defect
    (bulk: one of many, worth the fast schema proof's import)."""
    folder = runs.run_dir(run_id)
    data = files.get(runs.RUN_FILE)
    if data is None:
        raise refused(folder, f"run folder without {runs.RUN_FILE}")
    where = f"{folder}/{runs.RUN_FILE}"
    check_json_depth(data, where)
    try:
        record, stored = decode_stored(data, expected_id=run_id, where=where, bulk=bulk)
    except CorruptRecord as exc:
        problem = str(exc).removeprefix(f"{where}: ")
        if "no canonical JSON form" in problem:  # codec says so for 1e999 or 2**64: no id can be computed
            problem = f"has no canonical form to hash ({problem})"
        raise refused(where, problem) from None
    except (ValueError, RecursionError) as exc:  # e.g. 1e999 or 2**60: no canonical JSON, so no id
        raise refused(where, f"has no canonical form to hash ({exc})") from None
    if not stored:
        # One byte form per run: padding, duplicate keys or another layout would let two clones
        # hold different bytes under one id (and readers disagree on duplicate keys).
        raise refused(where, "is not in the one byte form git prov writes (sorted keys, two-space "
                             "indent, no duplicate keys, trailing newline)")
    status = record["status"]
    clock = time.time() if now is None else now
    for key in ("started_at", "ended_at"):
        bad_time = limits.time_problem(status.get(key), clock)
        if bad_time is not None:
            raise refused(where, f"status.{key} {bad_time}")
    from prov_git.records.manifest import check_manifests, entries

    referenced = {e.get("manifest") for e in entries(record)}
    for name in files:
        if name != runs.RUN_FILE and name not in referenced:
            raise refused(f"{folder}/{name}", "a file the record does not name (a run folder holds "
                                              f"{runs.RUN_FILE} and the manifests it names, nothing else)")
        if name != runs.RUN_FILE:
            check_json_depth(files[name], f"{folder}/{name}")
    problems = check_manifests(run_id, record, files)
    if problems:
        path = problems[0].path
        raise refused(path if path.startswith(runs.REF) else f"{folder} ({path})", problems[0].message)
    return record


# ------------------------------------------------------------------------------ reading fetched trees


def _read(git: pygit2.Repository, oid: pygit2.Oid, want: pygit2.enums.ObjectType, where: str,
          limit: int | None = None) -> bytes:
    size = _header(git, oid, want, where)
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


def _header(git: pygit2.Repository, oid: pygit2.Oid, want: pygit2.enums.ObjectType, where: str) -> int:
    """The size of an object that must be of kind want, read without reading the object."""
    try:
        kind, size = git.odb.read_header(oid)
    except KeyError:
        raise refused(where, f"object {oid} was not sent") from None
    if kind != want:
        raise refused(where, f"object {str(oid)[:12]} is a {_TYPE_NAMES.get(kind, kind)}, expected a "
                             f"{_TYPE_NAMES[want]}")
    return int(size)


def run_blobs(git: pygit2.Repository, run_id: str, tree: pygit2.Oid) -> dict[str, pygit2.Oid]:
    """File name -> blob of one fetched run folder, refusing odd entries and oversized blobs (each,
    and all together) before any of them is read."""
    folder = runs.run_dir(run_id)
    entries = _tree(git, tree, folder)
    if len(entries) > MAX_FILES_PER_RUN:
        raise refused(folder, f"{len(entries)} files in one run folder (limit {MAX_FILES_PER_RUN})")
    sizes: dict[str, tuple[pygit2.Oid, int]] = {}
    for entry in entries:
        name = check_name(entry.name, folder)
        check_mode(entry, BLOB_MODE, folder)
        if not _SIDE_NAME.match(name):
            raise refused(f"{folder}/{shown(entry.name)}", "file name outside [a-z0-9._-] (lowercase, no leading dot)")
        size = _header(git, entry.oid, pygit2.enums.ObjectType.BLOB, f"{folder}/{name}")
        problem = limits.file_problem(name, size)
        if problem is not None:
            raise refused(f"{folder}/{name}", problem)
        sizes[name] = (entry.oid, size)
    problem = limits.run_problem({name: size for name, (_, size) in sizes.items()})
    if problem is not None:
        raise refused(folder, problem)
    return {name: oid for name, (oid, _) in sizes.items()}


def read_run(git: pygit2.Repository, run_id: str, tree: pygit2.Oid) -> dict[str, bytes]:
    """The files of one fetched run folder, read after run_blobs let them through."""
    return {name: bytes(git.odb.read(oid)[1]) for name, oid in run_blobs(git, run_id, tree).items()}


# The contents of blobs, in the order asked, as (id, bytes); may stop early (the rest is then read
# here). A fetch passes one `git cat-file --batch` (store/remote.py): libgit2 resolving the deltas of
# a fresh pack in run-id order is several times slower.
BlobReader = Callable[[list[pygit2.Oid]], Iterator[tuple[pygit2.Oid, bytes]]]

# The walk's older trees read ahead (store/catfile.Lookahead): the content of a tree by its id, or
# None (then it is read here, and refused here if it is not a tree). libgit2 reads the runs/<xx>/
# trees a chain changes, one version of each folder after another, 4x slower than git.
TreeSource = Callable[[pygit2.Oid], "bytes | None"]


def read_in_order(git: pygit2.Repository, oids: list[pygit2.Oid], reader: BlobReader | None
                   ) -> Iterator[bytes]:
    stream = reader(oids) if reader is not None else iter(())
    for oid in oids:
        got = next(stream, None)
        if got is None or got[0] != oid:
            stream = iter(())
            yield bytes(git.odb.read(oid)[1])
        else:
            yield got[1]


@dataclass
class Checked:
    """What the fetched tip tree brings: runs that passed every check, and runs set aside."""

    good: dict[str, pygit2.Oid] = field(default_factory=dict)  # run id -> folder tree
    records: dict[str, Record] = field(default_factory=dict)  # of the good runs: their _essentials
    bad: dict[str, str] = field(default_factory=dict)  # run id -> "path: rule"
    tree: pygit2.Oid | None = None  # the fetched tip's tree
    blobs: dict[str, dict[str, pygit2.Oid]] = field(default_factory=dict)  # of the good runs: name -> blob
    staged: set[str] = field(default_factory=set)  # of the good runs: those written into the stage


PARALLEL_FROM = 400  # runs: below this, starting a second process costs more than it saves
_Item = tuple[str, "dict[str, bytes] | None", "str | None", float, "str | None", bool]
_Outcome = tuple[str, "Record | None", "str | None", bool]


def _checked(item: _Item) -> _Outcome:
    """check_run of one run whose files were read (or why they could not be), then its files
    written into the stage folder if one is given (mirror.stage_run): in a worker process too."""
    run_id, files, problem, now, stage, bulk = item
    if files is None:
        return run_id, None, problem, False
    try:
        record = _essentials(check_run(run_id, files, now, bulk))
    except RefusedData as exc:
        return run_id, None, str(exc), False
    return run_id, record, None, stage is not None and mirror.stage_run(stage, run_id, files)


def _essentials(record: Record) -> Record:
    """The fields of a checked record that the chain checks and the replay read: a worker sends
    these back, not the whole record (pickling it both ways cost a third of a run's check)."""
    git = record["git"]
    return cast(Record, {"status": {"started_at": record["status"]["started_at"]},
                         "git": {"commit": git.get("commit"), "snapshot": git.get("snapshot")}})


def check_incoming(git: pygit2.Repository, local: pygit2.Tree | None, remote_tree: pygit2.Oid,
                   progress: Callable[[int, int], None] | None = None, *, reader: BlobReader | None = None,
                   alongside: Callable[[], object] | None = None, stage: str | None = None) -> Checked:
    """Check every run the fetched tree adds or changes. A defect of the layout refuses the whole
    tree (RefusedData); a defect inside one run folder sets that run aside (Checked.bad).

    Folder trees and blob sizes are checked first, then every blob is read in one stream (reader);
    decoding, schema, id and byte-form checks (CPU-bound, pure) run on every core for a large
    fetch, while this process goes on reading, and meanwhile runs alongside (the chain walk).
    With stage, each run that passes is written there too (mirror.staging), by the same workers."""
    found = incoming_runs(git, local, remote_tree)
    checked = Checked(tree=remote_tree)
    listing = _listing(git, local, found)
    now = time.time()
    bulk = len(found) >= PARALLEL_FROM

    def items() -> Iterator[_Item]:
        wanted = [oid for _, names, _ in listing if names is not None for oid in names.values()]
        contents = read_in_order(git, wanted, reader)
        for run_id, names, problem in listing:
            files = None if names is None else {name: next(contents) for name in names}
            yield run_id, files, problem, now, stage, bulk

    cores = os.cpu_count() or 1
    if bulk:
        schema.prepare_proof()
    with contextlib.ExitStack() as stack:
        results: Iterator[_Outcome] = map(_checked, items())
        if bulk and cores > 1 and "fork" in multiprocessing.get_all_start_methods():
            pool = stack.enter_context(multiprocessing.get_context("fork").Pool(cores))
            results = pool.imap(_checked, items(), chunksize=64)
        if alongside is not None:
            alongside()
        names_of = {run_id: names for run_id, names, _ in listing}
        for done, (run_id, record, problem, staged) in enumerate(results, 1):
            if record is not None:
                checked.records[run_id] = record
                checked.good[run_id] = found[run_id]
                checked.blobs[run_id] = names_of[run_id] or {}
                if staged:
                    checked.staged.add(run_id)
            else:
                checked.bad[run_id] = problem or "refused"
            if progress is not None:
                progress(done, len(found))
    return checked


def _listing(git: pygit2.Repository, local: pygit2.Tree | None, found: dict[str, pygit2.Oid]
             ) -> list[tuple[str, dict[str, pygit2.Oid] | None, str | None]]:
    """(run id, name -> blob, None) of each incoming run whose folder passes, else (run id, None, why)."""
    local_runs = _subtree(local, "runs")
    out: list[tuple[str, dict[str, pygit2.Oid] | None, str | None]] = []
    for run_id, tree in sorted(found.items()):
        try:
            if local_runs is not None and _subtree(_subtree(local_runs, run_id[:2]), run_id) is not None:
                raise refused(runs.run_dir(run_id), "differs from the copy here although run ids are content "
                                                    "hashes (tampering or corruption); kept the copy here")
            out.append((run_id, run_blobs(git, run_id, tree), None))
        except RefusedData as exc:
            out.append((run_id, None, str(exc)))
    return out


# ------------------------------------------------------------------------------ the fetched chain


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


def check_store_commit(git: pygit2.Repository, tip: pygit2.Oid) -> None:
    _chain_commit(git, tip, tip=True)


_Raw = tuple[bytes, bytes, bytes]  # (mode, name, raw object id) of a tree entry, as findall gives it


@cache
def _entry_bytes(oid_size: int) -> re.Pattern[bytes]:
    """One whole tree entry, no groups: findall then gives one bytes object per entry (a third of
    the cost of three groups and a tuple, and older trees hold up to 256 or 400 entries)."""
    return re.compile(rb"[^ ]* [^\0]*\0.{%d}" % oid_size, re.S)


class _Tips:
    """Tree entries for the walk: the fetched tip's trees by name (parsed strictly, kept), older
    commits' trees as raw bytes (a bounded cache), compared as sets of whole entry bytes in C; only
    the few entries that differ are split into fields. A run whose folder differs between an older
    commit and the tip is set aside (in bad).

    Most older trees are runs/ and runs/<xx>/ folders: entries of one size ("40000 <name>\\0<id>"),
    checked as such once (_fixed_size). Then a run commit's tree at those levels is its parent's
    with one entry added or replaced, which two comparisons prove without parsing it."""

    def __init__(self, git: pygit2.Repository, ahead: TreeSource | None = None) -> None:
        self.git = git
        self.ahead = ahead
        self.bad: dict[str, str] = {}  # run id -> problem, applied to Checked once the runs are checked
        self.commit_cache: dict[tuple[pygit2.Oid, bool], pygit2.Commit] = {}
        self.tip_cache: dict[pygit2.Oid, dict[bytes, Entry]] = {}
        self.trees: dict[pygit2.Oid, tuple[bytes, int]] = {}  # raw tree, its entry size (0: mixed)
        self.sets: dict[pygit2.Oid, frozenset[bytes]] = {}

    def commit(self, oid: pygit2.Oid, tip: bool = False) -> pygit2.Commit:
        """_chain_commit, remembered: the walk asks for each commit as itself, as a parent (twice
        for a run commit) and for its dates."""
        found = self.commit_cache.get((oid, tip))
        if found is None:
            if len(self.commit_cache) > 4096:
                self.commit_cache.clear()
            found = self.commit_cache[(oid, tip)] = _chain_commit(self.git, oid, tip=tip)
        return found

    def entries(self, oid: pygit2.Oid, where: str) -> dict[bytes, Entry]:
        found = self.tip_cache.get(oid)
        if found is None:
            found = self.tip_cache[oid] = {e.name: e for e in _tree(self.git, oid, where)}
        return found

    def _keep(self, oid: pygit2.Oid, data: bytes, size: int) -> tuple[bytes, int]:
        if len(self.trees) > 2048:  # bounded: a 100,000-run chain has as many runs/ trees
            self.trees.clear()
            self.sets.clear()
        found = self.trees[oid] = data, size
        return found

    def data(self, oid: pygit2.Oid, where: str) -> tuple[bytes, int]:
        """The raw tree object and its entry size (0 when its entries differ in size); refuses a
        malformed tree."""
        found = self.trees.get(oid)
        if found is not None:
            return found
        data = self._read_tree(oid, where)
        size = _fixed_size(data, len(oid.raw))
        if not size:
            entries = _parsed(data, len(oid.raw), where)
        found = self._keep(oid, data, size)
        if not size:
            self.sets[oid] = frozenset(entries)
        return found

    def _read_tree(self, oid: pygit2.Oid, where: str) -> bytes:
        found = self.ahead(oid) if self.ahead is not None else None
        return found if found is not None else _read(self.git, oid, pygit2.enums.ObjectType.TREE, where)

    def raw(self, oid: pygit2.Oid, where: str) -> frozenset[bytes]:
        """The set of the tree's whole entries."""
        data, size = self.data(oid, where)
        found = self.sets.get(oid)
        if found is None:
            entries = (data[at:at + size] for at in range(0, len(data), size)) if size else _parsed(
                data, len(oid.raw), where)
            found = self.sets[oid] = frozenset(entries)
        return found

    def new_entries(self, tree: pygit2.Oid, base: pygit2.Oid | None, where: str, base_where: str,
                    hint: bytes | None) -> list[_Raw]:
        """The entries of tree that base lacks, split, by name; hint: the one name a run commit
        adds or changes at this level, tried first."""
        if base is not None and hint is not None:
            one = self._one_more(tree, base, hint, where, base_where)
            if one is not None:
                return one
        mine = self.raw(tree, where)
        return _split(mine - self.raw(base, base_where) if base is not None else mine, len(tree.raw))

    def _one_more(self, tree: pygit2.Oid, base: pygit2.Oid, name: bytes, where: str, base_where: str
                  ) -> list[_Raw] | None:
        """When one of tree and base is known to hold entries of one size and the two differ only in
        the entry called name (added, or its id changed), byte for byte around it: that entry, or
        nothing if base already held it; else None. Whole entries of the known one around one
        well-formed entry make the other well-formed too, so it is kept without a parse (the walk
        meets each tree first as a base, then as the tree of the next commit)."""
        needle = TREE_MODE + b" " + name + b"\0"
        size = len(needle) + len(tree.raw)
        mine, old = self.trees.get(tree), self.trees.get(base)
        if mine is None and old is None:
            old = self.data(base, base_where)
        if (mine is not None and mine[1] != size) or (old is not None and old[1] != size):
            return None
        data = mine[0] if mine is not None else self._read_tree(tree, where)
        before = old[0] if old is not None else self._read_tree(base, base_where)
        at = _aligned(data, needle, size)
        if at < 0 or data[:at] != before[:at]:
            return None
        rest = data[at + size:]
        added = len(data) == len(before) + size and rest == before[at:]
        changed = len(data) == len(before) and before.startswith(needle, at) and rest == before[at + size:]
        if not (added or changed):
            return None
        if mine is None:
            self._keep(tree, data, size)
        if old is None:
            self._keep(base, before, size)
        entry = data[at:at + size]
        return [] if _aligned(before, entry, size) >= 0 else [(TREE_MODE, name, entry[-len(tree.raw):])]

    def child(self, oid: pygit2.Oid, name: bytes, where: str) -> tuple[bytes, pygit2.Oid] | None:
        """(mode, id) of the entry called name in an older tree, or None: a substring search, then
        the whole entry checked (a match inside an object id is never an entry)."""
        data, size = self.data(oid, where)
        oid_size = len(oid.raw)
        if size:  # every entry a folder of this size: only a match at an entry's start counts
            at = _aligned(data, TREE_MODE + b" " + name + b"\0", size)
            return None if at < 0 else (TREE_MODE, pygit2.Oid(raw=data[at + size - oid_size:at + size]))
        entries = self.raw(oid, where)
        needle = b" " + name + b"\0"
        at = data.find(needle)
        if at < 0:
            return None
        while at >= 0:
            for mode in (TREE_MODE, BLOB_MODE, *_ODD_MODES):
                whole = mode + data[at:at + len(needle) + oid_size]
                if data.startswith(mode, at - len(mode)) and whole in entries:
                    return mode, pygit2.Oid(raw=whole[-oid_size:])
            at = data.find(needle, at + 1)
        # An entry of another mode, or a name found only inside object ids: every entry decides.
        return next(((mode, pygit2.Oid(raw=raw)) for mode, other, raw in _split(entries, oid_size) if other == name),
                    None)

    def path(self, oid: pygit2.Oid, names: list[bytes], where: str) -> pygit2.Oid | None:
        """The id at names below tree oid (each step but the last a folder), or None."""
        for depth, name in enumerate(names):
            found = self.child(oid, name, where)
            if found is None or (depth < len(names) - 1 and found[0] != TREE_MODE):
                return None
            oid = found[1]
        return oid

    def set_aside(self, run_id: str, problem: str) -> None:
        self.bad.setdefault(run_id, problem)


class _Shrink:
    """The walk's fast path for a run commit: its chain parent's tree predicted as its own without the
    run's folder, and proved to be exactly that when the predicted top tree has the parent's tree id.

    Walking from the tip, a run commit's tree is already known byte for byte (the tip's, read; or
    proved by this same step at its child), so its parent's top, runs/ and runs/<xx>/ trees are a
    few slices of those and three SHA-1s: no tree of the parent is read, where the walk otherwise
    reads each commit's runs/<xx>/ (its size grows with the store: 2.5 GB of trees at 100,000 runs).
    Equal tree ids mean equal bytes, so the commit adds one folder, the one it names, which is the
    tip's copy: all that _check_within and _met_run_commit would establish. Anything else (another
    copy of the run, a merge, a forget entry, a tree of another shape) is left to them."""

    LIMIT = 4096  # trees kept: the current runs/<xx>/ of every fan, and a few more

    def __init__(self, tips: _Tips, tip_tree: pygit2.Oid) -> None:
        self.tips = tips
        self.tip_tree = tip_tree
        # Trees proved (or read) to have these bytes, with their entry size (0: not all one size).
        self.known: dict[pygit2.Oid, tuple[bytes, int]] = {}
        self.tip_fans: dict[bytes, dict[bytes, bytes] | None] = {}  # <xx> -> run id -> the tip's folder id

    def _tree(self, oid: pygit2.Oid, where: str, size: int = 0) -> bytes | None:
        """The tree's bytes; with size, None unless every entry is a folder entry of that size (a
        tree this class made from such a tree is one by construction; a read one is checked)."""
        found = self.known.get(oid)
        if found is None:
            found = self.known[oid] = self.tips.data(oid, where)  # refused when malformed, as the slow path is
        data, found_size = found
        return data if not size or found_size == size else None

    def parent_without_run(self, commit: pygit2.Commit, parent: pygit2.Oid, run_id: str, where: str) -> bool:
        """Whether the parent's tree is commit's without runs/<xx>/<run_id>, that folder being the tip's."""
        if len(commit.tree_id.raw) != 20:
            return False  # a SHA-256 store: git prov reads SHA-1 ones only, for now
        try:
            return self._shrinks(commit, self.tips.commit(parent), run_id.encode(), where)
        except (RefusedData, KeyError, pygit2.GitError):
            return False  # the slow path reads the same trees and says what is wrong, in its own words

    def _shrinks(self, commit: pygit2.Commit, parent: pygit2.Commit, run: bytes, where: str) -> bool:
        top = self._tree(commit.tree_id, where)
        assert top is not None  # no size asked
        runs_entry = _RUNS_ENTRY + b"\0"
        at_top = 0
        for entry in _parsed(top, 20, where):  # a top tree has an entry or two
            if entry.startswith(runs_entry) and len(entry) == len(runs_entry) + 20:
                break
            at_top += len(entry)
        else:
            return False
        runs_id = pygit2.Oid(raw=top[at_top + len(runs_entry):at_top + len(runs_entry) + 20])
        runs_tree = self._tree(runs_id, where, _FAN_ENTRY_SIZE)
        if runs_tree is None:
            return False
        at_fan = _aligned(runs_tree, TREE_MODE + b" " + run[:2] + b"\0", _FAN_ENTRY_SIZE)
        if at_fan < 0:
            return False
        fan_id = pygit2.Oid(raw=runs_tree[at_fan + _FAN_ENTRY_SIZE - 20:at_fan + _FAN_ENTRY_SIZE])
        fan = self._tree(fan_id, where, _RUN_ENTRY_SIZE)
        if fan is None:
            return False
        at_run = _aligned(fan, TREE_MODE + b" " + run + b"\0", _RUN_ENTRY_SIZE)
        if at_run < 0:
            return False
        folder = fan[at_run + _RUN_ENTRY_SIZE - 20:at_run + _RUN_ENTRY_SIZE]
        if self._tip_folder(run, where) != folder:
            return False  # another copy than the tip's: _check_within sets the run aside
        fan_before = fan[:at_run] + fan[at_run + _RUN_ENTRY_SIZE:]
        if fan_before:
            fan_before_id = _tree_id(fan_before)
            end = at_fan + _FAN_ENTRY_SIZE
            runs_before = runs_tree[:end - 20] + fan_before_id + runs_tree[end:]
        else:
            runs_before = runs_tree[:at_fan] + runs_tree[at_fan + _FAN_ENTRY_SIZE:]
        start = at_top + len(runs_entry)
        if runs_before:
            runs_before_id = _tree_id(runs_before)
            top_before = top[:start] + runs_before_id + top[start + 20:]
        else:
            top_before = top[:at_top] + top[start + 20:]
        if _tree_id(top_before) != parent.tree_id.raw:
            return False
        if len(self.known) > self.LIMIT:
            self.known.clear()
        self.known.pop(commit.tree_id, None)
        self.known[parent.tree_id] = top_before, 0
        if runs_before:
            self.known.pop(runs_id, None)
            self.known[pygit2.Oid(raw=runs_before_id)] = runs_before, _FAN_ENTRY_SIZE
        if fan_before:
            self.known.pop(fan_id, None)
            self.known[pygit2.Oid(raw=fan_before_id)] = fan_before, _RUN_ENTRY_SIZE
        return True

    def _tip_folder(self, run: bytes, where: str) -> bytes | None:
        """The id of the tip's runs/<xx>/<run>, from its runs/<xx>/ read once into a table."""
        fan = run[:2]
        if fan not in self.tip_fans:
            tree = self.tips.path(self.tip_tree, [b"runs", fan], where)
            data = self._tree(tree, where, _RUN_ENTRY_SIZE) if tree is not None else None
            self.tip_fans[fan] = None if data is None else {
                data[at + 6:at + 70]: data[at + 71:at + _RUN_ENTRY_SIZE] for at in range(0, len(data), _RUN_ENTRY_SIZE)}
        table = self.tip_fans[fan]
        return None if table is None else table.get(run)


_RUNS_ENTRY = TREE_MODE + b" runs"
_FAN_ENTRY_SIZE = len(TREE_MODE) + 1 + 2 + 1 + 20  # "40000 <xx>\0<id>"
_RUN_ENTRY_SIZE = len(TREE_MODE) + 1 + 64 + 1 + 20  # "40000 <run id>\0<id>"


def _tree_id(data: bytes) -> bytes:
    """The SHA-1 object id git gives a tree of these bytes."""
    hasher = hashlib.sha1(b"tree %d\0" % len(data))
    hasher.update(data)
    return hasher.digest()


def _parsed(data: bytes, oid_size: int, where: str) -> list[bytes]:
    """The whole entries of a tree, refusing a malformed one."""
    entries = _entry_bytes(oid_size).findall(data)
    # findall's matches do not overlap and come in order: lengths adding up to the whole tree mean
    # they tile it, exactly as the strict parse (each entry parses one way) does.
    if sum(map(len, entries)) != len(data):
        raise refused(where, "malformed tree object")
    return entries


def _fixed_size(data: bytes, oid_size: int) -> int:
    """The size of every entry when the tree is only folder entries whose names have one length
    and hold no NUL ("40000 <name>\\0<id>", as in runs/ and runs/<xx>/): then its entries are its
    slices of that size, as the strict parse finds them. 0 otherwise. Strided slices, all in C."""
    nul = data.find(b"\0")
    if nul < 7 or not data.startswith(TREE_MODE + b" "):
        return 0
    size = nul + 1 + oid_size
    count = len(data) // size
    if len(data) % size:
        return 0
    for at, byte in enumerate(TREE_MODE + b" "):
        if data[at::size] != bytes((byte,)) * count:
            return 0
    if data[nul::size] != b"\0" * count:
        return 0
    in_ids = sum(data[at::size].count(0) for at in range(nul + 1, size))
    return size if data.count(0) == count + in_ids else 0  # no NUL inside a name


def _aligned(data: bytes, needle: bytes, size: int) -> int:
    """The first offset of needle in data that is a multiple of size, or -1."""
    at = data.find(needle)
    while at >= 0 and at % size:
        at = data.find(needle, at + 1)
    return at


def _split(entries: frozenset[bytes], oid_size: int) -> list[_Raw]:
    one = _tree_syntax(oid_size)[1]
    return sorted((cast(_Raw, one.fullmatch(e).groups()) for e in entries), key=lambda e: e[1])  # type: ignore[union-attr]


def _check_within(tips: _Tips, tree: pygit2.Oid, base: pygit2.Oid | None, tip: pygit2.Oid, where: str,
                  path: str = "", depth: int = 0, run: str | None = None) -> None:
    """Every run folder (and forget entry) of an older chain commit's tree is the tip's, byte for
    byte: so the tip's checks cover every object the chain keeps alive. A run folder that differs
    sets that run aside (the fetched commits are then never merged); anything else refuses the
    chain. Only entries that differ from the parent's tree (base: already held to this rule, or
    known here) are looked at, so a run commit costs a few tree reads and comparisons (run: the
    run a run commit names, the entry it is expected to add at runs/ and runs/<xx>/)."""
    if tree in (tip, base):
        return
    hint = {1: run[:2], 2: run}.get(depth) if run is not None else None
    new = tips.new_entries(tree, base, f"{where} {path or '(top)'}", where, hint.encode() if hint else None)
    theirs = tips.entries(tip, where)
    for mode, name, raw in new:
        same = theirs.get(name)
        if same is not None and same.oid.raw == raw and same.mode == mode:
            continue
        shown_path = f"{path}/{shown(name)}" if path else shown(name)
        if depth == 2 and path.startswith("runs/") and _RUN_ID.match(name):
            tips.set_aside(name.decode(), f"{where}: {shown_path}: an older chain commit holds another copy of "
                                          "this run than the fetched tip")
            continue
        if same is None or depth >= 3 or mode != TREE_MODE or same.mode != TREE_MODE:
            raise refused(f"{where}: {shown_path}", "an older chain commit holds what the fetched tip does "
                                                    "not (only the tip's checked runs may be kept alive)")
        old = tips.child(base, name, where) if base is not None else None
        old_tree = old[1] if old is not None and old[0] == TREE_MODE else None
        _check_within(tips, pygit2.Oid(raw=raw), old_tree, same.oid, where, shown_path, depth + 1, run)


def _record_of(git: pygit2.Repository, run_id: str, checked: Checked, local: pygit2.Tree | None
               ) -> Record | None:
    """The record a run commit carries: a checked incoming one, or the one here (trusted)."""
    if run_id in checked.records:
        return checked.records[run_id]
    import json

    try:
        blob = local[f"{runs.run_dir(run_id)}/{runs.RUN_FILE}"] if local is not None else None
    except KeyError:
        return None
    if not isinstance(blob, pygit2.Blob):
        return None
    found: Record = json.loads(blob.data)
    return found


class _RunCommit(NamedTuple):
    """A run commit met by the walk, checked against its record once the runs are checked."""

    commit: pygit2.Commit
    ref: runs.RunRef
    where: str
    adds: bool  # its tree adds the run folder it names (its chain parent's does not hold it)
    set_aside: bool  # the walk had set its run aside when it met it


def _met_run_commit(git: pygit2.Repository, commit: pygit2.Commit, ref: runs.RunRef, where: str,
                    tips: _Tips, set_aside: bool) -> _RunCommit:
    names = [part.encode() for part in runs.run_dir(ref.id).split("/")]
    parents = commit.parent_ids
    here = tips.path(commit.tree_id, names, where)
    before = tips.path(tips.commit(parents[0]).tree_id, names, where) if parents else None
    return _RunCommit(commit, ref, where, here is not None and before is None, set_aside)


def _check_run_commit(git: pygit2.Repository, met: _RunCommit, checked: Checked, local: pygit2.Tree | None) -> None:
    """A run commit adds the run it names, carries its start time, and pins only what it recorded."""
    commit, ref, where = met.commit, met.ref, met.where
    if ref.id in checked.bad or met.set_aside:
        return  # set aside: this commit is never merged (its good runs are replayed instead)
    if not met.adds:
        raise refused(where, f"names run {ref.id[:12]} but its tree does not add {runs.run_dir(ref.id)}")
    record = _record_of(git, ref.id, checked, local)
    if record is None:
        raise refused(where, f"names run {ref.id[:12]}, which the fetched tip does not hold")
    if ref.started_at != record["status"]["started_at"]:
        raise refused(where, f"Prov-Started {ref.started_at} is not the run's started_at "
                             f"{record['status']['started_at']}")
    try:
        started = ref.started
    except ValueError:
        raise refused(where, "run commit with a malformed Prov-Started time") from None
    if commit.commit_time < math.floor(started):
        raise refused(where, "run commit dated before its run started")
    allowed = {record["git"].get("commit"), record["git"].get("snapshot")} - {None}
    for pin in commit.parent_ids[1:]:
        if str(pin) not in allowed:
            raise refused(where, f"pins {str(pin)[:12]}, which is neither the git.commit nor the git.snapshot "
                                 "of its record")


@dataclass
class ChainWalk:
    """The walk of a fetched chain (walk_chain), done before or while its runs are checked; what
    needs the checked records waits in run_commits until finish_chain."""

    tip: pygit2.Oid
    local_tip: pygit2.Commit | None
    tips: _Tips
    run_commits: list[_RunCommit] = field(default_factory=list)
    error: RefusedData | None = None  # the first rule the walk found broken; raised by finish_chain


def new_walk(git: pygit2.Repository, tip: pygit2.Oid, local_tip: pygit2.Commit | None,
             ahead: TreeSource | None = None) -> ChainWalk:
    return ChainWalk(tip, local_tip, _Tips(git, ahead))


def check_chain(git: pygit2.Repository, tip: pygit2.Oid, local_tip: pygit2.Commit | None,
                checked: Checked | None = None, now: float | None = None) -> None:
    """The new commits of a fetched chain keep its rules: they and their chain parents are store
    commits (never the project's), dates strictly increase along the chain and are not ahead of this
    clock by more than a day, a run commit adds the run it names, once, is not older than it and
    pins only its record's commit and snapshot, and every older commit's tree holds only what the
    tip holds (`log` relies on these to stop early and to stay in the store).

    Walks only commits that local_tip does not reach.
    """
    checked = checked if checked is not None else Checked()
    walk = new_walk(git, tip, local_tip)
    walk_chain(git, walk, checked.tree, now)
    finish_chain(git, walk, checked)


def walk_chain(git: pygit2.Repository, walk: ChainWalk, tip_tree: pygit2.Oid | None = None,
               now: float | None = None, progress: Callable[[int, int], None] | None = None) -> None:
    """check_chain's rules that need no record, tip first; the first one broken goes to walk.error."""
    try:
        _walk(git, walk, tip_tree or _chain_commit(git, walk.tip, tip=True).tree_id,
              time.time() if now is None else now, progress)
    except RefusedData as exc:
        walk.error = exc


def finish_chain(git: pygit2.Repository, walk: ChainWalk, checked: Checked) -> None:
    """The rest of check_chain once checked holds the runs' records; refuses as check_chain would
    have (the first broken rule in walk order), then sets aside what the walk set aside."""
    local = walk.local_tip.tree if walk.local_tip is not None else None
    for met in walk.run_commits:
        _check_run_commit(git, met, checked, local)
    if walk.error is not None:
        raise walk.error
    for run_id, problem in walk.tips.bad.items():
        checked.good.pop(run_id, None)
        checked.records.pop(run_id, None)
        checked.blobs.pop(run_id, None)
        checked.staged.discard(run_id)
        checked.bad.setdefault(run_id, problem)


def _walk(git: pygit2.Repository, walk: ChainWalk, tip_tree: pygit2.Oid, clock: float,
          progress: Callable[[int, int], None] | None) -> None:
    tip, local_tip, tips = walk.tip, walk.local_tip, walk.tips
    shrink = _Shrink(tips, tip_tree)
    named: dict[str, pygit2.Oid] = {}
    empty_merges = chain_rules.EmptyMerges(git)

    def known(oid: pygit2.Oid) -> bool:
        return local_tip is not None and (oid == local_tip.id or git.descendant_of(local_tip.id, oid))

    stack, seen = [tip], {tip}
    while stack:
        oid = stack.pop()
        commit = tips.commit(oid, tip=oid == tip)
        if known(oid):
            continue
        where = f"commit {str(oid)[:12]}"
        if progress is not None:
            progress(len(seen) - len(stack), 0)  # commits taken off the stack so far
        if commit.commit_time > clock + limits.MAX_FUTURE_S:
            raise refused(where, "dated more than a day ahead of this clock")
        ref = runs.run_of(commit)
        if ref is not None:
            if ref.id in named:
                raise refused(where, f"a second run commit for run {ref.id[:12]} (the other is "
                                     f"{str(named[ref.id])[:12]})")
            named[ref.id] = oid
        set_aside = ref is not None and ref.id in tips.bad  # before this commit's own tree is looked at
        parents = runs.chain_parents(commit)
        empty_merges.see(commit, parents)
        if (ref is not None and not set_aside and len(parents) == 1
                and shrink.parent_without_run(commit, parents[0], ref.id, where)):
            walk.run_commits.append(_RunCommit(commit, ref, where, True, set_aside))  # it adds its run
        else:
            if oid != tip:
                base = tips.commit(parents[0]).tree_id if parents else None
                _check_within(tips, commit.tree_id, base, tip_tree, where, run=ref.id if ref is not None else None)
            if ref is not None:  # after its tree was checked: that reads the trees this looks up
                walk.run_commits.append(_met_run_commit(git, commit, ref, where, tips, set_aside))
        for pid in parents:
            parent = tips.commit(pid)
            if parent.commit_time >= commit.commit_time:
                raise refused(where, "commit dates do not increase along the chain")
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
        if result.tree == remote_tip.tree.id and (repo.git.descendant_of(remote_tip.id, old.id)
                                                  or chain_rules.only_merges_beyond(repo.git, old.id, remote_tip.id)):
            return remote_tip.id  # fast-forward: the remote already holds everything we have
        return merge_commit(repo, result.tree, [old, remote_tip], f"{MERGE_PREFIX} {label}\n")

    tip = runs.update_ref(repo, build, f"git prov: merge {label}")
    return Merged(tip, outcome.get("added", []))



def _run_message(run_id: str, started_at: str) -> str:
    return f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {started_at}\n"  # as runs.append


def replay_into_local(repo: Repo, remote: pygit2.Tree, checked: Checked, label: str) -> Merged:
    """Bring the good runs of a fetched tree that also holds runs set aside: each good run gets a
    run commit of its own on top of the local tip (pinning only its record's commit and snapshot),
    so nothing of the set-aside runs (nor the fetched commits that hold them) becomes reachable."""
    outcome: dict[str, list[str]] = {}

    def build(old: pygit2.Commit | None) -> pygit2.Oid:
        tip = old.id if old is not None else runs._root(repo)
        tip_commit = repo.git.get(tip)
        assert isinstance(tip_commit, pygit2.Commit)
        tree = tip_commit.tree
        when = tip_commit.commit_time
        have = set(runs.all_ids(repo, tip_commit))
        todo = sorted((r for r in checked.good if r not in have),
                      key=lambda r: (checked.records[r]["status"]["started_at"], r))
        for run_id in todo:
            record = checked.records[run_id]
            started = record["status"]["started_at"]
            pins = [pygit2.Oid(hex=p) for p in dict.fromkeys((record["git"]["commit"], record["git"]["snapshot"]))
                    if p and p in repo.git]
            grown = repo.git.get(runs._insert(repo, tree, ["runs", run_id[:2], run_id], checked.good[run_id]))
            assert isinstance(grown, pygit2.Tree)
            tree = grown
            when = max(math.ceil(time.time()), when + 1, math.ceil(limits.stamp_seconds(started) or 0))
            sig = runs._signature(repo, when)
            tip = repo.git.create_commit(None, sig, sig, _run_message(run_id, started), tree.id, [tip, *pins])
        with_forgotten = _with_forgotten(repo.git, tree, remote, label)
        if with_forgotten.id != tree.id:
            sig = runs._signature(repo, max(math.ceil(time.time()), when + 1))
            tip = repo.git.create_commit(None, sig, sig, f"{MERGE_PREFIX} {label}: forget entries\n",
                                         with_forgotten.id, [tip])
        outcome["added"] = todo
        return tip

    tip = runs.update_ref(repo, build, f"git prov: merge {label} (runs set aside)")
    return Merged(tip, outcome.get("added", []))
