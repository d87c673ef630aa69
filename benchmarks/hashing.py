"""Target 2: first-time hashing speed against hashlib on one core, measured in the same run.

    .venv/bin/python benchmarks/hashing.py [--size-mib 1024] [--rounds 5]

Makes one 1 GiB file and eight 128 MiB files of random bytes under $PROV_BENCH_DIR (default
/tmp/prov-bench-hashing, kept between runs), reads them once so they sit in the page cache, then times
in alternation: hashlib.sha256 over the same bytes already in memory (the baseline: one core's SHA-256
rate), git prov's hashing of the file, the eight files as one batch on every core, BLAKE3 (if the
`blake3` extra is installed) and coreutils sha256sum.
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


def make_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 64 << 20)
            fh.write(os.urandom(n))
            left -= n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    size = args.size_mib << 20
    big = WORK / f"one-{args.size_mib}MiB.bin"
    make_file(big, size)
    parts = [WORK / f"part{i}-{args.size_mib // 8}MiB.bin" for i in range(8)]
    for part in parts:
        make_file(part, size // 8)
    data = big.read_bytes()  # also warms the page cache
    for part in parts:
        part.read_bytes()
    items = [(str(p), size // 8) for p in parts]

    cases: dict[str, harness.Case] = {
        "hashlib.sha256, bytes in memory (1 core)": lambda: hashlib.sha256(data).digest() and None,
        "git prov sha256, one file": lambda: hashing.hash_path(str(big), "sha256") and None,
        "git prov sha256, read loop instead of mmap": lambda: hashing.hash_path(
            str(big), "sha256", mapped=False) and None,
        "git prov sha256, 8 files on every core": lambda: hashing.hash_many(items, "sha256") and None,
    }
    try:
        import blake3  # noqa: F401

        cases["git prov blake3, one file"] = lambda: hashing.hash_path(str(big), "blake3") and None
    except ImportError:
        print("(blake3 not installed: pip install 'git-prov[blake3]')")
    if shutil.which("sha256sum"):
        cases["coreutils sha256sum, one file"] = ["sha256sum", str(big)]
    times = harness.alternate(cases, rounds=args.rounds, warmup=1)
    base = "hashlib.sha256, bytes in memory (1 core)"
    print(f"machine: {harness.machine()}")
    harness.report(f"First-time hashing of {args.size_mib} MiB (target 2)", times, base)
    print("\n| case | GB/s | × one core | target |\n|---|---|---|---|")
    base_rate = size / statistics.median(times[base])
    goals = {"git prov sha256, one file": ("≥ 0.85× one core", 0.85, None),
             "git prov sha256, 8 files on every core": ("≥ 1.7× one core", 1.7, None),
             "git prov blake3, one file": ("≥ 3 GB/s", None, 3.0)}
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
    if os.environ.get("PROV_BENCH_CLEAN") == "1":
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
