"""A command that ran is a run recorded (issue 11): what can be checked is checked before the command
starts; after it, the run is stored or saved under .git/prov/pending/ for `git prov recover`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import GIT_PROV, Repo, git

LOCK = Path(".git") / "refs" / "prov" / "runs.lock"


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def pending_ids(repo: Repo) -> list[str]:
    folder = repo.path / ".git" / "prov" / "pending"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def holds(repo: Repo) -> list[str]:
    return repo.git("for-each-ref", "--format=%(refname)", "refs/prov/tmp/").split()


def can_mount() -> bool:
    return os.geteuid() == 0 and subprocess.run(["mount", "--version"], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """folder read-only for everyone, root included: a read-only bind mount over itself."""
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
        yield
    finally:  # lazy: a detached git still holding a file open in it must not leave the mount behind
        subprocess.run(["umount", "-l", str(folder)], check=True)


# 1 -------------------------------------------------------------------------------------------

def test_lock_left_by_a_killed_writer_is_reported_before_the_command_runs(repo: Repo) -> None:
    # fails on main: the command ran, then "refs/prov/runs is locked" and the run was dropped
    repo.record("-q", "--", "true")
    (repo.path / LOCK).write_text("")  # what a record killed inside the ref window leaves
    result = repo.prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err), result.err
    assert "is locked" in result.err and "the command was not run" in result.err
    assert not (repo.path / "ran").exists() and len(repo.run_ids()) == 1


def test_a_ref_locked_while_the_command_runs_saves_the_run_for_recover(repo: Repo) -> None:
    # fails on main: the run was lost ("is locked ... retry"), no pending folder, no recover
    repo.record("-q", "--", "true")
    result = repo.prov("record", "--", "sh", "-c", f"touch ran {LOCK}", env={"PROV_LOCK_TIMEOUT": "0.3"})
    assert result.code == 128 and one_line(result.err), result.err
    assert "git prov recover" in result.err and (repo.path / "ran").exists()
    assert len(pending_ids(repo)) == 1 and len(repo.run_ids()) == 1
    (repo.path / LOCK).unlink()
    done = repo.prov("recover")
    assert done.code == 0, done.err
    assert pending_ids(repo) == [] and len(repo.run_ids()) == 2
    stored = json.loads(repo.blob(repo.newest()["id"]))
    assert stored["command"]["argv"][:2] == ["sh", "-c"]
    assert (repo.path / ".prov" / "runs" / stored["id"] / "run.json").exists()
    assert repo.prov("recover").err == "git prov: nothing to recover: no saved runs\n"


# 3 -------------------------------------------------------------------------------------------

def test_gc_prune_now_during_the_command_keeps_its_snapshot(repo: Repo) -> None:
    # fails on main: gc --prune=now deleted the unreferenced snapshot, the record died after the command
    repo.write("train.py", "print('dirty')\n")
    result = repo.prov("record", "--", "git", "gc", "-q", "--prune=now")
    assert result.code == 0, result.err
    record = repo.newest()
    assert record["git"]["dirty"] and record["git"]["snapshot"]
    repo.git("cat-file", "-e", record["git"]["snapshot"])
    repo.git("fsck", "--connectivity-only", "--no-dangling")
    assert holds(repo) == []  # the temporary ref is gone once the run's commit pins the snapshot


def test_a_prune_that_walked_before_the_ref_moved_cannot_take_a_run(repo: Repo) -> None:
    # fails on main: the run's objects were loose, so a `gc --prune=now` whose walk ran before the
    # swap deleted them and left refs/prov/runs on a missing commit. The ref hidden during a prune
    # is that walk, deterministically; a run is safe only if its objects (and its snapshot's) are
    # in a pack, which only a repack that walked after the ref moved may drop.
    repo.record("-q", "--", "true")
    repo.write("train.py", "print('dirty')\n")
    record = repo.record("-q", "--", "true")
    tip = repo.git("rev-parse", "refs/prov/runs").strip()
    repo.git("update-ref", "-d", "refs/prov/runs")
    repo.git("reflog", "expire", "--expire-unreachable=now", "--all")
    repo.git("prune", "--expire=now")
    repo.git("update-ref", "refs/prov/runs", tip)
    repo.git("fsck", "--connectivity-only", "--no-dangling")
    repo.git("cat-file", "-e", record["git"]["snapshot"])
    assert list((repo.path / ".git" / "objects" / "pack").glob("*.keep")) == []  # unkept once stored


def test_a_re_record_of_unchanged_inputs_does_not_pack_their_manifest_again(repo: Repo) -> None:
    # fails on main: every run packed its manifest again (libgit2 deflating ~700 KB for a 5,000-file
    # data set), although the run before it holds the same blob and the ref reaches it all along.
    for i in range(600):  # a manifest over runs.BIG_BLOB
        repo.write(f"data/f{i:03}.csv", f"{i}\n")
    pack_dir = repo.path / ".git" / "objects" / "pack"
    repo.record("-q", "-i", "data", "--", "true")
    repo.record("-q", "--", "true")  # another step between the two: the manifest is two commits down
    before = set(pack_dir.glob("*.idx"))
    second = repo.record("-q", "-i", "data", "--", "true")
    folder = f"refs/prov/runs:runs/{second['id'][:2]}/{second['id']}"
    manifest = repo.git("rev-parse", f"{folder}/{second['inputs'][0]['manifest']}").strip()
    record_blob = repo.git("rev-parse", f"{folder}/run.json").strip()
    packed = {line.split()[1] for idx in set(pack_dir.glob("*.idx")) - before
              for line in git(repo.path, "show-index", input=idx.read_bytes()).splitlines()}
    assert record_blob in packed and manifest not in packed
    tip = repo.git("rev-parse", "refs/prov/runs").strip()  # and a prune that walked before the move
    repo.git("update-ref", "-d", "refs/prov/runs")
    repo.git("reflog", "expire", "--expire-unreachable=now", "--all")
    repo.git("prune", "--expire=now")
    repo.git("update-ref", "refs/prov/runs", tip)
    repo.git("fsck", "--connectivity-only", "--no-dangling")


def test_stale_keeps_of_killed_records_are_swept_and_packs_trigger_gc(repo: Repo) -> None:
    from prov_git.store.runs import KEEP_MARK

    pack_dir = repo.path / ".git" / "objects" / "pack"
    repo.record("-q", "--", "true")
    ours, theirs, young = (pack_dir / f"pack-{c * 40}.keep" for c in "abc")
    ours.write_bytes(KEEP_MARK)
    theirs.write_bytes(b"a user's keep\n")
    young.write_bytes(KEEP_MARK)
    old = time.time() - 7200
    for path in (ours, theirs):
        os.utime(path, (old, old))
    repo.git("config", "gc.auto", "6700")
    repo.git("config", "gc.autoPackLimit", "3")
    for _ in range(4):  # one pack per run: the fourth is over the limit, `git gc --auto` starts
        repo.record("-q", "--", "true")
    assert not ours.exists() and theirs.exists() and young.exists()
    deadline = time.monotonic() + 60
    while len(list(pack_dir.glob("*.idx"))) > 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the detached roll-up to finish, not for a race
    assert len(list(pack_dir.glob("*.idx"))) <= 3
    repo.git("fsck", "--connectivity-only", "--no-dangling")


def test_run_packs_are_rolled_up_without_repacking_the_big_pack(repo: Repo) -> None:
    # One pack per run: `git gc --auto` at gc.autoPackLimit would repack the whole repository into
    # one pack every ~50 runs; the geometric roll-up leaves a big pack as it is.
    for i in range(300):
        repo.write(f"data/f{i}.txt", f"{i}\n")
    repo.commit_all("data")
    repo.git("repack", "-a", "-d", "-q")
    pack_dir = repo.path / ".git" / "objects" / "pack"
    [big] = list(pack_dir.glob("*.idx"))
    repo.git("config", "gc.autoPackLimit", "8")
    for _ in range(6):  # over half of 8 packs: a roll-up of the run packs starts
        repo.record("-q", "--", "true")
    deadline = time.monotonic() + 60
    while len(list(pack_dir.glob("*.idx"))) > 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the detached roll-up to finish, not for a race
    assert len(list(pack_dir.glob("*.idx"))) <= 4 and big.exists()  # 7 without the roll-up
    assert len(repo.run_ids()) == 6
    repo.git("fsck", "--connectivity-only", "--no-dangling")


# 6 -------------------------------------------------------------------------------------------

def test_sigterm_after_the_command_finished_waits_until_the_run_is_stored(repo: Repo) -> None:
    # fails on main: SIGTERM during the store killed record, the run was never stored
    repo.record("-q", "--", "true")
    # The command leaves a lock its helper removes 1 s later, and has SIGTERM sent to record at
    # 0.4 s: record is then busy storing (waiting on the lock), as it is while hashing a large output.
    script = (f"touch {LOCK}; (sleep 0.4; kill -TERM $PPID; sleep 0.6; rm -f {LOCK}) "
              ">/dev/null 2>&1 & exit 0")
    child = subprocess.run([GIT_PROV, "record", "--", "sh", "-c", script], cwd=repo.path,
                           capture_output=True, timeout=60, check=False)
    assert child.returncode == -signal.SIGTERM, child.stderr  # the signal took effect, afterwards
    assert len(repo.run_ids()) == 2 and pending_ids(repo) == []


# 5 -------------------------------------------------------------------------------------------

@pytest.mark.skipif(not can_mount(), reason="needs a read-only bind mount (root)")
def test_read_only_object_store_is_refused_before_the_command_runs(repo: Repo) -> None:
    # fails on main: the command ran, then "Permission denied" / read-only and nothing was stored
    repo.record("-q", "--", "true")
    with read_only(repo.path / ".git" / "objects"):
        result = repo.prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err), result.err
    assert "objects" in result.err and "Read-only" in result.err and "the command was not run" in result.err
    assert not (repo.path / "ran").exists()


# 4 -------------------------------------------------------------------------------------------

def test_names_that_are_not_utf8_are_recorded_escaped(repo: Repo) -> None:
    # fails on main: the command ran, then CanonicalizationError and nothing was stored
    branch = b"topic-\xe9"
    subprocess.run([b"git", b"checkout", b"-q", b"-b", branch], cwd=repo.path, check=True)
    where = repo.path / os.fsdecode(b"dir-\xff")
    where.mkdir()
    done = subprocess.run([GIT_PROV.encode(), b"record", b"--name", b"n\xe9", b"--", b"printf", b"caf\xe9"],
                          cwd=where, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"caf\xe9"
    record = repo.newest()
    assert record["command"]["argv"] == ["printf", '"caf\\351"']
    assert record["command"]["cwd"] == '"dir-\\377"'
    assert record["name"] == '"n\\351"'
    assert record["git"]["branch"] == '"topic-\\351"'


# 7 -------------------------------------------------------------------------------------------

def test_a_project_file_named_prov_is_refused_before_the_command_runs(repo: Repo) -> None:
    # fails on main: the run was stored, then FileExistsError and exit 128 instead of the command's
    repo.write(".prov", "a project file\n")
    result = repo.prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err), result.err
    assert ".prov is a file" in result.err and not (repo.path / "ran").exists()
    assert repo.run_ids() == [] and (repo.path / ".prov").read_text() == "a project file\n"


def test_a_tracked_prov_symlink_is_never_written_through(repo: Repo, tmp_path: Path) -> None:
    # fails on main: every record wrote its mirror into the symlink's target
    target = tmp_path / "elsewhere"
    target.mkdir()
    (repo.path / ".prov").symlink_to(target)
    repo.commit_all("a .prov symlink")
    for args in (["record", "--", "touch", "ran"], ["mirror"]):
        result = repo.prov(*args)
        assert result.code == 128 and one_line(result.err), result.err
        assert "symlink" in result.err
    assert not (repo.path / "ran").exists() and list(target.iterdir()) == []


# 21 ------------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if not can_mount():
        pytest.skip("needs a tmpfs mount (root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_full_disk_at_ref_write_says_enospc_and_saves_the_run(small_disk: Path) -> None:
    # fails on main: "too many concurrent writers" after 10 s of retries, and the run was lost
    from tests.helpers import init_project

    repo = Repo(init_project(small_disk / "work"))
    repo.record("-q", "--", "true")
    result = repo.prov("record", "--", "sh", "-c", "touch ran; head -c 20M /dev/zero > fill 2>/dev/null; true")
    assert result.code == 128 and one_line(result.err), result.err
    assert "ENOSPC" in result.err and "too many concurrent writers" not in result.err
    saved = result.err.rsplit("`git prov recover ", 1)[1].rstrip("`\n")
    assert Path(saved).is_dir()  # .git/prov/ was full too: the system temp folder took it
    (repo.path / "fill").unlink()
    done = repo.prov("recover", saved)
    assert done.code == 0, done.err
    assert len(repo.run_ids()) == 2 and not Path(saved).exists()
    git(repo.path, "fsck", "--connectivity-only", "--no-dangling")


def test_recover_of_a_run_already_stored_only_cleans_up(repo: Repo) -> None:
    repo.record("-q", "--", "true")
    result = repo.prov("record", "--", "sh", "-c", f"touch {LOCK}", env={"PROV_LOCK_TIMEOUT": "0.2"})
    assert result.code == 128
    (repo.path / LOCK).unlink()
    (folder,) = (repo.path / ".git" / "prov" / "pending").iterdir()
    copy = folder.parent.parent / "copy"
    subprocess.run(["cp", "-r", str(folder), str(copy)], check=True)
    assert repo.prov("recover").code == 0
    again = repo.prov("recover", str(copy))
    assert again.code == 0 and len(repo.run_ids()) == 2, again.err


def _wait(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


# The harness: over >= 50 iterations each, every command that ran is a run stored or saved ---------

ITERATIONS = 50


def stored_params(repo: Repo) -> set[str]:
    """The `i` param of every run in refs/prov/runs, read with plain git."""
    out = repo.git("log", "--format=%H", "-1", "refs/prov/runs", check=False).strip()
    if not out:
        return set()
    listing = repo.git("ls-tree", "-r", "--name-only", "refs/prov/runs")
    found = set()
    for path in listing.splitlines():
        if path.endswith("/run.json"):
            record = json.loads(repo.git("show", f"refs/prov/runs:{path}"))
            if "i" in record["params"]:
                found.add(str(record["params"]["i"]))
    return found


def tally(repo: Repo, marks: Path, label: str, spilled: Path | None = None) -> tuple[int, int]:
    """After `git prov recover` of everything saved: (commands run, runs stored), printed."""
    saved = len(pending_ids(repo)) + (len(list(spilled.glob("git-prov-pending-*"))) if spilled else 0)
    recovered = repo.prov("recover")
    assert recovered.code == 0, recovered.err
    for folder in spilled.glob("git-prov-pending-*") if spilled else []:
        done = repo.prov("recover", str(folder))
        assert done.code == 0, done.err
    ran = {p.name for p in marks.iterdir()}
    stored = stored_params(repo)
    print(f"\n[{label}] iterations {ITERATIONS}: commands run {len(ran)}, runs stored or saved for "
          f"recovery {len(stored)} ({saved} of them saved, then recovered)")
    assert ran == stored, (sorted(ran - stored), sorted(stored - ran))
    git(repo.path, "fsck", "--connectivity-only", "--no-dangling")
    return len(ran), len(stored)


def record_cmd(i: int, script: str) -> list[str]:
    return [GIT_PROV, "record", "-q", "-p", f"i={i}", "--", "sh", "-c", f"touch marks/{i}; {script}"]


def wait_for_journal(repo: Repo, child: subprocess.Popen[bytes]) -> None:
    """Spin until the record's journal is complete (the ref window opens) or the child ends."""
    folder = repo.path / ".git" / "prov" / "pending"
    before = set(folder.glob("*/.pending.json"))
    while child.poll() is None and not set(folder.glob("*/.pending.json")) - before:
        pass


