"""Real signing keys made in the test: an ed25519 SSH key (ssh-keygen), an OpenPGP key in a throw-away
GNUPGHOME (gpg, where installed), and the git config that signs with them."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Repo

EMAIL = "tester@example.invalid"


@dataclass
class SshKey:
    private: Path
    public: Path
    allowed: Path  # an allowed-signers file that trusts this key for EMAIL

    @property
    def public_text(self) -> str:
        return self.public.read_text().strip()


def make_ssh_key(folder: Path, name: str = "id_ed25519") -> SshKey:
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", EMAIL, "-f", str(private)], check=True)
    public = folder / f"{name}.pub"
    allowed = folder / f"{name}.allowed"
    allowed.write_text(f"{EMAIL} {public.read_text().strip()}\n")
    return SshKey(private, public, allowed)


@pytest.fixture
def ssh_key(tmp_path: Path) -> SshKey:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen is not installed")
    return make_ssh_key(tmp_path / "keys")


def use_ssh(repo: Repo, key: SshKey, *, trust: bool = True, sign: bool | None = True) -> None:
    """Sign with key the way a user sets git up for SSH signing."""
    repo.git("config", "gpg.format", "ssh")
    repo.git("config", "user.signingKey", str(key.public))
    if trust:
        repo.git("config", "gpg.ssh.allowedSignersFile", str(key.allowed))
    if sign is not None:
        repo.git("config", "prov.sign", "true" if sign else "false")


@pytest.fixture
def gpg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A GNUPGHOME with one ultimately trusted ed25519 key for EMAIL, its agent stopped afterwards."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                    f"Prov Tester <{EMAIL}>", "ed25519", "sign", "never"], check=True, capture_output=True)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)},
                       check=False, capture_output=True)


def gpg_fingerprint(email: str = EMAIL) -> str:
    out = subprocess.run(["gpg", "--with-colons", "--list-secret-keys", email], capture_output=True, text=True,
                         check=True).stdout
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def use_gpg(repo: Repo, key: str = EMAIL) -> None:
    repo.git("config", "gpg.format", "openpgp")
    repo.git("config", "user.signingKey", key)
    repo.git("config", "prov.sign", "true")


@dataclass
class Agent:
    socket: Path
    pid: int


@pytest.fixture
def ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    """A private ssh-agent for this test (SSH_AUTH_SOCK set), killed afterwards."""
    if shutil.which("ssh-agent") is None:
        pytest.skip("ssh-agent is not installed")
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.02)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield Agent(sock, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


PRESET = "/usr/lib/gnupg/gpg-preset-passphrase"


@pytest.fixture
def x509_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A GNUPGHOME whose gpgsm holds a self-signed X.509 certificate for EMAIL (made with openssl and
    trusted in trustlist.txt); yields the certificate's fingerprint. gpgsm cannot make an unprotected
    key in batch mode, so the import's passphrase is preset in the agent."""
    if not all(shutil.which(t) for t in ("gpgsm", "openssl", "gpg-connect-agent")) or not Path(PRESET).exists():
        pytest.skip("gpgsm, openssl or gpg-preset-passphrase is not installed")
    home = tmp_path / "gnupg-x509"
    home.mkdir(mode=0o700)
    (home / "gpgsm.conf").write_text("disable-crl-checks\n")
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\nallow-preset-passphrase\n")
    monkeypatch.setenv("GNUPGHOME", str(home))
    key, cert, bundle = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "k.p12"

    def run(*argv: str, data: bytes | None = None) -> str:
        return subprocess.run(argv, input=data, capture_output=True, check=True).stdout.decode()

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
        "-days", "30", "-subj", f"/CN=Prov Tester/emailAddress={EMAIL}")
    # gpgsm reads only the older PKCS#12 ciphers.
    run("openssl", "pkcs12", "-export", "-inkey", str(key), "-in", str(cert), "-out", str(bundle), "-passout",
        "pass:x", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1")
    try:
        run("gpgsm", "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--import", str(bundle),
            data=b"x\n")
        listing = run("gpgsm", "--with-colons", "--with-keygrip", "--list-secret-keys")
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        grip = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("grp:"))
        (home / "trustlist.txt").write_text(f"{fingerprint} S relax\n")
        run("gpg-connect-agent", "/bye")
        run(PRESET, "--preset", "-P", "x", grip)
        yield fingerprint
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(home)},
                       check=False, capture_output=True)
