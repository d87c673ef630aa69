"""Move refs/prov/runs to and from git remotes: the one module that talks to remotes.

Transport is the `git` command itself, so the user's config, credential helpers, ssh, insteadOf and
proxies all apply. A fetch lands in a quarantine object directory (as receive-pack does for a
push), is checked there by prov_git.store.merge, and only then moves into the repository: refused
data leaves no object, ref or mirror file behind. A push never forces: when the remote moved on,
its runs are fetched and merged and the push is retried, a bounded number of times with jitter.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pygit2

from prov_git.errors import RefusedData, RemoteError, RunConflict
from prov_git.store import catfile, merge, mirror, runs
from prov_git.store.repo import Repo

GUARD_ENV = "GIT_PROV_HOOK"  # set for the git push we run: our pre-push hook then does not push again
PUSH_ATTEMPTS = 12
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
TMP_REF_PREFIX = "refs/prov/tmp/fetch-"
QUARANTINE_PREFIX = "refs/prov/quarantine/"
_CREDENTIALS = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_RETRYABLE_REMOTE = ("lock", "failed to update", "incorrect old value", "stale")


def strip_credentials(text: str) -> str:
    """scheme://user:token@host/… -> scheme://host/… everywhere in text."""
    return _CREDENTIALS.sub(r"\1", text)


@dataclass(frozen=True)
class Remote:
    name: str  # a configured remote, or a URL/path given on the command line
    label: str  # what messages print: the name, or the URL without credentials
    tracking: str | None  # refs/prov/remotes/<name>/runs for a configured remote


@dataclass
class FetchResult:
    remote: Remote
    tip: str | None  # the remote's refs/prov/runs, None when it has none
    added: list[str] = field(default_factory=list)  # run ids new here


@dataclass
class PushResult:
    remote: Remote
    status: str  # "pushed", "up to date", "nothing to push"
    attempts: int = 0
    fetched: list[str] = field(default_factory=list)  # runs merged in from the remote on the way


# ------------------------------------------------------------------------------ which remote


def default_remote(repo: Repo) -> str:
    """prov.remote, else the current branch's upstream remote, else origin."""
    configured = repo.config("prov.remote")
    if configured:
        return configured
    if not repo.git.head_is_detached:
        with contextlib.suppress(KeyError, pygit2.GitError):
            head = str(repo.git.references["HEAD"].target)
            if head.startswith("refs/heads/"):
                upstream = repo.config(f"branch.{head.removeprefix('refs/heads/')}.remote")
                if upstream and upstream != ".":
                    return upstream
    return "origin"


def resolve_remote(repo: Repo, name: str | None) -> Remote:
    name = name or default_remote(repo)
    try:
        named = name in repo.git.remotes.names()
    except pygit2.GitError:
        named = False
    if named:
        return Remote(name, name, f"refs/prov/remotes/{name}/runs")
    if "/" in name or ":" in name or os.path.isdir(name):
        return Remote(name, strip_credentials(name), None)
    raise RemoteError(f"no remote named {name!r}: add one with `git remote add {name} URL`, "
                      "name another, or set prov.remote")


# ------------------------------------------------------------------------------ running git


