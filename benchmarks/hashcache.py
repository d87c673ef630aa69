"""Target 3: re-recording an unchanged 5,000-file input directory against a record with no inputs.

    .venv/bin/python benchmarks/hashcache.py [--files 5000] [--rounds 10] [--against REV]

Two repositories hold the same untracked data/ folder (5,000 files of 1-4 KiB in 50 folders): one with
the hash cache (the default), one with `prov.hashCache false`. The data set is fresh (issue 18): the
first record follows its writing at once, and the timed re-records start 1 s after it (git's racy rule:
entries older than the cache file are trusted, so nothing has to settle first).

--against REV also re-records with the code of another revision (harness.prov_at, in a third
repository of its own with the same kind of data set), beside this tree run the same way.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import harness


def fill(data: Path, count: int) -> None:
    for i in range(count):
        folder = data / f"d{i % 50:02}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05}.csv").write_bytes(os.urandom(1024 + (i * 37) % 3072))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--against", metavar="REV", help="also re-record with the code of this git revision")
    args = parser.parse_args()
    harness.precompile()
    work = Path(tempfile.mkdtemp(prefix="prov-bench-cache-"))
    cached = harness.make_repo(work / "cached")
    plain = harness.make_repo(work / "uncached")
    harness.git("config", "prov.hashCache", "false", cwd=plain)
    sides = {cached: [harness.PROV], plain: [harness.PROV]}
    if args.against:
        sides[harness.make_repo(work / "this-tree")] = harness.prov_at()
        sides[harness.make_repo(work / "against")] = harness.prov_at(args.against)
    for repo in sides:
        fill(repo / "data", args.files)
        (repo / ".gitignore").write_text("data/\n")
    prov = harness.PROV
    for repo, prov_argv in sides.items():  # the first record of the fresh data set, right after writing it
        subprocess.run([*prov_argv, "record", "-q", "-i", "data", "--", "true"], cwd=repo, env=harness.bench_env(),
                       check=True)
    time.sleep(1.0)
    cases: dict[str, harness.Case] = {
        "git prov record -- true (no inputs)": ["sh", "-c", f"cd {cached} && {prov} record -- true"],
        f"git prov record -i data -- true ({args.files} files, cached)": [
            "sh", "-c", f"cd {cached} && {prov} record -i data -- true"],
        f"git prov record -i data -- true ({args.files} files, prov.hashCache=false)": [
            "sh", "-c", f"cd {plain} && {prov} record -i data -- true"],
    }
    targets = {f"git prov record -i data -- true ({args.files} files, cached)":
               ("git prov record -- true (no inputs)", 1.5)}
    if args.against:
        mine, theirs = list(sides)[2:]
        here = f"cached, python -m, this tree ({args.files} files)"
        cases[here] = ["sh", "-c", f"cd {mine} && {shlex.join(harness.prov_at())} record -i data -- true"]
        cases[f"cached @ {args.against}"] = [
            "sh", "-c", f"cd {theirs} && {shlex.join(harness.prov_at(args.against))} record -i data -- true"]
        targets[here] = (f"cached @ {args.against}", 1.05)
    times = harness.alternate(cases, rounds=args.rounds, warmup=2, env=harness.bench_env())
    print(f"machine: {harness.machine()}")
    harness.report("Re-recording an unchanged directory (target 3)", times,
                   "git prov record -- true (no inputs)", targets)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
