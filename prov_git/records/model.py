"""The run record as types: one TypedDict per part, mirroring schemas/run.schema.json.

A record stays the plain dict that json gives (and the id is computed over), yet mypy checks every
subscript against these types. Defining the classes costs ~1.3 ms, so `record` never imports this
module: records.Record is the TypedDict for mypy and `dict` at run time (the Python API imports it).
The schema is the truth for what a stored record may hold; these types are what the code may rely
on. Keys marked NotRequired are absent from older records (schema_version 1) or present only for
some entries. A record of a later version may carry more keys than listed here: they travel
untouched and nothing reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:  # annotations are never evaluated here, so Python 3.10 needs no typing_extensions
    from typing_extensions import NotRequired

EntryType = Literal["file", "dir", "symlink", "missing"]


class Command(TypedDict):
    argv: list[str]  # secrets redacted
    cwd: str  # POSIX, relative to the repository root ("." at the root)
    executed: bool  # false with --no-exec


class Resources(TypedDict):
    max_rss_kib: int
    user_cpu_s: float
    sys_cpu_s: float


class Status(TypedDict):
    exit_code: int | None  # None when killed by a signal
    signal: int | None
    started_at: str  # RFC 3339 UTC, ...Z
    ended_at: str
    duration_s: float
    resources: Resources | None


class OmittedFile(TypedDict):
    path: str
    size: int
    digest: str | None


class Git(TypedDict):
    commit: str | None  # None before the first commit
    branch: str | None  # None when detached
    dirty: bool
    snapshot: str | None  # the dirty tree's snapshot commit, None when clean
    untracked: NotRequired[list[str]]  # v2: untracked files the snapshot holds
    untracked_omitted: NotRequired[list[OmittedFile]]  # v2: untracked files beyond prov.snapshot.* bounds
    excluded: NotRequired[list[str]]  # v2: outputs and metrics files kept out of the snapshot


class Entry(TypedDict):
    path: str  # repo-relative POSIX
    type: EntryType
    size: int | None
    digest: str | None  # "<algorithm>:<hex>"
    files: NotRequired[int]  # directories: how many files the manifest lists
    manifest: NotRequired[str]  # directories: manifest-<hex>.json beside run.json
    target: NotRequired[str]  # symlinks


class Platform(TypedDict):
    system: str
    release: str
    machine: str
    cpu_count: int | None


class PythonInfo(TypedDict):
    implementation: str
    version: str
    executable: str | None


class Gpu(TypedDict):
    name: str
    driver: str
    memory: NotRequired[str]


class Env(TypedDict):
    platform: Platform
    python: PythonInfo
    packages: dict[str, str]
    vars: dict[str, str]  # secret values replaced by a REDACTED marker
    gpu: NotRequired[list[Gpu]]


class Recorder(TypedDict):
    name: Literal["git-prov"]
    version: str
    hash_algorithm: NotRequired[str]


class RunRecord(TypedDict):
    id: str  # SHA-256 of the RFC 8785 canonical JSON of the record without id
    schema_version: int
    name: str | None
    command: Command
    status: Status
    git: Git
    inputs: list[Entry]
    outputs: list[Entry]
    params: dict[str, Any]
    metrics: dict[str, Any]
    env: Env
    recorder: Recorder
    rerun_of: NotRequired[str]  # schema 2: the first original this run replays
