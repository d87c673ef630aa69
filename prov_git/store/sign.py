"""Signatures on refs/prov/runs and on attestations, made and checked the way git makes and checks them.

Signing a commit is delegated to `git commit-tree -S` with the chain's own dates and identity, so every
`gpg.format` (openpgp, ssh, x509) and every `user.signingKey` form git accepts (a key id, a key file,
`key::` literals served by an agent, `gpg.ssh.defaultKeyCommand`) works exactly as for `git commit`,
and `git verify-commit` accepts the result. Checking goes through git too (`%G?` of `git log`, the same
code as `git verify-commit`), in one process for any number of commits.

A blob (an attestation's DSSE pre-authentication encoding) is signed with the same key by the same
program git would run: `ssh-keygen -Y sign -n NAMESPACE`, `gpg -bsau`, `gpgsm -bsau`.

Nothing here runs for an unsigned record: `subprocess` is imported only when a signature is made or
checked (tests/test_startup.py keeps it off the record path).
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pygit2

from prov_git.errors import RefusedData, StoreError
from prov_git.store.repo import Repo

if TYPE_CHECKING:
    import subprocess

# store.runs imports this module to sign its commits, so these two are spelled here, not imported.
REF = "refs/prov/runs"
_RUN_SUBJECT = "prov: run "
FORMATS = ("openpgp", "ssh", "x509")
# git log's %G? letters -> our states (git help log: "PLACEHOLDERS", %G?).
_STATES = {"G": "good", "B": "bad", "U": "untrusted", "X": "expired", "Y": "expired", "R": "revoked",
           "E": "untrusted", "N": "untrusted"}
_DETAILS = {"U": "good signature by a key that is not trusted", "E": "cannot be checked (no public key?)",
            "N": "git could not check it", "X": "the signature has expired", "Y": "the key has expired",
            "R": "the key was revoked"}
_ARMOR = {b"-----BEGIN SSH SIGNATURE": "ssh", b"-----BEGIN PGP SIGNATURE": "openpgp",
          b"-----BEGIN SIGNED MESSAGE": "x509", b"-----BEGIN PKCS7": "x509", b"-----BEGIN CMS": "x509"}
ALLOWED_SIGNERS_HINT = ("gpg.ssh.allowedSignersFile is not set, so SSH signatures cannot be trusted: "
                        "`git config gpg.ssh.allowedSignersFile ~/.ssh/allowed_signers` with one "
                        "`EMAIL KEY` line per signer (see git-config(1))")


class SigningFailed(StoreError):
    """The signing program refused (no key, locked key, no agent)."""


class Signature:
    """The signature state of one commit. A plain class: @dataclass costs import time on record."""

    __slots__ = ("commit", "detail", "format", "key", "signer", "state")

    def __init__(self, commit: str, state: str, signer: str = "", key: str = "", format: str | None = None,
                 detail: str = "") -> None:
        self.commit = commit
        self.state = state  # good, bad, unsigned, untrusted, expired, revoked
        self.signer = signer
        self.key = key
        self.format = format
        self.detail = detail

    @property
    def trusted(self) -> bool:
        return self.state == "good"

    def as_dict(self) -> dict[str, str | None]:
        return {"commit": self.commit, "state": self.state, "signer": self.signer or None,
                "key": self.key or None, "format": self.format, "detail": self.detail or None}


# ------------------------------------------------------------------------------ settings


def _bool(repo: Repo, key: str) -> bool | None:
    """key as git reads it (also `git -c`); None when unset; a value git refuses is a ConfigError."""
    from prov_git import settings

    values = repo.config_values(key)
    return settings.parse_bool(key, values[-1]) if values else None


def configured(repo: Repo) -> bool:
    """prov.sign, else commit.gpgSign, else no."""
    for key in ("prov.sign", "commit.gpgSign"):
        value = _bool(repo, key)
        if value is not None:
            return value
    return False


def signing_format(repo: Repo) -> str:
    fmt = (repo.config("gpg.format") or "openpgp").lower()
    if fmt not in FORMATS:
        raise StoreError(f"invalid value {fmt!r} for gpg.format: use one of {', '.join(FORMATS)}")
    return fmt


def prepare(repo: Repo, choice: bool | None = None) -> bool:
    """Whether to sign (choice: --sign/--no-sign, else the config); checked before a command runs,
    so a key that is not set up stops the record before anything ran instead of after."""
    sign = configured(repo) if choice is None else choice
    if sign and signing_format(repo) == "ssh" and not (
            repo.config("user.signingKey") or repo.config("gpg.ssh.defaultKeyCommand")):
        raise StoreError("signing with gpg.format=ssh needs a key: "
                         "`git config user.signingKey ~/.ssh/id_ed25519.pub` (or use --no-sign)")
    return sign


class _Session:
    __slots__ = ("failed", "sign", "warnings")

    def __init__(self, sign: bool) -> None:
        self.sign = sign
        self.failed = False
        self.warnings: list[str] = []


_current: list[_Session] = []  # the sessions open in this process, innermost last


@contextlib.contextmanager
def session(sign: bool) -> Iterator[list[str]]:
    """Commits made inside are signed (or not) as decided; a signature that fails there is reported in
    the yielded list and the commit is made unsigned, so a run that already happened is never lost."""
    state = _Session(sign)
    _current.append(state)
    try:
        yield state.warnings
    finally:
        _current.remove(state)


# ------------------------------------------------------------------------------ signed commits


def create_commit(repo: Repo, sig: pygit2.Signature, message: str, tree: pygit2.Oid,
                  parents: list[pygit2.Oid]) -> pygit2.Oid:
    """A commit on the chain (author = committer = sig), signed when signing is on."""
    state = _current[-1] if _current else None
    sign = state.sign if state is not None else configured(repo)
    if sign and not (state is not None and state.failed):
        try:
            return _commit_tree(repo, sig, message, tree, parents)
        except SigningFailed as exc:
            if state is None:
                raise
            state.failed = True
            state.warnings.append(f"{exc}; the run is recorded UNSIGNED (`git prov verify --signatures` shows it)")
    return repo.git.create_commit(None, sig, sig, message, tree, parents)


def _commit_tree(repo: Repo, sig: pygit2.Signature, message: str, tree: pygit2.Oid,
                 parents: list[pygit2.Oid]) -> pygit2.Oid:
    when = f"@{sig.time} +0000"
    env = {**os.environ, "GIT_AUTHOR_NAME": sig.name, "GIT_AUTHOR_EMAIL": sig.email, "GIT_AUTHOR_DATE": when,
           "GIT_COMMITTER_NAME": sig.name, "GIT_COMMITTER_EMAIL": sig.email, "GIT_COMMITTER_DATE": when}
    args = ["commit-tree", "-S", str(tree)]
    for parent in parents:
        args += ["-p", str(parent)]
    # core.fsync: the commit must survive a power cut like every object make_durable() covers.
    done = _git(repo, ["-c", "core.fsync=loose-object", *args], message.encode(), env)
    if done.returncode != 0:
        raise SigningFailed(f"cannot sign the commit on {REF}: {_last_line(done.stderr)}")
    return pygit2.Oid(hex=done.stdout.decode().strip())


def _git(repo: Repo, args: list[str], data: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    import subprocess

    try:
        return subprocess.run(["git", f"--git-dir={repo.git.path}", *args], input=data, capture_output=True,
                              env=env, check=False)
    except OSError as exc:
        raise StoreError(f"cannot run git: {exc}") from None


def _last_line(err: bytes) -> str:
    lines = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "the signing program failed"


# ------------------------------------------------------------------------------ checking commits


def armor_format(signature: bytes) -> str | None:
    for head, fmt in _ARMOR.items():
        if signature.lstrip().startswith(head):
            return fmt
    return None


def allowed_signers_missing(repo: Repo) -> bool:
    path = repo.config("gpg.ssh.allowedSignersFile")
    return not path or not os.path.isfile(os.path.expanduser(path))


def check_commits(repo: Repo, commits: Sequence[str]) -> dict[str, Signature]:
    """The signature state of each commit, as git verifies it (one `git log` for all of them)."""
    out: dict[str, Signature] = {}
    ask: list[str] = []
    ssh_untrustable = None
    for oid in dict.fromkeys(commits):
        commit = repo.git.get(oid)
        signed = commit.gpg_signature[0] if isinstance(commit, pygit2.Commit) else None
        if not signed:
            out[oid] = Signature(oid, "unsigned")
            continue
        fmt = armor_format(signed)
        if fmt == "ssh":
            if ssh_untrustable is None:
                ssh_untrustable = allowed_signers_missing(repo)
            if ssh_untrustable:  # git would say nothing useful (%G? is N): say what to set
                out[oid] = Signature(oid, "untrusted", format=fmt, key=ssh_key_fingerprint(signed) or "",
                                     detail="gpg.ssh.allowedSignersFile is not set")
                continue
        out[oid] = Signature(oid, "untrusted", format=fmt)
        ask.append(oid)
    if ask:
        # %GT is left out: git 2.39 aborts on it when an SSH signature cannot be checked.
        done = _git(repo, ["log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%G?%x1f%GS%x1f%GK%x1f%GF"],
                    "".join(f"{oid}\n" for oid in ask).encode())
        if done.returncode != 0:
            raise StoreError(f"cannot check signatures: git log: {_last_line(done.stderr)}")
        for line in done.stdout.decode(errors="replace").splitlines():
            fields = line.split("\x1f")
            if len(fields) != 5 or fields[0] not in out:
                continue
            oid, letter, signer, key, fingerprint = fields
            found = out[oid]
            found.state = _STATES.get(letter, "untrusted")
            found.signer = signer
            found.key = fingerprint or key
            found.detail = _DETAILS.get(letter, "")
    return out


def check_runs(repo: Repo, run_commits: dict[str, str]) -> dict[str, Signature]:
    """check_commits for each run's commit (run id -> commit id); a good signature on a commit whose
    tree holds other content for the run than the tip does is bad: it vouches for something else."""
    states = check_commits(repo, list(run_commits.values()))
    ref = repo.git.references.get(REF)
    head = repo.git.get(ref.target) if ref is not None else None
    out = {}
    for run_id, oid in run_commits.items():
        found = states[oid]
        commit = repo.git.get(oid)
        path = f"runs/{run_id[:2]}/{run_id}"
        if isinstance(head, pygit2.Commit) and isinstance(commit, pygit2.Commit) and found.state != "unsigned":
            mine = _entry(head.tree, path)
            signed = _entry(commit.tree, path)
            if mine is None or mine != signed:
                found = Signature(oid, "bad", found.signer, found.key, found.format,
                                  f"the signed commit holds other content for run {run_id[:12]}")
        out[run_id] = found
    return out


def _entry(tree: pygit2.Tree, path: str) -> pygit2.Oid | None:
    try:
        return tree[path].id
    except KeyError:
        return None


def identity(repo: Repo, oid: str) -> tuple[str, str] | None:
    """(name, email) of the author of a chain commit: the person who recorded the run it adds."""
    commit = repo.git.get(oid)
    if not isinstance(commit, pygit2.Commit):
        return None
    return commit.author.name, commit.author.email


def ssh_key_fingerprint(armored: bytes) -> str | None:
    """SHA256:... of the public key inside an SSH signature (PROTOCOL.sshsig: the blob carries it)."""
    body = b"".join(line for line in armored.strip().splitlines() if not line.startswith(b"-----"))
    try:
        blob = base64.b64decode(body)
    except ValueError:
        return None
    if not blob.startswith(b"SSHSIG") or len(blob) < 14:
        return None
    size = int.from_bytes(blob[10:14], "big")
    key = blob[14:14 + size]
    import hashlib  # not at the top: `record` loads this module and hashes nothing here

    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode().rstrip("=")


def require_signed_incoming(repo: Repo, remote_tip: pygit2.Commit, label: str) -> None:
    """prov.fetch.requireSigned: refuse a fetched chain whose new runs are not signed by a trusted key."""
    if not _bool(repo, "prov.fetch.requireSigned"):
        return
    local = repo.git.references.get(REF)
    walker = repo.git.walk(remote_tip.id, pygit2.enums.SortMode.NONE)
    if local is not None:
        walker.hide(local.target)
    incoming = {str(c.id): c.message[len(_RUN_SUBJECT):len(_RUN_SUBJECT) + 64] for c in walker
                if c.message.startswith(_RUN_SUBJECT)}
    states = check_commits(repo, list(incoming))
    refused = sorted((incoming[oid], s) for oid, s in states.items() if not s.trusted)
    if refused:
        shown = ", ".join(f"{run[:12]} {s.state}" for run, s in refused[:5])
        more = f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        hint = f"; {ALLOWED_SIGNERS_HINT}" if any("allowedSignersFile" in s.detail for _, s in refused) else ""
        raise RefusedData(f"refused {REF} from {label}: prov.fetch.requireSigned and {len(refused)} "
                          f"incoming run(s) not signed by a trusted key ({shown}{more}); nothing was merged{hint}")


# ------------------------------------------------------------------------------ signing blobs


def sign_blob(repo: Repo, data: bytes, namespace: str) -> tuple[str, bytes]:
    """(key fingerprint, armored detached signature) of data, made with git's signing key."""
    fmt = signing_format(repo)
    if fmt == "ssh":
        return _ssh_sign(repo, data, namespace)
    program = _gpg_program(repo, fmt)
    key = repo.config("user.signingKey") or _committer(repo)
    done = _spawn([program, "--status-fd=2", "-bsau", key], data)
    if done.returncode != 0 or not done.stdout:
        raise SigningFailed(f"{program} could not sign with {key!r}: {_last_line(done.stderr)}")
    fingerprint = ""
    for line in done.stderr.decode(errors="replace").splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "SIG_CREATED"] and len(parts) >= 8:
            fingerprint = parts[7]
    return fingerprint, done.stdout


