"""The Python API: record a block of Python code as a run, and read the history, from scripts and
notebooks. docs/api.md is its manual; `import prov_git` re-exports what is listed in __all__.

A `with prov_git.run(...)` block is recorded by the same pipeline as `git prov record`
(app.record.record_steps): its first half runs when the block starts (inputs hashed, code and
environment captured), the second when it ends (outputs and metrics files read, the record stored).
The "command" is this Python process: `command.argv` is its argv (a notebook's path in Jupyter or
VS Code), the status is 0, or 1 with the exception's type when the block raised, and resource usage
is this process's rusage during the block. A process killed inside the block records nothing: no
run is ever left half-written or "running".
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from prov_git.records.model import RunRecord

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Repository", "Run", "open", "record", "recorded", "run"]


class Run:
    """The run a `with prov_git.run()` block is recording; `id` and `record` are set once it ended."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.record: RunRecord | None = None
        self.warnings: list[str] = []
        self._params: dict[str, Any] = {}
        self._metrics: dict[str, Any] = {}
        self._outputs: list[str] = []

    def param(self, key: str, value: Any) -> None:
        """A parameter (a dotted key nests, as with `-p`); a later value for the same key wins."""
        _put(self._params, key, value)

    def metric(self, key: str, value: Any) -> None:
        _put(self._metrics, key, value)

    def output(self, path: str | os.PathLike[str]) -> None:
        """One more output, hashed when the block ends."""
        self._outputs.append(os.fspath(path))


def _put(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def program_argv() -> tuple[list[str], str | None]:
    """This process's argv as a record names it, and a warning when it is a notebook."""
    main = sys.modules.get("__main__")
    notebook = os.environ.get("JPY_SESSION_NAME") or getattr(main, "__vsc_ipynb_file__", None)
    if notebook:
        return [str(notebook)], (f"recording notebook {notebook}: only its saved .ipynb is in the snapshot; "
                                 "save it before the run to record the code that ran")
    return [sys.executable, *sys.argv] if sys.argv and sys.argv[0] else [sys.executable], None


def _status(started: str, t0: float, before: resource.struct_rusage, error: BaseException | None) -> dict[str, Any]:
    from prov_git.capture.process import now_rfc3339

    after = resource.getrusage(resource.RUSAGE_SELF)
    status: dict[str, Any] = {
        "exit_code": 1 if error is not None else 0, "signal": None, "started_at": started,
        "ended_at": now_rfc3339(), "duration_s": round(time.perf_counter() - t0, 6),
        "resources": {"max_rss_kib": int(after.ru_maxrss),
                      "user_cpu_s": round(max(after.ru_utime - before.ru_utime, 0.0), 6),
                      "sys_cpu_s": round(max(after.ru_stime - before.ru_stime, 0.0), 6)},
    }
    if error is not None:
        status["exception"] = type(error).__qualname__
    return status


@contextmanager
def run(name: str | None = None, inputs: Sequence[str | os.PathLike[str]] = (),
        outputs: Sequence[str | os.PathLike[str]] = (), params: dict[str, Any] | None = None,
        metrics_files: Sequence[str | os.PathLike[str]] = (), *, repo: str | os.PathLike[str] = ".",
        notify: Callable[[str], None] | None = None) -> Iterator[Run]:
    """Record the block as one run. An exception inside it records a failed run and propagates."""
    from prov_git.app import record as recording
    from prov_git.app.repository import open_at
    from prov_git.capture.process import now_rfc3339

    say = notify or _warn
    argv, warning = program_argv()
    if warning:
        say(warning)
    request = recording.RecordRequest(argv=argv, inputs=[os.fspath(p) for p in inputs],
                                      outputs=[os.fspath(p) for p in outputs],
                                      metrics_files=[os.fspath(p) for p in metrics_files], name=name)
    request.params_value = dict(params or {})
    steps = recording.record_steps(open_at(repo), request, Path.cwd(), say)
    next(steps)
    handle, started, t0 = Run(), now_rfc3339(), time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    error: BaseException | None = None
    try:
        yield handle
    except BaseException as exc:
        error = exc
        raise
    finally:
        ran = recording.Ran(_status(started, t0, before, error), handle._params, handle._metrics, handle._outputs)
        _finish(steps, ran, handle, say)


def _finish(steps: Any, ran: Any, handle: Run, say: Callable[[str], None]) -> None:
    try:
        steps.send(ran)
    except StopIteration as done:
        result = done.value
        handle.record, handle.id, handle.warnings = result.record, result.record["id"], list(result.warnings)
        for message in handle.warnings:
            say(message)


def recorded(name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Decorator: each call of the function is recorded as a run (name defaults to its name)."""
    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with run(name=name or func.__name__, **options):
                return func(*args, **kwargs)
        return inner  # type: ignore[return-value]
    return wrap


def record(argv: Sequence[str], *, inputs: Sequence[str] = (), outputs: Sequence[str] = (),
           params: Sequence[str] = (), params_files: Sequence[str] = (), metrics_files: Sequence[str] = (),
           name: str | None = None, execute: bool = True, cwd: str | os.PathLike[str] = ".",
           notify: Callable[[str], None] | None = None) -> RunRecord:
    """What `git prov record` does, from Python: run argv (stdio shared) and return its record."""
    from prov_git.app import record as recording
    from prov_git.app.repository import open_at

    request = recording.RecordRequest(argv=list(argv), inputs=inputs, outputs=outputs, params=params,
                                      params_files=params_files, metrics_files=metrics_files, name=name,
                                      execute=execute)
    result = recording.record_run(open_at(cwd), request, Path(cwd), notify=notify or _warn)
    return result.record


def _warn(message: str) -> None:
    print(f"git prov: warning: {message}", file=sys.stderr)


class Repository:
    """A repository's run history. Records are returned as RunRecord dicts, exactly as stored."""

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        from prov_git.app.repository import open_at

        self._repo = open_at(path)

    def show(self, ref: str = "@") -> RunRecord:
        """One record, as `git prov show --json REF`."""
        from prov_git.app.read import load_spec

        return load_spec(self._repo, ref)

    def runs(self, where: str | None = None, sort: Sequence[str] | None = None, name: str | None = None,
             limit: int | None = None) -> list[RunRecord]:
        """Records newest first, filtered by the query language (as `git prov log --where/--sort`)."""
        from prov_git.app.query import Filters, select_records

        filters = Filters(where=[where] if where else (), sort=tuple(sort or ()), name=name, limit=limit)
        return select_records(self._repo, filters)

    def which(self, *paths: str) -> list[dict[str, Any]]:
        """For each path: the runs that produced its current content and those that used it
        (the shape of `git prov which --json`)."""
        from prov_git.app.query import which

        answer = which(self._repo, list(paths))
        if answer.missing:
            from prov_git.errors import InputError

            raise InputError(f"{', '.join(answer.missing)}: no such file or directory")
        return answer.found

    def lineage(self, target: str, depth: int | None = None) -> dict[str, Any]:
        """The upstream graph of a path's content or of a run, as `git prov lineage --format json`."""
        from prov_git.app.query import lineage

        return lineage(self._repo, target, depth).as_dict()

    def diff(self, a: str = "@~1", b: str = "@") -> dict[str, Any]:
        """The comparison of two runs in the shape of `git prov diff --json`."""
        from prov_git.app.diff import diff_runs
        from prov_git.diff.render_json import to_object

        return to_object(diff_runs(self._repo, (a, b)))


def open(path: str | os.PathLike[str] = ".") -> Repository:
    """The repository containing path (found the way git finds it); NotARepository otherwise."""
    return Repository(path)
