"""Shared timing harness: run cases in alternation, report medians and ratios against a baseline.

Every figure a benchmark prints is a ratio against a baseline measured in the same run, because this
machine is shared and its speed drifts: each round runs every case once (in a rotating order), and the
ratio reported is the median over rounds of case/baseline from the same round.
"""

from __future__ import annotations

import compileall
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
PROV = str(VENV / "bin" / "git-prov")
PYTHON = str(VENV / "bin" / "python")

# A case is an argv (timed as a subprocess) or a callable (timed in-process; it may return its own
# measured seconds, e.g. a time-to-first-line).
Case = Sequence[str] | Callable[[], object]


def bench_env(**extra: str) -> dict[str, str]:
    """The environment commands run in: bytecode caching on, as after `pip install`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def git_home(base: Path) -> dict[str, str]:
    """A throw-away HOME whose git config a benchmark controls (identity, file:// remotes, no
    automatic gc); returns the variables that make git read only it."""
    home = base / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
                                     "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n"
                                     "[gc]\n\tauto = 0\n")
    return {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}


def prov_at(rev: str | None = None) -> list[str]:
    """The argv that runs git prov of a revision (None: this checkout), for a same-run comparison.

    The revision's prov_git and schemas are exported with `git archive` once (cached by commit under
    the temp folder) and run by this venv's interpreter with PYTHONPATH first, so that only the code
    differs between the two sides, never the packages or the interpreter. This checkout runs the same
    way (`env PYTHONPATH=... python -m prov_git`), so both pay the same start-up."""
    src = ROOT
    if rev is not None:
        sha = subprocess.run(["git", "rev-parse", "--short=12", rev], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        src = Path(tempfile.gettempdir()) / f"prov-bench-src-{sha}"
        if not (src / "prov_git" / "__init__.py").exists():
            archive = subprocess.run(["git", "archive", sha, "prov_git", "schemas"], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            part = src.with_name(src.name + f".{os.getpid()}")
            part.mkdir(parents=True, exist_ok=True)
            subprocess.run(["tar", "-x", "-C", str(part)], input=archive, check=True)
            compileall.compile_dir(str(part / "prov_git"), quiet=1)
            os.replace(part, src)
    return ["env", f"PYTHONPATH={src}", PYTHON, "-m", "prov_git"]


def precompile() -> None:
    # An installed wheel ships compiled bytecode; an editable checkout with PYTHONDONTWRITEBYTECODE=1
    # would recompile every module on every start (~25 ms), which no user pays.
    compileall.compile_dir(str(ROOT / "prov_git"), quiet=1)


# CPU seconds (user + system) of the last subprocess case, children included: unlike wall time it
# hardly moves when other work shares the machine, so the tables show both.
CPU: dict[str, list[float]] = {}


def _time_one(case: Case, cwd: str | None, env: dict[str, str] | None) -> tuple[float, float | None]:
    if callable(case):
        t0 = time.perf_counter()
        c0 = time.process_time()
        own = case()
        cpu = time.process_time() - c0
        # A case may time itself (returns seconds); any other result is ignored.
        return (own if isinstance(own, float) else time.perf_counter() - t0), cpu
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(list(case), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        took = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise SystemExit(f"benchmark case failed ({child.returncode}): {' '.join(case)}\n"
                             f"{err.read().decode(errors='replace')}")
    return took, usage.ru_utime + usage.ru_stime


def alternate(cases: dict[str, Case], *, rounds: int = 15, warmup: int = 2, cwd: str | None = None,
              env: dict[str, str] | None = None,
              before: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Seconds per round for every case, the cases interleaved and their order rotated each round."""
    names = list(cases)
    times: dict[str, list[float]] = {n: [] for n in names}
    for n in names:
        CPU[n] = []
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if before is not None:
                before(name)
            took, cpu = _time_one(cases[name], cwd, env)
            if r >= warmup:
                times[name].append(took)
                if cpu is not None:
                    CPU[name].append(cpu)
    return times


def paired_ratio(times: dict[str, list[float]], case: str, baseline: str) -> float:
    return statistics.median(a / b for a, b in zip(times[case], times[baseline], strict=True))


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def report(title: str, times: dict[str, list[float]], baseline: str,
           targets: dict[str, tuple[str, float]] | None = None) -> list[dict[str, object]]:
    """Print a table (median, ratio to baseline, target) and return its rows."""
    targets = targets or {}
    print(f"\n## {title}\n")
    print(f"| case | median wall | × {baseline} (wall) | × (CPU) | target (wall) |")
    print("|---|---|---|---|---|")
    rows = []
    for name, values in times.items():
        ratio = paired_ratio(times, name, baseline)
        target = targets.get(name)
        verdict = ""
        if target is not None:
            ref, limit = target
            rel = paired_ratio(times, name, ref)
            ok = rel <= limit
            verdict = f"≤ {limit}× {ref}: {rel:.2f}× {'met' if ok else 'NOT met'}"
        cpu = CPU.get(name, [])
        base_cpu = CPU.get(baseline, [])
        cpu_ratio = (f"{statistics.median(cpu) / statistics.median(base_cpu):.2f}"
                     if cpu and base_cpu and statistics.median(base_cpu) > 0 else "")
        print(f"| {name} | {fmt_s(statistics.median(values))} | {ratio:.2f} | {cpu_ratio} | {verdict} |")
        rows.append({"case": name, "median_s": statistics.median(values), "ratio": ratio, "target": verdict})
    sys.stdout.flush()
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; load average {load} (other work shares this machine)")


def git(*args: str, cwd: str | Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def make_repo(path: Path) -> Path:
    """A fresh repository with one commit and a local identity, like a user's project."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", ".", cwd=path)
    git("config", "user.name", "Bench", cwd=path)
    git("config", "user.email", "bench@example.com", cwd=path)
    (path / "in.txt").write_text("hello\n")
    git("add", "in.txt", cwd=path)
    git("commit", "-q", "-m", "init", cwd=path)
    return path
