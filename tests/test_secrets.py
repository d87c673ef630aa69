"""Planted secrets never reach git objects or the mirror; the key stays private; --show-env previews.

Fake secrets are assembled at run time (prefix + random body) so secret scanners do not flag this
file and no test can pass by matching a literal; none of them is a real credential.
"""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
from pathlib import Path

from tests.helpers import Repo, git

RNG = random.SystemRandom()
ALNUM = string.ascii_letters + string.digits


def body(n: int = 24, alphabet: str = ALNUM) -> str:
    # Always mixed with digits and letters, and long: a substring search for it means something.
    middle = "".join(RNG.choice(alphabet) for _ in range(n - 2))
    return RNG.choice(string.ascii_letters) + middle + RNG.choice(string.digits)


def jwt() -> str:
    return "eyJ" + body(20) + ".eyJ" + body(30) + "." + body(40)


def pem() -> tuple[str, str]:
    inner = body(64)
    return f"-----BEGIN RSA PRIVATE KEY-----\n{inner}\n-----END RSA PRIVATE KEY-----\n", inner


class Planted:
    """Every secret planted, with where it went; `values` are the bytes that must never be stored."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def add(self, where: str, secret: str) -> str:
        assert where not in self.values
        self.values[where] = secret
        return secret


def plant_everything(repo: Repo) -> tuple[Planted, list[str], dict[str, str]]:
    p = Planted()
    env = {
        # secret names, values of no particular shape
        "AWS_SECRET_ACCESS_KEY": p.add("env AWS_SECRET_ACCESS_KEY", body(40)),
        "DB_PASSWORD": p.add("env DB_PASSWORD", body()),
        "GITHUB_TOKEN": p.add("env GITHUB_TOKEN", body()),
        "MY_API_KEY": p.add("env MY_API_KEY", body()),
        "STRIPE_SECRET": p.add("env STRIPE_SECRET", body()),
        "SESSION_COOKIE": p.add("env SESSION_COOKIE", body()),
        "PGPASSWORD": p.add("env PGPASSWORD", body()),
        "MYSQL_PWD": p.add("env MYSQL_PWD", body()),
        "OAUTH_CLIENT_SECRET": p.add("env OAUTH_CLIENT_SECRET", body()),
        "SENTRY_DSN": "https://" + p.add("env SENTRY_DSN", body(32, "0123456789abcdef")) + "@o1.ingest.sentry.io/5",
        # harmless names, token-shaped values
        "BUILD_A": p.add("env github token shape", "ghp_" + body(36)),
        "BUILD_B": p.add("env slack token shape", "xoxb-" + body(12, string.digits) + "-" + body(24)),
        "BUILD_C": p.add("env aws key id shape", "AKIA" + body(16, string.ascii_uppercase + string.digits).upper()),
        "BUILD_D": p.add("env jwt", jwt()),
        "BUILD_F": p.add("env stripe live key", "sk_live_" + body(24)),
        "BUILD_G": p.add("env google api key", "AIza" + body(35)),
        # credentials inside longer values
        "DATABASE_URL": "postgres://app:" + p.add("env url password", body()) + "@db.internal:5432/app",
        "JAVA_OPTS": "-Xmx1g --password " + p.add("env inline --password", body()) + " -Dx=1",
        "CONN": "Server=db;User Id=app;Password=" + p.add("env ADO password", body()) + ";Encrypt=true",
    }
    key, key_inner = pem()
    env["BUILD_E"] = key
    p.add("env PEM private key", key_inner)

    argv = [  # the run writes the metrics file (only such a file's metrics are recorded)
        "sh", "-c", "touch metrics.json", "sh", "--password", p.add("argv --password X", body()),
        "--token=" + p.add("argv --token=X", body()),
        "--api-key", p.add("argv --api-key X", body()),
        "https://deploy:" + p.add("argv URL password", body()) + "@git.example.com/x.git",
        p.add("argv slack user token", "xoxp-" + body(12, string.digits) + "-" + body(30)),
        "AWS_SECRET_ACCESS_KEY=" + p.add("argv NAME=VALUE", body(40)),
        "--client-secret", p.add("argv --client-secret X", body()),
    ]
    params = [
        "-p", "db.password=" + p.add("-p db.password", body()),
        "-p", "api_token=" + p.add("-p api_token", body()),
        "-p", "url=https://u:" + p.add("-p URL password", body()) + "@h.example.com/x",
        "-p", "note=" + p.add("-p token-shaped value", "ghp_" + body(36)),
    ]
    dsn_pw = p.add("params file dsn password", body())
    hook = p.add("params file slack webhook", body(24))
    repo.write("params.yaml", "\n".join([
        "db:",
        "  host: db.internal",
        f"  admin_password: {p.add('params file nested password', body())}",
        f"auth_jwt_value: {p.add('params file jwt', jwt())}",
        f"dsn: mysql://root:{dsn_pw}@localhost/app",
        f"notify: https://hooks.slack.com/services/T0{body(8)}/B0{body(8)}/{hook}",
        f"credentials: {{user: me, secret: {p.add('params file flow mapping secret', body())}}}",
        "",
    ]))
    repo.write("metrics.json", json.dumps({"acc": 0.9, "private_key": p.add("metrics private_key", body())}))
    # The remote URL holds a token; nothing in a record may carry it.
    remote_token = p.add("remote URL token", "ghp_" + body(36))
    remote_pw = p.add("remote URL password", body())
    git(repo.path, "remote", "add", "origin", f"https://user:{remote_token}@git.example.com/x.git")
    git(repo.path, "remote", "add", "mirror", f"https://user:{remote_pw}@git.example.com/y.git")
    name = "deploy with " + p.add("--name token", "ghp_" + body(36))
    options = [*params, "--params-file", "params.yaml", "-m", "metrics.json", "--name", name]
    return p, [*options, "--", *argv], env


def stored_bytes(repo: Repo) -> bytes:
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo.path,
                             capture_output=True, check=True).stdout
    mirror = b"".join(f.read_bytes() for f in sorted((repo.path / ".prov").rglob("*")) if f.is_file())
    return objects + b"\0" + mirror


def test_thirty_planted_secrets_never_stored(repo: Repo) -> None:
    planted, args, env = plant_everything(repo)
    assert len(planted.values) >= 30
    first = repo.prov("record", *args, env=env)
    assert first.code == 0, first.err
    # A second record, not executed, with the same secrets; and the mirror rebuilt from the ref.
    second = repo.prov("record", "--no-exec", *args[:-len(args) + args.index("--")], env=env)
    assert second.code == 0, second.err
    assert repo.prov("mirror").code == 0
    everything = stored_bytes(repo)
    assert len(repo.run_ids()) == 2 and b"REDACTED" in everything
    leaked = [where for where, secret in planted.values.items() if secret.encode() in everything]
    assert leaked == [], f"{len(leaked)} of {len(planted.values)} planted secrets leaked: {leaked}"
    # The redaction key is never an object either.
    key = (repo.path / ".git" / "prov" / "redact.key").read_bytes()
    assert len(key) == 32 and key not in everything
    # What the user reads back carries markers where the secrets were, names intact.
    record = repo.newest()
    assert "REDACTED" in record["env"]["vars"]["AWS_SECRET_ACCESS_KEY"]
    assert "REDACTED" in record["params"]["db"]["password"]
    assert "REDACTED" in record["name"]
    shown = repo.prov("show", "--json", "@").out + repo.prov("log", "--json").out
    assert not [w for w, s in planted.values.items() if s in shown]


def test_same_secret_same_marker_changed_secret_shows(repo: Repo) -> None:
    runs = []
    for value in ("first-" + body(), "first-" + body()):
        runs.append(repo.record("--no-exec", env={"DB_PASSWORD": value})["env"]["vars"]["DB_PASSWORD"])
    again = repo.record("--no-exec", env={"DB_PASSWORD": "fixed" + "x" * 10})["env"]["vars"]["DB_PASSWORD"]
    twice = repo.record("--no-exec", env={"DB_PASSWORD": "fixed" + "x" * 10})["env"]["vars"]["DB_PASSWORD"]
    assert runs[0] != runs[1] and again == twice and "REDACTED" in again


def test_shared_key_gives_comparable_markers_across_clones(repo: Repo, tmp_path: Path) -> None:
    """docs/secrets.md: copying .git/prov/redact.key makes two clones' markers comparable."""
    secret = body()
    mine = repo.record("--no-exec", env={"DB_PASSWORD": secret})["env"]["vars"]["DB_PASSWORD"]
    other = Repo(tmp_path / "clone")
    git(tmp_path, "clone", "-q", str(repo.path), str(other.path))
    theirs = other.record("--no-exec", env={"DB_PASSWORD": secret})["env"]["vars"]["DB_PASSWORD"]
    assert theirs != mine  # separate keys: a leaked record cannot be matched against another clone's
    shared = Repo(tmp_path / "shared")
    git(tmp_path, "clone", "-q", str(repo.path), str(shared.path))
    (shared.path / ".git" / "prov").mkdir(mode=0o700)
    key = (repo.path / ".git" / "prov" / "redact.key").read_bytes()
    (shared.path / ".git" / "prov" / "redact.key").write_bytes(key)
    assert shared.record("--no-exec", env={"DB_PASSWORD": secret})["env"]["vars"]["DB_PASSWORD"] == mine


