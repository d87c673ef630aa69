"""`git prov record`: capture every section around one command run and store the record."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

from prov_git import records as rec
from prov_git.capture import env as env_capture
from prov_git.capture import files, hashcache, process
from prov_git.errors import InputError, ParamsError, RunPending, SnapshotRace, StoreError, UsageError
from prov_git.records import limits
from prov_git.records.digest import check_algorithm
from prov_git.records.text import escape_name, record_text
from prov_git.redact import Redactor
from prov_git.store import mirror, pending, runs, sign, snapshot
from prov_git.store.keys import load_key, peek_key
from prov_git.store.repo import Repo

NAME_MAX = 200  # schemas/run.schema.json: name.maxLength


# Plain classes rather than dataclasses: each @dataclass costs 0.6 ms of every record's start-up.
class RecordRequest:
    def __init__(self, argv: list[str], inputs: Sequence[str] = (), outputs: Sequence[str] = (),
                 params: Sequence[str] = (), params_files: Sequence[str] = (),
                 metrics_files: Sequence[str] = (), name: str | None = None, execute: bool = True,
                 sign: bool | None = None) -> None:
        self.argv = argv
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.params = list(params)
        self.params_files = list(params_files)
        self.metrics_files = list(metrics_files)
        self.name = name
        self.execute = execute
        self.sign = sign  # --sign/--no-sign; None follows prov.sign, then commit.gpgSign
        self.replay: Replay | None = None  # set by rerun: where and from what the run is replayed
        self.params_value: dict[str, Any] = {}  # the Python API's params, over -p and params files


class Replay:
    """A rerun: the command runs in a materialised copy of a recorded tree, whose git section is the
    original's (that tree is exactly what runs), with the original's params."""

    def __init__(self, workdir: Path, git: dict[str, Any], params: dict[str, Any], rerun_of: str) -> None:
        self.workdir = workdir
        self.git = git
        self.params = params
        self.rerun_of = rerun_of


class RecordResult:
    def __init__(self, record: rec.Record, exit_status: int, warnings: list[str], stats: str = "") -> None:
        self.record = record
        self.exit_status = exit_status
        self.warnings = warnings
        self.stats = stats  # what the hash cache did (PROV_DEBUG_STATS=1 prints it)


def redactor(repo: Repo, key: bytes | None = None) -> Redactor:
    return Redactor(
        load_key(repo.state_dir) if key is None else key,
        allow=repo.config_all("prov.redact.allow"),
        deny=repo.config_all("prov.redact.deny"),
        enabled=repo.config_bool("prov.redact.enabled", True),
    )


def hash_algorithm(repo: Repo) -> str:
    return str(repo.setting("prov.hashAlgorithm"))


def capture_env(repo: Repo, redact: Redactor) -> dict[str, Any]:
    env = env_capture.capture(
        os.environ, repo.config_all("prov.env.include"), repo.config_all("prov.env.exclude")
    )
    env["vars"] = redact.env(env["vars"])
    return env


def preview_env(repo: Repo) -> dict[str, str]:
    """The env vars a record would store, redacted; writes nothing (not even a first key)."""
    # Without a key yet, fingerprints are shown under a throwaway key: the marks are what matter.
    key = peek_key(repo.state_dir) or os.urandom(32)
    chosen = env_capture.select_vars(os.environ, repo.config_all("prov.env.include"),
                                     repo.config_all("prov.env.exclude"))
    return redactor(repo, key).env(chosen)


def capture_git(repo: Repo, results: Sequence[str], declared: Sequence[str], algorithm: str,
                digester: files.Digester, *, commit: bool = True) -> tuple[dict[str, Any], list[str], str | None]:
    """The git section (its snapshot written unless commit=False), warnings, and the code's tree id.
    Untracked files beyond the snapshot bounds are named with their size and digest."""
    snap = snapshot.capture(repo, results, declared, commit=commit)
    if snap.omitted:
        workdir = repo.require_workdir()
        named = []
        for path, size in snap.omitted:
            try:
                entry, _ = files.describe(workdir, path, algorithm, digester, must_exist=True)
            except InputError:  # gone or unreadable since status ran
                continue
            named.append({"path": escape_name(path), "size": entry["size"] if entry["size"] is not None else size,
                          "digest": entry["digest"]})
        snap.git["untracked_omitted"] = named
    return snap.git, snap.warnings, snap.tree


def _paths(workdir: Path, cwd: Path, given: Sequence[str]) -> list[str]:
    rels = [files.repo_relative(workdir, cwd, p) for p in given]
    return list(dict.fromkeys(rels))


def _prehash(workdir: Path, rels: Sequence[str], digester: files.Digester) -> None:
    """Hash the plain files among rels as one batch, so several large inputs share the cores."""
    batch = []
    for rel in rels:
        path = str(workdir / rel)
        with contextlib.suppress(OSError):  # describe reports what is wrong with it
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                batch.append((path, st))
    if len(batch) > 1:
        files.digest_many(digester, batch)


def _describe_all(
    workdir: Path, rels: Sequence[str], algorithm: str, digester: files.Digester, *, must_exist: bool,
    warnings: list[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Entries and side files for rels; with warnings given, a path that cannot be described is
    reported there and left out instead of failing (after the command ran, the run must be kept)."""
    _prehash(workdir, rels, digester)
    entries, side = [], {}
    for rel in rels:
        try:
            entry, extra = files.describe(workdir, rel, algorithm, digester, must_exist=must_exist)
        except InputError as exc:
            if warnings is None:
                raise
            warnings.append(f"{rel} not recorded: {exc}")
            continue
        entries.append(entry)
        side.update(extra)
    return entries, side


