"""Time sharing N new runs between two clones through a bare remote (file://).

    .venv/bin/python benchmarks/sync_runs.py [N [BASE]]   # default 1000 new runs, no shared base

With BASE, both clones first share BASE runs (synced, not timed). Then clone A gets N real records
(one template record from `git prov record`, varied by a param, each stored with
prov_git.app.record.store_record as `record` does, fsync off while building); then it runs `git prov sync` (pushes
them), and clone B, which recorded one run of its own, runs `git prov sync` (fetches, checks and
merges all N, writes the mirror, pushes the merge). Prints wall times of the two syncs; with
PROFILE=1, clone B's sync runs in-process under cProfile.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROV = str(Path(sys.executable).parent / "git-prov")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def prov(cwd: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([PROV, *args], cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"git prov {' '.join(args)} failed: {done.stderr}")
    return elapsed


def fill(path: Path, count: int, tag: str = "") -> None:
    """count real records appended to refs/prov/runs, as `git prov record` stores them.

    Durability is switched off while building (no fsync): the set-up is not what is measured.
    """
    import pygit2

    from prov_git.app.record import store_record
    from prov_git.records import Record, compute_id
    from prov_git.store.repo import open_repo
    from prov_git.store.resolve import load_spec

    prov(path, "record", "-q", "--no-exec", "-p", f"i={tag}-1", "--", "true")
    repo = open_repo(path)
    template = load_spec(repo, "@")
    saved = os.fsync, pygit2.option
    os.fsync = lambda fd: None
    pygit2.option = lambda *args: None  # type: ignore[assignment]
    try:
        for i in range(count - 1):
            record = {**template, "params": {"i": f"{tag}{i}"}}
            record["id"] = compute_id(record)
            store_record(repo, cast(Record, record), {})
    finally:
        os.fsync, pygit2.option = saved
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)


def profile_sync(path: Path) -> None:
    import cProfile
    import pstats

    os.chdir(path)
    from prov_git.cli import main as cli_main

    prof = cProfile.Profile()
    prof.enable()
    with contextlib.suppress(SystemExit):
        cli_main(["sync", "-q"])
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    shared = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    with tempfile.TemporaryDirectory(prefix="prov-sync-bench-") as tmp:
        base = Path(tmp)
        os.environ.update(harness.git_home(base))
        git(base, "init", "-q", "--bare", "remote.git")
        url = (base / "remote.git").as_uri()
        seed = base / "seed"
        seed.mkdir()
        git(seed, "init", "-q", "-b", "main")
        (seed / "f").write_text("x\n")
        git(seed, "add", "f")
        git(seed, "commit", "-q", "-m", "initial")
        git(seed, "push", "-q", url, "main")
        a, b = base / "a", base / "b"
        git(base, "clone", "-q", url, "a")
        git(base, "clone", "-q", url, "b")
        first = 0.0
        if shared:
            fill(a, shared, "base")
            prov(a, "sync", "-q")
            first = prov(b, "sync", "-q")
        start = time.perf_counter()
        fill(a, count)
        built = time.perf_counter() - start
        prov(b, "record", "-q", "--no-exec", "--", "true")
        push_a = prov(a, "sync", "-q")
        if os.environ.get("PROFILE"):
            start = time.perf_counter()
            profile_sync(b)
            sync_b = time.perf_counter() - start
        else:
            sync_b = prov(b, "sync", "-q")
        have = len(git(b, "ls-tree", "-r", "--name-only", "refs/prov/runs").split())
        mirrored = len(list((b / ".prov" / "runs").iterdir()))
        if shared:
            print(f"clone B's first sync, fetching the {shared} shared runs (all new to it): {first:.2f}s")
        print(f"both clones share {shared} runs; built {count} more in clone A: {built:.2f}s")
        print(f"clone A `git prov sync` (pushes {count} new runs): {push_a:.2f}s")
        print(f"clone B `git prov sync` (fetches, checks, merges, mirrors {count} new runs, pushes): {sync_b:.2f}s")
        print(f"clone B now has {have} runs in refs/prov/runs, {mirrored} in .prov/runs")


if __name__ == "__main__":
    main()
