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


def record_id(record: dict[str, Any]) -> str:
    """The run id as anyone can compute it: SHA-256 of the RFC 8785 canonical JSON without `id`."""
    import hashlib

    import rfc8785

    return hashlib.sha256(rfc8785.dumps({k: v for k, v in record.items() if k != "id"})).hexdigest()


def stored_form(record: dict[str, Any]) -> bytes:
    """run.json as docs/format.md describes it: sorted keys, two-space indent, UTF-8, final newline."""
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def plant_run(repo_path: Path, record: dict[str, Any], *, side_files: dict[str, bytes] | None = None,
              pins: list[str] | None = None, reidentify: bool = True) -> dict[str, Any]:
    """Append one run to refs/prov/runs of the repository at repo_path (bare or not) with plain pygit2,
    in the documented layout, as another (perhaps newer) git prov would: runs/<id[0:2]>/<id>/run.json
    plus side_files, a `prov: run <id>` commit with Prov-Run/Prov-Started trailers, dated after its
    parent and not before the run started. The id is recomputed unless reidentify is False; pins
    default to the record's git commit and snapshot when the repository has them. Returns the record."""
    from datetime import datetime

    import pygit2

    if reidentify:
        record = {**{k: v for k, v in record.items() if k != "id"}, "id": record_id(record)}
    run_id = str(record["id"])
    git_repo = pygit2.Repository(str(repo_path))
    # Whole seconds after the start: a run commit is never dated before its run (fetch checks it).
    started = str(record["status"]["started_at"])
    when = int(datetime.fromisoformat(started[:19] + "+00:00").timestamp()) + 1
    base = _tip_or_root(git_repo, when - 10)
    folder = git_repo.TreeBuilder()
    for name, data in sorted({"run.json": stored_form(record), **(side_files or {})}.items()):
        folder.insert(name, git_repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    tree = _nest(git_repo, base.tree, ["runs", run_id[:2], run_id], folder.write())
    if pins is None:
        wanted = [record.get("git", {}).get(k) for k in ("commit", "snapshot")]
        pins = [p for p in wanted if isinstance(p, str) and pygit2.Oid(hex=p) in git_repo.odb]
    sig = pygit2.Signature("planter", "planter@example.invalid", max(when, base.commit_time + 1), 0)
    message = f"prov: run {run_id}\n\nProv-Run: {run_id}\nProv-Started: {started}\n"
    commit = git_repo.create_commit(None, sig, sig, message, tree, [base.id, *(pygit2.Oid(hex=p) for p in pins)])
    git_repo.references.create("refs/prov/runs", commit, force=True)
    return record


def _tip_or_root(git_repo: Any, when: int) -> Any:
    """The tip of refs/prov/runs, or a new empty `prov: root` commit dated `when` to start the chain."""
    import pygit2

    ref = git_repo.references.get("refs/prov/runs")
    if ref is not None:
        return ref.peel(pygit2.Commit)
    sig = pygit2.Signature("planter", "planter@example.invalid", when, 0)
    return git_repo.get(git_repo.create_commit(None, sig, sig, "prov: root\n", git_repo.TreeBuilder().write(), []))


def _nest(git_repo: Any, base: Any, path: list[str], leaf: Any) -> Any:
    """base (a tree or None) with the tree leaf placed at path, every other entry kept."""
    import pygit2

    builder = git_repo.TreeBuilder(base) if base is not None else git_repo.TreeBuilder()
    child = base[path[0]] if base is not None and path[0] in base else None
    inner = leaf if len(path) == 1 else _nest(git_repo, child if isinstance(child, pygit2.Tree) else None,
                                              path[1:], leaf)
    builder.insert(path[0], inner, pygit2.enums.FileMode.TREE)
    return builder.write()


def plant_paths(repo: Repo, files: dict[str, bytes], message: str | None = None,
                parents: tuple[str, ...] = ()) -> None:
    """Put files at their paths on refs/prov/runs with plain git plumbing, as a hand edit or a forger
    would: one commit on top of the ref (or a root one if there is none yet), extra parents as given."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo.path / ".git" / "plant-index")}
    has_ref = subprocess.run(["git", "rev-parse", "-q", "--verify", "refs/prov/runs"], cwd=repo.path,
                             capture_output=True, check=False).returncode == 0
    if has_ref:
        subprocess.run(["git", "read-tree", "refs/prov/runs"], cwd=repo.path, env=env, check=True)
    else:
        subprocess.run(["git", "read-tree", "--empty"], cwd=repo.path, env=env, check=True)
    for path, data in files.items():
        blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=data,
                              capture_output=True, check=True).stdout.decode().strip()
        subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"],
                       cwd=repo.path, env=env, check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=repo.path, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()
    args = ["commit-tree", tree, "-m", message or "planted"]
    for parent in (("refs/prov/runs",) if has_ref else ()) + parents:
        args += ["-p", parent]
    commit = repo.git(*args).strip()
    repo.git("update-ref", "refs/prov/runs", commit)
    os.unlink(env["GIT_INDEX_FILE"])


def plant(repo: Repo, run_id: str, files: dict[str, bytes], message: str | None = None,
          parents: tuple[str, ...] = ()) -> None:
    """Put files into runs/<id>/ on refs/prov/runs with plain git plumbing, as a forger would."""
    plant_paths(repo, {f"runs/{run_id[:2]}/{run_id}/{name}": data for name, data in files.items()},
                message or f"prov: run {run_id}", parents)


def refused(repo: Repo, result: Result, code: int, *words: str) -> None:
    """A one-line error naming the problem, no run stored and the command not run (it would have
    created the file `ran`)."""
    assert result.code == code, (result.code, result.err)
    assert "Traceback" not in result.err and result.err.count("\n") == 1, result.err
    prefix = "git prov: usage: " if code == 2 else "git prov: error: "
    assert result.err.startswith(prefix), result.err
    for word in words:
        assert word in result.err, (word, result.err)
    assert repo.run_ids() == []
    assert not (repo.path / "ran").exists(), "the command ran although the input was refused"
    runs = repo.path / ".prov" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


# The diff sections in the contract's order (design.md "diff"), written out here, not read from the
# registry, so that a change to the registry that breaks the contract fails the tests.
SECTIONS = ("command", "code", "inputs", "params", "env", "outputs", "metrics", "status")
