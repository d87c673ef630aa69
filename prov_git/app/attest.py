"""`git prov attest`: a run as an in-toto Statement v1 with the SLSA Provenance v1 predicate, optionally
in a DSSE envelope signed with the git signing key; and the check of such an envelope.

Layout (design.md "Signatures and standard formats", docs/verifying.md):

- subject: every output file the run wrote (files inside output directories one by one), sha256;
- buildDefinition: externalParameters (argv, cwd, params), internalParameters (platform, python),
  resolvedDependencies (the code commit, the dirty snapshot, every input file);
- runDetails: builder, metadata (invocationId = run id, startedOn, finishedOn) with the exit status,
  signal, duration, name and metrics as `gitprov_` extension fields.

With another hash algorithm than sha256 (prov.hashAlgorithm), sha256 is computed now from the files
on disk, and only from files that still have the recorded digest: an attestation never vouches for
content the run did not produce. An input that changed since keeps its recorded digest instead.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from prov_git import __version__
from prov_git import records as rec
from prov_git.capture import files
from prov_git.errors import NotAttestable
from prov_git.records.manifest import algorithm_of, manifest_files
from prov_git.records.text import unescape_name
from prov_git.store import runs, sign
from prov_git.store.repo import Repo
from prov_git.store.resolve import resolve

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUILD_TYPE = "urn:git-prov:run:v1"  # docs/verifying.md describes it
BUILDER_ID = "urn:git-prov:recorder"
NAMESPACE = "git-prov"  # ssh-keygen -Y sign -n: a signature made for attestations is no git commit's


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


class _Files:
    """(path, sha256 hex) of recorded files; computed from disk when the record used another algorithm."""

    def __init__(self, repo: Repo, record: rec.Record) -> None:
        self.algorithm = algorithm_of(record)
        self.workdir = repo.workdir
        self.stored = runs.run_files(repo, record["id"])

    def entries(self, section: Sequence[Mapping[str, Any]], *, only_written: bool) -> Iterator[Mapping[str, Any]]:
        """Each file of a section; a directory's files from its manifest, by their own paths."""
        for entry in section:
            if only_written and entry.get("written") is False:
                continue
            if entry["type"] == "file":
                yield entry
            elif entry["type"] == "dir":
                listed = manifest_files(self.stored.get(entry.get("manifest") or "", b"")) or []
                yield from (f for f in listed if f.get("type") == "file" and f.get("digest"))

    def digest(self, entry: Mapping[str, Any], *, strict: bool) -> dict[str, str]:
        algorithm, _, hexdigest = str(entry["digest"]).partition(":")
        if algorithm == "sha256":
            return {"sha256": hexdigest}
        path = self._on_disk(entry["path"])
        now = files.hash_file(path, algorithm) if path is not None and os.path.isfile(path) else None
        if now == entry["digest"] and path is not None:
            return {"sha256": files.hash_file(path, "sha256").partition(":")[2]}
        if strict:
            raise NotAttestable(f"{entry['path']} no longer has the content the run recorded ({algorithm}), so "
                                "its sha256 cannot be attested; restore it or record the run again")
        return {algorithm: hexdigest}

    def _on_disk(self, path: str) -> str | None:
        if self.workdir is None:
            return None
        return os.fsdecode(os.fsencode(self.workdir) + b"/" + unescape_name(path))


