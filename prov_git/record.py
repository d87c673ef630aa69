"""Assemble, identify, encode and decode run records. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from prov_git import __version__
from prov_git.errors import CorruptRecord
from prov_git.schema import validate

Record = dict[str, Any]
SCHEMA_VERSION = 1


def compute_id(record: Record) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of the record without its id."""
    import rfc8785

    body = {k: v for k, v in record.items() if k != "id"}
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def assemble(
    *,
    name: str | None,
    command: dict[str, Any],
    status: dict[str, Any],
    git: dict[str, Any],
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    params: dict[str, Any],
    metrics: dict[str, Any],
    env: dict[str, Any],
    hash_algorithm: str,
) -> Record:
    """The complete record with its id, validated against the schema."""
    record: Record = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "command": command,
        "status": status,
        "git": git,
        "inputs": inputs,
        "outputs": outputs,
        "params": params,
        "metrics": metrics,
        "env": env,
        "recorder": {"name": "git-prov", "version": __version__, "hash_algorithm": hash_algorithm},
    }
    record["id"] = compute_id(record)
    validate(record)
    return record


def encode(record: Record) -> bytes:
    """The stored form: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def decode(data: bytes, *, expected_id: str | None = None, where: str = "record") -> Record:
    """Parse, validate and check the id of a stored record; CorruptRecord names what is wrong."""
    try:
        record = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise CorruptRecord(f"{where}: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptRecord(f"{where}: not valid JSON ({exc})") from None
    try:
        validate(record)
    except CorruptRecord as exc:
        raise CorruptRecord(f"{where}: {exc}") from None
    actual = compute_id(record)
    if record["id"] != actual:
        raise CorruptRecord(f"{where}: id {record['id'][:12]} does not match its content ({actual[:12]})")
    if expected_id is not None and record["id"] != expected_id:
        raise CorruptRecord(f"{where}: stored under {expected_id[:12]} but its id is {record['id'][:12]}")
    return record
