"""Install the scripts of hooks/ into a repository's hooks folder, and take them out again.

The folder is the one git runs hooks from (core.hooksPath respected). A hook already there is kept
as <name>.pre-prov and run first by ours; installing again only refreshes our scripts (they carry
a marker line), and uninstalling puts the kept hook back.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from prov_git.errors import ProvError
from prov_git.resources import resource_path
from prov_git.store.repo import Repo

HOOKS = ("pre-push", "post-merge")
MARKER = "# git-prov hook"
LEGACY_SUFFIX = ".pre-prov"
_PYTHON_LINE = re.compile(r"^INSTALL_PYTHON=''$", re.M)


@dataclass(frozen=True)
class Action:
    hook: str
    what: str  # installed, updated, chained, removed, restored, skipped, absent

    def line(self, folder: Path) -> str:
        return f"{self.hook}: {self.what} ({folder})"


def hooks_dir(repo: Repo) -> Path:
    """Where git runs hooks from: core.hooksPath (relative to the work tree) or $GIT_DIR/hooks."""
    cwd = repo.workdir or repo.common_dir
    done = subprocess.run(["git", "rev-parse", "--git-path", "hooks"], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise ProvError(f"cannot find the hooks folder: {done.stderr.strip() or 'git rev-parse failed'}")
    return (cwd / os.path.expanduser(done.stdout.strip())).resolve()


def is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_text(errors="replace")
    except OSError:
        return False


def script(name: str, python: str) -> str:
    """Our hook with the Python that has git prov filled in (used when git-prov is not on PATH)."""
    text = resource_path("hooks", name).read_text(encoding="utf-8")
    return _PYTHON_LINE.sub(lambda _: f"INSTALL_PYTHON='{python}'" if "'" not in python else "INSTALL_PYTHON=''",
                            text, count=1)


def _write_executable(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.prov-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, path)


def _refuse_tracked(repo: Repo, folder: Path) -> None:
    """A hooks folder git tracks (core.hooksPath = .githooks, committed) is the project's, not ours:
    writing there would change tracked files, and every later run would be recorded dirty."""
    if repo.workdir is None or not folder.is_relative_to(repo.workdir):
        return
    done = subprocess.run(["git", "ls-files", "-z", "--", str(folder)], cwd=repo.workdir,
                          capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        return
    rel = folder.relative_to(repo.workdir).as_posix()
    raise ProvError(f"core.hooksPath {rel} holds files tracked by git: installing would change them and make "
                    f"every run dirty; call `git prov push` from {rel}/pre-push yourself, or point "
                    "core.hooksPath at an untracked folder")


def install(repo: Repo, names: tuple[str, ...] = HOOKS) -> tuple[Path, list[Action]]:
    folder = hooks_dir(repo)
    _refuse_tracked(repo, folder)
    folder.mkdir(parents=True, exist_ok=True)
    actions = []
    for name in names:
        target, legacy = folder / name, folder / (name + LEGACY_SUFFIX)
        text = script(name, sys.executable)
        if is_ours(target):
            same = target.read_text(errors="replace") == text
            _write_executable(target, text)
            actions.append(Action(name, "already installed" if same else "updated"))
            continue
        chained = os.path.lexists(target)  # a dangling symlink is someone's hook too: keep it
        if chained:
            if os.path.lexists(legacy):
                raise ProvError(f"both {target} and {legacy} exist: move one of them away, then install again")
            os.replace(target, legacy)
        _write_executable(target, text)
        actions.append(Action(name, f"installed, runs the existing hook first ({legacy.name})" if chained
                              else "installed"))
    return folder, actions


def uninstall(repo: Repo, names: tuple[str, ...] = HOOKS) -> tuple[Path, list[Action]]:
    folder = hooks_dir(repo)
    actions = []
    for name in names:
        target, legacy = folder / name, folder / (name + LEGACY_SUFFIX)
        if not is_ours(target):
            actions.append(Action(name, "not ours, left alone" if target.exists() else "not installed"))
            continue
        target.unlink()
        if os.path.lexists(legacy):
            os.replace(legacy, target)
            actions.append(Action(name, "removed, previous hook restored"))
        else:
            actions.append(Action(name, "removed"))
    return folder, actions
