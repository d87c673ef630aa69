"""Asking the history: select runs (log, compare), and which/lineage/status/forget.

Every selection goes through one parser (record/query.py) and the derived index (store/index.py);
records shown are read from the tree. Never prints, never exits.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from prov_git.errors import UsageError
from prov_git.records import Record
from prov_git.records import query as q
from prov_git.store import forgotten, index, resolve, runs
from prov_git.store.repo import Repo

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str, option: str, end_of_day: bool = False) -> float:
    """Epoch seconds of an RFC 3339 date-time or a plain date (its whole day for --until)."""
    try:
        if _DAY.match(text):
            day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
            return (day + timedelta(days=1 if end_of_day else 0)).timestamp()
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text!r}: give an RFC 3339 date-time or a date like 2026-11-30") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


@dataclass(frozen=True)
class Filters:
    """The selection options shared by log and compare, as typed on the command line."""

    where: Sequence[str] = ()
    sort: Sequence[str] = ()
    name: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None
    forgotten: bool = False

    def selection(self) -> index.Selection:
        return index.Selection(
            where=q.parse_all(self.where), sort=tuple(q.parse_sort(s) for s in self.sort), name=self.name,
            since=parse_date(self.since, "--since") if self.since else None,
            until=parse_date(self.until, "--until", end_of_day=True) if self.until else None,
            limit=self.limit, forgotten=self.forgotten)

    @property
    def plain(self) -> bool:
        """Nothing but -n: the chain answers it without the index."""
        return not (self.where or self.sort or self.name or self.since or self.until or self.forgotten)


def select_ids(repo: Repo, filters: Filters) -> list[str]:
    selection = filters.selection()  # parse first: a bad EXPR is a usage error even in an empty store
    if filters.plain:
        return resolve.walk_newest(repo, filters.limit)
    return index.select(repo, selection)


def select_records(repo: Repo, filters: Filters) -> list[Record]:
    return [resolve.load(repo, run_id) for run_id in select_ids(repo, filters)]


def log_runs(repo: Repo, filters: Filters) -> list[tuple[Record, list[dict[str, Any]]]]:
    """The runs log shows, each with its forget entries (reason, author, time; only with --forgotten)."""
    entries = index.forgotten_entries(repo) if filters.forgotten else []
    records = select_records(repo, filters)
    return [(r, [e for e in entries if e["run"] == r["id"]]) for r in records]


# ------------------------------------------------------------------------------ compare


@dataclass
class Table:
    columns: list[str]
    constant: dict[str, Any]
    rows: list[dict[str, Any]]  # column -> value; a run lacking a key lacks it here too

    def as_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "constant": self.constant, "rows": self.rows}


FIXED = ("id", "name", "started_at", "status")


def _row(record: Record) -> dict[str, Any]:
    from prov_git.records.render import outcome

    row: dict[str, Any] = {"id": record["id"], "name": record.get("name"),
                           "started_at": record["status"]["started_at"],
                           "status": outcome(record["status"], record["command"].get("executed", True))}
    for section in ("params", "metrics"):
        for key, value in q.leaves(record.get(section) or {}, (section,)):
            row[q.key_text(key)] = value
    return row


def _extra(records: Sequence[Record], globs: Sequence[str]) -> list[str]:
    """Record keys named by --columns GLOB, in sorted order."""
    found = {q.key_text(k) for r in records for k, _ in q.leaves(r)}
    return sorted(k for k in found if any(fnmatch.fnmatchcase(k, g) for g in globs) and k not in FIXED)


def table(records: Sequence[Record], columns: Sequence[str] = (), show_all: bool = False) -> Table:
    """Runs x varying params/metrics leaves; constant ones are named in .constant unless show_all."""
    rows = [_row(r) for r in records]
    leaf_keys = sorted({k for row in rows for k in row if k not in FIXED}, key=_section_then_key)
    shown, constant = [], {}
    for key in leaf_keys:
        values = [row.get(key, q.MISSING) for row in rows]
        same = all(v is not q.MISSING and _same(v, values[0]) for v in values)
        if same and not show_all and len(rows) > 1:
            constant[key] = values[0]
        else:
            shown.append(key)
    extra = [k for k in _extra(records, columns) if k not in shown]
    for row, record in zip(rows, records, strict=False):
        for key in extra:
            value = q.lookup(record, q.split_key(key))
            if value is not q.MISSING:
                row[key] = value
    names = [*FIXED, *shown, *extra]
    return Table(names, constant, [{k: row[k] for k in names if k in row} for row in rows])


def _section_then_key(key: str) -> tuple[int, str]:
    return (0 if key.startswith("params.") else 1, key)


def _same(a: Any, b: Any) -> bool:
    return q.kind(a) == q.kind(b) and a == b


def compare_runs(repo: Repo, specs: Sequence[str], filters: Filters, columns: Sequence[str] = (),
                 show_all: bool = False) -> Table:
    """The given RUNs (sorted by --sort if given), else the runs the filters select (20 by default)."""
    if specs:
        records = [resolve.load_spec(repo, s) for s in specs]
        records = q.sort_records(records, [q.parse_sort(s) for s in filters.sort])
    else:
        limit = 20 if filters.limit is None else filters.limit
        records = select_records(repo, Filters(**{**filters.__dict__, "limit": limit}))
    return table(records, columns, show_all)


# ------------------------------------------------------------------------------ which, lineage, status


@dataclass
class Present:
    """A path as it is on disk now."""

    path: str
    type: str  # file, dir, symlink, missing
    digest: str | None


def present(repo: Repo, user_paths: Sequence[str], cwd: str | None = ".") -> list[Present]:
    """Each path hashed as record would; cwd None: the paths are repo-relative already."""
    from pathlib import Path

    from prov_git.app.record import hash_algorithm
    from prov_git.capture import files, hashcache

    workdir = repo.require_workdir()
    algorithm = hash_algorithm(repo)
    digester = hashcache.digester_for(repo.state_dir, algorithm, repo.config_bool("prov.hashCache", True))
    out = []
    for user_path in user_paths:
        rel = user_path if cwd is None else files.repo_relative(workdir, Path(cwd).resolve(), user_path)
        entry, _ = files.describe(workdir, rel, algorithm, digester, must_exist=False)
        out.append(Present(rel, entry["type"], entry.get("digest")))
    digester.save()
    return out


def _use(use: index.FileUse) -> dict[str, Any]:
    return {"run": use.run, "started_at": use.started_at, "path": use.path}


@dataclass
class Which:
    found: list[dict[str, Any]]
    missing: list[str]  # paths that do not exist

    @property
    def exit_code(self) -> int:
        if self.missing:
            return 128
        return 0 if all(f["produced_by"] for f in self.found) else 1


def which(repo: Repo, user_paths: Sequence[str], cwd: str = ".") -> Which:
    on_disk = present(repo, user_paths, cwd)
    known = index.uses(repo, [p.digest for p in on_disk if p.digest])
    found = []
    for item in on_disk:
        if item.digest is None:
            continue
        uses = known.get(item.digest, [])
        found.append({"path": item.path, "digest": item.digest,
                      "produced_by": [_use(u) for u in uses if u.role == "output"],
                      "used_by": [_use(u) for u in uses if u.role == "input"]})
    return Which(found, [p.path for p in on_disk if p.type == "missing"])


@dataclass
class Graph:
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    root: str = ""
    _ids: set[str] = field(default_factory=set)

    def node(self, node: dict[str, Any]) -> bool:
        """Add a node; False when it was there already (the walk stops: cycle-safe)."""
        if node["id"] in self._ids:
            return False
        self._ids.add(node["id"])
        self.nodes.append(node)
        return True

    def edge(self, source: str, target: str, kind: str) -> None:
        edge = {"from": source, "to": target, "kind": kind}
        if edge not in self.edges:
            self.edges.append(edge)

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}


def _run_node(record: Record) -> dict[str, Any]:
    return {"id": f"run:{record['id']}", "kind": "run", "run": record["id"], "name": record.get("name"),
            "argv": record["command"]["argv"]}


def _file_node(path: str, digest: str) -> dict[str, Any]:
    return {"id": f"file:{digest}", "kind": "file", "path": path, "digest": digest}


def _producer(repo: Repo, digest: str, before: float | None) -> str | None:
    """The newest run that produced digest and ended before `before` (a consumer's start)."""
    for use in index.uses(repo, [digest])[digest]:
        if use.role != "output":
            continue
        if before is None or (use.ended_at is not None and runs.parse_time(use.ended_at) <= before):
            return use.run
    return None


def lineage(repo: Repo, target: str, depth: int | None = None, cwd: str = ".") -> Graph:
    """Upstream of a path's current content or of a RUN: producers, their inputs, and so on."""
    graph = Graph()
    run_id = _target_run(repo, target, cwd, graph)
    if run_id is not None:
        _walk_run(repo, run_id, graph, 0 if depth is None else depth, depth is None)
    return graph


def _target_run(repo: Repo, target: str, cwd: str, graph: Graph) -> str | None:
    """The run to walk from; a path becomes a file node generated by its newest producer."""
    from pathlib import Path

    from prov_git.errors import InputError, RunNotFound

    if not (Path(cwd) / target).exists():
        try:
            run_id = resolve.resolve(repo, target)
        except RunNotFound as exc:
            raise InputError(f"{target} is neither an existing path nor a run ({exc})") from None
        graph.root = f"run:{run_id}"
        return run_id
    (item,) = present(repo, [target], cwd)
    if item.digest is None:
        raise InputError(f"{target} does not exist; give an existing path or a RUN")
    node = _file_node(item.path, item.digest)
    graph.node(node)
    graph.root = node["id"]
    producer = _producer(repo, item.digest, None)
    if producer is not None:
        graph.edge(f"run:{producer}", node["id"], "generated")
    return producer


def _walk_run(repo: Repo, run_id: str, graph: Graph, depth: int, unbounded: bool) -> None:
    record = resolve.load(repo, run_id)
    if not graph.node(_run_node(record)):
        return
    started = runs.parse_time(record["status"]["started_at"])
    for entry in record.get("inputs") or ():
        digest = entry["digest"]
        if not digest:
            continue
        node = _file_node(entry["path"], digest)
        graph.node(node)
        graph.edge(node["id"], f"run:{run_id}", "used")
        if not unbounded and depth <= 1:
            continue
        producer = _producer(repo, digest, started)
        if producer is not None:
            graph.edge(f"run:{producer}", node["id"], "generated")
            _walk_run(repo, producer, graph, depth - 1, unbounded)


def status(repo: Repo) -> dict[str, Any]:
    """Each output of its newest producing run: missing, modified, stale or fresh; runs not pushed."""
    outputs = index.newest_outputs(repo)
    records = {run_id: resolve.load(repo, run_id) for run_id in {r for _, r in outputs}}
    wanted = {e["path"] for r in records.values() for e in r.get("inputs", []) + r.get("outputs", [])}
    now = {p.path: p for p in present(repo, sorted(wanted), cwd=None)}
    rows = [_state(path, records[run_id], now) for path, run_id in outputs]
    answer: dict[str, Any] = {"outputs": rows, "unpushed": _unpushed(repo)}
    from prov_git.store.remote import quarantined

    aside = [{"remote": name, "run": run_id, "problem": problem} for name, run_id, problem in quarantined(repo)]
    if aside:  # runs a fetch set aside (refs/prov/quarantine/<remote>)
        answer["set_aside"] = aside
    saved = _pending(repo)
    if saved:  # runs that ran but were saved under .git/prov/pending/ instead of stored
        answer["pending"] = saved
    return answer


def _pending(repo: Repo) -> list[dict[str, Any]]:
    """The runs `git prov recover` would store (a record still storing its run is left out)."""
    from prov_git.store import pending

    out = []
    for folder in pending.listed(repo):
        if pending.in_use(folder):
            continue
        try:
            saved = pending.load(folder)
        except ValueError:
            continue  # recover names what is wrong with it
        out.append({"run": saved.run_id, "started_at": saved.started_at, "folder": str(folder)})
    return out


def _state(path: str, record: Record, now: dict[str, Present]) -> dict[str, Any]:
    recorded = next(e for e in record["outputs"] if e["path"] == path)
    changed = [e["path"] for e in record.get("inputs", []) if now[e["path"]].digest != e.get("digest")]
    if now[path].type == "missing":
        state = "missing"
    elif now[path].digest != recorded.get("digest"):
        state = "modified"
    else:
        state = "stale" if changed else "fresh"
    return {"path": path, "run": record["id"], "state": state, "changed_inputs": changed}


def _unpushed(repo: Repo) -> int | None:
    from prov_git.errors import RemoteError
    from prov_git.store import remote

    try:
        tracking = remote.resolve_remote(repo, None).tracking
    except RemoteError:  # no such remote: unknown, not zero
        return None
    return None if tracking is None else runs.count_unpushed(repo, tracking)


def forget(repo: Repo, specs: Sequence[str], reason: str | None) -> list[str]:
    """Hide runs (append-only entries on the ref); returns the ids forgotten now."""
    ids = list(dict.fromkeys(resolve.resolve(repo, s) for s in specs))
    already = forgotten.ids(repo)
    return forgotten.forget(repo, [i for i in ids if i not in already], reason)