@pytest.mark.slow
def test_harness_sigkill_inside_the_ref_window(repo: Repo) -> None:
    import random

    rng = random.Random(os.environ.get("PROV_CRASH_SEED", time.time_ns()))
    marks = repo.path / "marks"
    marks.mkdir()
    killed = locks = refused = 0
    for i in range(ITERATIONS):
        child = subprocess.Popen(record_cmd(i, "echo ready"), cwd=repo.path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        wait_for_journal(repo, child)
        time.sleep(rng.uniform(0, 0.004))
        child.kill()
        killed += child.wait(timeout=60) == -signal.SIGKILL
        if (repo.path / LOCK).exists():
            locks += 1
            # The next record refuses before its command runs (it used to run it and drop the run).
            result = subprocess.run(record_cmd(ITERATIONS + i, "true"), cwd=repo.path, capture_output=True,
                                    check=False)
            assert result.returncode == 128 and b"the command was not run" in result.stderr, result.stderr
            assert not (marks / str(ITERATIONS + i)).exists()
            refused += 1
            (repo.path / LOCK).unlink()  # what the message says to do
    tally(repo, marks, f"kill -9 inside the ref window: {killed} killed, {locks} locks left, {refused} "
                       "later records refused before their command")


MISSING = ("bad object", "bad tree", "Could not read", "missing", "unable to read")


def writers_alongside(repo: Repo, maintenance: list[list[str]], dirty: bool, label: str) -> None:
    """64 records, 8 at a time, while maintenance runs round after round. Each command waits for a
    round to start after it began, so every record overlaps maintenance whatever the load."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    marks = repo.path / "marks"
    marks.mkdir()
    started = repo.path.parent / "rounds"  # outside the work tree: no part of any snapshot
    started.mkdir()
    stop = threading.Event()
    rounds = [0]
    errors: dict[str, int] = {}

    def maintain() -> None:
        while not stop.is_set():
            (started / str(rounds[0])).touch()
            for argv in maintenance:
                done = subprocess.run(argv, cwd=repo.path, capture_output=True, check=False)
                if done.returncode != 0:  # a lock held by a writer, say; a missing object is not
                    line = " | ".join(done.stderr.decode(errors="replace").strip().splitlines()[-3:])
                    errors[line] = errors.get(line, 0) + 1
            rounds[0] += 1

    wait = (f'n=$(ls {started} | wc -l); t=0; while [ "$(ls {started} | wc -l)" -le "$n" ] '
            '&& [ $t -lt 6000 ]; do sleep 0.01; t=$((t+1)); done; ')

    def one(i: int) -> tuple[int, int, bytes]:
        script = wait + (f"echo {i} >> train.py" if dirty else "true")
        done = subprocess.run(record_cmd(i, script), cwd=repo.path, capture_output=True, check=False)
        return i, done.returncode, done.stderr

    keeper = threading.Thread(target=maintain)
    keeper.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(64)))
    finally:
        stop.set()
        keeper.join()
    reported = {str(i) for i, code, _ in results if code == 0}
    failed = [(i, code, err) for i, code, err in results if code != 0]
    unsaved = [err.decode(errors="replace") for _, _, err in failed
               if b"git prov recover" not in err and b"the command was not run" not in err]
    assert not unsaved, unsaved
    refused = sum(b"the command was not run" in err for _, _, err in failed)
    tally(repo, marks, f"{label}: 64 records x 8 at once, {rounds[0]} maintenance rounds ({sum(errors.values())} "
                       f"failed: {errors}), {len(failed) - refused} saved for recovery, {refused} refused before "
                       "the command")
    assert reported <= stored_params(repo)  # every run reported as recorded is there
    # Never, not only at the end: a maintenance round that met the ref on a missing object says so.
    assert not [e for e in errors if any(word in e for word in MISSING)], errors
    lacking = repo.git("rev-list", "--objects", "--missing=print", "--reflog", "refs/prov/runs")
    assert not [line for line in lacking.splitlines() if line.startswith("?")], lacking
    assert rounds[0] >= 2 and holds(repo) == []


@pytest.mark.slow
def test_harness_gc_and_pack_refs_alongside_writers(repo: Repo) -> None:
    writers_alongside(repo, [["git", "gc", "-q"], ["git", "pack-refs", "--all"]], False, "git gc, pack-refs")


@pytest.mark.slow
def test_harness_gc_prune_now_alongside_writers(repo: Repo) -> None:
    # failed on main: records met refs/prov/runs on a commit (or tree) a concurrent prune deleted,
    # and the gc rounds failed with "bad object refs/prov/runs" meanwhile
    writers_alongside(repo, [["git", "gc", "-q", "--prune=now"]], True, "git gc --prune=now")


@pytest.mark.slow
def test_harness_full_disk(small_disk: Path, tmp_path: Path) -> None:
    from tests.helpers import init_project

    repo = Repo(init_project(small_disk / "work"))
    marks = repo.path / "marks"
    marks.mkdir()
    spill = tmp_path / "spill"
    spill.mkdir()
    codes: dict[int, int] = {}
    for i in range(ITERATIONS):
        fill = "head -c 20M /dev/zero > fill 2>/dev/null; " if i % 2 else ""
        done = subprocess.run(record_cmd(i, fill + "true"), cwd=repo.path, capture_output=True, check=False,
                              env={**os.environ, "TMPDIR": str(spill)})
        codes[done.returncode] = codes.get(done.returncode, 0) + 1
        assert done.returncode == 0 or b"ENOSPC" in done.stderr, done.stderr
        (repo.path / "fill").unlink(missing_ok=True)
    tally(repo, marks, f"ENOSPC on an 8 MiB tmpfs: exit statuses {codes}", spill)


@pytest.mark.slow
@pytest.mark.skipif(not can_mount(), reason="needs a read-only bind mount (root)")
def test_harness_read_only_objects(repo: Repo) -> None:
    objects = repo.path / ".git" / "objects"
    marks = repo.path / "marks"
    marks.mkdir()
    # A detached roll-up of the run packs (runs.maybe_pack) with files open in objects/ would make
    # the remount busy; this harness is about writes refused, not about packing.
    repo.git("config", "gc.autoPackLimit", "0")
    repo.git("config", "gc.auto", "0")
    subprocess.run(["mount", "--bind", str(objects), str(objects)], check=True)
    refused = 0
    try:
        for i in range(ITERATIONS):
            if i % 3 == 1:  # read-only before the record starts: refused, the command never runs
                subprocess.run(["mount", "-o", "remount,bind,ro", str(objects)], check=True)
                script = "true"
            else:  # made read-only while the command runs (every third), or left writable
                script = f"mount -o remount,bind,ro {objects}" if i % 3 == 2 else "true"
            done = subprocess.run(record_cmd(i, script), cwd=repo.path, capture_output=True, check=False)
            refused += b"the command was not run" in done.stderr
            assert done.returncode == 0 or b"Read-only" in done.stderr, done.stderr
            subprocess.run(["mount", "-o", "remount,bind,rw", str(objects)], check=True)
    finally:  # lazy: a detached git still holding a file open in it must not leave the mount behind
        subprocess.run(["umount", "-l", str(objects)], check=True)
    tally(repo, marks, f"read-only objects: {refused} refused before the command")


# 19 ------------------------------------------------------------------------------------------

def plant_raw(repo: Repo, run_id: str, data: bytes, started: str) -> None:
    """A run commit whose run.json holds exactly data (a forged record), in the documented layout."""
    import pygit2

    from tests.helpers import _nest, _tip_or_root

    git_repo = pygit2.Repository(str(repo.path))
    base = _tip_or_root(git_repo, 1_700_000_000)
    folder = git_repo.TreeBuilder()
    folder.insert("run.json", git_repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    tree = _nest(git_repo, base.tree, ["runs", run_id[:2], run_id], folder.write())
    sig = pygit2.Signature("forger", "forger@example.invalid", base.commit_time + 1, 0)
    message = f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {started}\n"
    commit = git_repo.create_commit(None, sig, sig, message, tree, [base.id])
    git_repo.references.create("refs/prov/runs", commit, force=True)


@pytest.mark.parametrize("number", ["1e400", str(2**64)])
def test_verify_of_a_forged_record_with_an_uncanonical_number_is_one_line(repo: Repo, number: str) -> None:
    # fails on main: CanonicalizationError (FloatDomainError / IntegerDomainError) traceback line
    record = repo.record("-q", "-p", "lr=1", "--", "true")
    text = repo.blob(record["id"]).replace(b'"lr": 1', b'"lr": ' + number.encode())
    forged = "f" * 64
    plant_raw(repo, forged, text.replace(record["id"].encode(), forged.encode()), record["status"]["started_at"])
    result = repo.prov("verify", forged)
    assert result.code in (1, 128) and "Traceback" not in result.err and "Error:" not in result.err, result
    assert "canonical" in (result.out + result.err)


@pytest.mark.parametrize("args", [["show", "@~99999999999999999999"], ["show", "x@~99999999999999999999"],
                                  ["log", "-n", "99999999999999999999"]])
def test_huge_counts_are_a_plain_answer(repo: Repo, args: list[str]) -> None:
    # fails on main: ValueError from islice
    repo.record("-q", "--name", "x", "--", "true")
    result = repo.prov(*args)
    assert "ValueError" not in result.err and "OverflowError" not in result.err, result.err
    assert result.code == 0 if args[0] == "log" else (result.code == 128 and one_line(result.err))


def test_record_of_an_empty_program_name_is_127(repo: Repo) -> None:
    # fails on main: ValueError from posix_spawnp, exit 128 (README says 127)
    result = repo.prov("record", "--", "")
    assert result.code == 127 and one_line(result.err) and "command not found" in result.err, result.err
    assert repo.run_ids() == []


def conflicted_merge(repo: Repo) -> None:
    """A merge stopped on a conflict in train.py: the index has no one state to record."""
    repo.git("checkout", "-q", "-b", "other")
    repo.write("train.py", "print('other')\n")
    repo.commit_all("other")
    repo.git("checkout", "-q", "main")
    repo.write("train.py", "print('main')\n")
    repo.commit_all("main")
    repo.git("merge", "-q", "other", check=False)


def test_conflicted_merge_is_refused_before_the_command_runs(repo: Repo) -> None:
    # fails on main: GitError: cannot create a tree from a not fully merged index
    conflicted_merge(repo)
    result = repo.prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err) and "merge conflicts" in result.err, result.err
    assert not (repo.path / "ran").exists()


def test_a_corrupt_index_is_named_as_such(repo: Repo) -> None:
    # fails on main: "failed to read index: ... no longer exists" as a GitError
    (repo.path / ".git" / "index").write_bytes(b"garbage")
    result = repo.prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err) and "GitError" not in result.err, result.err
    # git itself reads an index libgit2 cannot (sparse, new extensions), so its words name the file.
    assert ".git/index" in result.err and "no longer exists" not in result.err and not (repo.path / "ran").exists()


# 20 ------------------------------------------------------------------------------------------

def test_a_fifo_as_metrics_file_is_refused_before_the_command_runs(repo: Repo) -> None:
    # fails on main: the command ran, then record blocked for ever opening the fifo
    os.mkfifo(repo.path / "metrics.json")
    result = repo.prov("record", "-m", "metrics.json", "--", "touch", "ran", timeout=30)
    assert result.code == 128 and one_line(result.err) and "not a regular file" in result.err, result.err
    assert not (repo.path / "ran").exists()


def test_a_metrics_file_replaced_by_a_fifo_is_a_warning_not_a_hang(repo: Repo) -> None:
    # fails on main: record blocked for ever after the command ran
    result = repo.prov("record", "-m", "m.json", "--", "sh", "-c", "mkfifo m.json", timeout=30)
    assert result.code == 0 and "not a regular file" in result.err, result.err
    assert len(repo.run_ids()) == 1


def test_params_file_dev_zero_is_refused_before_the_command_runs(repo: Repo) -> None:
    # fails on main: record read /dev/zero until the memory ran out
    result = repo.prov("record", "--params-file", "/dev/zero", "--", "touch", "ran", timeout=30)
    assert result.code == 128 and one_line(result.err) and "not a regular file" in result.err, result.err
    assert not (repo.path / "ran").exists()


def test_params_file_over_4_mib_is_refused_before_the_command_runs(repo: Repo) -> None:
    repo.write("big.json", json.dumps({"x": "a" * (4 << 20)}))
    result = repo.prov("record", "--params-file", "big.json", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err) and "4 MiB" in result.err, result.err
    assert not (repo.path / "ran").exists()


def test_a_hung_nvidia_smi_is_cut_short(repo: Repo, tmp_path: Path) -> None:
    # fails on main: 10 s per record (subprocess timeout 10); a grandchild holding the pipe: for ever
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nsleep 60 &\nsleep 60\n")
    smi.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    t0 = time.monotonic()
    result = repo.prov("record", "--", "true", env={"PATH": path}, timeout=30)
    assert result.code == 0, result.err
    assert time.monotonic() - t0 < 8  # generous on a loaded machine; the bound is 2 s
    assert "gpu" not in repo.newest()["env"]


# 24 ------------------------------------------------------------------------------------------

def test_a_later_fetch_refills_the_mirror_a_killed_fetch_left_out(repo: Repo, tmp_path: Path) -> None:
    # fails on main: the second fetch brought nothing new, so the run never reached .prov/
    from tests.helpers import init_project

    run_id = repo.record("-q", "--", "true")["id"]
    other = Repo(init_project(tmp_path / "other"))
    other.git("remote", "add", "origin", str(repo.path))
    assert other.prov("fetch", "origin").code == 0
    folder = other.path / ".prov" / "runs" / run_id
    subprocess.run(["rm", "-r", str(folder)], check=True)  # killed after the ref, before the mirror
    again = other.prov("fetch", "origin")
    assert again.code == 0, again.err
    assert (folder / "run.json").read_bytes() == repo.blob(run_id)


def test_stale_leftovers_of_killed_processes_are_swept(repo: Repo) -> None:
    # fails on main: tmp_objdir-prov-* and .hashcache-*.tmp stayed for ever
    repo.record("-q", "--", "true")
    old = time.time() - 7200
    quarantine = repo.path / ".git" / "objects" / "tmp_objdir-prov-dead"
    quarantine.mkdir()
    (quarantine / "pack").mkdir()
    cache_tmp = repo.path / ".git" / "prov" / ".hashcache-sha256.123.456.tmp"
    cache_tmp.write_bytes(b"x")
    young = repo.path / ".git" / "objects" / "tmp_objdir-prov-live"
    young.mkdir()
    pack_work = repo.path / ".git" / "objects" / "prov-pack-123-dead"  # runs.write_pack's, killed
    pack_work.mkdir()
    for path in (quarantine, cache_tmp, pack_work):
        os.utime(path, (old, old))
    assert repo.prov("mirror").code == 0
    assert not quarantine.exists() and not cache_tmp.exists() and young.exists() and not pack_work.exists()


def test_a_sha256_repository_gets_a_plain_message(tmp_path: Path) -> None:
    # fails on main: "cannot open repository ...: unknown object format 'sha256'"
    path = tmp_path / "s256"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(path))
    result = Repo(path).prov("record", "--", "touch", "ran")
    assert result.code == 128 and one_line(result.err), result.err
    assert "SHA-256 repository" in result.err and "unknown object format" not in result.err
    assert not (path / "ran").exists()


def test_a_refusal_no_retry_can_fix_is_given_after_one_snapshot(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before SnapshotRace, every StoreError of the snapshot was retried: a conflicted index was
    # snapshotted five times (five work-tree scans) before the same one-line refusal.
    from prov_git import api
    from prov_git.app import record as recording
    from prov_git.errors import StoreError

    conflicted_merge(repo)
    real, calls = recording.capture_git, []

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(recording, "capture_git", counted)
    with pytest.raises(StoreError, match="merge conflicts"):
        api.record(["touch", "ran"], cwd=repo.path)
    assert len(calls) == 1 and not (repo.path / "ran").exists()


def test_a_file_vanishing_from_an_output_folder_as_it_is_listed_keeps_the_run(repo: Repo) -> None:
    # Before: the lstat after the listing raised FileNotFoundError once the command had run: exit
    # 128, the run lost. strace makes that one lstat fail exactly as a deletion in between would.
    import shutil

    strace = shutil.which("strace")
    assert strace is not None, "strace is missing: .ci/run installs it (apt-get install strace)"
    repo.write("outd/a", "x\n")
    repo.write("outd/b", "y\n")
    gone = str(repo.path / "outd" / "a")
    done = subprocess.run([strace, "-f", "-qq", "-o", os.devnull, "-P", gone,
                           "-e", "inject=newfstatat,lstat,statx:error=ENOENT", GIT_PROV, "record", "-o", "outd",
                           "--", "touch", "outd/b"], cwd=repo.path, capture_output=True, text=True)
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr
    [out] = repo.newest()["outputs"]
    assert out["path"] == "outd" and out["files"] == 1, out
