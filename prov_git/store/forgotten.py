"""Forgotten runs: the append-only entries under forgotten/ on refs/prov/runs.

Layout (docs/format.md): forgotten/<id[0:2]>/<id>/<sha256 of the entry>.json, each entry the
canonical JSON {"author", "reason", "run", "time"}. Content-addressed like runs, so two clones
that forgot runs concurrently merge by tree union with no conflict; nothing is ever removed, and a
forgotten run stays in runs/ (show by id still finds it).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pygit2

from prov_git.store import runs
from prov_git.store.repo import Repo

FOLDER = "forgotten"
MAX_ENTRY_BYTES = 4096
ENTRY_KEYS = ("author", "reason", "run", "time")
_ENTRY_NAME = re.compile(r"^([0-9a-f]{64})\.json$")


def encode_entry(run_id: str, reason: str | None, author: str, time: str) -> bytes:
    body = {"author": author, "reason": reason, "run": run_id, "time": time}
    return (json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def entry_name(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() + ".json"


def entry_path(run_id: str, data: bytes) -> str:
    return f"{FOLDER}/{run_id[:2]}/{run_id}/{entry_name(data)}"


def entry_problem(folder_id: str, name: str, data: bytes) -> str | None:
    """Why one stored entry breaks the layout, or None (fetch refuses such an entry)."""
    if not _ENTRY_NAME.match(name) or entry_name(data) != name:
        return "forgotten entry whose name is not the sha256 of its content"
    if len(data) > MAX_ENTRY_BYTES:
        return f"forgotten entry larger than {MAX_ENTRY_BYTES} bytes"
    try:
        body = json.loads(data)
    except ValueError:
        return "forgotten entry that is not JSON"
    if not isinstance(body, dict) or tuple(sorted(body)) != ENTRY_KEYS:
        return f"forgotten entry must hold exactly {', '.join(ENTRY_KEYS)}"
    if body["run"] != folder_id or not all(isinstance(body[k], str) for k in ("author", "time")):
        return "forgotten entry for another run, or with a non-string author or time"
    if body["reason"] is not None and not isinstance(body["reason"], str):
        return "forgotten entry whose reason is not a string"
    return None


def tree_of(commit: pygit2.Commit | None) -> pygit2.Tree | None:
    if commit is None or FOLDER not in commit.tree:
        return None
    found = commit.tree[FOLDER]
    return found if isinstance(found, pygit2.Tree) else None


def entries(commit: pygit2.Commit | None) -> list[dict[str, Any]]:
    """Every well-formed forget entry in a chain commit's tree, oldest first."""
    top = tree_of(commit)
    out: list[dict[str, Any]] = []
    for fan in top or ():
        for folder in fan if isinstance(fan, pygit2.Tree) else ():
            for blob in folder if isinstance(folder, pygit2.Tree) else ():
                if isinstance(blob, pygit2.Blob) and blob.name and folder.name and \
                        entry_problem(folder.name, blob.name, blob.data) is None:
                    out.append(json.loads(blob.data))
    return sorted(out, key=lambda e: (e["time"], e["run"]))


def ids(repo: Repo) -> set[str]:
    """The ids of forgotten runs (a cheap tree walk: forgetting is rare)."""
    top = tree_of(runs.tip(repo))
    return {folder.name for fan in top or () if isinstance(fan, pygit2.Tree)
            for folder in fan if folder.name}


def forget(repo: Repo, run_ids: list[str], reason: str | None) -> list[str]:
    """Append one commit holding an entry per run (author from git config, time now, UTC)."""
    if not run_ids:
        return []
    from datetime import datetime, timezone

    author = f"{repo.config('user.name') or 'git prov'} <{repo.config('user.email') or 'git-prov@localhost'}>"
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    files = {}
    for run_id in run_ids:
        data = encode_entry(run_id, reason, author, now)
        files[entry_path(run_id, data)] = data
    shown = ", ".join(r[:12] for r in run_ids[:3]) + (" ..." if len(run_ids) > 3 else "")
    runs.append_files(repo, files, f"prov: forget {shown}\n\n" + "".join(f"Prov-Forget: {r}\n" for r in run_ids))
    return run_ids
