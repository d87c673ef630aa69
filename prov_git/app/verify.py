"""`git prov verify`: check stored runs against themselves, the mirror, the object store and the disk.

Every check returns problems as data (`Problem`), never raises for what it finds: a forged or
damaged record is an answer here, not an error. Per run:

- the record in refs/prov/runs parses, matches the schema (the fast interpreter, proven to agree
  with jsonschema, which words what is wrong when it finds something), is in the one byte form
  git prov writes, and its id is the hash of its content and the name of its folder;
- each directory entry's manifest is stored beside it and hashes to the entry's digest;
- the pinned code commit and snapshot exist and are reachable from refs/prov/runs;
- the mirror .prov/runs/<id>/ holds exactly the files of the ref (a gap after a crash is reported
  until `git prov mirror` mends it);
- inputs and outputs on disk still have the recorded digests; inside a directory each changed,
  vanished or new file is named by its own path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prov_git import records as rec
from prov_git.capture import files
from prov_git.errors import InputError, InvalidRecord
from prov_git.records import limits
from prov_git.records.manifest import Problem, algorithm_of, check_manifests, entries, manifest_files
from prov_git.records.schema import check as schema_check
from prov_git.records.schema import prepare_proof, validate_strict
from prov_git.records.schema import proved_valid as schema_proved_valid
from prov_git.store import mirror, pins, runs, sign
from prov_git.store.repo import Repo


@dataclass
class Report:
    runs: list[str] = field(default_factory=list)
    paths: int = 0
    problems: list[Problem] = field(default_factory=list)
    absent: list[Problem] = field(default_factory=list)  # --all: recorded, not on disk; not a problem

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "runs": self.runs, "paths_checked": self.paths,
                "problems": [p.as_dict() for p in self.problems], "absent": [p.as_dict() for p in self.absent]}


@dataclass
class Loaded:
    """One run as stored: its files in the ref and the record when it could be read (from load_all
    on many cores, only the part verify_all reads of it: _read_by_verify_all)."""

    id: str
    files: dict[str, bytes]
    record: rec.Record | None
    problems: list[Problem]
    mirror: list[Problem] | None = None  # compare_mirror's, when a worker of load_all already did it


# ------------------------------------------------------------------------------ pure checks


def check_record(run_id: str, data: bytes | None, bulk: bool = False) -> tuple[rec.Record | None, list[Problem]]:
    """Parse, schema-check and id-check one stored run.json; the record is None when unusable
    (bulk: one of many, worth the fast schema proof's import)."""
    where = f"{runs.REF}:{runs.run_dir(run_id)}/{runs.RUN_FILE}"
    if data is None:
        return None, [Problem(run_id, "record", where, "missing: the run folder has no run.json")]
    proved = rec.fast_stored(data)  # the same answers as the slow way below, ~3x faster
    if proved is not None:
        record = proved[0]
    else:
        try:
            record = json.loads(data.decode("utf-8"), parse_constant=rec.reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return None, [Problem(run_id, "record", where, f"not valid JSON ({_one_line(exc)})")]
    proved_valid = bulk and proved is not None and schema_proved_valid(record)
    fast = None if proved_valid else schema_check(record)  # tests/test_schema.py: both agree with jsonschema
    if fast is not None:
        try:
            validate_strict(record)  # jsonschema's own words for what is wrong
        except InvalidRecord as exc:
            return None, [Problem(run_id, "schema", where, _one_line(exc))]
        return None, [Problem(run_id, "schema", where, _one_line(fast))]
    for key in ("started_at", "ended_at"):  # the schema's pattern lets month 13 through
        if limits.stamp_seconds(record["status"].get(key)) is None:
            return None, [Problem(run_id, "schema", where, f"status.{key} {record['status'].get(key)!r} is not "
                                                           "an RFC 3339 UTC time")]
    problems = []
    if proved is None and not rec.in_stored_form(data, record):
        problems.append(Problem(run_id, "record", where, "is not in the one byte form git prov writes "
                                                         "(sorted keys, two-space indent, no duplicate keys)"))
    try:
        actual = proved[1] if proved is not None else rec.compute_id(record)
    except ValueError as exc:  # 1e400 or 2**64: JSON, but no RFC 8785 form, so no id at all
        no_id = f"a number has no canonical JSON form ({_one_line(exc)})"
        return None, [*problems, Problem(run_id, "id", where, no_id)]
    if record["id"] != actual:
        problems.append(Problem(run_id, "id", where,
                                f"id {record['id'][:12]} is not the hash of its content ({actual[:12]}): "
                                "the record was edited"))
    if record["id"] != run_id:
        problems.append(Problem(run_id, "id", where, f"stored under {run_id[:12]} but its id is {record['id'][:12]}"))
    return record, problems


def _one_line(exc: BaseException | str) -> str:
    return " ".join(str(exc).split())


def compare_mirror(run_id: str, stored: dict[str, bytes], mirrored: dict[str, bytes] | None) -> list[Problem]:
    """The mirror folder must hold exactly the ref's files for the run, byte for byte."""
    folder = f"{mirror.MIRROR_DIR}/runs/{run_id}"
    hint = "run `git prov mirror`"
    if mirrored is None:
        return [Problem(run_id, "mirror", folder, f"missing from the mirror; {hint}")]
    problems = []
    for name in sorted(stored):
        if name not in mirrored:
            problems.append(Problem(run_id, "mirror", f"{folder}/{name}", f"missing from the mirror; {hint}"))
        elif mirrored[name] != stored[name]:
            problems.append(Problem(run_id, "mirror", f"{folder}/{name}",
                                    f"differs from the blob in {runs.REF}; {hint}"))
    for name in sorted(set(mirrored) - set(stored)):
        problems.append(Problem(run_id, "mirror", f"{folder}/{name}",
                                f"is not part of the run in {runs.REF}; remove it"))
    return problems


def compare_entry(run_id: str, recorded: dict[str, Any], recorded_files: list[dict[str, Any]] | None,
                  now: dict[str, Any] | None, now_files: list[dict[str, Any]] | None) -> list[Problem]:
    """Recorded entry vs the same path described now (None: it vanished)."""
    path = recorded["path"]
    if now is None or now["type"] == "missing":
        return [Problem(run_id, "vanished", path, f"vanished (recorded {_short(recorded)})")]
    if now["type"] != recorded["type"]:
        return [Problem(run_id, "type", path, f"is now a {now['type']}, the run recorded a {recorded['type']}")]
    if now["digest"] == recorded["digest"]:
        return []
    if recorded["type"] != "dir" or recorded_files is None or now_files is None:
        return [Problem(run_id, "changed", path, f"changed (recorded {_short(recorded)}, now {_short(now)})")]
    return compare_manifest(run_id, path, recorded_files, now_files)


def compare_manifest(run_id: str, folder: str, recorded: list[dict[str, Any]],
                     now: list[dict[str, Any]]) -> list[Problem]:
    """Name each file inside a directory that changed, vanished or appeared."""
    before = {f["path"]: f for f in recorded}
    after = {f["path"]: f for f in now}
    problems = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if new is None:
            problems.append(Problem(run_id, "vanished", path, f"vanished from {folder} (recorded {_short(old)})"))
        elif old is None:
            problems.append(Problem(run_id, "added", path, f"appeared in {folder} after the run"))
        elif old.get("type") != new.get("type"):
            problems.append(Problem(run_id, "type", path, f"is now a {new['type']}, the run recorded a {old['type']}"))
        elif old.get("digest") != new.get("digest"):
            problems.append(Problem(run_id, "changed", path, f"changed (recorded {_short(old)}, now {_short(new)})"))
    if not problems:  # same files, same digests: only the listing itself differs
        problems.append(Problem(run_id, "changed", folder, "changed (its file list differs from the manifest)"))
    return problems


def _short(entry: dict[str, Any] | None) -> str:
    if not entry or not entry.get("digest"):
        return "no digest"
    algorithm, _, hexdigest = str(entry["digest"]).partition(":")
    return f"{algorithm}:{hexdigest[:12]}"


# ------------------------------------------------------------------------------------- I/O


def load_run(repo: Repo, run_id: str) -> Loaded:
    return checked_run(run_id, runs.run_files(repo, run_id))


def checked_run(run_id: str, stored: dict[str, bytes], bulk: bool = False) -> Loaded:
    """The record and integrity problems of one run whose files were read: pure."""
    record, problems = check_record(run_id, stored.get(runs.RUN_FILE), bulk)
    if record is not None:
        problems += check_manifests(run_id, record, stored)
    return Loaded(run_id, stored, record, problems)


PARALLEL_FROM = 400  # runs: below this, a second process costs more than it saves


def load_all(repo: Repo, progress: bool = False) -> list[Loaded]:
    """checked_run of every run of the ref, sorted by id: the blobs read in one stream, the checks
    (CPU-bound, pure) and the mirror's comparison on every core when there are many; progress: a
    counter on stderr."""
    from prov_git.store.remote import counter, stored_runs

    listed = stored_runs(repo)
    show = counter("checking runs") if progress else (lambda done, total: None)
    cores = os.cpu_count() or 1
    import multiprocessing

    if len(listed) < PARALLEL_FROM or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _gathered((checked_run(run_id, stored) for run_id, stored in listed), len(listed), show)
    global _LISTED, _MIRROR
    prepare_proof()  # once, before the workers fork
    _LISTED = listed  # forked workers find the files here: only indices go out, only problems come back
    _MIRROR = str(mirror.root(repo) / "runs") if repo.workdir is not None else None
    try:
        with multiprocessing.get_context("fork").Pool(cores) as pool:
            answers = pool.imap(_problems, range(len(listed)), chunksize=64)
            return _gathered((Loaded(run_id, stored, *answer)
                              for (run_id, stored), answer in zip(listed, answers, strict=True)), len(listed), show)
    finally:
        _LISTED, _MIRROR = [], None


def _gathered(loaded: Iterable[Loaded], total: int, show: Callable[[int, int], None]) -> list[Loaded]:
    out = []
    for done, run in enumerate(loaded, 1):
        out.append(run)
        show(done, total)
    return out


_LISTED: list[tuple[str, dict[str, bytes]]] = []
_MIRROR: str | None = None  # the mirror's runs/ folder, when there is a work tree


def _problems(index: int) -> tuple[rec.Record | None, list[Problem], list[Problem] | None]:
    """checked_run and compare_mirror in a worker: what verify_all reads of the record (None when
    unusable), and the problems."""
    run_id, stored = _LISTED[index]
    loaded = checked_run(run_id, stored, bulk=True)
    mirrored = None if _MIRROR is None else compare_mirror(run_id, stored, read_folder(os.path.join(_MIRROR, run_id)))
    return (None if loaded.record is None else _read_by_verify_all(loaded.record)), loaded.problems, mirrored


def _read_by_verify_all(record: rec.Record) -> Any:
    """The part of a record verify_all reads after load_all (the pins, the start time, the hash
    algorithm, the paths), the same keys and values: a worker sends back ~200 bytes instead of the
    parent parsing the whole record again (~18 us a run, on a core the workers need)."""
    git, status = record["git"], record["status"]
    return {"git": {key: git[key] for key in ("commit", "snapshot") if key in git},
            "status": {"started_at": status["started_at"]}, "recorder": record["recorder"],
            "inputs": record["inputs"], "outputs": record["outputs"]}


def read_mirror(repo: Repo, run_id: str) -> dict[str, bytes] | None:
    return read_folder(str(mirror.run_path(repo, run_id)))


def read_folder(folder: str) -> dict[str, bytes] | None:
    """The files of one mirror folder by name, or None when it is not a folder."""
    try:
        items = list(os.scandir(folder))
    except OSError:  # missing, or not a folder
        return None
    found = {}
    for item in items:
        # Dot files are an interrupted atomic write's temp files: never part of the view.
        if item.name.startswith(".") or not item.is_file():
            continue
        try:
            with open(item.path, "rb") as f:
                found[item.name] = f.read()
        except OSError:
            found[item.name] = b""
    return found


def stray_mirror_runs(repo: Repo, known: set[str]) -> list[Problem]:
    """Run folders in the mirror that the ref does not hold (a forged or leftover view)."""
    folder = mirror.root(repo) / "runs"
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [Problem(name, "mirror", f"{mirror.MIRROR_DIR}/runs/{name}",
                    f"is in the mirror but not in {runs.REF}; remove it or run `git prov mirror`")
            for name in names if not name.startswith(".") and name not in known]


def check_pins(repo: Repo, run: Loaded, reachable: set[str] | None,
               kinds: dict[str, str] | None = None) -> list[Problem]:
    """The recorded commit and snapshot exist and are kept alive by refs/prov/runs (kinds: the
    object kinds already looked up, shared by the runs of one verify: many pin one commit)."""
    if run.record is None:
        return []
    problems = []
    kinds = kinds if kinds is not None else {}
    for what in ("commit", "snapshot"):
        oid = run.record["git"][what]
        if not oid:
            continue
        found = kinds.get(oid)
        if found is None:
            found = kinds[oid] = pins.kind(repo, oid)
        if found == "missing":
            problems.append(Problem(run.id, "pin", f"git.{what} {oid[:12]}", "does not exist in the object store"))
        elif found != "commit":
            problems.append(Problem(run.id, "pin", f"git.{what} {oid[:12]}", "is not a commit"))
        elif not (oid in reachable if reachable is not None else pins.reachable(repo, oid)):
            problems.append(Problem(run.id, "pin", f"git.{what} {oid[:12]}",
                                    f"is not reachable from {runs.REF}; `git gc` may delete it"))
    return problems


def check_on_disk(workdir: Path, run: Loaded, entry: dict[str, Any]) -> list[Problem]:
    """One recorded path against the work tree now."""
    if entry["type"] == "missing":
        return []  # the run did not produce it: nothing to hold it to
    if entry.get("written") is False:
        # The file is an earlier run's: matching it on disk proves nothing about this run.
        return [Problem(run.id, "not-written", entry["path"],
                        "was not written by this run (it was there, unchanged, before the command started)")]
    record = run.record
    assert record is not None
    algorithm = algorithm_of(record)
    # Always the content, never the hash cache: a stat-keyed cache can be fooled by restoring an
    # mtime, and verify is what one runs when in doubt.
    try:
        # A forged path may lead through a symlinked folder out of the work tree: never read there.
        files.repo_relative(workdir, workdir, entry["path"])
        now, side = files.describe(workdir, entry["path"], algorithm, files.plain_digester(algorithm),
                                   must_exist=False)
    except InputError as exc:
        return [Problem(run.id, "unreadable", entry["path"], _one_line(exc))]
    recorded_files = now_files = None
    if entry["type"] == "dir" and now["type"] == "dir" and now["digest"] != entry["digest"]:
        recorded_files = manifest_files(run.files.get(entry.get("manifest") or "", b""))
        now_files = manifest_files(side.get(now.get("manifest") or "", b""))
    return compare_entry(run.id, entry, recorded_files, now, now_files)


# ---------------------------------------------------------------------------------- drivers


def verify_runs(repo: Repo, run_ids: Sequence[str]) -> Report:
    """Check the given runs; their paths on disk are held to these runs themselves."""
    loaded = [load_run(repo, run_id) for run_id in dict.fromkeys(run_ids)]
    pairs = [(run, e) for run in loaded if run.record is not None for e in entries(run.record)]
    return _report(repo, loaded, None, pairs)


def recorders(loaded: Sequence[Loaded]) -> dict[str, list[tuple[Loaded, dict[str, Any]]]]:
    """Each path -> every run that recorded it as its own (not missing, not `written: false`),
    newest first (start time, then id)."""
    owned: list[tuple[float, str, Loaded, list[dict[str, Any]]]] = []
    for run in loaded:
        record = run.record
        if record is None:
            continue
        own = [e for e in entries(record) if e["type"] != "missing" and e.get("written") is not False]
        if own:  # only these runs need their start time parsed
            owned.append((runs.parse_time(record["status"]["started_at"]), run.id, run, own))
    owned.sort(key=lambda u: (u[0], u[1]), reverse=True)
    found: dict[str, list[tuple[Loaded, dict[str, Any]]]] = {}
    for _, _, run, own in owned:
        for entry in own:
            found.setdefault(entry["path"], []).append((run, entry))
    return found


def check_path(workdir: Path, candidates: Sequence[tuple[Loaded, dict[str, Any]]]) -> tuple[list[Problem], bool]:
    """A path on disk against every run that recorded it: fine when its content is any one of
    theirs (clones share runs: another clone's newer run does not make this one's file wrong), a
    problem (held to the newest) when it is none of them. Second value: the path is absent."""
    newest_run, newest_entry = candidates[0]
    path = newest_entry["path"]
    now_by_algorithm: dict[str, dict[str, Any]] = {}
    for run, entry in candidates:
        assert run.record is not None
        algorithm = algorithm_of(run.record)
        if algorithm not in now_by_algorithm:
            try:
                files.repo_relative(workdir, workdir, path)  # never read through a symlink out of the tree
                now_by_algorithm[algorithm] = files.describe(workdir, path, algorithm,
                                                             files.plain_digester(algorithm), must_exist=False)[0]
            except InputError as exc:
                return [Problem(newest_run.id, "unreadable", path, _one_line(exc))], False
        now = now_by_algorithm[algorithm]
        if now["type"] == "missing":
            return [], True
        if now["type"] == entry["type"] and now["digest"] == entry["digest"]:
            return [], False
    return check_on_disk(workdir, newest_run, newest_entry), False


def verify_all(repo: Repo, progress: bool = False) -> Report:
    """Every run's integrity; each path on disk against every run that recorded it (progress: a
    counter on stderr while the runs are checked)."""
    loaded = load_all(repo, progress)
    report = _report(repo, loaded, pins.pinned_commits(repo), [])
    if repo.workdir is not None:
        for path, candidates in sorted(recorders(loaded).items()):
            report.paths += 1
            problems, absent = check_path(repo.workdir, candidates)
            report.problems += problems
            if absent:
                report.absent.append(Problem(candidates[0][0].id, "absent", path,
                                             f"not on disk (recorded by {len(candidates)} run(s))"))
        report.problems += stray_mirror_runs(repo, {r.id for r in loaded})
    report.problems += set_aside(repo)
    return report


def set_aside(repo: Repo) -> list[Problem]:
    """Runs a fetch set aside (store/remote.py): named until a clean fetch from that remote clears them."""
    from prov_git.store.remote import QUARANTINE_PREFIX, quarantined

    return [Problem(run_id, "set aside", f"{QUARANTINE_PREFIX}{name}",
                    f"fetch from {name} set this run aside: {problem}")
            for name, run_id, problem in quarantined(repo)]


def _report(repo: Repo, loaded: Sequence[Loaded], reachable: set[str] | None,
            pairs: Iterable[tuple[Loaded, dict[str, Any]]]) -> Report:
    report = Report(runs=[r.id for r in loaded])
    kinds: dict[str, str] = {}
    for run in loaded:
        report.problems += run.problems
        report.problems += check_pins(repo, run, reachable, kinds)
        if repo.workdir is not None:
            report.problems += run.mirror if run.mirror is not None else compare_mirror(
                run.id, run.files, read_mirror(repo, run.id))
    if repo.workdir is not None:  # a bare repository has no files to hold the runs to
        for run, entry in pairs:
            report.paths += 1
            report.problems += check_on_disk(repo.workdir, run, entry)
    return report


def verify_specs(repo: Repo, specs: Sequence[str]) -> Report:
    """verify_runs for run references (@, prefixes, ids)."""
    from prov_git.store.resolve import resolve

    return verify_runs(repo, [resolve(repo, spec) for spec in specs])


# ------------------------------------------------------------------------------ signatures


@dataclass
class SignatureReport:
    """verify --signatures: each run's signature state, as git checks its run commit."""

    runs: list[tuple[str, sign.Signature]] = field(default_factory=list)
    hint: str | None = None  # what to configure so that the signatures can be trusted at all

    def failed(self, require_signed: bool) -> bool:
        """A bad signature always fails; with require_signed, so does anything not good."""
        return any(s.state in ("bad", "revoked") or (require_signed and not s.trusted) for _, s in self.runs)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, s in self.runs:
            out[s.state] = out.get(s.state, 0) + 1
        return out

    def as_dict(self, require_signed: bool = False) -> dict[str, Any]:
        return {"ok": not self.failed(require_signed), "hint": self.hint,
                "runs": [{"run": run_id, **s.as_dict()} for run_id, s in self.runs]}


def verify_signatures(repo: Repo, specs: Sequence[str]) -> SignatureReport:
    """The signature of each given run (every run when none is given), newest first."""
    from prov_git.store.resolve import resolve

    wanted = [resolve(repo, spec) for spec in dict.fromkeys(specs)]
    commits: dict[str, str] = {}
    order: list[str] = []
    for ref in runs.iter_newest(repo):
        commits.setdefault(ref.id, ref.commit)
        order.append(ref.id)
    chosen = list(dict.fromkeys(wanted)) if wanted else list(dict.fromkeys(order))
    found = sign.check_runs(repo, {r: commits[r] for r in chosen if r in commits})
    report = SignatureReport()
    for run_id in chosen:
        report.runs.append((run_id, found.get(run_id) or sign.Signature(
            "", "unsigned", detail=f"no run commit on {runs.REF} carries it")))
    if any("allowedSignersFile" in s.detail for _, s in report.runs):
        report.hint = sign.ALLOWED_SIGNERS_HINT
    return report
