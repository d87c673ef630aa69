"""Helpers for tests: run git and git-prov as a user would, read the store with plain git."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

GIT_PROV = str(Path(sys.executable).parent / "git-prov")
_RUN_TRAILERS = re.compile(r"^Prov-Run: ([0-9a-f]{64})\nProv-Started: (\S+)$", re.M)


def _epoch(stamp: str) -> float:
    head, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + (float("0." + frac) if frac else 0.0)


def git(cwd: Path, *args: str, check: bool = True, input: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace")


def init_project(path: Path) -> Path:
    """A repository with one commit (train.py on main), as a project starts."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    (path / "train.py").write_text("print('training')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "initial")
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def prov(cwd: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,
         timeout: float = 120) -> Result:
    """Run the installed git-prov console script, the way `git prov` would."""
    merged = {**os.environ, **(env or {})}
    done = subprocess.run([GIT_PROV, *args], cwd=cwd, capture_output=True, input=input,
                          env=merged, timeout=timeout, check=False)
    return Result(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))


@dataclass
class Repo:
    path: Path

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def prov(self, *args: str, **kwargs: Any) -> Result:
        return prov(self.path, *args, **kwargs)

    def write(self, rel: str, text: str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def commit_all(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def record(self, *args: str, **kwargs: Any) -> dict[str, Any]:
        """Record a run that must succeed; returns the stored record (read with plain git)."""
        result = self.prov("record", *args, **kwargs)
        assert result.code == 0, result.err
        return self.newest()

    def newest(self) -> dict[str, Any]:
        """The newest run's record (start time, then id), read with plain git: no git-prov start-up."""
        runs = _RUN_TRAILERS.findall(self.git("log", "--format=%B", "refs/prov/runs"))
        assert runs, "no runs recorded"
        run_id = max(runs, key=lambda r: (_epoch(r[1]), r[0]))[0]
        record: dict[str, Any] = json.loads(self.blob(run_id))
        return record

    def run_ids(self) -> list[str]:
        """Every run id in refs/prov/runs, read with plain git."""
        out = self.git("ls-tree", "-r", "--name-only", "refs/prov/runs", check=False)
        return sorted({p.split("/")[2] for p in out.splitlines() if p.endswith("/run.json")})

    def blob(self, run_id: str, name: str = "run.json") -> bytes:
        done = subprocess.run(["git", "show", f"refs/prov/runs:runs/{run_id[:2]}/{run_id}/{name}"],
                              cwd=self.path, capture_output=True, check=True)
        return done.stdout
