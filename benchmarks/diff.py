"""`git prov diff` of two runs in a small repository (code diff included), beside `git diff`.

    .venv/bin/python benchmarks/diff.py [--rounds N]

The repository: 60 tracked files of 200 lines, a 30-file input directory; run B changed 5 files
(committed), one input file and one parameter. Target: well under a second.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import harness


def build(root: Path) -> Path:
    repo = harness.make_repo(root / "repo")
    lines = "".join(f"{i}\n" for i in range(200))
    for i in range(60):
        (repo / f"f{i}.py").write_text(lines)
    data = repo / "data"
    data.mkdir()
    for i in range(30):
        (data / f"d{i}.csv").write_text(lines[i:])
    harness.git("add", "-A", cwd=repo)
    harness.git("commit", "-q", "-m", "files", cwd=repo)
    record = [harness.PROV, "record", "-q", "-i", "data"]
    subprocess.run([*record, "-p", "lr=0.1", "--", "true"], cwd=repo, check=True)
    for i in range(5):
        (repo / f"f{i}.py").write_text(lines.replace("50\n", "fifty\n"))
    harness.git("commit", "-q", "-am", "edit", cwd=repo)
    (data / "d3.csv").write_text("changed\n")
    subprocess.run([*record, "-p", "lr=0.2", "--", "true"], cwd=repo, check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    harness.precompile()
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp))
        cases: dict[str, harness.Case] = {
            "git diff HEAD~1": ["git", "diff", "--no-ext-diff", "HEAD~1"],
            "git-prov --version": [harness.PROV, "--version"],
            "git prov diff": [harness.PROV, "diff", "--no-pager"],
            "git prov diff --json --patch": [harness.PROV, "diff", "--json", "--patch"],
        }
        times = harness.alternate(cases, rounds=args.rounds, cwd=str(repo), env=harness.bench_env())
        print(harness.machine())
        harness.report("git prov diff of two runs", times, "git-prov --version",
                       {"git prov diff": ("git-prov --version", 10.0)})


if __name__ == "__main__":
    main()
