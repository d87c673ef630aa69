"""What keeps `git prov record` fast, checked without timing it: the modules it never imports, and
that the shortcuts taken for speed (posix_spawn, short options rewritten, exit without teardown)
behave as before. Timings live in benchmarks/."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import Repo

NEVER_ON_RECORD = {
    "jsonschema", "deepdiff", "unidiff", "yaml", "subprocess", "rfc8785", "importlib.resources",
    "tempfile", "pkgutil", "random", "prov_git.commands.diff", "prov_git.commands.verify",
    "prov_git.diff", "prov_git.app.verify", "concurrent.futures", "sqlite3", "prov", "prov_git.app.export",
    "prov_git.app.attest", "prov_git.records.manifest", "prov_git.records.model",
}


def imported_by(repo: Repo, *args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "prov_git", *args], cwd=repo.path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return {m.group(1) for m in re.finditer(r"^import time:.*\|\s*(\S+)$", done.stderr, re.M)}


def test_record_imports_nothing_it_does_not_need(repo: Repo) -> None:
    repo.write("in.txt", "x\n")
    repo.record("--", "true")  # the first record in a repository also creates its redaction key
    modules = imported_by(repo, "record", "-q", "-i", "in.txt", "-o", "out.txt", "--", "cp", "in.txt", "out.txt")
    assert "prov_git.app.record" in modules
    assert not modules & NEVER_ON_RECORD, modules & NEVER_ON_RECORD


def test_a_record_that_hashes_no_file_loads_no_openssl_hashing(repo: Repo) -> None:
    repo.record("--", "true")  # the first record in a repository also creates its redaction key
    openssl = {"hashlib", "_hashlib", "hmac"}
    modules = imported_by(repo, "record", "-p", "lr=0.1", "--", "true")
    assert "prov_git.capture.params" in modules
    assert not modules & openssl, modules & openssl
    # ... and one without params or metrics loads no parser of theirs.
    modules = imported_by(repo, "record", "--", "true")
    assert "prov_git.app.record" in modules
    assert not modules & {*openssl, "prov_git.capture.params"}, modules & {*openssl, "prov_git.capture.params"}
    # Its id was computed by CPython's own SHA-256: the same id hashlib gives.
    record = repo.newest()
    from prov_git.records import compute_id

    assert compute_id(record) == record["id"]


def test_the_command_gets_sigpipe_back(repo: Repo) -> None:
    # Python ignores SIGPIPE; a command that inherited that would report "Broken pipe" and fail.
    result = repo.prov("record", "--", "sh", "-c", "yes | head -n 1")
    assert result.code == 0 and result.out == "y\n"
    assert "Broken pipe" not in result.err


def test_command_runs_in_the_callers_folder(repo: Repo) -> None:
    (repo.path / "sub").mkdir()
    result = subprocess.run([sys.executable, "-m", "prov_git", "record", "--", "pwd"], cwd=repo.path / "sub",
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip().endswith("/sub")
    assert repo.newest()["command"]["cwd"] == "sub"


def test_short_and_long_options_record_the_same(repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    short = repo.record("-q", "-i", "a.txt", "-p", "k=1", "-o", "b.txt", "--name", "n", "--", "cp", "a.txt", "b.txt")
    long = repo.record("--quiet", "--input", "a.txt", "--param", "k=1", "--output", "b.txt", "--name", "n",
                       "--", "cp", "a.txt", "b.txt")
    for section in ("inputs", "outputs", "params", "name"):
        assert short[section] == long[section]
    # The value of an option is never taken for an option, even when it looks like one.
    odd = repo.prov("record", "-i", "-q", "--", "true")
    assert odd.code == 128 and "input -q does not exist" in odd.err


def test_exit_status_and_output_survive_the_fast_exit(repo: Repo) -> None:
    result = repo.prov("record", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.code == 7
    assert result.out == "out\n"
    assert "err\n" in result.err and "git prov: recorded run" in result.err


def test_the_library_leaves_its_hosts_garbage_collector_alone() -> None:
    # Only the command line raises the collector's threshold (prov_git/cli.py); a program that
    # imports git prov keeps its own.
    code = ("import gc; gc.set_threshold(123, 4, 5); import prov_git.api, prov_git.app.record, prov_git.store.runs; "
            "print(gc.get_threshold())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(123, 4, 5)"
