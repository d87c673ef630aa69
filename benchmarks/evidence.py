"""Issue 10: what counting untracked code costs a record. `record -- true` in a clean tree and in a
tree with 100 untracked small files, each beside a same-run baseline.

    .venv/bin/python benchmarks/evidence.py [--rounds N] [--against REV]

The baseline is another revision's git prov (`--against main`, run through `harness.prov_at`);
without one, the floor `git status` is.
Records append to one store per tree; the untracked files stay the same between rounds, as between
two runs of a pipeline.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import harness


def untracked(repo: Path, count: int) -> Path:
    for i in range(count):
        (repo / "src" / f"mod{i:03d}.py").parent.mkdir(exist_ok=True)
        (repo / "src" / f"mod{i:03d}.py").write_text(f"VALUE = {i}\n" * 20)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--against", metavar="REV", help="also time this git revision (harness.prov_at)")
    args = parser.parse_args()
    harness.precompile()
    print(harness.machine())
    with tempfile.TemporaryDirectory(prefix="prov-bench-evidence-") as tmp:
        work = Path(tmp)
        trees = {"clean": harness.make_repo(work / "clean"),
                 "100 untracked": untracked(harness.make_repo(work / "untracked"), 100)}
        for label, repo in trees.items():
            cases: dict[str, harness.Case] = {
                "this: record -- true": [*harness.prov_at(), "record", "-q", "--", "true"]}
            baseline = "this: record -- true"
            if args.against:
                cases["baseline: record -- true"] = [*harness.prov_at(args.against), "record", "-q", "--", "true"]
                baseline = "baseline: record -- true"
            cases["floor: git status"] = ["git", "-C", str(repo), "status", "--porcelain"]
            times = harness.alternate(cases, rounds=args.rounds, cwd=str(repo), env=harness.bench_env())
            harness.report(f"record -- true, {label} tree", times, baseline,
                           {"this: record -- true": (baseline, 1.05)} if args.against else None)


if __name__ == "__main__":
    main()