def record_run(repo: Repo, request: RecordRequest, cwd: Path,
               notify: Callable[[str], None] | None = None) -> RecordResult:
    """Validate everything that can fail before the command runs, run it, then store the record."""
    steps = record_steps(repo, request, cwd, notify)
    next(steps)
    try:
        with process.deferred_signals():  # once the command ran, the store is not interrupted
            try:
                status = process.run(request.argv, cwd) if request.execute else process.not_executed()
            except BaseException:
                steps.close()
                raise
            steps.send(Ran(status))
    except StopIteration as done:
        result: RecordResult = done.value
        return result
    raise AssertionError("record_steps yields once")  # pragma: no cover


class Ran:
    """What happened while the run ran: its status, and (Python API) what the block added."""

    def __init__(self, status: dict[str, Any], params: dict[str, Any] | None = None,
                 metrics: dict[str, Any] | None = None, outputs: Sequence[str] = ()) -> None:
        self.status = status
        self.params = params or {}
        self.metrics = metrics or {}
        self.outputs = list(outputs)


class _Before:
    """What record_steps knows once every pre-run check passed: the run's sections so far."""

    def __init__(self, workdir: Path, cwd: Path, algorithm: str, redact: Redactor,
                 digester: hashcache.CachedDigester) -> None:
        self.workdir, self.cwd, self.algorithm, self.redact, self.digester = (
            workdir, cwd, algorithm, redact, digester)
        self.hidden: list[str] = []  # params and metrics redacted: the user is told, the values are gone
        self.params: dict[str, Any] = {}
        self.inputs: list[dict[str, Any]] = []
        self.side: dict[str, bytes] = {}
        self.checked: dict[str, bytes] = {}  # side files whose limits were checked before the command
        self.output_paths: list[str] = []
        self.output_globs: list[str] = []  # expanded after the run
        self.git: dict[str, Any] = {}
        self.warnings: list[str] = []  # the snapshot's
        self.held: str | None = None
        self.env: dict[str, Any] = {}
        self.command: dict[str, Any] = {}
        self.signed = False

    def paths(self, given: Sequence[str]) -> list[str]:
        return _paths(self.workdir, self.cwd, given)


