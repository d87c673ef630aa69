"""Open the repository git prov works in, the way git finds it, and read its settings the way git
reads them: through `git config` itself, once per process. libgit2 sees neither `git -c` nor
GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT/KEY_n/VALUE_n, GIT_CONFIG_GLOBAL/SYSTEM/NOSYSTEM."""

from __future__ import annotations

import os
from pathlib import Path

import pygit2

from prov_git import settings
from prov_git.errors import NotARepository, NoWorkTree
from prov_git.store.gitconfig import DISCOVERY_ENV, first_line, read_config, run_git


class Repo:
    # A plain class, not a dataclass: @dataclass costs 0.6 ms at import, on every `git prov record`.
    __slots__ = ("_config", "common_dir", "git", "workdir")

    def __init__(self, git: pygit2.Repository, workdir: Path | None, common_dir: Path) -> None:
        self.git = git
        self.workdir = workdir  # None in a bare repository
        self.common_dir = common_dir  # shared by linked worktrees: refs, objects, .git/prov/
        self._config: dict[str, list[str | None]] | None = None

    def __repr__(self) -> str:
        return f"Repo(workdir={self.workdir!r}, common_dir={self.common_dir!r})"

    def require_workdir(self) -> Path:
        if self.workdir is None:
            raise NoWorkTree("this is a bare repository; run git prov in a working tree")
        return self.workdir

    @property
    def state_dir(self) -> Path:
        """Private, never pushed: .git/prov/ (redaction key, caches)."""
        return self.common_dir / "prov"

    def config_values(self, name: str) -> list[str | None]:
        """Every value of name in git's order (the last one wins); None for a key without `=`."""
        if self._config is None:
            self._config = read_config(Path(self.git.path))
        return self._config.get(normalize_key(name), [])

    def config(self, name: str, default: str | None = None) -> str | None:
        values = self.config_values(name)
        if not values:
            return default
        return "" if values[-1] is None else values[-1]

    def config_all(self, name: str) -> list[str]:
        return ["" if v is None else v for v in self.config_values(name)]

    def config_bool(self, name: str, default: bool) -> bool:
        values = self.config_values(name)
        return settings.parse_bool(name, values[-1]) if values else default

    def setting(self, name: str) -> settings.Value:
        """A prov.* setting, typed and validated by prov_git.settings (an error names a bad value)."""
        return settings.value(name, self.config_values(name))


def normalize_key(name: str) -> str:
    """git's key equality: section and variable ignore case, a subsection does not."""
    section, _, rest = name.partition(".")
    middle, dot, variable = rest.rpartition(".")
    return f"{section.lower()}.{middle}{dot}{variable.lower()}" if dot else f"{section.lower()}.{rest.lower()}"


def open_repo(start: str | os.PathLike[str] = ".") -> Repo:
    if any(os.environ.get(var) for var in DISCOVERY_ENV):
        return _open_from_env(start)
    ceiling = os.environ.get("GIT_CEILING_DIRECTORIES", "")
    across = os.environ.get("GIT_DISCOVERY_ACROSS_FILESYSTEM", "")
    path = pygit2.discover_repository(str(start), settings.parse_bool("GIT_DISCOVERY_ACROSS_FILESYSTEM", across)
                                      if across else False, ceiling)
    if path is None:
        raise NotARepository(
            f"not a git repository (or any parent up to /): {os.path.abspath(start)}; "
            "run `git init` or cd into a repository"
        )
    git = _open(path)
    workdir = None if git.is_bare or git.workdir is None else Path(git.workdir).resolve()
    return Repo(git=git, workdir=workdir, common_dir=_common_dir(git))


def _open(path: str) -> pygit2.Repository:
    try:
        return pygit2.Repository(path)
    except pygit2.GitError as exc:
        if "object format" in str(exc):
            raise NotARepository(f"{path} is a SHA-256 repository (extensions.objectFormat); git prov "
                                 "supports SHA-1 repositories only, for now") from None
        raise NotARepository(f"cannot open repository at {path}: {exc}") from None


def _common_dir(git: pygit2.Repository) -> Path:
    gitdir = Path(git.path)
    commondir_file = gitdir / "commondir"
    if commondir_file.is_file():
        return (gitdir / commondir_file.read_text().strip()).resolve()
    return gitdir


def _open_from_env(start: str | os.PathLike[str]) -> Repo:
    """GIT_DIR / GIT_WORK_TREE: ask git where they lead (its rules: core.worktree, the current folder
    as the top of the work tree when GIT_DIR alone is set, core.bare)."""
    here = ["-C", str(start)]
    code, stdout, stderr = run_git([*here, "rev-parse", "--absolute-git-dir", "--is-bare-repository",
                                    "--is-inside-work-tree"])
    if code != 0:
        raise NotARepository(f"{first_line(stderr, 'git rev-parse failed')}; check GIT_DIR and GIT_WORK_TREE")
    lines = stdout.decode(errors="surrogateescape").splitlines()
    git_dir, bare, inside = lines[0], lines[1] == "true", lines[2] == "true"
    git = _open(git_dir)
    workdir: Path | None = None
    if not bare and inside:
        _, top, _ = run_git([*here, "rev-parse", "--show-toplevel"])
        workdir = Path(top.decode(errors="surrogateescape").rstrip("\n")).resolve()
        if git.workdir is None or Path(git.workdir).resolve() != workdir:
            git.workdir = str(workdir)  # libgit2's status and checkout must see the same tree
    return Repo(git=git, workdir=workdir, common_dir=_common_dir(git))
