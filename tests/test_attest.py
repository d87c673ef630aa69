"""`git prov attest`: in-toto Statement v1 + SLSA Provenance v1, DSSE envelopes that outside tools verify."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Repo
from tests.keys import EMAIL, SshKey, gpg_fingerprint, gpg_home, ssh_key, use_gpg, use_ssh

__all__ = ["gpg_home", "ssh_key"]  # fixtures


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 PAE, written from the spec here rather than imported: the test is the outside reader."""
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)


def pipeline_run(repo: Repo, *extra: str) -> dict[str, Any]:
    repo.write("data/in.csv", "a,b\n1,2\n")
    repo.write("params.txt", "unused\n")
    return repo.record("-q", *extra, "-i", "data/in.csv", "-o", "model.bin", "-o", "out", "-p", "lr=0.1",
                       "--", "sh", "-c", "cp data/in.csv model.bin; mkdir -p out; echo 1 > out/a; echo 2 > out/b")


def attest(repo: Repo, *args: str) -> Any:
    done = repo.prov("attest", *args)
    assert done.code == 0, done.err
    return done.json()


def test_the_statement_follows_the_contract(repo: Repo) -> None:
    record = pipeline_run(repo)
    statement = attest(repo)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"] for s in statement["subject"]}
    assert subjects == {p: {"sha256": sha256(repo.path / p)} for p in ("model.bin", "out/a", "out/b")}
    build = statement["predicate"]["buildDefinition"]
    assert build["buildType"]
    assert build["externalParameters"] == {"argv": record["command"]["argv"], "cwd": ".", "params": {"lr": 0.1}}
    deps = build["resolvedDependencies"]
    assert {"gitCommit": record["git"]["commit"]} in [d["digest"] for d in deps]
    assert {"name": "data/in.csv", "digest": {"sha256": sha256(repo.path / "data/in.csv")}} in deps
    assert build["internalParameters"]["platform"] == record["env"]["platform"]
    details = statement["predicate"]["runDetails"]
    assert details["builder"]["id"]
    meta = details["metadata"]
    assert meta["invocationId"] == record["id"]
    assert (meta["startedOn"], meta["finishedOn"]) == (record["status"]["started_at"], record["status"]["ended_at"])
    assert meta["gitprov_exitCode"] == 0 and meta["gitprov_metrics"] == {}
    assert attest(repo, record["id"][:8]) == statement
    out = repo.path / "att.json"
    assert repo.prov("attest", "-o", str(out)).code == 0 and json.loads(out.read_text()) == statement


def test_a_dirty_run_names_its_snapshot_and_outputs_it_did_not_write_are_not_subjects(repo: Repo) -> None:
    repo.write("train.py", "print('changed')\n")
    repo.write("kept.txt", "old\n")
    record = repo.record("-q", "-o", "kept.txt", "-o", "new.txt", "--", "sh", "-c", "echo n > new.txt")
    statement = attest(repo)
    assert [s["name"] for s in statement["subject"]] == (
        ["new.txt"] if record["outputs"][0].get("written") is False else ["kept.txt", "new.txt"])
    deps = [d["digest"] for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"]]
    assert {"gitCommit": record["git"]["snapshot"]} in deps


def test_with_blake3_sha256_is_computed_from_files_that_still_match(repo: Repo) -> None:
    pytest.importorskip("blake3")
    repo.git("config", "prov.hashAlgorithm", "blake3")
    record = pipeline_run(repo)
    assert record["outputs"][0]["digest"].startswith("blake3:")
    statement = attest(repo)
    subjects = {s["name"]: s["digest"] for s in statement["subject"]}
    assert subjects == {p: {"sha256": sha256(repo.path / p)} for p in ("model.bin", "out/a", "out/b")}
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"name": "data/in.csv", "digest": {"sha256": sha256(repo.path / "data/in.csv")}} in deps
    (repo.path / "out" / "b").write_text("tampered\n")
    refused = repo.prov("attest")
    assert refused.code == 128 and "out/b" in refused.err and refused.err.count("\n") == 1
    # An input that changed since keeps the digest the run recorded.
    (repo.path / "out" / "b").write_text("2\n")
    (repo.path / "data" / "in.csv").write_text("changed\n")
    deps = attest(repo)["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"name": "data/in.csv", "digest": {"blake3": record["inputs"][0]["digest"].split(":")[1]}} in deps


def test_failed_runs_are_refused_unless_allowed(repo: Repo) -> None:
    assert repo.prov("record", "-q", "--", "sh", "-c", "exit 2").code == 2
    refused = repo.prov("attest")
    assert refused.code == 128 and "--allow-failed" in refused.err
    allowed = attest(repo, "--allow-failed")
    assert allowed["predicate"]["runDetails"]["metadata"]["gitprov_exitCode"] == 2


def _envelope(repo: Repo) -> dict[str, Any]:
    envelope: dict[str, Any] = attest(repo, "--sign")
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert len(envelope["signatures"]) == 1
    return envelope


def _ssh_verify(key: SshKey, message: bytes, sig: bytes, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    sig_file = tmp_path / "envelope.sig"
    sig_file.write_bytes(sig)
    return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(key.allowed), "-I", EMAIL, "-n", "git-prov",
                           "-s", str(sig_file)], input=message, capture_output=True, check=False)