def statement(repo: Repo, spec: str = "@", allow_failed: bool = False) -> dict[str, Any]:
    """The in-toto Statement of one run."""
    run_id = resolve(repo, spec)
    record = rec.decode(runs.read_file(repo, run_id), expected_id=run_id, where=f"run {run_id[:12]}")
    status = record["status"]
    if (status["exit_code"] != 0 or status.get("signal")) and not allow_failed:
        how = f"signal {status['signal']}" if status.get("signal") else f"exit status {status['exit_code']}"
        raise NotAttestable(f"run {run_id[:12]} failed ({how}); attest it anyway with --allow-failed")
    found = _Files(repo, record)
    subjects = [{"name": f["path"], "digest": found.digest(f, strict=True)}
                for f in found.entries(record["outputs"], only_written=True)]
    git = record["git"]
    deps: list[dict[str, Any]] = []
    if git.get("commit"):
        deps.append({"name": "git:commit", "digest": {"gitCommit": git["commit"]},
                     **({"annotations": {"branch": git["branch"]}} if git.get("branch") else {})})
    if git.get("snapshot"):
        deps.append({"name": "git:snapshot", "digest": {"gitCommit": git["snapshot"]},
                     "annotations": {"dirty": True}})
    deps += [{"name": f["path"], "digest": found.digest(f, strict=False)}
             for f in found.entries(record["inputs"], only_written=False)]
    env = record["env"]
    metadata = {"invocationId": run_id, "startedOn": status["started_at"], "finishedOn": status["ended_at"],
                "gitprov_exitCode": status["exit_code"], "gitprov_signal": status.get("signal"),
                "gitprov_durationS": status.get("duration_s"), "gitprov_name": record.get("name"),
                "gitprov_metrics": record.get("metrics", {}), "gitprov_schemaVersion": record["schema_version"],
                "gitprov_hashAlgorithm": found.algorithm}
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"argv": record["command"]["argv"], "cwd": record["command"]["cwd"],
                                       "params": record.get("params", {})},
                "internalParameters": {"platform": env.get("platform"), "python": env.get("python")},
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": {"git-prov": str(record.get("recorder", {}).get(
                    "version") or __version__)}},
                "metadata": metadata,
            },
        },
    }


def encode(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def envelope(repo: Repo, statement: dict[str, Any]) -> dict[str, Any]:
    """A DSSE envelope of statement, signed with git's signing key (gpg.format, user.signingKey)."""
    payload = json.dumps(statement, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    keyid, signature = sign.sign_blob(repo, pae(PAYLOAD_TYPE, payload), NAMESPACE)
    return {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}]}


class Checked:
    """What `attest --verify` found: each signature's state, and the statement it covers."""

    def __init__(self, signatures: list[sign.Signature], statement: dict[str, Any]) -> None:
        self.signatures = signatures
        self.statement = statement

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and all(s.trusted for s in self.signatures)

    @property
    def hint(self) -> str | None:
        return sign.ALLOWED_SIGNERS_HINT if any("allowedSignersFile" in s.detail for s in self.signatures) else None

    def as_dict(self) -> dict[str, Any]:
        meta = self.statement.get("predicate", {}).get("runDetails", {}).get("metadata", {})
        return {"ok": self.ok, "hint": self.hint, "run": meta.get("invocationId"),
                "subjects": len(self.statement.get("subject", [])),
                "signatures": [{k: v for k, v in s.as_dict().items() if k != "commit"} for s in self.signatures]}


def verify_file(repo: Repo, path: Path) -> Checked:
    """Check a DSSE envelope: its shape, the statement it carries, and every signature over its PAE."""
    try:
        body = json.loads(path.read_bytes())
    except OSError as exc:
        raise NotAttestable(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise NotAttestable(f"{path} is not JSON; give a DSSE envelope made by `git prov attest --sign`") from None
    if not isinstance(body, dict) or "payload" not in body or "signatures" not in body:
        raise NotAttestable(f"{path} is not a DSSE envelope (an unsigned statement?); make one with "
                            "`git prov attest --sign`")
    if body.get("payloadType") != PAYLOAD_TYPE:
        raise NotAttestable(f"{path}: payloadType is {body.get('payloadType')!r}, not {PAYLOAD_TYPE!r}")
    try:
        payload = base64.b64decode(str(body["payload"]), validate=True)
        statement = json.loads(payload)
        sigs = [base64.b64decode(str(s["sig"]), validate=True) for s in body["signatures"]]
    except (ValueError, TypeError, KeyError):
        raise NotAttestable(f"{path}: payload or signatures are not valid base64 JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise NotAttestable(f"{path}: the payload is not an in-toto Statement v1")
    message = pae(PAYLOAD_TYPE, payload)
    return Checked([sign.verify_blob(repo, message, s, NAMESPACE) for s in sigs], statement)
