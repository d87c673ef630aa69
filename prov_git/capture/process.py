"""Run the user's command: stdio untouched, signals forwarded, status and resource usage recorded."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prov_git.errors import CommandNotFound

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def exit_status(status: dict[str, Any]) -> int:
    """What `record` exits with: the command's code, or 128+N when a signal killed it."""
    if status["signal"] is not None:
        return 128 + int(status["signal"])
    return int(status["exit_code"] or 0)


def not_executed() -> dict[str, Any]:
    stamp = now_rfc3339()
    return {"exit_code": None, "signal": None, "started_at": stamp, "ended_at": stamp,
            "duration_s": 0.0, "resources": None}


# Python ignores SIGPIPE and SIGXFSZ for itself; the command gets the defaults back, as Popen's
# restore_signals gives them.
_RESTORED = (signal.SIGPIPE, signal.SIGXFSZ)


def _spawn(argv: list[str], cwd: Path) -> int:
    """Start argv in cwd; returns its pid. os.posix_spawnp searches PATH and raises OSError as Popen
    does, without subprocess's import (~1.5 ms of every record); every fd we open is close-on-exec."""
    here = os.getcwd()
    move = os.path.realpath(here) != os.path.realpath(cwd)
    if move:
        os.chdir(cwd)  # posix_spawn has no cwd argument before Python 3.13
    try:
        return os.posix_spawnp(argv[0], argv, os.environ, setsigdef=_RESTORED)
    finally:
        if move:
            os.chdir(here)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT/SIGTERM/SIGHUP/SIGQUIT arriving outside the command's own lifetime (run() forwards
    those during it) wait until the block ends: a run whose command finished is stored, then the
    signal takes its usual effect. An ignored signal stays ignored."""
    caught: list[int] = []

    def later(signum: int, _frame: object) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, later) for s in FORWARDED if signal.getsignal(s) != signal.SIG_IGN}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for signum in dict.fromkeys(caught):
            os.kill(os.getpid(), signum)


def run(argv: Sequence[str], cwd: Path) -> dict[str, Any]:
    """Run argv in cwd sharing our stdin/stdout/stderr; returns the record's status section."""
    started_at = now_rfc3339()
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        # The terminal already signals the whole foreground group; this covers `kill <git-prov pid>`.
        if not child:
            pending.append(signum)  # arrived while the command was being started: delivered right after
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(child[0], signum)

    # Handlers go in before the spawn: a fast command can print and be signalled before
    # posix_spawnp returns, and Python's default SIGINT/SIGTERM would then abandon it unrecorded.
    # An ignored signal stays ignored until the command runs, so it inherits SIG_IGN as before.
    ignored = [s for s in FORWARDED if signal.getsignal(s) == signal.SIG_IGN]
    previous = {s: signal.signal(s, forward) for s in FORWARDED if s not in ignored}
    t0 = time.perf_counter()
    try:
        try:
            child.append(_spawn(list(argv), cwd))
        except FileNotFoundError:
            raise CommandNotFound(f"{argv[0]}: command not found; nothing was recorded") from None
        except PermissionError:
            raise CommandNotFound(f"{argv[0]}: permission denied; nothing was recorded") from None
        except OSError as exc:
            raise CommandNotFound(f"{argv[0]}: cannot run ({exc.strerror}); nothing was recorded") from None
        except ValueError:  # `record -- ''`: posix_spawnp refuses an empty program name
            raise CommandNotFound(f"{argv[0]!r}: command not found; nothing was recorded") from None
        pid = child[0]
        previous.update({s: signal.signal(s, forward) for s in ignored})
        while pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, pending.pop(0))
        _, wait_status, usage = os.wait4(pid, 0)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    duration = time.perf_counter() - t0
    killed = os.WIFSIGNALED(wait_status)
    return {
        "exit_code": None if killed else os.waitstatus_to_exitcode(wait_status),
        "signal": os.WTERMSIG(wait_status) if killed else None,
        "started_at": started_at,
        "ended_at": now_rfc3339(),
        "duration_s": round(duration, 6),
        "resources": {
            "max_rss_kib": int(usage.ru_maxrss),
            "user_cpu_s": round(usage.ru_utime, 6),
            "sys_cpu_s": round(usage.ru_stime, 6),
        },
    }