def test_key_is_private_and_never_pushed(repo: Repo, tmp_path: Path) -> None:
    repo.record("--no-exec", env={"DB_PASSWORD": body()})
    key_file = repo.path / ".git" / "prov" / "redact.key"
    assert key_file.stat().st_mode & 0o077 == 0
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo.path, "push", "-q", str(remote), "refs/prov/runs:refs/prov/runs", "main")
    pushed = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=remote,
                            capture_output=True, check=True).stdout
    assert key_file.read_bytes() not in pushed
    assert not (remote / "prov").exists()


def test_show_env_previews_redactions_and_writes_nothing(repo: Repo) -> None:
    token = "ghp_" + body(36)
    password = body()
    git(repo.path, "config", "--add", "prov.redact.deny", "INNOCENT_*")
    git(repo.path, "config", "--add", "prov.redact.allow", "PUBLIC_TOKEN")
    env = {"HARMLESS": token, "DB_PASSWORD": password, "INNOCENT_LOOKING": "plain", "PUBLIC_TOKEN": "visible",
           "PLAIN": "hello"}
    result = repo.prov("record", "--show-env", env=env)
    assert result.code == 0, result.err
    lines = dict(line.split("=", 1) for line in result.out.splitlines() if "=" in line)
    assert "REDACTED" in lines["HARMLESS"] and "REDACTED" in lines["DB_PASSWORD"]
    assert "REDACTED" in lines["INNOCENT_LOOKING"]  # deny
    assert lines["PUBLIC_TOKEN"] == "visible"  # allow
    assert lines["PLAIN"] == "hello"
    assert token not in result.out and password not in result.out
    assert "nothing was recorded" in result.err and "redacted" in result.err
    # Nothing written: no run, no mirror, not even the redaction key.
    assert repo.run_ids() == [] and not (repo.path / ".prov").exists()
    assert not (repo.path / ".git" / "prov" / "redact.key").exists()
    # The preview agrees with what a record then stores.
    repo.record("--no-exec", env=env)
    again = dict(line.split("=", 1) for line in repo.prov("record", "--show-env", env=env).out.splitlines())
    stored = repo.newest()["env"]["vars"]
    assert stored["DB_PASSWORD"] == again["DB_PASSWORD"] and stored["HARMLESS"] == again["HARMLESS"]


