"""Signed run commits (design.md "Signatures and standard formats"): made the way git signs commits,
checked by `git verify-commit` and by `git prov verify --signatures`, with real keys made here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Repo, git, init_project
from tests.keys import (
    EMAIL,
    Agent,
    SshKey,
    gpg_home,
    make_ssh_key,
    ssh_agent,
    ssh_key,
    use_gpg,
    use_ssh,
    x509_home,
)

__all__ = ["gpg_home", "ssh_agent", "ssh_key", "x509_home"]  # fixtures

REF = "refs/prov/runs"


def run_commit(repo: Repo, run_id: str) -> str:
    """The commit that added run_id, found with plain git by its subject."""
    out = repo.git("log", "--format=%H %s", REF)
    return next(line.split()[0] for line in out.splitlines() if line.endswith(f"prov: run {run_id}"))


def verify_commit(repo: Repo, oid: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "verify-commit", "--raw", oid], cwd=repo.path, capture_output=True, text=True,
                          check=False)


def signatures(repo: Repo, *args: str) -> tuple[int, dict[str, dict[str, str]], str]:
    done = repo.prov("verify", "--signatures", "--json", *args)
    body = json.loads(done.out)
    return done.code, {r["run"]: r for r in body["runs"]}, done.err


def signed(repo: Repo, oid: str) -> bool:
    return "gpgsig" in repo.git("cat-file", "commit", oid)


# ------------------------------------------------------------------------------ making signatures


def test_ssh_signed_run_passes_git_verify_commit_and_keeps_the_chain_dates(repo: Repo, ssh_key: SshKey) -> None:
    use_ssh(repo, ssh_key)
    repo.write("in.txt", "x\n")
    record = repo.record("-q", "-i", "in.txt", "--", "true")
    oid = run_commit(repo, record["id"])
    done = verify_commit(repo, oid)
    assert done.returncode == 0, done.stderr
    assert f'Good "git" signature for {EMAIL}' in done.stderr
    # The chain's own dates and identity, not the GIT_*_DATE of the environment (the tests set 2026-01-01).
    stamp = int(repo.git("log", "-1", "--format=%ct", oid))
    assert stamp >= int(subprocess.run(["date", "+%s"], capture_output=True, text=True, check=True).stdout) - 60
    assert repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>", oid).strip() == \
        f"Prov Tester <{EMAIL}>|Prov Tester <{EMAIL}>"
    assert repo.git("log", "-1", "--format=%B", oid).startswith(f"prov: run {record['id']}\n\nProv-Run: ")
    # The record is the same as unsigned: signing touches the commit only.
    assert repo.prov("verify").code == 0


def test_the_default_follows_commit_gpgsign_and_the_flags_override(repo: Repo, ssh_key: SshKey) -> None:
    use_ssh(repo, ssh_key, sign=None)
    plain = repo.record("-q", "--", "true")
    assert not signed(repo, run_commit(repo, plain["id"]))
    repo.git("config", "commit.gpgSign", "true")
    follows = repo.record("-q", "--", "true")
    assert signed(repo, run_commit(repo, follows["id"]))
    refused = repo.record("-q", "--no-sign", "--", "true")
    assert not signed(repo, run_commit(repo, refused["id"]))
    repo.git("config", "prov.sign", "false")  # prov.sign wins over commit.gpgSign
    off = repo.record("-q", "--", "true")
    assert not signed(repo, run_commit(repo, off["id"]))
    forced = repo.record("-q", "--sign", "--", "true")
    assert signed(repo, run_commit(repo, forced["id"]))
    repo.git("config", "prov.sign", "maybe")
    bad = repo.prov("record", "-q", "--", "touch", "ran")
    assert bad.code == 128 and "prov.sign" in bad.err and not (repo.path / "ran").exists()


def test_unsigned_records_are_unchanged(repo: Repo) -> None:
    record = repo.record("-q", "--", "true")
    assert not signed(repo, run_commit(repo, record["id"]))
    assert all(not signed(repo, oid) for oid in repo.git("rev-list", REF).split())


def test_a_key_git_cannot_use_stops_before_the_command_or_records_unsigned(repo: Repo, ssh_key: SshKey) -> None:
    use_ssh(repo, ssh_key)
    repo.git("config", "--unset", "user.signingKey")
    early = repo.prov("record", "-q", "--", "touch", "ran")
    assert early.code == 128 and "user.signingKey" in early.err and not (repo.path / "ran").exists()
    # A key that fails only when git signs: the run already happened, so it is kept, unsigned, and said so.
    repo.git("config", "user.signingKey", str(ssh_key.public.parent / "gone.pub"))
    late = repo.prov("record", "-q", "--", "sh", "-c", "exit 3")
    assert late.code == 3, late.err
    assert "UNSIGNED" in late.err and late.err.count("\n") == 1
    assert not signed(repo, run_commit(repo, repo.newest()["id"]))


def test_a_literal_key_served_by_an_agent(repo: Repo, ssh_key: SshKey, ssh_agent: Agent) -> None:
    subprocess.run(["ssh-add", "-q", str(ssh_key.private)], check=True, capture_output=True)
    use_ssh(repo, ssh_key)
    repo.git("config", "user.signingKey", f"key::{ssh_key.public_text}")
    shutil.move(ssh_key.private, ssh_key.private.with_suffix(".away"))  # only the agent can sign now
    record = repo.record("-q", "--", "true")
    done = verify_commit(repo, run_commit(repo, record["id"]))
    assert done.returncode == 0, done.stderr


def test_openpgp_signed_runs(repo: Repo, gpg_home: Path) -> None:
    use_gpg(repo)
    record = repo.record("-q", "--", "true")
    done = verify_commit(repo, run_commit(repo, record["id"]))
    assert done.returncode == 0 and "GOODSIG" in done.stderr, done.stderr
    code, states, _ = signatures(repo)
    assert code == 0
    assert states[record["id"]]["state"] == "good"
    assert EMAIL in states[record["id"]]["signer"] and states[record["id"]]["format"] == "openpgp"


# ------------------------------------------------------------------------------ checking them


def test_verify_signatures_names_each_state(repo: Repo, ssh_key: SshKey, tmp_path: Path) -> None:
    unsigned = repo.record("-q", "--", "true")
    use_ssh(repo, ssh_key)
    good = repo.record("-q", "--", "true")
    stranger = make_ssh_key(tmp_path / "stranger")
    repo.git("config", "user.signingKey", str(stranger.public))
    untrusted = repo.record("-q", "--", "true")
    code, states, _ = signatures(repo)
    assert code == 0  # nothing is wrong, only not everything is trusted
    assert states[unsigned["id"]]["state"] == "unsigned"
    assert states[good["id"]]["state"] == "good" and states[good["id"]]["signer"] == EMAIL
    assert states[good["id"]]["key"].startswith("SHA256:")
    assert states[untrusted["id"]]["state"] == "untrusted"
    required = repo.prov("verify", "--signatures", "--require-signed")
    assert required.code == 1
    lines = dict(line.split("  ", 1) for line in required.out.splitlines())
    assert lines[good["id"][:12]].startswith("good  tester@example.invalid  (ssh key SHA256:")
    assert lines[unsigned["id"][:12]] == "unsigned"
    assert repo.prov("verify", "--signatures", "--require-signed", good["id"]).code == 0
    assert repo.prov("verify", "--signatures", "--require-signed", untrusted["id"]).code == 1


def test_a_tampered_signed_commit_is_bad(repo: Repo, ssh_key: SshKey) -> None:
    use_ssh(repo, ssh_key)
    record = repo.record("-q", "--", "true")
    oid = repo.git("rev-parse", REF).strip()
    body = repo.git("cat-file", "commit", oid).replace("author Prov Tester", "author Prov Tester Jr", 1)
    forged = git(repo.path, "hash-object", "-t", "commit", "-w", "--stdin", input=body.encode()).strip()
    repo.git("update-ref", REF, forged)
    assert verify_commit(repo, forged).returncode != 0
    code, states, _ = signatures(repo)
    assert code == 1 and states[record["id"]]["state"] == "bad"


def test_a_missing_allowed_signers_file_is_one_line_saying_how_to_set_it(repo: Repo, ssh_key: SshKey) -> None:
    use_ssh(repo, ssh_key, trust=False)
    repo.record("-q", "--", "true")
    done = repo.prov("verify", "--signatures")
    assert done.code == 0
    assert "untrusted" in done.out
    hints = [line for line in done.err.splitlines() if "allowedSignersFile" in line]
    assert len(hints) == 1 and "git config gpg.ssh.allowedSignersFile" in hints[0]
    assert json.loads(repo.prov("verify", "--signatures", "--json").out)["hint"] == hints[0].split("hint: ", 1)[1]


# ------------------------------------------------------------------------------ across clones


def _remote(tmp_path: Path) -> tuple[str, Path]:
    bare = tmp_path / "project.git"
    git(tmp_path, "init", "-q", "--bare", bare.name)
    git(init_project(tmp_path / "seed"), "push", "-q", bare.as_uri(), "main")
    return bare.as_uri(), bare


def _clone(url: str, path: Path) -> Repo:
    git(path.parent, "clone", "-q", url, path.name)
    return Repo(path)


def test_merge_commits_of_a_sync_are_signed(tmp_path: Path, ssh_key: SshKey) -> None:
    url, _ = _remote(tmp_path)
    a, b = _clone(url, tmp_path / "a"), _clone(url, tmp_path / "b")
    for clone in (a, b):
        use_ssh(clone, ssh_key)
        clone.record("-q", "--no-exec", "--", "true")
    assert a.prov("sync", "-q").code == 0
    synced = b.prov("sync", "-q")
    assert synced.code == 0, synced.err
    merges = b.git("log", "--merges", "--format=%H %s", REF).splitlines()
    merges = [m.split()[0] for m in merges if " prov: merge " in m]
    assert merges
    for oid in merges:
        done = verify_commit(b, oid)
        assert done.returncode == 0, done.stderr
    code, states, _ = signatures(b, "--require-signed")
    assert code == 0 and len(states) == 2 and {s["state"] for s in states.values()} == {"good"}


def test_fetch_require_signed_refuses_unsigned_runs(tmp_path: Path, ssh_key: SshKey) -> None:
    url, _ = _remote(tmp_path)
    a, b = _clone(url, tmp_path / "a"), _clone(url, tmp_path / "b")
    a.record("-q", "--no-exec", "--", "true")
    assert a.prov("push", "-q").code == 0
    use_ssh(b, ssh_key)
    b.git("config", "prov.fetch.requireSigned", "true")
    refused = b.prov("fetch")
    assert refused.code == 128, refused.err
    assert re.search(r"refused refs/prov/runs from origin: .*1 incoming run\(s\) not signed by a trusted key "
                     r"\([0-9a-f]{12} unsigned\); nothing was merged", refused.err), refused.err
    assert refused.err.count("\n") == 1
    assert b.run_ids() == []
    use_ssh(a, ssh_key)
    signed_run = a.record("-q", "--no-exec", "--", "true")
    assert a.prov("push", "-q").code == 0
    still = b.prov("fetch")  # the unsigned run is still part of what the remote holds
    assert still.code == 128
    b.git("config", "prov.fetch.requireSigned", "false")
    assert b.prov("fetch", "-q").code == 0 and signed_run["id"] in b.run_ids()


@pytest.mark.parametrize("flag", ["--sign", "--no-sign"])
def test_record_help_names_the_flag(repo: Repo, flag: str) -> None:
    assert flag in repo.prov("record", "--help").out


@pytest.mark.slow
def test_x509_signed_runs(repo: Repo, x509_home: str) -> None:
    repo.git("config", "gpg.format", "x509")
    repo.git("config", "user.signingKey", x509_home)
    record = repo.record("-q", "--sign", "--", "true")
    done = verify_commit(repo, run_commit(repo, record["id"]))
    assert done.returncode == 0, done.stderr
    code, states, _ = signatures(repo, "--require-signed")
    assert code == 0 and states[record["id"]]["state"] == "good" and states[record["id"]]["format"] == "x509"


def test_a_signature_by_a_key_that_has_expired_since(repo: Repo, gpg_home: Path, tmp_path: Path) -> None:
    # A key valid for one day in 2020, which signs as if it were 2020: its signature is expired now.
    old = tmp_path / "gpg-2020"
    old.write_text('#!/bin/sh\nexec gpg --faked-system-time 20200101T000000 "$@"\n')
    old.chmod(0o755)
    subprocess.run([str(old), "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "Old <old@example.invalid>",
                    "ed25519", "sign", "1d"], check=True, capture_output=True)
    use_gpg(repo, "old@example.invalid")
    repo.git("config", "gpg.program", str(old))
    record = repo.record("-q", "--", "true")
    repo.git("config", "--unset", "gpg.program")
    code, states, _ = signatures(repo)
    assert code == 0 and states[record["id"]]["state"] == "expired"
    assert repo.prov("verify", "--signatures", "--require-signed").code == 1