def _gpg_program(repo: Repo, fmt: str) -> str:
    if fmt == "x509":
        return repo.config("gpg.x509.program") or "gpgsm"
    return repo.config("gpg.openpgp.program") or repo.config("gpg.program") or "gpg"


def _committer(repo: Repo) -> str:
    return f"{repo.config('user.name') or 'git prov'} <{repo.config('user.email') or 'git-prov@localhost'}>"


def _spawn(argv: list[str], data: bytes | None) -> subprocess.CompletedProcess[bytes]:
    import subprocess

    try:
        return subprocess.run(argv, input=data, capture_output=True, check=False)
    except OSError as exc:
        raise SigningFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from None


def _ssh_key(repo: Repo) -> tuple[str, bool]:
    """(key, literal?) the way git reads user.signingKey for gpg.format=ssh."""
    key = repo.config("user.signingKey") or ""
    if not key:
        command = repo.config("gpg.ssh.defaultKeyCommand")
        if command:
            import subprocess

            done = subprocess.run(command, shell=True, capture_output=True, check=False)
            key = done.stdout.decode(errors="replace").strip().splitlines()[0] if done.stdout.strip() else ""
    if not key:
        raise SigningFailed("no SSH signing key: `git config user.signingKey ~/.ssh/id_ed25519.pub`")
    if key.startswith("key::"):
        return key[5:], True
    if key.startswith("ssh-") or key.startswith("ecdsa-") or key.startswith("sk-"):
        return key, True
    return os.path.expanduser(key), False


