"""Target 4: record, log -n 20, show and diff at 100,000 runs against the same in a small store.

    .venv/bin/python benchmarks/scale.py [--runs 100000] [--rounds 10] [--keep DIR]

Builds two stores the way `git prov record` lays them out (docs/format.md): refs/prov/runs is a chain of
commits, one per run, each adding runs/<id[:2]>/<id>/run.json, with strictly increasing commit dates,
the messages store/runs.py writes and the code commit pinned as second parent; the chain starts at a
"prov: root" commit. The records are real: one `git prov record` made in the repository is the template,
and each copy gets its own name and start time and the id recomputed (RFC 8785 + SHA-256, checked by
prov_git.records.decode on a sample). The chain goes through `git fast-import` (packs directly, ~10 s per
100,000 runs) and `git repack -ad`, as `git gc` would leave it. Then the commands alternate between the
small store (20 runs by default, so that `log -n 20` prints as many lines in both; record, show and
diff cost the same at 1 run) and the large one, and `git prov log` of the whole large
store is timed to its first line.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import harness
import rfc8785

from prov_git import records as rec

NAME, START, END, ID = "QQNAMEQQ", "QQSTARTQQ", "QQENDQQ", "QQIDQQ"


def stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def template(repo: Path) -> tuple[bytes, bytes, str]:
    """(canonical body, stored form, pinned commit) of a real record, with placeholders."""
    subprocess.run([harness.PROV, "record", "--name", "template", "--", "true"], cwd=repo,
                   env=harness.bench_env(), capture_output=True, check=True)
    shown = subprocess.run([harness.PROV, "show", "--json", "@"], cwd=repo, env=harness.bench_env(),
                           capture_output=True, check=True, text=True)
    record = json.loads(shown.stdout)
    record["name"] = NAME
    record["status"]["started_at"] = START
    record["status"]["ended_at"] = END
    body = {k: v for k, v in record.items() if k != "id"}
    canonical = rfc8785.dumps(body)
    stored = rec.encode({**record, "id": ID})
    # Forget the template run: the stores hold only the generated ones.
    harness.git("update-ref", "-d", "refs/prov/runs", cwd=repo)
    shutil.rmtree(repo / ".prov", ignore_errors=True)
    return canonical, stored, record["git"]["commit"]


def generate(canonical: bytes, stored: bytes, i: int, started: int) -> tuple[str, bytes]:
    values = {NAME: f"run-{i:06}", START: stamp(started), END: stamp(started)}
    body, text = canonical, stored
    for key, value in values.items():
        body = body.replace(key.encode(), value.encode())
        text = text.replace(key.encode(), value.encode())
    run_id = hashlib.sha256(body).hexdigest()
    return run_id, text.replace(ID.encode(), run_id.encode())


def build(repo: Path, count: int, canonical: bytes, stored: bytes, pin: str) -> list[str]:
    """Write `count` runs to refs/prov/runs with git fast-import; returns their ids, oldest first."""
    name = subprocess.run(["git", "config", "user.name"], cwd=repo, capture_output=True, text=True).stdout.strip()
    email = subprocess.run(["git", "config", "user.email"], cwd=repo, capture_output=True, text=True).stdout.strip()
    who = f"{name} <{email}>"
    base = int(time.time()) - count - 3600  # every run in the past: new records are the newest
    importer = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=repo,
                                stdin=subprocess.PIPE, bufsize=1 << 20)
    assert importer.stdin is not None
    out = importer.stdin
    root = b"prov: root\n"
    out.write(f"commit refs/prov/runs\nmark :1\ncommitter {who} {base} +0000\n".encode())
    out.write(b"data %d\n%s\n" % (len(root), root))
    ids = []
    for i in range(count):
        started = base + i + 1
        run_id, text = generate(canonical, stored, i, started)
        ids.append(run_id)
        message = f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {stamp(started)}\n".encode()
        out.write(f"commit refs/prov/runs\ncommitter {who} {started + 1} +0000\n".encode())
        out.write(b"data %d\n%s\n" % (len(message), message))
        if i == 0:
            out.write(b"from :1\n")
        out.write(f"merge {pin}\n".encode())
        out.write(f"M 100644 inline runs/{run_id[:2]}/{run_id}/run.json\n".encode())
        out.write(b"data %d\n%s\n" % (len(text), text))
    out.write(b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "repack", "-ad", "-q"], cwd=repo, check=True)
    # Sample check: the generated records decode (schema, id) like any recorded one.
    for run_id in (ids[0], ids[len(ids) // 2], ids[-1]):
        blob = subprocess.run(["git", "show", f"refs/prov/runs:runs/{run_id[:2]}/{run_id}/run.json"],
                              cwd=repo, capture_output=True, check=True).stdout
        rec.decode(blob, expected_id=run_id)
    return ids


def first_line(argv: list[str], cwd: Path) -> float:
    """Seconds until the first line of argv's output arrives; the rest is not awaited."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=harness.bench_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    child.stdout.readline()
    took = time.perf_counter() - t0
    child.kill()
    child.wait()
    child.stdout.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--small", type=int, default=20,
                        help="runs in the small store (20: log -n 20 then prints as many lines in both)")
    parser.add_argument("--keep", metavar="DIR", help="build the stores here and keep them (reused if present)")
    args = parser.parse_args()
    harness.precompile()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="prov-bench-scale-"))
    small, large = work / f"small-{args.small}", work / f"large-{args.runs}"
    built: dict[Path, list[str]] = {}
    for repo, count in ((small, max(args.small, 2)), (large, args.runs)):
        marker = repo / ".git" / "prov-bench-ids"
        if marker.exists():
            built[repo] = marker.read_text().split()
            continue
        shutil.rmtree(repo, ignore_errors=True)
        harness.make_repo(repo)
        canonical, stored, pin = template(repo)
        t0 = time.perf_counter()
        built[repo] = build(repo, count, canonical, stored, pin)
        print(f"built {count} runs in {time.perf_counter() - t0:.1f} s ({repo})")
        marker.write_text("\n".join(built[repo]))
    prov = harness.PROV
    old_small, old_large = built[small][0][:12], built[large][len(built[large]) // 2][:12]
    cases: dict[str, harness.Case] = {}
    for label, repo, old in (("small", small, old_small), ("large", large, old_large)):
        cases[f"record -- true @ {label}"] = ["sh", "-c", f"cd {repo} && {prov} record -q -- true"]
        cases[f"log -n 20 @ {label}"] = ["sh", "-c", f"cd {repo} && {prov} log -n 20"]
        cases[f"show (newest) @ {label}"] = ["sh", "-c", f"cd {repo} && {prov} show"]
        cases[f"show <old id> @ {label}"] = ["sh", "-c", f"cd {repo} && {prov} show {old}"]
        if (harness.ROOT / "prov_git" / "commands" / "diff.py").exists():
            cases[f"diff @ {label}"] = ["sh", "-c", f"cd {repo} && {prov} diff --no-pager"]
        cases[f"log (all), first line @ {label}"] = functools.partial(first_line, [prov, "log"], repo)
    times = harness.alternate(cases, rounds=args.rounds, warmup=1, env=harness.bench_env())
    print(f"machine: {harness.machine()}")
    print(f"\n## Scale: {args.runs} runs against {args.small} (target 4)\n")
    print(f"| command | at {args.small} runs | at {args.runs} runs | ratio | target ≤ 1.3× |")
    print("|---|---|---|---|---|")

    for name in [n for n in cases if n.endswith("@ small")]:
        command = name.removesuffix(" @ small")
        big = f"{command} @ large"
        ratio = harness.paired_ratio(times, big, name)
        print(f"| {command} | {harness.fmt_s(statistics.median(times[name]))} | "
              f"{harness.fmt_s(statistics.median(times[big]))} | {ratio:.2f} | "
              f"{'met' if ratio <= 1.3 else 'NOT met'} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
