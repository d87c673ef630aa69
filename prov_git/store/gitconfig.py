"""git's settings as git itself reads them, from a `git config` child. No pygit2 here: `record`
starts that child before it loads pygit2 (read_ahead), so its ~1.5 ms run beside the import."""

from __future__ import annotations

import os
from pathlib import Path

from prov_git.errors import ConfigError

# The environment that makes git find a repository other than by walking up from the current folder.
DISCOVERY_ENV = ("GIT_DIR", "GIT_WORK_TREE")


class _Child:
    __slots__ = ("err", "out", "pid")

    def __init__(self, pid: int, out: int, err: int) -> None:
        self.pid, self.out, self.err = pid, out, err


def _spawn(args: list[str]) -> _Child:
    """git ARGS, started. Through os.posix_spawnp, not subprocess: its import alone would cost
    `record` about 2 ms (tests/test_startup.py keeps it off the record path)."""
    out_r, out_w = os.pipe()  # both ends close-on-exec; dup2 onto 1 and 2 makes the child's copies
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawnp("git", ["git", *args], os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except OSError:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    os.close(out_w)
    os.close(err_w)
    return _Child(pid, out_r, err_r)


def _finish(child: _Child) -> tuple[int, bytes, bytes]:
    with os.fdopen(child.out, "rb") as out, os.fdopen(child.err, "rb") as err:
        stdout = out.read()  # git's stderr here is a line or two: it cannot fill its pipe meanwhile
        stderr = err.read()
    _, status = os.waitpid(child.pid, 0)
    return os.waitstatus_to_exitcode(status), stdout, stderr


def run_git(args: list[str]) -> tuple[int, bytes, bytes]:
    """(status, stdout, stderr) of git ARGS."""
    return _finish(_spawn(args))


def first_line(stderr: bytes, fallback: str) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[0].removeprefix("fatal: ").removeprefix("error: ") if lines else fallback


def _config_args(git_dir: str) -> list[str]:
    return [f"--git-dir={git_dir}", "config", "--list", "-z"]


# The one read started ahead: its arguments, the folder and environment it ran in, the child.
_ahead: tuple[list[str], str, dict[str, str], _Child] | None = None


def read_ahead() -> None:
    """Start `git config` for the .git folder that git would find from here, to be taken by the
    read_config of that same folder. Only the plain case: with GIT_DIR, GIT_WORK_TREE or
    GIT_CEILING_DIRECTORIES set, or a .git file (a linked worktree, a submodule), nothing starts."""
    global _ahead
    if _ahead is not None or any(os.environ.get(v) for v in (*DISCOVERY_ENV, "GIT_CEILING_DIRECTORIES")):
        return
    try:
        cwd = here = os.getcwd()
        while not os.path.lexists(os.path.join(here, ".git")):
            here, parent = os.path.dirname(here), here
            if here == parent:
                return
        git_dir = os.path.join(here, ".git")
        if not os.path.isdir(git_dir):
            return
        args = _config_args(git_dir)
        _ahead = (args, cwd, dict(os.environ), _spawn(args))
    except OSError:
        return  # read_config runs git again and reports what goes wrong


def _taken(args: list[str]) -> _Child | None:
    """The child read_ahead started, if it ran exactly what read_config would run now."""
    global _ahead
    if _ahead is None:
        return None
    (started, cwd, env, child), _ahead = _ahead, None
    try:
        same = started == args and cwd == os.getcwd() and env == os.environ
    except OSError:
        same = False
    if same:
        return child
    _finish(child)  # a guess that missed (a bare repository, another filesystem): reaped, unused
    return None


def read_config(git_dir: Path) -> dict[str, list[str | None]]:
    """All settings of the repository at git_dir as git itself sees them (one `git config` call)."""
    args = _config_args(str(git_dir))
    try:
        child = _taken(args)
        code, stdout, stderr = _finish(child) if child is not None else run_git(args)
    except OSError as exc:
        raise ConfigError(f"cannot run git to read the settings: {exc}") from None
    if code != 0:
        raise ConfigError(first_line(stderr, "git config failed"))
    found: dict[str, list[str | None]] = {}
    for entry in stdout.split(b"\0")[:-1]:
        key, newline, value = entry.decode(errors="surrogateescape").partition("\n")
        found.setdefault(key, []).append(value if newline else None)
    return found
