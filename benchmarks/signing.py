"""Issue 15: what signing adds to `git prov record` (target: at most 40 ms), against an unsigned record.

    .venv/bin/python benchmarks/signing.py [--rounds 15]

Three repositories recording the same `-i in.txt -- true`: unsigned (the baseline), signed with an
ed25519 SSH key file (`gpg.format ssh`), and signed with an ed25519 OpenPGP key in a throw-away
GNUPGHOME whose agent is warm (the usual state after the first signature of a session). The cost is
the median over rounds of (signed - unsigned) from the same round, so the machine's drift cancels.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import harness

TARGET_MS = 40.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    harness.precompile()
    work = Path(tempfile.mkdtemp(prefix="prov-bench-sign-"))
    gnupg = work / "gnupg"
    env = harness.bench_env(GNUPGHOME=str(gnupg))
    try:
        plain = harness.make_repo(work / "unsigned")
        ssh = harness.make_repo(work / "ssh")
        key = work / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        for name, value in (("gpg.format", "ssh"), ("user.signingKey", f"{key}.pub"), ("prov.sign", "true")):
            harness.git("config", name, value, cwd=ssh)
        prov = harness.PROV
        cases: dict[str, harness.Case] = {
            "unsigned record": ["sh", "-c", f"cd {plain} && {prov} record -q -i in.txt -- true"],
            "SSH-signed record": ["sh", "-c", f"cd {ssh} && {prov} record -q -i in.txt -- true"],
        }
        if shutil.which("gpg"):
            gnupg.mkdir(mode=0o700)
            subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                            "Bench <bench@example.com>", "ed25519", "sign", "never"], env=env, check=True,
                           capture_output=True)
            pgp = harness.make_repo(work / "openpgp")
            for name, value in (("user.signingKey", "bench@example.com"), ("prov.sign", "true")):
                harness.git("config", name, value, cwd=pgp)
            cases["OpenPGP-signed record"] = ["sh", "-c", f"cd {pgp} && {prov} record -q -i in.txt -- true"]
        times = harness.alternate(cases, rounds=args.rounds, warmup=2, env=env)
        print(f"machine: {harness.machine()}")
        harness.report("Signing a run commit (issue 15)", times, "unsigned record")
        print("\n| case | wall added to an unsigned record (median of same-round differences) | CPU added "
              "| target (wall) |")
        print("|---|---|---|---|")
        base = "unsigned record"
        for name in list(cases)[1:]:
            added = statistics.median(a - b for a, b in zip(times[name], times[base], strict=True))
            cpu = statistics.median(a - b for a, b in zip(harness.CPU[name], harness.CPU[base], strict=True))
            verdict = "met" if added * 1000 <= TARGET_MS else "NOT met"
            print(f"| {name} | {added * 1000:+.1f} ms | {cpu * 1000:+.1f} ms | ≤ {TARGET_MS:.0f} ms: {verdict} |")
    finally:
        if gnupg.exists():
            subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(gnupg)},
                           check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