def _ssh_sign(repo: Repo, data: bytes, namespace: str) -> tuple[str, bytes]:
    import tempfile

    program = repo.config("gpg.ssh.program") or "ssh-keygen"
    key, literal = _ssh_key(repo)
    with tempfile.TemporaryDirectory(prefix="git-prov-sign-") as tmp:
        keyfile = key
        if literal:  # an agent holds the private half: hand ssh-keygen the public key, as git does
            keyfile = os.path.join(tmp, "key.pub")
            with open(keyfile, "w") as fh:
                fh.write(key + "\n")
        argv = [program, "-Y", "sign", "-n", namespace, "-f", keyfile, *(["-U"] if literal else [])]
        done = _spawn(argv, data)
        if done.returncode != 0 and literal:  # OpenSSH < 8.9 has no -U; it asks the agent anyway
            done = _spawn(argv[:-1], data)
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        raise SigningFailed(f"{program} could not sign with {key if not literal else 'the agent key'}: "
                            f"{_last_line(done.stderr)}")
    return ssh_key_fingerprint(done.stdout) or "", done.stdout


def verify_blob(repo: Repo, data: bytes, signature: bytes, namespace: str) -> Signature:
    """The state of a detached signature over data, checked as git checks a commit's: SSH against
    gpg.ssh.allowedSignersFile, OpenPGP and X.509 against the keyring and its trust."""
    import tempfile

    fmt = armor_format(signature)
    with tempfile.TemporaryDirectory(prefix="git-prov-verify-") as tmp:
        sigfile = os.path.join(tmp, "sig")
        with open(sigfile, "wb") as fh:
            fh.write(signature)
        if fmt == "ssh":
            return _ssh_verify(repo, data, sigfile, signature, namespace)
        if fmt in ("openpgp", "x509"):
            return _gpg_verify(repo, data, sigfile, fmt)
    return Signature("", "bad", detail="not a signature git knows (SSH, OpenPGP or X.509 armor)")