def test_the_leak_check_sees_leaks_when_redaction_is_off(repo: Repo) -> None:
    """The check above is not vacuous: with redaction disabled it finds every recorded secret."""
    planted, args, env = plant_everything(repo)
    git(repo.path, "config", "prov.redact.enabled", "false")
    assert repo.prov("record", *args, env=env).code == 0
    everything = stored_bytes(repo)
    leaked = {where for where, secret in planted.values.items() if secret.encode() in everything}
    # Remote URLs are never part of a record, redacted or not.
    assert leaked == set(planted.values) - {"remote URL token", "remote URL password"}


def test_diff_says_a_secret_changed_without_showing_it(repo: Repo) -> None:
    old, new = body(40), body(40)
    repo.record("--no-exec", env={"AWS_SECRET_ACCESS_KEY": old})
    repo.record("--no-exec", env={"AWS_SECRET_ACCESS_KEY": new})
    result = repo.prov("diff", "--json")
    assert result.code == 0, result.err
    changes = [c for c in result.json()["sections"]["env"]["changes"] if "AWS_SECRET_ACCESS_KEY" in c["path"]]
    assert len(changes) == 1 and changes[0]["kind"] == "changed"
    assert "REDACTED" in changes[0]["old"] and "REDACTED" in changes[0]["new"]
    text = repo.prov("diff", "--no-color").out + result.out
    assert "AWS_SECRET_ACCESS_KEY" in text and old not in text and new not in text


# ------------------------------------------------------------- issue 12 item 9: hostile text

