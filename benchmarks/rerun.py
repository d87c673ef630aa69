"""The overhead of `git prov rerun` over the bare command, for a 1,000-file code tree.

    .venv/bin/python benchmarks/rerun.py [--rounds N] [--files N]

A rerun checks the tree out into a temporary folder (libgit2), hashes the inputs, runs the command,
records the run and compares its outputs. Baselines from the same rounds: the bare command
(`python3 train.py` in a copy of the tree), and `git prov record` of it in the work tree.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import harness


def project(path: Path, count: int) -> Path:
    repo = harness.make_repo(path)
    for i in range(count):
        folder = repo / "src" / f"m{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:04d}.py").write_text(f"VALUE = {i}\n" * 20)
    (repo / "train.py").write_text("open('out.txt', 'w').write(open('in.txt').read().upper())\n")
    harness.git("add", "-A", cwd=repo)
    harness.git("commit", "-q", "-m", "code", cwd=repo)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    harness.precompile()
    work = Path(tempfile.mkdtemp(prefix="prov-bench-rerun-"))
    repo = project(work / "repo", args.files)
    bare = work / "bare"
    shutil.copytree(repo, bare, ignore=shutil.ignore_patterns(".git"))
    prov = harness.PROV
    record = f"{prov} record -q -i in.txt -o out.txt -- python3 train.py"
    subprocess.run(["sh", "-c", f"cd {repo} && {record}"], check=True)
    cases: dict[str, harness.Case] = {
        "bare: python3 train.py": ["sh", "-c", f"cd {bare} && python3 train.py"],
        "git prov record (same command)": ["sh", "-c", f"cd {repo} && {record}"],
        f"git prov rerun ({args.files}-file tree)": ["sh", "-c", f"cd {repo} && {prov} rerun @ 2>/dev/null"],
    }
    times = harness.alternate(cases, rounds=args.rounds, env=harness.bench_env())
    print(f"machine: {harness.machine()}")
    harness.report("Overhead of a rerun", times, "bare: python3 train.py")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