def record_steps(repo: Repo, request: RecordRequest, cwd: Path,
                 notify: Callable[[str], None] | None = None) -> Generator[None, Ran, RecordResult]:
    """record_run in two halves: everything before the command, then (after `send(Ran(...))`)
    everything after it. The CLI runs the command in between; the Python API runs a `with` block."""
    before = _prepare(repo, request, cwd, notify)
    # The last thing before the command: what each output and metrics file is now, to tell what
    # the run wrote from what an earlier run left (docs/format.md, `written`).
    matched_before = before.paths(files.expand_globs(before.cwd, before.output_globs, must_match=False))
    watched = _Watch(before.workdir, before.output_paths + matched_before,
                     [before.cwd / m for m in request.metrics_files]) if request.execute else None
    try:
        ran = yield
    except BaseException:  # the command could not be started: nothing to keep
        runs.release(repo, before.held)
        raise
    # From here on the command has run: a problem with an output or a metrics file is a warning,
    # never a reason to lose the record of the run.
    warnings: list[str] = before.digester.warnings  # files that changed while hashed, inputs included
    warnings += before.warnings
    params = (before.redact.tree(_merged(before.params, ran.params), found=before.hidden)
              if ran.params else before.params)
    outputs = _outputs_after(before, ran, watched, warnings)
    metrics = _metrics_after(before, request.metrics_files, ran, watched, warnings)
    replay = request.replay
    record = rec.assemble(
        name=before.redact.value(record_text(request.name)) if request.name else request.name,
        command=before.command, status=ran.status, git=before.git, inputs=before.inputs, outputs=outputs,
        params=params, metrics=metrics, env=before.env, hash_algorithm=before.algorithm,
        extra={"rerun_of": replay.rerun_of} if replay else None,
    )
    with sign.session(before.signed) as unsigned:
        store_record(repo, record, before.side, notify, before.held, checked=before.checked)
    warnings += unsigned
    return RecordResult(record=record, exit_status=process.exit_status(ran.status), warnings=warnings,
                        stats=before.digester.stats.line())


def _collect_params(request: RecordRequest, cwd: Path) -> dict[str, Any]:
    # capture.params (its parsers and regexes) is loaded only by a record that has params: ~0.7 ms.
    if not request.params and not request.params_files:
        return {}
    from prov_git.capture.params import collect_params

    return collect_params(request.params, [(p, cwd / p) for p in request.params_files])


def _collect_metrics(files: list[tuple[str, Path]]) -> dict[str, Any]:
    if not files:
        return {}
    from prov_git.capture.params import collect_metrics

    return collect_metrics(files)


def _prepare(repo: Repo, request: RecordRequest, cwd: Path,
             notify: Callable[[str], None] | None) -> _Before:
    """Every check that can fail, and every section known, before the command runs."""
    replay = request.replay
    workdir = replay.workdir if replay else repo.require_workdir()
    if request.execute and not request.argv:
        raise UsageError("nothing to run: give the command after --, or use --no-exec")
    if request.name is not None and len(request.name) > NAME_MAX:
        # Checked before the command runs: the schema would refuse the record after it ran.
        raise UsageError(f"--name is {len(request.name)} characters long; at most {NAME_MAX} fit a record")
    cwd = Path(os.path.realpath(cwd))
    algorithm = hash_algorithm(repo)
    check_algorithm(algorithm)
    input_paths = _paths(workdir, cwd, files.expand_globs(cwd, request.inputs, must_match=True))
    output_paths = _paths(workdir, cwd, [p for p in request.outputs if not files.is_glob(p)])
    redact = redactor(repo)
    hidden: list[str] = []
    params = replay.params if replay else redact.tree(_merged(_collect_params(request, cwd), request.params_value),
                                                      found=hidden)
    if request.metrics_files:
        from prov_git.capture.params import check_file

        for shown in request.metrics_files:  # a fifo there would block record after the command ran
            check_file(cwd / shown, shown=shown, kind="metrics")
    # Created before the first stat: the cache's racy-file test measures from this instant.
    cached = repo.config_bool("prov.hashCache", True) and not replay  # a rerun's folder is gone soon
    b = _Before(workdir, cwd, algorithm, redact, hashcache.digester_for(repo.state_dir, algorithm, cached))
    b.hidden, b.params = hidden, params
    b.output_paths = output_paths
    b.output_globs = [p for p in request.outputs if files.is_glob(p)]
    b.inputs, b.side = _describe_all(workdir, input_paths, algorithm, b.digester, must_exist=True)
    b.digester.save()
    # The rest of the record (env, outputs) is not known yet: 64 KiB of room stands in for it.
    check_limits({runs.RUN_FILE: rec.encode({"inputs": b.inputs, "params": b.params}) + bytes(64 << 10),
                  **b.side}, before=True)
    b.checked = dict(b.side)
    runs.tip(repo)  # a store we cannot append to fails now, not after a long run
    mirror.check(repo)
    runs.check_writable(repo, notify)
    b.signed = sign.prepare(repo, request.sign)  # so does a signing key that is not set up
    results = b.output_paths + b.paths(request.metrics_files)
    declared = input_paths + b.paths(request.params_files)
    # The snapshot's objects are written loose without fsync (2 per object: file and folder): the
    # hold packs every one of them, fsynced, before the command runs (runs.hold, write_pack).
    git, b.warnings, b.held = _held_snapshot(repo, replay, results, declared, algorithm, b.digester)
    runs.make_durable()  # from here on, every object the run will pin
    branch = git.get("branch")
    b.git = {**git, "branch": record_text(branch)} if isinstance(branch, str) else git
    b.env = capture_env(repo, redact)
    rel_cwd = cwd.relative_to(workdir).as_posix() if cwd != workdir else "."
    b.command = {"argv": redact.argv([record_text(a) for a in request.argv]), "cwd": record_text(rel_cwd),
                 "executed": request.execute}
    return b


