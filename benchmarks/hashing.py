"""Single-file hashing (issue 18): `git prov record` of one large input against hashlib, same run.

    .venv/bin/python benchmarks/hashing.py [--size-mib 512] [--rounds 7]

Makes one file of random bytes (default 512 MiB) in a throw-away repository under $PROV_BENCH_DIR
(default /tmp/prov-bench-hashing, kept between runs) and eight files of an eighth of it, reads them
once so they sit in the page cache, then times two tables, each with its cases interleaved:

1. End to end, start-up included (the done-when of issue 18): `git prov record --no-exec -i big.bin
   -- true` with the hash cache off, against `python -c` hashing the same file with
   hashlib.file_digest (target <= 1.3x, wall and CPU).
2. In-process routes: hashlib.file_digest (the baseline), hashlib over bytes already in memory, git
   prov's route (a read loop for SHA-256), an mmap hashed in slices, the eight files on every core,
   BLAKE3 (if the `blake3` extra is installed) and coreutils sha256sum.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
from pathlib import Path

import harness

from prov_git.capture import hashing

WORK = Path(os.environ.get("PROV_BENCH_DIR", "/tmp/prov-bench-hashing"))
FILE_DIGEST = ("import hashlib, sys\n"
               "with open(sys.argv[1], 'rb') as f: print(hashlib.file_digest(f, 'sha256').hexdigest())")


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 64 << 20)
            fh.write(os.urandom(n))
            left -= n


def file_digest(path: Path) -> None:
    with open(path, "rb") as fh:
        hashlib.file_digest(fh, "sha256")  # type: ignore[attr-defined,unused-ignore]  # 3.11+; mypy checks 3.10


def end_to_end(repo: Path, big: Path, rounds: int) -> None:
    cases: dict[str, harness.Case] = {
        "python -c: hashlib.file_digest sha256 of the file": [harness.PYTHON, "-c", FILE_DIGEST, str(big)],
        "python -c pass": [harness.PYTHON, "-c", "pass"],
        "git prov record --no-exec -i big -- true (cache off)": [
            harness.PROV, "-C", str(repo), "record", "-q", "--no-exec", "-i", big.name, "--", "true"],
    }
    times = harness.alternate(cases, rounds=rounds, warmup=1, env=harness.bench_env())
    base = "python -c: hashlib.file_digest sha256 of the file"
    print(f"machine: {harness.machine()}")
    harness.report(f"Single-file SHA-256 of {big.stat().st_size >> 20} MiB, start-up included (issue 18)",
                   times, base, {"git prov record --no-exec -i big -- true (cache off)": (base, 1.3)})
    cpu = statistics.median(harness.CPU["git prov record --no-exec -i big -- true (cache off)"])
    base_cpu = statistics.median(harness.CPU[base])
    print(f"\nCPU target: record {cpu:.3f} s / file_digest {base_cpu:.3f} s = {cpu / base_cpu:.2f}× "
          f"(≤ 1.3×: {'met' if cpu / base_cpu <= 1.3 else 'NOT met'})")


def in_process(big: Path, parts: list[Path], rounds: int) -> None:
    size = big.stat().st_size
    data = big.read_bytes()
    items = [(str(p), p.stat().st_size) for p in parts]
    cases: dict[str, harness.Case] = {
        "hashlib.file_digest sha256 (1 core)": lambda: file_digest(big),
        "hashlib.sha256, bytes in memory": lambda: hashlib.sha256(data).digest() and None,
        "git prov sha256, one file (read loop)": lambda: hashing.hash_path(str(big), "sha256") and None,
        "git prov sha256, mmap in slices instead": lambda: hashing.hash_path(
            str(big), "sha256", mapped=True) and None,
        "git prov sha256, 8 files on every core": lambda: hashing.hash_many(items, "sha256") and None,
    }
    try:
        import blake3  # noqa: F401

        cases["git prov blake3, one file (mmap)"] = lambda: hashing.hash_path(str(big), "blake3") and None
    except ImportError:
        print("(blake3 not installed: pip install 'git-prov[blake3]')")
    if shutil.which("sha256sum"):
        cases["coreutils sha256sum, one file"] = ["sha256sum", str(big)]
    times = harness.alternate(cases, rounds=rounds, warmup=1)
    base = "hashlib.file_digest sha256 (1 core)"
    harness.report(f"Hashing routes in-process, {size >> 20} MiB", times, base)
    print("\n| case | GB/s (wall) | × file_digest (wall) | target |\n|---|---|---|---|")
    base_rate = size / statistics.median(times[base])
    goals = {"git prov sha256, one file (read loop)": ("≥ 0.95× file_digest", 0.95, None),
             "git prov sha256, 8 files on every core": ("≥ 1.7× file_digest", 1.7, None),
             "git prov blake3, one file (mmap)": ("≥ 3 GB/s", None, 3.0)}
    for name, values in times.items():
        rate = size / statistics.median(values)
        share = rate / base_rate
        goal = goals.get(name)
        verdict = ""
        if goal is not None:
            label, min_share, min_rate = goal
            ok = share >= min_share if min_share is not None else rate / 1e9 >= (min_rate or 0)
            verdict = f"{label}: {'met' if ok else 'NOT met'}"
        print(f"| {name} | {rate / 1e9:.2f} | {share:.2f} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only-record", action="store_true", help="only the end-to-end table")
    args = parser.parse_args()
    harness.precompile()
    WORK.mkdir(parents=True, exist_ok=True)
    repo = WORK / "repo"
    if not (repo / ".git").exists():
        harness.make_repo(repo)
        (repo / ".gitignore").write_text("*.bin\n")
        harness.git("config", "prov.hashCache", "false", cwd=repo)
    size = args.size_mib << 20
    big = repo / f"one-{args.size_mib}MiB.bin"
    make_file(big, size)
    parts = [WORK / f"part{i}-{args.size_mib // 8}MiB.bin" for i in range(8)]
    for part in parts:
        make_file(part, size // 8)
    for path in (big, *parts):  # into the page cache
        file_digest(path)
    end_to_end(repo, big, args.rounds)
    if not args.only_record:
        in_process(big, parts, args.rounds)
    if os.environ.get("PROV_BENCH_CLEAN") == "1":
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
