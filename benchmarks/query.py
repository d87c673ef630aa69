"""Issue 13: queries at 100,000 runs against a 6-run store, in the same run.

    .venv/bin/python benchmarks/query.py [--runs 100000] [--rounds 8] [--keep DIR [--build-only]]

Both stores are built like benchmarks/scale.py (git fast-import of real records, one commit per run),
from one `git prov record` template with params (seed = i, bucket = i % 6), an output file and an
input file; run 3 of each store produced the content of `out.txt` on disk, so `which out.txt`
answers from the index. Measured, alternating small and large: `log -n 20 --where`, `compare -n 20
--sort`, `which` once the index is built; the first build (index deleted) at the large store; a
query right after one new record against a warm query; and `record` itself (which does no index work).
Every row shows wall and CPU time (user + system of the command and its children: the forked parser
and git included), since the machine is usually shared. --keep DIR keeps the stores (built once,
reused when present): the first build is re-timed by deleting DIR/large-N/.git/prov/index.sqlite.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import harness
import rfc8785
import scale

from prov_git import records as rec

SEED, BUCKET, OUT_DIGEST = "987654321", "123123123", "QQOUTQQ"
REAL_CONTENT = b"the real output\n"


def template(repo: Path) -> tuple[bytes, bytes, str, str]:
    """(canonical body, stored form, pin, digest placeholder) of a real record with placeholders."""
    (repo / "in.txt").write_text("input\n")
    subprocess.run([harness.PROV, "record", "-q", "--name", "template", "-i", "in.txt", "-o", "out.txt",
                    "-p", f"seed={SEED}", "-p", f"bucket={BUCKET}", "--", "sh", "-c", "echo x > out.txt"],
                   cwd=repo, env=harness.bench_env(), capture_output=True, check=True)
    import json

    shown = subprocess.run([harness.PROV, "show", "--json", "@"], cwd=repo, env=harness.bench_env(),
                           capture_output=True, check=True, text=True)
    record = json.loads(shown.stdout)
    record["name"], record["status"]["started_at"], record["status"]["ended_at"] = scale.NAME, scale.START, scale.END
    record["outputs"][0]["digest"] = OUT_DIGEST
    body = {k: v for k, v in record.items() if k != "id"}
    harness.git("update-ref", "-d", "refs/prov/runs", cwd=repo)
    shutil.rmtree(repo / ".prov", ignore_errors=True)
    return rfc8785.dumps(body), rec.encode({**record, "id": scale.ID}), record["git"]["commit"], OUT_DIGEST


def digest_of(i: int) -> str:
    data = REAL_CONTENT if i == 3 else str(i).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(repo: Path, count: int) -> None:
    canonical, stored, pin, _ = template(repo)
    original = scale.generate

    def generate(canonical: bytes, stored: bytes, i: int, started: int) -> tuple[str, bytes]:
        for placeholder, value in ((SEED, str(i)), (BUCKET, str(i % 6)), (OUT_DIGEST, digest_of(i))):
            canonical = canonical.replace(placeholder.encode(), value.encode())
            stored = stored.replace(placeholder.encode(), value.encode())
        return original(canonical, stored, i, started)

    scale.generate = generate
    try:
        scale.build(repo, count, canonical, stored, pin)
    finally:
        scale.generate = original
    (repo / "out.txt").write_bytes(REAL_CONTENT)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prov_cpu(repo: Path, *args: str) -> tuple[float, float]:
    """(wall, CPU user + system of the command and its children) of one git prov command."""
    c0, t0 = children_cpu(), time.perf_counter()
    subprocess.run([harness.PROV, *args], cwd=repo, env=harness.bench_env(), stdout=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t0, children_cpu() - c0


def prov(repo: Path, *args: str) -> float:
    return prov_cpu(repo, *args)[0]


WHERE = ["log", "-n", "20", "--where", "params.bucket = 2 and params.seed >= 3"]


# CPU of the in-process cases (harness.CPU only counts the benchmark's own process for those)
OWN_CPU: dict[str, list[float]] = {"warm": [], "after": []}


def warm(repo: Path) -> float:
    took, cpu = prov_cpu(repo, *WHERE)
    OWN_CPU["warm"].append(cpu)
    return took


def after_record(repo: Path) -> float:
    """A query right after one new record (the record itself not timed)."""
    subprocess.run([harness.PROV, "record", "-q", "--no-exec", "--", "true"], cwd=repo, env=harness.bench_env(),
                   check=True)
    took, cpu = prov_cpu(repo, *WHERE)
    OWN_CPU["after"].append(cpu)
    return took


def first_build(repo: Path) -> tuple[float, float, float]:
    """(wall, CPU, load average before) of a query that builds the index from nothing."""
    for path in (repo / ".git" / "prov").glob("index.sqlite*"):
        path.unlink()
    return (*prov_cpu(repo, *WHERE), os.getloadavg()[0])


def verdict(wall: float, cpu: float, target: float) -> str:
    """Both ratios judged: under load the wall ratio measures the scheduler as much as the code."""
    pairs = (("wall", wall), ("CPU", cpu))
    return ", ".join(f"{what} {'met' if ratio <= target else 'NOT met'}" for what, ratio in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--keep", metavar="DIR")
    parser.add_argument("--builds", type=int, default=1, help="first builds to time (each reads every run)")
    parser.add_argument("--build-only", action="store_true", help="build the stores (into --keep) and stop")
    args = parser.parse_args()
    harness.precompile()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="prov-bench-query-"))
    small, large = work / f"small-{args.small}", work / f"large-{args.runs}"
    for repo, count in ((small, args.small), (large, args.runs)):
        if not (repo / "out.txt").exists():
            shutil.rmtree(repo, ignore_errors=True)
            harness.make_repo(repo)
            t0 = time.perf_counter()
            build(repo, count)
            print(f"built {count} runs in {time.perf_counter() - t0:.1f} s")
    if args.build_only:
        return
    before = harness.machine()
    builds = [first_build(large) for _ in range(args.builds)]
    cases: dict[str, harness.Case] = {}
    for label, repo in (("small", small), ("large", large)):
        prov(repo, *WHERE)  # the index is built
        shown = " ".join(map(repr, WHERE))
        cases[f"log -n 20 --where @ {label}"] = ["sh", "-c", f"cd {repo} && {harness.PROV} {shown}"]
        cases[f"compare -n 20 --sort -params.seed @ {label}"] = [
            "sh", "-c", f"cd {repo} && {harness.PROV} compare -n 20 --sort -params.seed --format csv"]
        cases[f"which out.txt @ {label}"] = ["sh", "-c", f"cd {repo} && {harness.PROV} which out.txt"]
        cases[f"record -- true @ {label}"] = ["sh", "-c", f"cd {repo} && {harness.PROV} record -q -- true"]
    cases["warm query @ large"] = lambda: warm(large)
    cases["query after one record @ large"] = lambda: after_record(large)
    times = harness.alternate(cases, rounds=args.rounds, warmup=1, env=harness.bench_env())
    print(f"machine before: {before}")
    print(f"\n## Queries: {args.runs} runs against {args.small}\n")
    for took, cpu, load in builds:
        print(f"first index build at {args.runs} runs: {harness.fmt_s(took)} wall, {harness.fmt_s(cpu)} CPU "
              f"(load average {load:.1f} before it; target <= 10 s)")
    print(f"\n| command | at {args.small} runs | at {args.runs} runs | wall ratio | CPU at {args.small} | "
          f"CPU at {args.runs} | CPU ratio | target |")
    print("|---|---|---|---|---|---|---|---|")
    rounds = args.rounds
    for name in [n for n in cases if n.endswith("@ small")]:
        command = name.removesuffix(" @ small")
        big, target = f"{command} @ large", 1.05 if command.startswith("record") else 1.5
        ratio = harness.paired_ratio(times, big, name)
        cpu_small, cpu_big = statistics.median(harness.CPU[name]), statistics.median(harness.CPU[big])
        print(f"| {command} | {harness.fmt_s(statistics.median(times[name]))} | "
              f"{harness.fmt_s(statistics.median(times[big]))} | {ratio:.2f} | {harness.fmt_s(cpu_small)} | "
              f"{harness.fmt_s(cpu_big)} | {cpu_big / cpu_small:.2f} | "
              f"≤ {target}×: {verdict(ratio, cpu_big / cpu_small, target)} |")
    ratio = harness.paired_ratio(times, "query after one record @ large", "warm query @ large")
    warm_s, after_s = (statistics.median(times[f"{k} @ large"]) for k in ("warm query", "query after one record"))
    warm_cpu, after_cpu = (statistics.median(OWN_CPU[k][-rounds:]) for k in ("warm", "after"))
    print(f"| log --where right after one record vs warm (both at {args.runs}) | {harness.fmt_s(warm_s)} | "
          f"{harness.fmt_s(after_s)} | {ratio:.2f} | {harness.fmt_s(warm_cpu)} | {harness.fmt_s(after_cpu)} | "
          f"{after_cpu / warm_cpu:.2f} | ≤ 1.2×: {verdict(ratio, after_cpu / warm_cpu, 1.2)} |")
    print(f"\nmachine after: {harness.machine()}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
