"""First fetch and `verify --all` at team scale, as ms per run against same-run baselines (issue 18).

    .venv/bin/python benchmarks/fetch.py [RUNS [ROUNDS]] [--main] [--store DIR]   # default 20,000 runs, 3 rounds

--store DIR keeps the built remote in DIR/remote-RUNS.git and reuses it on the next run (a 100,000-run
remote takes ten minutes to build); the clones still go into a temporary folder. To time a fixed
commit while editing, run the script of a `git archive` snapshot with PROV_BENCH_REPO naming the
repository (for --main).

Builds a bare remote holding RUNS runs in the documented format (docs/format.md: one run commit per
run, pinning the project commit, trailers, increasing dates; one template record from `git prov
record`, varied by a param), then each round, cases in rotating order:

- first fetch: a new clone (plain `git clone` of the project, so only the store is new) runs
  `git prov fetch`: transfer, every check of the fetch rules, merge, mirror. Baseline: plain
  `git fetch` of the same ref into another new clone (the transfer alone). Beside it, the mirror's
  floor: RUNS folders with one record-sized file each, written by plain Python into a new clone
  (git fetch's time plus this one is what any fetch that mirrors every run costs at the least).
- `git prov verify --all` in a clone that fetched them. Baseline: `git archive` of the store's tip
  (reading every record once).

With --main, the same commands also run the code of the `main` branch (or of PROV_BENCH_AGAINST=REV;
extracted with `git archive` into a temporary folder, run with this venv): the "today's rate" of the
issue, in the same run.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
REF = "refs/prov/runs"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_remote(base: Path, count: int) -> Path:
    """A bare remote with a project branch and `count` runs on refs/prov/runs (pygit2, no fsync)."""
    import pygit2

    from prov_git.records import compute_id, encode

    git(base, "init", "-q", "--bare", "remote.git")
    remote = base / "remote.git"
    seed = base / "seed"
    seed.mkdir()
    git(seed, "init", "-q", "-b", "main")
    (seed / "train.py").write_text("print('training')\n")
    git(seed, "add", "train.py")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", remote.as_uri(), "main")
    subprocess.run([str(Path(PYTHON).parent / "git-prov"), "record", "-q", "--no-exec", "-p", "i=-1", "--", "true"],
                   cwd=seed, check=True)
    import json

    template = json.loads(git(seed, "show", f"{REF}:" + git(seed, "ls-tree", "-r", "--name-only", REF).split()[0]))
    repo = pygit2.Repository(str(remote))
    pin = pygit2.Oid(hex=template["git"]["commit"])
    sig_time = int(time.time()) - count - 60
    empty = repo.TreeBuilder().write()
    sig = pygit2.Signature("Bench", "bench@example.invalid", sig_time, 0)
    tip = repo.create_commit(None, sig, sig, "prov: root\n", empty, [])
    fans: dict[str, dict[str, pygit2.Oid]] = {}
    fan_trees: dict[str, pygit2.Oid] = {}
    for i in range(count):
        when = sig_time + 1 + i
        status = {**template["status"], "started_at": stamp(when - 0.5), "ended_at": stamp(when - 0.25)}
        record = {**template, "params": {"i": i, "lr": 0.001 * (i % 97)}, "status": status}
        record["id"] = compute_id(record)
        run_id = record["id"]
        folder = repo.TreeBuilder()
        folder.insert("run.json", repo.create_blob(encode(record)), pygit2.enums.FileMode.BLOB)
        fan = fans.setdefault(run_id[:2], {})
        fan[run_id] = folder.write()
        builder = repo.TreeBuilder(fan_trees[run_id[:2]]) if run_id[:2] in fan_trees else repo.TreeBuilder()
        builder.insert(run_id, fan[run_id], pygit2.enums.FileMode.TREE)
        fan_trees[run_id[:2]] = builder.write()
        runs_tree = repo.TreeBuilder()
        for name in sorted(fan_trees):
            runs_tree.insert(name, fan_trees[name], pygit2.enums.FileMode.TREE)
        top = repo.TreeBuilder()
        top.insert("runs", runs_tree.write(), pygit2.enums.FileMode.TREE)
        sig = pygit2.Signature("Bench", "bench@example.invalid", when, 0)
        message = f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {status['started_at']}\n"
        tip = repo.create_commit(None, sig, sig, message, top.write(), [tip, pin])
    repo.references.create(REF, tip, force=True)
    git(remote, "repack", "-adq")
    return remote


# What the mirror costs at the least: one folder and one file of a record's size per run, written
# by plain Python in the new clone, as .prov/runs/ (design.md: every fetched run is mirrored).
MIRROR_FLOOR = """
import os, sys
count, size = int(sys.argv[1]), int(sys.argv[2])
data = b"x" * size
os.makedirs(".prov/runs")
at = os.open(".prov/runs", os.O_RDONLY)
for i in range(count):
    name = "%064x" % (i * 0x9E3779B97F4A7C15 % (1 << 256))
    os.mkdir(name, dir_fd=at)
    fd = os.open(name + "/run.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=at)
    os.write(fd, data)
    os.close(fd)
"""


def fresh_clone(base: Path, remote: Path, name: str) -> Path:
    path = base / name
    subprocess.run(["rm", "-rf", str(path)], check=True)
    git(base, "clone", "-q", remote.as_uri(), name)
    return path


Timing = tuple[float, float]  # (wall s, CPU s: user + system of the command and everything it waited for)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return took, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main_tree(base: Path) -> Path:
    """The main branch's prov_git, extracted: its fetch and verify run with this venv's packages."""
    out = base / "main-src"
    out.mkdir()
    repo = os.environ.get("PROV_BENCH_REPO", str(ROOT))  # a snapshot of this tree names the repository it came from
    rev = os.environ.get("PROV_BENCH_AGAINST", "main")  # another revision as "main": the round's start
    archive = subprocess.run(["git", "-C", repo, "archive", rev, "prov_git", "schemas"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def kept_remote(base: Path, count: int, store: Path | None) -> Path:
    """The remote of count runs: built in base, or built once into store and reused from there."""
    if store is None:
        return build_remote(base, count)
    kept = store / f"remote-{count}.git"
    if not (kept.exists() and git(kept, "for-each-ref", REF).strip()):
        build = store / f"build-{count}"
        subprocess.run(["rm", "-rf", str(build), str(kept)], check=True)
        build.mkdir(parents=True)
        os.replace(build_remote(build, count), kept)
        subprocess.run(["rm", "-rf", str(build)], check=True)
    return kept


def main() -> None:
    store_at = sys.argv.index("--store") + 1 if "--store" in sys.argv else None
    store = Path(sys.argv[store_at]).resolve() if store_at else None
    args = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and i != store_at]
    count = int(args[0]) if args else 20_000
    rounds = int(args[1]) if len(args) > 1 else 3
    with tempfile.TemporaryDirectory(prefix="prov-fetch-bench-") as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(harness.git_home(base))
        os.environ.update(env)
        start = time.perf_counter()
        remote = kept_remote(base, count, store)
        print(f"built a remote of {count} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        prov = {"this tree": [PYTHON, "-m", "prov_git"]}
        envs = {"this tree": {**env, "PYTHONPATH": str(ROOT)}}
        if "--main" in sys.argv:
            src = main_tree(base)
            prov["main"] = [PYTHON, "-m", "prov_git"]
            envs["main"] = {**env, "PYTHONPATH": str(src)}
        load_before = os.getloadavg()[0]
        first_run = git(remote, "ls-tree", "-r", "--name-only", REF).split()[0]
        size = int(git(remote, "cat-file", "-s", f"{REF}:{first_run}"))
        fetch_cases: dict[str, Callable[[Path], Timing]] = {
            "git fetch (baseline)": lambda c: timed(["git", "fetch", "-q", "origin", f"{REF}:{REF}"], c, env),
            "mirror floor (a floor, not a baseline)": lambda c: timed(
                [PYTHON, "-c", MIRROR_FLOOR, str(count), str(size)], c, env)}
        for label in prov:
            fetch_cases[f"git prov fetch ({label})"] = (
                lambda c, label=label: timed([*prov[label], "fetch", "-q"], c, envs[label]))  # type: ignore[misc]
        times: dict[str, list[Timing]] = {name: [] for name in fetch_cases}
        names = list(fetch_cases)
        for r in range(rounds):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                # A new folder each time, all removed at the end: deleting a clone's 100,000-folder
                # mirror here (ext4 mounted with `discard`) slowed the next case's mkdirs by ~50 us each.
                clone = fresh_clone(base, remote, f"clone-{r}-{k}")
                times[name].append(fetch_cases[name](clone))
        fetched = {label: fresh_clone(base, remote, f"fetched-{i}") for i, label in enumerate(prov)}
        for label, path in fetched.items():
            timed([*prov[label], "fetch", "-q"], path, envs[label])
        verify_cases: dict[str, Callable[[], Timing]] = {
            "git archive (baseline)": lambda: timed(["sh", "-c", f"git archive {REF} > /dev/null"],
                                                    next(iter(fetched.values())), env)}
        for label in prov:
            verify_cases[f"git prov verify --all ({label})"] = (
                lambda label=label: timed([*prov[label], "verify", "--all"], fetched[label], envs[label]))  # type: ignore[misc]
        vtimes: dict[str, list[Timing]] = {name: [] for name in verify_cases}
        vnames = list(verify_cases)
        for r in range(rounds):
            for k in range(len(vnames)):
                name = vnames[(r + k) % len(vnames)]
                vtimes[name].append(verify_cases[name]())
        print(f"\n{count} runs, {rounds} rounds, {os.cpu_count()} cores, load average {load_before:.1f} at the "
              f"start, {os.getloadavg()[0]:.1f} at the end\n")
        report(times, "git fetch (baseline)", count, "main" in prov)
        report(vtimes, "git archive (baseline)", count, "main" in prov, header=False)


def report(table: dict[str, list[Timing]], base_name: str, count: int, with_main: bool, header: bool = True) -> None:
    """Medians of wall and CPU per run, and the medians of the same-round ratios to the baseline and to main."""
    if header:
        print("| case | wall | wall ms/run | CPU ms/run | wall × baseline | CPU × baseline |"
              + (" main ÷ this (wall, CPU) |" if with_main else ""))
        print("|---|---|---|---|---|---|" + ("---|" if with_main else ""))
    for name, values in table.items():
        row = (f"| {name} | {statistics.median(v[0] for v in values):.2f} s | "
               f"{1000 * statistics.median(v[0] for v in values) / count:.3f} | "
               f"{1000 * statistics.median(v[1] for v in values) / count:.3f} | "
               f"{ratio(values, table[base_name], 0):.1f}× | {ratio(values, table[base_name], 1):.1f}× |")
        main_name = name.replace("(this tree)", "(main)")
        if with_main:
            row += (f" {ratio(table[main_name], values, 0):.2f}×, {ratio(table[main_name], values, 1):.2f}× |"
                    if main_name != name and main_name in table else " |")
        print(row)


def ratio(values: list[Timing], baseline: list[Timing], which: int) -> float:
    return statistics.median(a[which] / max(b[which], 1e-6) for a, b in zip(values, baseline, strict=True))

if __name__ == "__main__":
    main()