def test_an_ssh_signed_envelope_verifies_with_ssh_keygen_and_one_changed_byte_does_not(
        repo: Repo, ssh_key: SshKey, tmp_path: Path) -> None:
    use_ssh(repo, ssh_key, sign=None)
    pipeline_run(repo)
    envelope = _envelope(repo)
    payload = base64.b64decode(envelope["payload"])
    assert json.loads(payload) == attest(repo)
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    assert sig.startswith(b"-----BEGIN SSH SIGNATURE-----")
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(ssh_key.public)], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
    assert envelope["signatures"][0]["keyid"] == fingerprint
    message = pae(envelope["payloadType"], payload)
    done = _ssh_verify(ssh_key, message, sig, tmp_path)
    assert done.returncode == 0, done.stderr
    index = payload.index(b'"invocationId":"') + len(b'"invocationId":"')
    changed = payload[:index] + (b"0" if payload[index:index + 1] != b"0" else b"1") + payload[index + 1:]
    assert _ssh_verify(ssh_key, pae(envelope["payloadType"], changed), sig, tmp_path).returncode != 0

    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(envelope))
    checked = repo.prov("attest", "--verify", str(path))
    assert checked.code == 0 and checked.out.startswith(f"good by {EMAIL}"), checked.out + checked.err
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**envelope, "payload": base64.b64encode(changed).decode()}))
    bad = repo.prov("attest", "--verify", str(forged), "--json")
    assert bad.code == 1 and bad.json()["signatures"][0]["state"] == "bad"


def test_verify_without_allowed_signers_says_how_to_set_it(repo: Repo, ssh_key: SshKey, tmp_path: Path) -> None:
    use_ssh(repo, ssh_key, trust=False, sign=None)
    pipeline_run(repo)
    path = tmp_path / "envelope.json"
    assert repo.prov("attest", "--sign", "-o", str(path)).code == 0
    done = repo.prov("attest", "--verify", str(path))
    assert done.code == 1 and done.out.startswith("untrusted")
    assert len([line for line in done.err.splitlines() if "git config gpg.ssh.allowedSignersFile" in line]) == 1
    statement = repo.path / "plain.json"
    assert repo.prov("attest", "-o", str(statement)).code == 0
    unsigned = repo.prov("attest", "--verify", str(statement))
    assert unsigned.code == 128 and "--sign" in unsigned.err


def test_an_openpgp_signed_envelope_verifies_with_gpg(repo: Repo, gpg_home: Path, tmp_path: Path) -> None:
    use_gpg(repo)
    pipeline_run(repo, "--no-sign")
    envelope = _envelope(repo)
    assert envelope["signatures"][0]["keyid"] == gpg_fingerprint()
    payload = base64.b64decode(envelope["payload"])
    (tmp_path / "sig.asc").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    (tmp_path / "pae").write_bytes(pae(envelope["payloadType"], payload))
    done = subprocess.run(["gpg", "--verify", str(tmp_path / "sig.asc"), str(tmp_path / "pae")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Good signature" in done.stderr, done.stderr
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(envelope))
    checked = repo.prov("attest", "--verify", str(path), "--json")
    assert checked.code == 0, checked.out + checked.err
    assert checked.json()["signatures"][0]["state"] == "good"