def _outputs_after(b: _Before, ran: Ran, watched: _Watch | None, warnings: list[str]) -> list[dict[str, Any]]:
    """The outputs as the command left them, each with whether this run wrote it."""
    globbed = b.paths(files.expand_globs(b.cwd, b.output_globs, must_match=False))
    if watched:
        watched.absent_before(globbed)  # a match that is new since the command started
    output_paths = b.output_paths + [p for p in [*globbed, *b.paths(ran.outputs)] if p not in b.output_paths]
    outputs, out_side = _describe_all(b.workdir, output_paths, b.algorithm, b.digester, must_exist=False,
                                      warnings=warnings)
    b.digester.save()
    b.side.update(out_side)
    for entry in outputs:
        entry["written"] = watched.written(entry["path"]) if watched else None
        if entry["type"] == "missing":
            warnings.append(f"output {entry['path']} was not produced; recorded as missing")
        elif entry["written"] is False:
            warnings.append(f"output {entry['path']} was not written by this run (unchanged since before "
                            "the command); recorded as not written")
    return outputs


def _metrics_after(b: _Before, shown_files: Sequence[str], ran: Ran, watched: _Watch | None,
                   warnings: list[str]) -> dict[str, Any]:
    """The metrics files this run wrote (one it left as it was would be an earlier run's), redacted."""
    metrics_files = [(m, b.cwd / m) for m in shown_files]
    if watched:
        for shown, path in metrics_files:
            if watched.stale(path):
                warnings.append(f"metrics file {shown} was not written by this run (unchanged since before "
                                "the command); its metrics are not recorded")
        metrics_files = [(shown, path) for shown, path in metrics_files if not watched.stale(path)]
    hidden_metrics: list[str] = []
    try:
        metrics: dict[str, Any] = b.redact.tree(_collect_metrics(metrics_files), metrics=True,
                                                found=hidden_metrics)
    except ParamsError as exc:
        warnings.append(f"{exc}; metrics not recorded")
        metrics = {}
    if ran.metrics:
        metrics = b.redact.tree(_merged(metrics, ran.metrics), metrics=True, found=hidden_metrics)
    if b.hidden or hidden_metrics:
        warnings.append(_redacted_line(b.hidden, hidden_metrics))
    return metrics


def _redacted_line(params: list[str], metrics: list[str]) -> str:
    """One line naming what was stored as a marker (a name that only looks secret can be allowed)."""
    parts = [f"{kind} {', '.join(dict.fromkeys(paths))}" for kind, paths in (("params", params),
                                                                            ("metrics", metrics)) if paths]
    return (f"stored as secret markers: {'; '.join(parts)} "
            "(a harmless name: git config --add prov.redact.allow NAME)")


