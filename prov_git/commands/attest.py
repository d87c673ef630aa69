"""`git prov attest [RUN] [-o FILE] [--sign] [--allow-failed]` and `git prov attest --verify FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from prov_git.commands._options import CONTEXT, json_option, say

if TYPE_CHECKING:
    from prov_git.app.attest import Checked


@click.command(context_settings=CONTEXT)
@click.argument("run_spec", required=False, metavar="[RUN]")
@click.option("-o", "--output", "output", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
@click.option("--sign", "signed", is_flag=True,
              help="Print a DSSE envelope signed with git's signing key (gpg.format, user.signingKey).")
@click.option("--allow-failed", is_flag=True, help="Attest a run whose command failed.")
@click.option("--verify", "verify_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path),
              help="Check a signed envelope (SSH: against gpg.ssh.allowedSignersFile); exit 1 unless trusted.")
@json_option("With --verify: one JSON report on stdout.")
def attest(run_spec: str | None, output: Path | None, signed: bool, allow_failed: bool,
           verify_file: Path | None, as_json: bool) -> int:
    """An in-toto Statement (SLSA Provenance v1) of RUN (default: @)."""
    from prov_git.app import attest as app
    from prov_git.app.repository import open_here
    from prov_git.errors import UsageError

    repo = open_here()
    if verify_file is not None:
        if run_spec or signed or output:
            raise UsageError("--verify FILE takes no RUN, --sign or -o")
        return _report(app.verify_file(repo, verify_file), as_json)
    statement = app.statement(repo, run_spec or "@", allow_failed=allow_failed)
    data = app.encode(app.envelope(repo, statement) if signed else statement)
    if output is None:
        click.echo(data.decode(), nl=False)
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        say(f"wrote {'a signed envelope' if signed else 'an in-toto statement'} to {output}")
    return 0


def _report(checked: Checked, as_json: bool) -> int:
    from prov_git.records.text import inert

    if as_json:
        click.echo(json.dumps(checked.as_dict(), sort_keys=True, ensure_ascii=False))
    else:
        summary = checked.as_dict()
        for sig in checked.signatures:
            who = f" by {inert(sig.signer)}" if sig.signer else ""
            key = f" ({sig.format} key {sig.key})" if sig.key else ""
            detail = f": {inert(sig.detail)}" if sig.detail else ""
            click.echo(f"{sig.state}{who}{key}{detail}")
        say(f"run {str(summary['run'])[:12]}, {summary['subjects']} subject(s): "
            f"{'verified' if checked.ok else 'NOT verified'}")
    if checked.hint:
        say(f"hint: {checked.hint}")
    return 0 if checked.ok else 1