def _ssh_verify(repo: Repo, data: bytes, sigfile: str, signature: bytes, namespace: str) -> Signature:
    program = repo.config("gpg.ssh.program") or "ssh-keygen"
    key = ssh_key_fingerprint(signature) or ""
    if allowed_signers_missing(repo):
        return Signature("", "untrusted", key=key, format="ssh", detail="gpg.ssh.allowedSignersFile is not set")
    allowed = os.path.expanduser(repo.config("gpg.ssh.allowedSignersFile") or "")
    found = _spawn([program, "-Y", "find-principals", "-f", allowed, "-s", sigfile], None)
    principals = found.stdout.decode(errors="replace").split() if found.returncode == 0 else []
    for principal in principals:
        done = _spawn([program, "-Y", "verify", "-f", allowed, "-I", principal, "-n", namespace, "-s", sigfile], data)
        if done.returncode == 0:
            return Signature("", "good", signer=principal, key=key, format="ssh")
    novalidate = _spawn([program, "-Y", "check-novalidate", "-n", namespace, "-s", sigfile], data)
    if novalidate.returncode == 0 and not principals:
        return Signature("", "untrusted", key=key, format="ssh",
                         detail="good signature by a key that gpg.ssh.allowedSignersFile does not list")
    return Signature("", "bad", key=key, format="ssh", detail="the signature does not match the content")