def _run_git(repo: Repo, args: list[str], *, progress: bool, env: dict[str, str] | None = None
             ) -> tuple[int, str, str]:
    """Run git in the repository; with progress, its stderr is also shown live (credentials stripped)."""
    full_env = {**os.environ, "LC_ALL": "C", **(env or {})}
    cwd = repo.workdir or Path(repo.git.path)
    try:
        proc = subprocess.Popen(["git", *args], cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise RemoteError(f"cannot run git: {exc.strerror}; is git installed and on PATH?") from None
    assert proc.stdout is not None and proc.stderr is not None
    if not progress:
        out, err = proc.communicate()
    else:
        chunks = []
        while chunk := os.read(proc.stderr.fileno(), 65536):
            chunks.append(chunk)
            sys.stderr.write(strip_credentials(chunk.decode(errors="replace")))
            sys.stderr.flush()
        err = b"".join(chunks)
        out = proc.stdout.read()  # porcelain output is a few lines: it cannot fill the pipe meanwhile
        proc.wait()
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def _git_problem(err: str) -> str:
    """The line of git's stderr that says what went wrong, credentials stripped."""
    lines = [ln.strip() for ln in err.replace("\r", "\n").splitlines() if ln.strip()]
    for prefix in ("error: object ", "fatal: ", "error: "):
        hit = next((ln for ln in lines if ln.startswith(prefix)), None)
        if hit:
            return strip_credentials(hit.removeprefix("fatal: ").removeprefix("error: "))
    return strip_credentials(lines[-1]) if lines else "git failed without a message"


# ------------------------------------------------------------------------------ fetch


@contextlib.contextmanager
def _quarantine(objects: Path) -> Iterator[Path]:
    """A temporary object directory inside the repository's, removed on the way out."""
    path = Path(tempfile.mkdtemp(prefix="tmp_objdir-prov-", dir=objects))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _migrate(quarantine: Path, objects: Path) -> None:
    """Move checked objects into the repository; a pack's .idx goes last so git never sees half a pack."""
    moves: list[Path] = []
    for folder, _, names in os.walk(quarantine):
        rel = Path(folder).relative_to(quarantine)
        moves.extend((rel / n) for n in names)
    for rel in sorted(moves, key=lambda p: (p.suffix == ".idx", str(p))):
        target = objects / rel
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(quarantine / rel, target)


@contextlib.contextmanager
def _private_ref(repo: Repo) -> Iterator[str]:
    """A ref of this fetch alone to receive the fetched tip, deleted on the way out: FETCH_HEAD is
    shared with every plain `git fetch` (an editor's auto-fetch) and could be overwritten meanwhile."""
    name = f"{TMP_REF_PREFIX}{os.getpid()}-{random.getrandbits(48):012x}"
    try:
        yield name
    finally:
        with contextlib.suppress(KeyError, pygit2.GitError):
            repo.git.references.delete(name)


def _fsck_config(repo: Repo) -> list[str]:
    # Let git itself refuse malformed objects ('..' names, bad modes) too, unless the user chose.
    if repo.config("fetch.fsckObjects") is None and repo.config("transfer.fsckObjects") is None:
        return ["-c", "fetch.fsckObjects=true"]
    return []


@contextlib.contextmanager
def _one_fetch_at_a_time(repo: Repo) -> Iterator[None]:
    """Fetches in one repository take turns: each reads the tip it fetched from FETCH_HEAD."""
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    with open(repo.state_dir / "fetch.lock", "a+b") as lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: concurrent fetches in one clone are not serialized
            yield
            return
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def fetch(repo: Repo, name: str | Remote | None, *, progress: bool = False) -> FetchResult:
    """Fetch, check and merge the remote's refs/prov/runs; refuses hostile data before it lands.

    A defect of the chain or of the tree's layout refuses everything. A defect inside one run folder
    sets that run aside: the other runs are merged, the ones set aside are named in
    refs/prov/quarantine/<remote> (status and verify report them), and RefusedData says so.
    """
    remote = name if isinstance(name, Remote) else resolve_remote(repo, name)
    with mirror.staging(repo) as stage:
        return _fetch(repo, remote, stage, progress)


def _fetch(repo: Repo, remote: Remote, stage: str | None, progress: bool) -> FetchResult:
    objects = repo.common_dir / "objects"
    alternates = os.pathsep.join(p for p in (str(objects), os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES"))
                                 if p)
    with _one_fetch_at_a_time(repo), _quarantine(objects) as quarantine, _private_ref(repo) as landing:
        args = [*_fsck_config(repo), "fetch", "--quiet", "--no-tags", "--no-recurse-submodules",
                "--no-auto-maintenance", "--no-write-commit-graph", "--no-write-fetch-head", "--refmap=",
                *(["--progress"] if progress else []), remote.name, f"+{runs.REF}:{landing}"]
        code, _, err = _run_git(repo, args, progress=progress, env={
            "GIT_OBJECT_DIRECTORY": str(quarantine), "GIT_ALTERNATE_OBJECT_DIRECTORIES": alternates})
        if code != 0:
            if "couldn't find remote ref" in err:
                return FetchResult(remote, None)
            problem = _git_problem(err)
            if "fsck" in err:  # git's own check of the objects sent (fetch.fsckObjects)
                raise RefusedData(f"refused {runs.REF} from {remote.label}: {problem}; nothing was merged")
            raise RemoteError(f"cannot fetch {runs.REF} from {remote.label}: {problem}")
        tip = repo.git.references[landing].target
        assert isinstance(tip, pygit2.Oid)
        repo.git.references.delete(landing)  # before the objects move in: never a ref to unchecked data
        checked = _check(repo, quarantine, tip, remote, progress, stage)
        if checked.good or not checked.bad:  # nothing good: nothing of the remote's lands at all
            _migrate(quarantine, objects)
        if not checked.bad:  # a tracking ref would keep the runs set aside alive through gc
            _set_tracking(repo, remote, tip, "fetch")
    if checked.bad:
        return _set_aside(repo, remote, tip, checked, progress, stage)
    _clear_quarantine(repo, remote)
    return _merge(repo, remote, tip, checked, progress, stage)


def _check(repo: Repo, quarantine: Path, tip: pygit2.Oid, remote: Remote, progress: bool, stage: str | None
           ) -> merge.Checked:
    """Every new commit of the chain and every new run of its tip tree, read from the quarantine."""
    view = pygit2.Repository(repo.git.path)
    view.odb.add_disk_alternate(str(quarantine))
    stack = contextlib.ExitStack()
    try:
        # libgit2 hashes every object it reads again (70% of a tree read). git index-pack computed
        # the id of every object the remote sent from its bytes, so that proves nothing new here.
        pygit2.settings.enable_strict_hash_verification(False)
        commit = view.get(tip)
        if not isinstance(commit, pygit2.Commit):
            raise merge.refused(runs.REF, "does not point at a commit")
        merge.check_store_commit(view, tip)  # a project branch is named as such, before its tree is read
        local = runs.tip(repo)
        local_tip = view.get(local.id) if local is not None else None
        assert local_tip is None or isinstance(local_tip, pygit2.Commit)
        walk = merge.new_walk(view, tip, local_tip, stack.enter_context(
            _chain_trees(repo, quarantine, tip, local_tip.id if local_tip is not None else None)))
        checked = merge.check_incoming(view, local.tree if local is not None else None, commit.tree_id,
                                       counter("checking runs") if progress else None,
                                       reader=_blob_reader(repo, quarantine),
                                       alongside=lambda: merge.walk_chain(
                                           view, walk, commit.tree_id, progress=counter("checking commits")
                                           if progress else None), stage=stage)
        merge.finish_chain(view, walk, checked)
    except RefusedData as exc:
        raise RefusedData(f"refused {runs.REF} from {remote.label}: {exc}; nothing was merged") from None
    finally:
        stack.close()
        pygit2.settings.enable_strict_hash_verification(True)
        view.free()
    return checked


def stored_runs(repo: Repo) -> list[tuple[str, dict[str, bytes]]]:
    """(run id, its files as runs.run_files gives them) of every run of the ref, sorted by id: one
    `git ls-tree` lists them and one `git cat-file --batch` reads them (verify --all)."""
    head = runs.tip(repo)
    if head is None:
        return []
    ids = sorted(runs.all_ids(repo, head))
    listing = subprocess.run(["git", "--git-dir", repo.git.path, "ls-tree", "-r", "-z", "--full-tree", str(head.id),
                              "runs/"], capture_output=True, check=False, env={**os.environ, "LC_ALL": "C"})
    if listing.returncode != 0:
        return [(run_id, runs.run_files(repo, run_id, head)) for run_id in ids]
    blobs: dict[str, dict[str, pygit2.Oid]] = {}
    for line in listing.stdout.split(b"\0"):
        info, _, path = line.partition(b"\t")
        parts = path.decode("utf-8", "surrogateescape").split("/")
        kind = info.split(b" ")
        if len(parts) == 4 and len(kind) == 3 and kind[1] == b"blob" and parts[3] and parts[1] == parts[2][:2]:
            blobs.setdefault(parts[2], {})[parts[3]] = pygit2.Oid(hex=kind[2].decode())
    listed = [(run_id, blobs.get(run_id, {})) for run_id in ids]
    contents = merge.read_in_order(repo.git, [oid for _, names in listed for oid in names.values()],
                                   _blob_reader(repo))
    return [(run_id, {name: next(contents) for name in names}) for run_id, names in listed]


def _object_env(repo: Repo, quarantine: Path | None) -> dict[str, str]:
    """The environment of a git reading the repository's objects, and the quarantine's first."""
    env = {**os.environ, "LC_ALL": "C"}
    if quarantine is not None:
        env.update({"GIT_OBJECT_DIRECTORY": str(quarantine), "GIT_ALTERNATE_OBJECT_DIRECTORIES": os.pathsep.join(
            p for p in (str(repo.common_dir / "objects"), os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")) if p)})
    return env


_RUN_FAN = re.compile(rb"[0-9a-f]{40}(?:[0-9a-f]{24})? prov: run ([0-9a-f]{2})[0-9a-f]{62}\Z")


def _ask_chain_trees(revs: IO[bytes], stdin: IO[bytes]) -> None:
    """For each commit of the chain's first-parent line (rev-list's "<id> <subject>", tip first), ask
    for the trees the walk compares: its top, runs/, and the runs/<xx>/ of its own run and of the run
    of the commit before it (that commit's tree is compared with this one's)."""
    before: bytes | None = None
    with contextlib.suppress(OSError, ValueError):
        for line in revs:
            oid = line[:line.find(b" ")]
            if line.startswith(b"commit ") or not oid:
                continue  # rev-list's own header line
            match = _RUN_FAN.match(line.rstrip(b"\n"))
            fan = match.group(1) if match else None
            asks = [oid + b"^{tree}", oid + b":runs"]
            asks += [oid + b":runs/" + one for one in dict.fromkeys((before, fan)) if one is not None]
            stdin.write(b"".join(ask + b"\n" for ask in asks))
            before = fan
    with contextlib.suppress(OSError):
        stdin.close()


@contextlib.contextmanager
def _chain_trees(repo: Repo, quarantine: Path, tip: pygit2.Oid, local: pygit2.Oid | None
                 ) -> Iterator[merge.TreeSource | None]:
    """The trees of the fetched chain's first-parent line read ahead by `git rev-list` and one `git
    cat-file --batch`, as the walk will want them (a merge's other side is read by the walk)."""
    env = _object_env(repo, quarantine)
    git = ["git", "--git-dir", repo.git.path]
    try:
        revs = subprocess.Popen([*git, "rev-list", "--first-parent", "--format=%H %s", str(tip),
                                 *([f"^{local}"] if local is not None else [])],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        yield None
        return
    procs = [revs]
    try:
        cat = subprocess.Popen([*git, "cat-file", "--batch", "--buffer"], env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 20)
        procs.append(cat)
        assert revs.stdout is not None and cat.stdin is not None and cat.stdout is not None
        asker = threading.Thread(target=_ask_chain_trees, args=(revs.stdout, cat.stdin), daemon=True)
        asker.start()
        try:
            yield catfile.Lookahead(catfile.trees(cat.stdout))
        finally:
            cat.kill()  # the asker's next write then fails, and it ends
            asker.join()
    except OSError:
        yield None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def _blob_reader(repo: Repo, quarantine: Path | None = None) -> merge.BlobReader:
    """Blobs of the quarantine (and the repository) through one `git cat-file --batch`: git's delta
    cache reads a fresh pack several times faster than libgit2 object by object."""
    env = _object_env(repo, quarantine)

    def read(oids: list[pygit2.Oid]) -> Iterator[tuple[pygit2.Oid, bytes]]:
        if not oids:
            return
        try:
            proc = subprocess.Popen(["git", "--git-dir", repo.git.path, "cat-file", "--batch"], env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    bufsize=1 << 20)
        except OSError:
            return  # merge reads them itself
        assert proc.stdin is not None and proc.stdout is not None
        feeder = threading.Thread(target=catfile.feed, args=(proc.stdin, oids), daemon=True)
        feeder.start()
        try:
            yield from catfile.blobs(proc.stdout, oids)
        finally:
            proc.kill()
            proc.wait()
            feeder.join()

    return read


def quarantine_ref(remote: Remote) -> str:
    """refs/prov/quarantine/<remote name>, the URL made a ref name for an unnamed remote."""
    return QUARANTINE_PREFIX + (re.sub(r"[^A-Za-z0-9._-]+", "_", remote.name).strip("._") or "remote")


def _set_aside(repo: Repo, remote: Remote, tip: pygit2.Oid, checked: merge.Checked, progress: bool,
               stage: str | None) -> FetchResult:
    """Merge the good runs, name the others in the quarantine ref, and say so (RefusedData)."""
    merged = merge.Merged(pygit2.Oid(hex="0" * 40), [])
    if checked.good:  # else the remote's objects never left the quarantine
        remote_tip = repo.git.get(tip)
        assert isinstance(remote_tip, pygit2.Commit)
        merged = merge.replay_into_local(repo, remote_tip.tree, checked, remote.label)
    ref = quarantine_ref(remote)
    lines = "".join(f"{run_id}\t{problem}\n" for run_id, problem in sorted(checked.bad.items()))
    message = (f"prov: quarantine {remote.label}\n\n{runs.REF} of {remote.label} at {tip} holds "
               f"{len(checked.bad)} runs that break the fetch rules; they were set aside:\n\n{lines}")
    sig = runs._signature(repo, int(time.time()))
    note = repo.git.create_commit(None, sig, sig, message, repo.git.TreeBuilder().write(), [])
    repo.git.create_reference_direct(ref, note, True, message=f"git prov: fetch {remote.label}")
    if repo.workdir is not None and merged.added:
        tip_commit = repo.git.get(merged.tip)
        assert isinstance(tip_commit, pygit2.Commit)
        _mirror(repo, tip_commit, merged.added, checked, progress, stage)
    _, first = sorted(checked.bad.items())[0]
    more = f" (and {len(checked.bad) - 1} more runs)" if len(checked.bad) > 1 else ""
    count = len(merged.added)
    outcome = f"merged the {count} other run{'' if count == 1 else 's'}" if count else "nothing was merged"
    raise RefusedData(f"refused {runs.REF} from {remote.label}: {first}{more}; set aside in {ref} "
                      f"(`git prov status` lists them); {outcome}")


def _clear_quarantine(repo: Repo, remote: Remote) -> None:
    with contextlib.suppress(KeyError, pygit2.GitError):
        repo.git.references.delete(quarantine_ref(remote))


def quarantined(repo: Repo) -> list[tuple[str, str, str]]:
    """(remote, run id, problem) of every run a fetch set aside and a later fetch has not cleared."""
    out: list[tuple[str, str, str]] = []
    for name in repo.git.references:
        if not name.startswith(QUARANTINE_PREFIX):
            continue
        note = repo.git.get(repo.git.references[name].target)
        if not isinstance(note, pygit2.Commit):
            continue
        for line in note.message.splitlines():
            run_id, tab, problem = line.partition("\t")
            if tab and len(run_id) == 64:
                out.append((name.removeprefix(QUARANTINE_PREFIX), run_id, problem))
    return out


def counter(what: str) -> Callable[[int, int], None]:
    """A progress line on stderr, like git's own: 'git prov: checking runs: 42% (420/1000)'; a total
    of 0 means not known yet: 'git prov: checking commits: 4200'. Callers pass it only on a terminal."""
    def show(done: int, total: int) -> None:
        if total == 0:
            if done % 500 == 0:
                sys.stderr.write(f"\rgit prov: {what}: {done}")
                sys.stderr.flush()
        elif total >= 100 and (done % 50 == 0 or done == total):
            end = ", done.\n" if done == total else ""
            sys.stderr.write(f"\rgit prov: {what}: {100 * done // total}% ({done}/{total}){end}")
            sys.stderr.flush()

    return show


def _set_tracking(repo: Repo, remote: Remote, oid: pygit2.Oid, action: str) -> None:
    """Remember what the remote's refs/prov/runs was; a note for the user, so a lost race is no error."""
    if remote.tracking is None:
        return
    for _ in range(20):
        try:
            repo.git.create_reference_direct(remote.tracking, oid, True, message=f"git prov: {action} {remote.name}")
            return
        except (pygit2.GitError, OSError):
            time.sleep(random.uniform(0.005, 0.02))


def _merge(repo: Repo, remote: Remote, tip: pygit2.Oid, checked: merge.Checked, progress: bool,
           stage: str | None) -> FetchResult:
    remote_tip = repo.git.get(tip)
    assert isinstance(remote_tip, pygit2.Commit)
    try:
        merged = merge.merge_into_local(repo, remote_tip, remote.label)
    except RunConflict as exc:
        theirs, first = remote.tracking or str(tip), exc.run_ids[0]
        raise RunConflict(f"{exc}; kept the local runs and merged nothing; compare with "
                          f"`git diff {runs.REF} {theirs} -- {runs.run_dir(first)}`", exc.run_ids) from None
    if repo.workdir is not None and merged.added:
        _mirror(repo, repo.git.get(merged.tip), merged.added, checked, progress, stage)
    return FetchResult(remote, str(tip), merged.added)


def _mirror(repo: Repo, head: pygit2.Commit, run_ids: list[str], checked: merge.Checked, progress: bool,
            stage: str | None) -> None:
    """Write the fetched runs into .prov/runs/ (store/mirror.py: no fsync, the mirror is derived):
    the staged ones are moved into place; of the others, the blobs the checks listed are read in
    one stream, any other run from the tree."""
    if stage is not None:
        run_ids = mirror.place_staged(repo, stage, run_ids, checked.staged)
        if not run_ids:
            return
    known = checked.blobs
    listed = [(run_id, known.get(run_id)) for run_id in run_ids]
    wanted = [oid for _, names in listed if names is not None for oid in names.values()]
    contents = merge.read_in_order(repo.git, wanted, _blob_reader(repo))

    def fetched() -> Iterator[tuple[str, dict[str, bytes]]]:
        for run_id, names in listed:
            if names is None:
                yield run_id, runs.run_files(repo, run_id, head)
            else:
                yield run_id, {name: next(contents) for name in names}

    mirror.write_fetched(repo, fetched(), counter("writing the mirror") if progress else None, len(listed))


# ------------------------------------------------------------------------------ push


def _push_once(repo: Repo, remote: Remote, oid: pygit2.Oid, progress: bool) -> tuple[str, str]:
    """("pushed" | "up to date" | "retry", detail) for one non-forced push of oid to refs/prov/runs."""
    args = ["push", "--porcelain", "--no-recurse-submodules", *(["--progress"] if progress else []),
            remote.name, f"{oid}:{runs.REF}"]
    code, out, err = _run_git(repo, args, progress=progress, env={GUARD_ENV: "1"})
    for line in out.splitlines():
        # --porcelain: "<flag>\t<from>:<to>\t<summary>"
        flag, _, rest = line.partition("\t")
        refs, _, summary = rest.partition("\t")
        if not refs.endswith(f":{runs.REF}"):
            continue
        if flag == "=":
            return "up to date", summary
        if flag in (" ", "*", "+"):
            return "pushed", summary
        if flag == "!":
            if summary.startswith("[rejected]") or any(w in summary for w in _RETRYABLE_REMOTE):
                return "retry", summary
            raise RemoteError(f"{remote.label} refused {runs.REF}: {strip_credentials(summary)}")
    if code == 0:
        return "pushed", ""
    raise RemoteError(f"cannot push {runs.REF} to {remote.label}: {_git_problem(err)}")


def _backoff(attempt: int) -> None:
    # Full jitter: clones that collided pick different delays and stop colliding.
    time.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt)))


def push(repo: Repo, name: str | Remote | None, *, progress: bool = False) -> PushResult:
    """Push refs/prov/runs without force; when the remote moved on, fetch + merge + retry."""
    remote = name if isinstance(name, Remote) else resolve_remote(repo, name)
    result = PushResult(remote, "nothing to push")
    detail = ""
    for attempt in range(PUSH_ATTEMPTS):
        head = runs.tip(repo)
        if head is None:
            return result
        result.attempts = attempt + 1
        status, detail = _push_once(repo, remote, head.id, progress)
        if status != "retry":
            result.status = status
            _set_tracking(repo, remote, head.id, "push")
            return result
        if attempt:
            _backoff(attempt)
        result.fetched += fetch(repo, remote, progress=progress).added
    raise RemoteError(f"{remote.label} kept moving: {runs.REF} was rejected {PUSH_ATTEMPTS} times ({detail}); "
                      "run `git prov sync` again")


def sync(repo: Repo, name: str | None, *, progress: bool = False) -> tuple[FetchResult, PushResult]:
    remote = resolve_remote(repo, name)
    fetched = fetch(repo, remote, progress=progress)
    return fetched, push(repo, remote, progress=progress)
