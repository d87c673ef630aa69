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
    finally:
        subprocess.run(["umount", str(folder)], check=True)


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
