"""Target 1: the overhead of a record, beside its own import floor and beside the peers.

    .venv/bin/python benchmarks/startup.py [--install] [--rounds N] [--against REV]

--against REV also times `record -- true` of another revision of git prov (its code exported once by
harness.prov_at, run by this venv's interpreter), interleaved with ours run the same way: "within 5% of
the old code" in one run.

--install makes throw-away venvs for the peers under $PROV_BENCH_VENVS (default /tmp/prov-bench-venvs):
in-toto, dvc, datalad from PyPI. DataLad also needs git-annex, and the fsync-free comparison row
eatmydata: `apt-get install -y git-annex eatmydata`.
A peer whose venv is missing is skipped, not failed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

VENVS = Path(os.environ.get("PROV_BENCH_VENVS", "/tmp/prov-bench-venvs"))
PEERS = {"in-toto": "in-toto", "dvc": "dvc", "datalad": "datalad"}


def install() -> None:
    for name, package in PEERS.items():
        venv = VENVS / name
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=True)


def tool(peer: str, name: str) -> str | None:
    path = VENVS / peer / "bin" / name
    return str(path) if path.exists() else None


def in_toto_case(work: Path) -> list[str] | None:
    run = tool("in-toto", "in-toto-run")
    if run is None:
        return None
    repo = harness.make_repo(work / "in-toto")
    key = repo / "key.pem"
    make_key = (
        "from cryptography.hazmat.primitives.asymmetric import ed25519\n"
        "from cryptography.hazmat.primitives import serialization as s\n"
        f"open({str(key)!r}, 'wb').write(ed25519.Ed25519PrivateKey.generate().private_bytes("
        "s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))\n"
    )
    subprocess.run([str(VENVS / "in-toto" / "bin" / "python"), "-c", make_key], check=True)
    return ["sh", "-c", f"cd {repo} && {run} -n cp --signing-key key.pem -m in.txt -p out.txt "
            "-- cp in.txt out.txt"]


def dvc_case(work: Path) -> list[str] | None:
    dvc = tool("dvc", "dvc")
    if dvc is None:
        return None
    repo = harness.make_repo(work / "dvc")
    env = harness.bench_env(DVC_NO_ANALYTICS="1")
    for args in (["init", "-q"], ["stage", "add", "-q", "-n", "cp", "-d", "in.txt", "-o", "out.txt",
                                  "cp in.txt out.txt"], ["repro", "-q"]):
        subprocess.run([dvc, *args], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
    return ["sh", "-c", f"cd {repo} && DVC_NO_ANALYTICS=1 {dvc} repro -q -f"]


def datalad_case(work: Path) -> list[str] | None:
    datalad = tool("datalad", "datalad")
    if datalad is None or shutil.which("git-annex") is None:
        return None
    repo = work / "datalad"
    env = harness.bench_env()
    subprocess.run([datalad, "-l", "error", "create", str(repo)], env=env, check=True, stdout=subprocess.DEVNULL)
    for args in (["config", "user.name", "Bench"], ["config", "user.email", "bench@example.com"]):
        harness.git(*args, cwd=repo)
    (repo / "in.txt").write_text("hello\n")
    subprocess.run([datalad, "-l", "error", "save", "-m", "in"], cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return ["sh", "-c", f"cd {repo} && {datalad} -l error run -i in.txt -o out.txt 'cp in.txt out.txt'"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help="create the peers' venvs first")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-peers", action="store_true", help="only our record and its import floor")
    parser.add_argument("--against", metavar="REV", help="also time record -- true of this git revision")
    parser.add_argument("--hyperfine", action="store_true",
                        help="also time the same commands with hyperfine (apt-get install -y hyperfine)")
    args = parser.parse_args()
    if args.install:
        install()
    harness.precompile()
    work = Path(tempfile.mkdtemp(prefix="prov-bench-startup-"))
    ours = harness.make_repo(work / "prov")
    prov = harness.PROV
    cases: dict[str, harness.Case] = {
        "python -c pass": [harness.PYTHON, "-c", "pass"],
        "floor: import pygit2, click": [harness.PYTHON, "-c", "import pygit2, click"],
        "git prov record -- true": ["sh", "-c", f"cd {ours} && {prov} record -- true"],
        "git prov record -i in -o out -- cp": [
            "sh", "-c", f"cd {ours} && {prov} record -i in.txt -o out.txt -- cp in.txt out.txt"],
    }
    if shutil.which("eatmydata"):
        # The same record with fsync made a no-op (Debian's eatmydata): what the fsyncs of a run's
        # pack, snapshot, ref and reflog cost here. The peers do not fsync at all.
        cases["git prov record -- true, fsync off (eatmydata)"] = [
            "sh", "-c", f"cd {ours} && eatmydata {prov} record -- true"]
        cases["git prov record -i in -o out -- cp, fsync off (eatmydata)"] = [
            "sh", "-c", f"cd {ours} && eatmydata {prov} record -i in.txt -o out.txt -- cp in.txt out.txt"]
    if args.against:
        # Both sides through harness.prov_at (`python -m prov_git` with PYTHONPATH): only the code differs.
        # Each side in its own repository: in `ours` this tree's store would grow three times as fast
        # (the cases above record there too), so it would have more packs to roll up.
        theirs, mine = harness.make_repo(work / "against"), harness.make_repo(work / "this-tree")
        cases["git prov record -- true (python -m, this tree)"] = [
            "sh", "-c", f"cd {mine} && {shlex.join(harness.prov_at())} record -- true"]
        cases[f"git prov record -- true @ {args.against}"] = [
            "sh", "-c", f"cd {theirs} && {shlex.join(harness.prov_at(args.against))} record -- true"]
    if not args.no_peers:
        for name, make in (("in-toto-run", in_toto_case), ("dvc repro -f", dvc_case),
                           ("datalad run", datalad_case)):
            case = make(work)
            if case is None:
                print(f"(skipping {name}: not installed; see --install)", file=sys.stderr)
            else:
                cases[name] = case
    # `sh -c cd ...` costs the same few ms for every case; the floor cases get the same wrapper.
    cases["python -c pass"] = ["sh", "-c", f"cd {ours} && {harness.PYTHON} -c pass"]
    cases["floor: import pygit2, click"] = ["sh", "-c", f"cd {ours} && {harness.PYTHON} -c 'import pygit2, click'"]
    # The same imports under the collector threshold prov_git/cli.py sets: how much of record's gain
    # over the floor is that setting rather than record's own work.
    tuned = "import gc; gc.set_threshold(50_000, 10, 10); import pygit2, click"
    cases["floor, collector as the CLI sets it"] = ["sh", "-c", f"cd {ours} && {harness.PYTHON} -c '{tuned}'"]
    times = harness.alternate(cases, rounds=args.rounds, env=harness.bench_env())
    targets = {"git prov record -- true": ("floor: import pygit2, click", 1.15)}
    if args.against:
        targets["git prov record -- true (python -m, this tree)"] = (f"git prov record -- true @ {args.against}", 1.05)
    if "in-toto-run" in cases:
        targets["git prov record -i in -o out -- cp"] = ("in-toto-run", 0.85)
        if "git prov record -i in -o out -- cp, fsync off (eatmydata)" in cases:
            targets["git prov record -i in -o out -- cp, fsync off (eatmydata)"] = ("in-toto-run", 0.85)
    print(f"machine: {harness.machine()}")
    harness.report("Overhead of one record (target 1)", times, "floor: import pygit2, click", targets)
    if args.hyperfine and shutil.which("hyperfine"):
        # hyperfine's own statistics for the same commands, relative to the import floor (listed first).
        floor = cases.pop("floor: import pygit2, click")
        ordered = {"floor: import pygit2, click": floor, **cases}
        subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(args.rounds), "--style", "basic",
                        *[shlex.join(c) for c in ordered.values() if not callable(c)]],
                       env=harness.bench_env(), check=False)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
