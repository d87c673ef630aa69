"""A chain padded with merges that add nothing (issue 11, item 17): `log -n 1` and `show @~1` on a
store whose 20 runs lie under 200,000 such merges, against the same 20 runs on a plain chain, for
this checkout and for main (which walked all of them); and a fetch of such a chain (refused) against
a fetch of the plain one.

    .venv/bin/python benchmarks/chain.py [--merges 200000] [--rounds 5] [--base main]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness import PROV, alternate, bench_env, git_home, machine, make_repo, precompile, prov_at, report

REF = "refs/prov/runs"


def pad(repo: Path, count: int) -> None:
    """count merges on refs/prov/runs, each with its first parent's tree and the chain's root as
    second parent, one second apart after the tip (plain `git fast-import`)."""
    def out(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()

    tip, root = out("rev-parse", REF), out("rev-list", "--first-parent", "--max-parents=0", REF)
    start = int(out("log", "-1", "--format=%ct", REF)) + 1
    message = b"prov: merge evil\n"
    parts = [f"commit {REF}\nmark :{n + 1}\ncommitter Evil <evil@example.invalid> {start + n} +0000\n"
             f"data {len(message)}\n".encode() + message
             + f"{f'from {tip}' if n == 0 else f'from :{n}'}\nmerge {root}\n\n".encode() for n in range(count)]
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=repo, input=b"".join(parts), check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merges", type=int, default=200_000)
    parser.add_argument("--fetch-merges", type=int, default=50_000)  # dates stay within a day of now
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", default="main")
    args = parser.parse_args()
    precompile()
    work = Path(tempfile.mkdtemp(prefix="prov-bench-chain-"))
    os.environ.update(git_home(work))
    env = bench_env()
    plain = make_repo(work / "plain")
    for i in range(20):
        subprocess.run([PROV, "record", "-q", "--no-exec", "-p", f"i={i}", "--", "true"], cwd=plain, env=env,
                       check=True)
    padded, hostile = work / "padded", work / "hostile"
    shutil.copytree(plain, padded)
    shutil.copytree(plain, hostile)
    pad(padded, args.merges)
    pad(hostile, args.fetch_merges)
    here, base = prov_at(), prov_at(args.base)
    print(f"# merges that add nothing\n\n{machine()}\n")
    times = alternate({
        "log -n 1, plain": [*here, "-C", str(plain), "log", "-n", "1"],
        f"log -n 1, {args.merges} merges": [*here, "-C", str(padded), "log", "-n", "1"],
        f"show @~1, {args.merges} merges": [*here, "-C", str(padded), "show", "@~1"],
        f"log -n 1, {args.merges} merges, {args.base}": [*base, "-C", str(padded), "log", "-n", "1"],
    }, rounds=args.rounds, warmup=1, env=env)
    report(f"log -n 1 over {args.merges} merges that add nothing", times, "log -n 1, plain")

    def fresh(_: str) -> None:
        for name in ("into-plain", "into-hostile"):
            shutil.rmtree(work / name, ignore_errors=True)
            make_repo(work / name)

    fetches = alternate({
        "fetch plain": ["sh", "-c", f"{PROV} -C {work / 'into-plain'} fetch {plain.as_uri()}"],
        f"fetch {args.fetch_merges} merges (refused)": [
            "sh", "-c", f"{PROV} -C {work / 'into-hostile'} fetch {hostile.as_uri()}; test $? = 128"],
    }, rounds=args.rounds, warmup=1, env=env, before=fresh)
    report(f"fetch of a chain with {args.fetch_merges} merges that add nothing", fetches, "fetch plain")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