ESC = "\x1b"
# Erase the line and return to column 1 (fakes an "exit 0" line), retitle the window, write the clipboard.
HOSTILE = f"x{ESC}[2K{ESC}[1Gexit 0{ESC}]0;owned\a{ESC}]52;c;ZWNobyBwd25lZA==\a\x9b2K"


def _no_raw_controls(text: str, where: str) -> None:
    # --color output keeps its own SGR styling (ESC [ digits m); nothing else may reach the terminal.
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert ESC not in bare and "\a" not in bare and "\x9b" not in bare, (where, text)


def test_control_characters_are_escaped_in_every_human_output(repo: Repo) -> None:
    out_name = f"out{ESC}[2K.txt"
    repo.write("in.txt", "data\n")
    first = repo.prov("record", "--name", HOSTILE, "-i", "in.txt", "-o", out_name, "-p", f"note={HOSTILE}",
                      "--", "sh", "-c", f"cp in.txt '{out_name}'")
    assert first.code == 0, first.err
    repo.write("in.txt", "changed\n")
    assert repo.prov("record", "-q", "--name", HOSTILE + "2", "-i", "in.txt", "-o", out_name,
                     "-p", f"note={HOSTILE}b", "--", "sh", "-c", f"cp in.txt '{out_name}'").code == 0
    outputs = {
        "log": repo.prov("log"), "log --color": repo.prov("log", "--color"),
        "show": repo.prov("show"), "show --color": repo.prov("show", "--color"),
        "diff": repo.prov("diff"), "diff --color": repo.prov("diff", "--color"),
        "compare": repo.prov("compare", "--columns", "name"),
        "compare md": repo.prov("compare", "--format", "md", "--columns", "name"),
        "lineage": repo.prov("lineage", out_name),
        "which": repo.prov("which", out_name), "status": repo.prov("status"),
        "error": repo.prov("show", HOSTILE),
    }
    for where, result in outputs.items():
        _no_raw_controls(result.out + result.err, where)
    # The text is still there, visibly escaped.
    assert "\\x1b[2K\\x1b[1Gexit 0" in outputs["log"].out and "\\x1b]52;c;" in outputs["show"].out
    assert "\\x1b[2K" in outputs["which"].out and "\\x1b" in outputs["error"].err
    assert f"{ESC}[33m" in outputs["diff --color"].out  # the styling of our own is kept


# ------------------------------------------------------- issue 12 item 7: push --dry-run pushes nothing


