"""Redaction cost: `git prov record -- true` of this checkout against another revision's, same run.

    .venv/bin/python benchmarks/redact.py [--base REV] [--rounds N]

The base revision (default main) runs through `harness.prov_at` (its code exported with `git
archive`, run by the same interpreter and packages), in the same repository, under a
realistic environment of ~60 variables (a CI job's: tokens, URLs, flags), so the figure is the
cost of the redaction rules and nothing else. Issue 12's target: within 5% (ratio <= 1.05).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import harness

CI_ENV = {
    "CI": "true", "GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", "GITHUB_REF": "refs/heads/main",
    "GITHUB_TOKEN": "ghs_" + "x1" * 18, "HF_TOKEN": "hf_" + "A1" * 17, "DB_PASSWORD": "hunter2x",
    "DATABASE_URL": "postgres://app:pw1@db:5432/app", "JAVA_OPTS": "-Xmx2g -Dfile.encoding=UTF-8",
    "CURL_OPTS": "-sS --retry 3", "MAKEFLAGS": "-j4", "PIP_INDEX_URL": "https://pypi.org/simple",
    "CMD": "python train.py --epochs 3 && echo done", "DEPLOY": "sh -c 'mysql -pX1 db < d.sql'",
    **{f"BUILD_VAR_{i}": f"/opt/tool-{i}/bin:/usr/lib/x86_64-linux-gnu/{i}" for i in range(40)},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="main")
    parser.add_argument("--rounds", type=int, default=20)
    opts = parser.parse_args()
    harness.precompile()
    with tempfile.TemporaryDirectory() as tmp:
        repo = harness.make_repo(Path(tmp) / "repo")
        env = harness.bench_env(**CI_ENV)
        # harness.alternate takes one env; each case runs through env(1) so both share one table.
        cases: dict[str, harness.Case] = {
            name: ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *prov, "record", "-q", "--", "true"]
            for name, prov in (("base", harness.prov_at(opts.base)), ("this", harness.prov_at()))}
        times = harness.alternate(cases, rounds=opts.rounds, cwd=str(repo))
        print(harness.machine())
        harness.report(f"record -- true, this checkout vs {opts.base} (same run, {opts.rounds} rounds)",
                       times, "base", {"this": ("base", 1.05)})


if __name__ == "__main__":
    main()
