"""Directory manifests (the file list kept beside run.json) and the checks that tie them to a
record. Pure: bytes and records in, problems out; verify and fetch share these checks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from prov_git.errors import InputError
from prov_git.records.digest import hash_bytes

RUN_FILE = "run.json"
REF = "refs/prov/runs"


@dataclass(frozen=True)
class Problem:
    """One finding about a stored run: data, never an exception (a forged record is an answer)."""

    run: str
    kind: str  # record, schema, id, manifest, pin, mirror, changed, vanished, added, type, unreadable
    path: str
    message: str

    def line(self) -> str:
        return f"run {self.run[:12]}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run_dir(run_id: str) -> str:
    return f"runs/{run_id[:2]}/{run_id}"


def encode_manifest(rel: str, files: list[dict[str, Any]]) -> bytes:
    """Canonical JSON (sorted keys, no spaces, UTF-8) of the manifest, and a newline."""
    return join_manifest(rel, [encode_entry(f) for f in files])


def encode_entry(f: dict[str, Any]) -> str:
    """One entry of encode_manifest's list. A plain file entry is written by hand in exactly
    json.dumps's form (5,000 files: 6 -> 1 ms of a re-record); any other entry goes through
    json.dumps. tests/test_hashcache.py checks both agree."""
    if (len(f) == 4 and f.get("type") == "file" and type(f.get("size")) is int
            and type(f.get("path")) is str and type(f.get("digest")) is str):
        return encode_file_entry(f["path"], f["size"], f["digest"])
    return _canonical(f)


def encode_file_entry(path: str, size: int, digest: str) -> str:
    """encode_entry of {"path": path, "type": "file", "size": size, "digest": digest}, without the
    dict: a re-record of 5,000 files makes no dict per file (capture/files.py)."""
    enc = _encode_string
    return f'{{"digest":{enc(digest)},"path":{enc(path)},"size":{size},"type":"file"}}'


def join_manifest(rel: str, entries: list[str]) -> bytes:
    """The manifest of the folder rel from its entries, each already encoded (encode_entry)."""
    return f'{{"files":[{",".join(entries)}],"path":{_canonical(rel)}}}\n'.encode()


_encode_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode_manifest(data: bytes) -> list[dict[str, Any]]:
    body = json.loads(data)
    files = body["files"]
    if not isinstance(files, list):
        raise ValueError("manifest files is not a list")
    return files


def manifest_files(data: bytes) -> list[dict[str, Any]] | None:
    """The file list of a manifest, or None when it is not one."""
    try:
        listed = decode_manifest(data)
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in listed):
        return None
    return listed


def entries(record: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from record["inputs"]
    yield from record["outputs"]


def algorithm_of(record: Mapping[str, Any]) -> str:
    return str(record["recorder"].get("hash_algorithm") or "sha256")


def check_manifests(run_id: str, record: Mapping[str, Any], stored: dict[str, bytes]) -> list[Problem]:
    """Each directory entry's manifest is stored beside the record and matches the entry."""
    problems = []
    algorithm = algorithm_of(record)
    for entry in entries(record):
        if entry["type"] != "dir":
            continue
        name = entry.get("manifest")
        where = f"{REF}:{run_dir(run_id)}/{name}"
        data = stored.get(name) if name else None
        if data is None:
            problems.append(Problem(run_id, "manifest", entry["path"],
                                    f"directory manifest {name or '(unnamed)'} is not stored with the run"))
            continue
        try:
            digest = hash_bytes(data, algorithm)
        except InputError as exc:
            problems.append(Problem(run_id, "manifest", where, " ".join(str(exc).split())))
            continue
        if digest != entry["digest"]:
            problems.append(Problem(run_id, "manifest", where,
                                    f"hashes to {digest}, the record says {entry['digest']}"))
            continue
        listed = manifest_files(data)
        if listed is None or ("files" in entry and len(listed) != entry["files"]):
            problems.append(Problem(run_id, "manifest", where, "does not list the files the record counts"))
    return problems