def _gpg_verify(repo: Repo, data: bytes, sigfile: str, fmt: str) -> Signature:
    program = _gpg_program(repo, fmt)
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="git-prov-data-") as payload:
        payload.write(data)
        payload.flush()
        done = _spawn([program, "--status-fd=1", "--verify", sigfile, payload.name], None)
    status = {}
    for line in done.stdout.decode(errors="replace").splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) >= 2 and parts[0] == "[GNUPG:]":
            status[parts[1]] = parts[2] if len(parts) > 2 else ""
    signer = next((status[k].split(" ", 1)[-1] for k in ("GOODSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADSIG")
                   if k in status), "")
    key = status.get("VALIDSIG", "").split(" ", 1)[0]
    if "BADSIG" in status:
        return Signature("", "bad", signer, key, fmt, "the signature does not match the content")
    if "EXPSIG" in status or "EXPKEYSIG" in status:
        return Signature("", "expired", signer, key, fmt)
    if "REVKEYSIG" in status:
        return Signature("", "revoked", signer, key, fmt)
    if "GOODSIG" in status:
        trusted = any(k in status for k in ("TRUST_MARGINAL", "TRUST_FULLY", "TRUST_ULTIMATE"))
        return Signature("", "good" if trusted else "untrusted", signer, key, fmt,
                         "" if trusted else "good signature by a key that is not trusted")
    return Signature("", "untrusted" if "ERRSIG" in status or "NO_PUBKEY" in status else "bad", signer, key, fmt,
                     _last_line(done.stderr))