class _Watch:
    """Fingerprints of the outputs and metrics files taken just before the command ran.

    An output is `written` when its fingerprint after the command differs from before (it appeared,
    changed, or, for a directory, any file below it did); one that is absent afterwards is not.
    Paths named only after the command (the Python API's run.output) have no before: None."""

    def __init__(self, workdir: Path, outputs: Sequence[str], metrics_files: Sequence[Path]) -> None:
        self.workdir = workdir
        self.before = {rel: files.fingerprint(str(workdir / rel)) for rel in outputs}
        self.metrics_before = {str(p): files.fingerprint(str(p)) for p in metrics_files}

    def absent_before(self, rels: Sequence[str]) -> None:
        for rel in rels:
            self.before.setdefault(rel, None)

    def written(self, rel: str) -> bool | None:
        if rel not in self.before:
            return None
        after = files.fingerprint(str(self.workdir / rel))
        return after is not None and after != self.before[rel]

    def stale(self, path: Path) -> bool:
        """A metrics file that was there before the command and is exactly as it was."""
        before = self.metrics_before.get(str(path))
        return before is not None and files.fingerprint(str(path)) == before


def _held_snapshot(repo: Repo, replay: Replay | None, results: Sequence[str], declared: Sequence[str],
                   algorithm: str, digester: files.Digester) -> tuple[dict[str, Any], list[str], str | None]:
    """The git section and its warnings, the snapshot held by a temporary ref until the run's commit
    pins it (a `git gc --prune=now` meanwhile would delete it); taken again when a prune won that race."""
    if replay:
        return replay.git, [], None
    for attempt in range(5):
        try:
            git, warnings, _ = capture_git(repo, results, declared, algorithm, digester)
            return git, warnings, runs.hold(repo, str(git["snapshot"]) if git["snapshot"] else None)
        except SnapshotRace:  # a file changed as it was read, a concurrent gc: another try
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """base with over laid on top, nested objects merged key by key."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def check_limits(payload: dict[str, bytes], *, before: bool, checked: dict[str, bytes] | None = None) -> None:
    """Refuse a run that fetch would refuse: once pushed, no other clone could fetch or push again.
    Checked before the command runs on what is known then (params, inputs), again on the whole run
    (then as a StoreError: the run is saved for recovery, never stored where fetch refuses it)."""
    problem = limits.payload_problem(payload, checked)
    if problem is None:
        return
    if before:
        raise InputError(f"this run breaks a limit every clone's fetch enforces ({problem}); nothing was run")
    raise StoreError(f"it breaks a limit every clone's fetch enforces ({problem})")


def store_record(repo: Repo, record: rec.Record, side: dict[str, bytes],
                 notify: Callable[[str], None] | None = None, held: str | None = None,
                 checked: dict[str, bytes] | None = None) -> None:
    """Commit to refs/prov/runs first, then the mirror: a crash between leaves a gap `mirror` mends.
    A run the ref cannot take is saved under .git/prov/pending/ for `git prov recover`."""
    run_id = record["id"]
    payload = {runs.RUN_FILE: rec.encode(record), **side}
    pins = [c for c in (record["git"]["commit"], record["git"]["snapshot"]) if c]
    started = record["status"]["started_at"]
    try:  # a journal first: a record killed from here on leaves its run for `git prov recover`
        journal: Path | None = pending.save(repo, run_id, payload, pins, started, held, durable=False,
                                            spill=False)
    except OSError:
        journal = None
    try:
        check_limits(payload, before=False, checked=checked)
        runs.append(repo, run_id, payload, pins, started, notify=notify)
    except StoreError as exc:
        try:
            folder = pending.save(repo, run_id, payload, pins, started, held)  # keeps the hold
        except OSError as also:
            raise StoreError(f"run {run_id[:12]} ran but was not stored ({exc}), nor saved for "
                             f"recovery ({also.strerror})") from None
        how = "git prov recover" if folder.parent == pending.root(repo) else f"git prov recover {folder}"
        raise RunPending(f"run {run_id[:12]} ran but was not stored ({exc}); it is saved in {folder}: "
                         f"store it with `{how}`") from None
    if journal is not None:
        pending.discard(journal)
    runs.release(repo, held)
    try:
        mirror.write_run(repo, run_id, payload)
    except OSError as exc:  # the run is stored: the mirror is a view `git prov mirror` rebuilds
        if notify is not None:
            notify(f".prov/ not updated ({exc.strerror}); the run is stored: `git prov mirror` rewrites it")