def _remote_refs(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(refname)")


def test_dry_run_push_with_hooks_installed_pushes_no_runs(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo.path, "remote", "add", "origin", str(remote))
    assert repo.prov("hooks", "install").code == 0
    repo.write("dirty.txt", "a snapshot would carry this\n")
    repo.record("--no-exec")
    for dry in (["--dry-run"], ["-n"], ["-nv"], ["--porcelain", "--dry-run"]):
        done = subprocess.run(["git", "push", *dry, "origin", "main"], cwd=repo.path, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "refs/prov/runs" not in _remote_refs(remote), dry
        assert "dry run" in done.stderr
    # The real push shares the runs, through the same hook.
    done = subprocess.run(["git", "push", "origin", "main"], cwd=repo.path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "refs/prov/runs" in _remote_refs(remote) and "refs/heads/main" in _remote_refs(remote)


# ------------------------------------------------ issue 12 item 11: a tracked core.hooksPath


def test_hooks_install_refuses_a_tracked_hooks_path(repo: Repo) -> None:
    repo.write(".githooks/pre-commit", "#!/bin/sh\nexit 0\n")
    git(repo.path, "add", ".githooks")
    git(repo.path, "commit", "-q", "-m", "project hooks")
    git(repo.path, "config", "core.hooksPath", ".githooks")
    done = repo.prov("hooks", "install")
    assert done.code == 128, done.err
    assert "core.hooksPath .githooks holds files tracked by git" in done.err and len(done.err.splitlines()) == 1
    assert not (repo.path / ".githooks" / "pre-push").exists()
    assert git(repo.path, "status", "--porcelain") == ""
    # An untracked hooks folder inside the work tree is fine.
    git(repo.path, "config", "core.hooksPath", "local-hooks")
    assert repo.prov("hooks", "install").code == 0 and (repo.path / "local-hooks" / "pre-push").exists()


# ------------------------------------------------ issue 12 item 12: duplicate keys in params files


def test_duplicate_keys_in_params_files_are_an_error_naming_the_key(repo: Repo) -> None:
    repo.write("dup.yaml", "model:\n  depth: 3\n  lr: 0.1\n  depth: 4\n")
    repo.write("dup.json", '{"seed": 1, "opt": {"lr": 0.1, "lr": 0.2}}')
    repo.write("merge.yaml", "base: &b {lr: 1}\nrun:\n  <<: *b\n  lr: 2\n")  # overriding a merged key is fine
    for name, key in (("dup.yaml", "'depth'"), ("dup.json", "'lr'")):
        done = repo.prov("record", "--params-file", name, "--", "true")
        assert done.code == 128, done.err
        assert f"{name}" in done.err and f"the key {key}" in done.err and len(done.err.splitlines()) == 1
    assert "dup.yaml:4:" in repo.prov("record", "--params-file", "dup.yaml", "--", "true").err
    assert repo.run_ids() == []
    assert repo.record("--params-file", "merge.yaml", "--no-exec")["params"]["run"] == {"lr": 2}


# ------------------------------------- issue 12 item 10: diff --worktree stays inside the work tree


def test_diff_worktree_never_reads_through_a_symlinked_folder_out_of_the_tree(repo: Repo, tmp_path: Path) -> None:
    import hashlib
    import shutil

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_text("root:$6$not-for-you\n")
    digest = hashlib.sha256((outside / "shadow").read_bytes()).hexdigest()
    repo.write("data/shadow", "harmless\n")
    repo.record("-i", "data/shadow", "--no-exec")
    shutil.rmtree(repo.path / "data")
    (repo.path / "data").symlink_to(outside)  # the project's folder now leads out of the tree
    done = repo.prov("diff", "--worktree", "@", "--json")
    assert done.code in (0, 1), done.err
    assert digest not in done.out and digest[:10] not in done.out
    text = repo.prov("diff", "--worktree", "@", "--no-color")
    assert digest[:10] not in text.out and "data/shadow not read" in text.err


def _all_objects(repo: Repo) -> bytes:
    return subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo.path,
                          capture_output=True, check=True).stdout


def test_untracked_files_that_hold_secrets_are_named_by_digest_not_stored(repo: Repo) -> None:
    # Untracked code goes into the run's snapshot (evidence rules), and a pushed snapshot is
    # forever: before this, an untracked .env or a helper with a pasted token went into git.
    token = "ghp_" + "Ab3" * 12
    repo.write(".env", "DB_PASSWORD=hunter2-correct-horse\n")
    repo.write("deploy_key.pem", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n")
    repo.write("helper.py", f"TOKEN = '{token}'\n")
    repo.write("plain.py", "X = 1\n")
    result = repo.prov("record", "--", "true")
    assert result.code == 0, result.err
    assert ".env" in result.err and "helper.py" in result.err and "secret" in result.err, result.err
    run = repo.newest()
    assert run["git"]["dirty"] is True and run["git"]["untracked"] == ["plain.py"]
    named = {e["path"]: e for e in run["git"]["untracked_omitted"]}
    assert sorted(named) == [".env", "deploy_key.pem", "helper.py"]
    assert all(e["digest"].startswith("sha256:") for e in named.values())
    stored = _all_objects(repo)
    for secret in (b"hunter2-correct-horse", b"b3BlbnNzaC1rZXktdjEAAAAA", token.encode()):
        assert secret not in stored
    # Still evidence: a change to one of them shows in the diff's code section, by digest.
    repo.write(".env", "DB_PASSWORD=another-one-entirely\n")
    repo.record("--", "true")
    result = repo.prov("diff", "--json")
    assert result.code == 0, result.err
    code = [(f["path"], f["status"]) for f in result.json()["sections"]["code"]["files"]]
    assert code == [(".env", "modified")], code
    assert b"another-one-entirely" not in _all_objects(repo)


def test_a_secret_file_the_user_stages_is_recorded_as_code(repo: Repo) -> None:
    # `git add` is the user saying "this is code": git prov does not second-guess the index.
    repo.write("settings.env", "MODE=fast\n")
    repo.write(".env", "MODE=fast\n")
    repo.git("add", ".env")
    run = repo.record("--", "true")
    assert [e["path"] for e in run["git"]["untracked_omitted"]] == ["settings.env"]
    assert b"MODE=fast" in _all_objects(repo)  # .env, staged, is in the snapshot
