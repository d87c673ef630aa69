"""Redaction of env, argv, params and metrics: secret shapes, false positives, config, the key.

Fake secrets are assembled at run time (prefix + generated body) so that secret scanners do not
flag this file; none of them is a real credential.
"""

from __future__ import annotations

import hmac
import json
import os
import random
import re
import stat
import string
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from prov_git import redact_rules as rules
from prov_git.errors import ProvError
from prov_git.redact import MARKER, Redactor, Shape, _rx, marker, shape_pattern
from prov_git.store.keys import load_key

KEY = bytes(range(32))
R = Redactor(KEY)
MARKER_RE = re.compile(r"\[REDACTED hmac-sha256:[0-9a-f]{16}\]")
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def body(n: int, seed: int, alphabet: str = ALNUM) -> str:
    """A deterministic random-looking token body with at least one digit."""
    rng = random.Random(seed)
    return rng.choice(string.digits) + "".join(rng.choices(alphabet, k=n - 1))


def dumped(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def assert_redacted(out: Any, *secrets: str) -> None:
    text = dumped(out)
    assert MARKER in text, text
    for secret in secrets:
        assert secret not in text, (secret, text)


# --------------------------------------------------------------------- value-shaped secrets

PEM_BODY = body(64, 99, ALNUM + "+/")
JWT = ("eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "."
       + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ" + "." + body(43, 7, ALNUM + "_-"))


def pem(kind: str) -> str:
    begin, end = "-----" + "BEGIN ", "-----" + "END "
    return f"{begin}{kind}-----\n{PEM_BODY}\n{PEM_BODY[::-1]}\n{end}{kind}-----\n"


# (label, value, substrings that must not survive)
VALUE_SECRETS: list[tuple[str, str, tuple[str, ...]]] = [
    *[(p, (s := "gh" + p + "_" + body(36, i)), (s,)) for i, p in enumerate("pousr")],
    ("github_pat", (s := "github" + "_pat_" + body(22, 10) + "_" + body(59, 11)), (s,)),
    ("gitlab", (s := "gl" + "pat-" + body(20, 12)), (s,)),
    ("aws AKIA", (s := "AK" + "IA" + body(16, 13, UPPER_ALNUM)), (s,)),
    ("aws ASIA", (s := "AS" + "IA" + body(16, 14, UPPER_ALNUM)), (s,)),
    ("openai", (s := "sk" + "-proj-" + body(48, 15)), (s,)),
    ("anthropic", (s := "sk" + "-ant-api03-" + body(80, 16)), (s,)),
    ("stripe live", (s := "sk" + "_live_" + body(24, 17)), (s,)),
    ("stripe test", (s := "sk" + "_test_" + body(24, 18)), (s,)),
    ("stripe restricted", (s := "rk" + "_live_" + body(24, 19)), (s,)),
    ("stripe webhook", (s := "wh" + "sec_" + body(32, 20)), (s,)),
    ("slack bot", (s := "xo" + "xb-" + body(11, 21, string.digits) + "-" + body(24, 22)), (s,)),
    ("slack user", (s := "xo" + "xp-" + body(11, 23, string.digits) + "-" + body(24, 24)), (s,)),
    ("huggingface", (s := "hf" + "_" + body(34, 25)), (s,)),
    ("npm", (s := "np" + "m_" + body(36, 26)), (s,)),
    ("google api", (s := "AI" + "za" + body(35, 27, ALNUM + "_-")), (s,)),
    ("google oauth", (s := "ya" + "29." + body(60, 28, ALNUM + "_-")), (s,)),
    ("sendgrid", (s := "S" + "G." + body(22, 29) + "." + body(43, 30)), (s,)),
    ("pypi", (s := "py" + "pi-AgEIcHlwaS5vcmc" + body(60, 31)), (s,)),
    ("pem rsa", pem("RSA " + "PRIVATE KEY"), (PEM_BODY,)),
    ("pem openssh", pem("OPENSSH " + "PRIVATE KEY"), (PEM_BODY,)),
    ("pem pkcs8 encrypted", pem("ENCRYPTED " + "PRIVATE KEY"), (PEM_BODY,)),
    ("pem ec", "key:\n" + pem("EC " + "PRIVATE KEY"), (PEM_BODY,)),
    ("pgp", pem("PGP " + "PRIVATE KEY BLOCK"), (PEM_BODY,)),
    ("jwt", JWT, (JWT,)),
    ("jwt in text", f"token is {JWT} ok", (JWT,)),
    ("slack webhook", (s := "https://hooks." + "slack.com/services/T0" + body(8, 32) + "/B0"
                       + body(8, 33) + "/" + body(24, 34)), (s[24:],)),
    ("discord webhook", "https://discord.com/api/" + "webhooks/123456789/" + (s := body(68, 35)),
     (s,)),
    ("bearer", "Bearer " + (s := body(40, 36, ALNUM + "._-")), (s,)),
    ("authorization basic", "Authorization: Basic " + (s := "YWxpY2U6aHVudGVyMnh5eg=="), (s,)),
    ("postgres url", "postgres://app:Hunt3r2xyz@db.internal:5432/prod", ("Hunt3r2xyz",)),
    ("postgres password with @", "postgresql://app:p@ss4Word@db/prod", ("p@ss4Word", "ss4Word")),
    ("mongodb+srv", "mongodb+srv://admin:M0ngoPassw0rd@cluster0.example.net/db?retryWrites=true",
     ("M0ngoPassw0rd",)),
    ("redis password only", "redis://:R3disSecret99@cache:6379/0", ("R3disSecret99",)),
    ("https user:token", "https://x-access-token:Tok3nValue42@github.com/a/b.git",
     ("Tok3nValue42",)),
    ("https 40-hex user", "https://" + (s := "0123456789abcdef0123456789abcdef01234567")
     + "@github.com/a/b.git", (s,)),
    ("url query token", "https://api.example.com/v1?access_token=Qu3ryTok3n&page=2",
     ("Qu3ryTok3n",)),
    ("azure sas", "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=S1gnatur3%2Babc",
     ("S1gnatur3%2Babc",)),
    ("aws presigned", "https://b.s3.amazonaws.com/k?X-Amz-Signature=ab12cd34ef56&X-Amz-Expires=60",
     ("ab12cd34ef56",)),
    ("ado password", "Server=db;Database=x;User Id=sa;Password=Ad0 Pass;word;",
     ("Ad0 Pass", "Ad0")),
    ("odbc pwd", "Driver={ODBC};Server=db;Uid=sa;Pwd=0dbcSecret;", ("0dbcSecret",)),
    ("azure storage", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey="
     + (s := body(40, 37, ALNUM + "+/")) + "==;EndpointSuffix=core.windows.net", (s,)),
    ("shell export", "export DB_PASSWORD=Sh3llSecret && ./run.sh", ("Sh3llSecret",)),
    ("shell flag", "curl --token Fl4gSecret https://api.example.com", ("Fl4gSecret",)),
    ("java opts", "-Xmx4g -Djavax.net.ssl.keyStorePassword=J4vaSecret", ("J4vaSecret",)),
    ("header", "X-Api-Key: H3aderSecret", ("H3aderSecret",)),
    ("private token header", "PRIVATE-TOKEN: Pr1vateTok", ("Pr1vateTok",)),
]


def test_at_least_thirty_value_shapes() -> None:
    assert len({label for label, _, _ in VALUE_SECRETS}) >= 30


@pytest.mark.parametrize(("label", "value", "secrets"), VALUE_SECRETS,
                         ids=[c[0] for c in VALUE_SECRETS])
def test_value_shapes_are_redacted(label: str, value: str, secrets: tuple[str, ...]) -> None:
    assert_redacted(R.value(value), *secrets)
    assert_redacted(R.env({"SOME_SETTING": value}), *secrets)
    assert_redacted(R.argv(["tool", "--opt", value]), *secrets)
    assert_redacted(R.argv(["tool", f"--opt={value}"]), *secrets)
    assert_redacted(R.tree({"setting": [value]}), *secrets)


def test_token_shape_replaces_the_whole_value() -> None:
    value = "prefix " + "gh" + "p_" + body(36, 1) + " suffix"
    assert R.value(value) == marker(KEY, value)


def test_url_password_only_is_replaced() -> None:
    out = R.value("https://alice:Hunt3r2xyz@host.example/x")
    assert out == f"https://alice:{marker(KEY, 'Hunt3r2xyz')}@host.example/x"
    assert R.value("postgres://u:Pw0rd99@h/db") == f"postgres://u:{marker(KEY, 'Pw0rd99')}@h/db"


def test_ado_password_keeps_other_fields() -> None:
    out = R.value("Server=db;User Id=sa;Password=Ad0 Pass;Database=x")
    assert out == f"Server=db;User Id=sa;Password={marker(KEY, 'Ad0 Pass')};Database=x"


# ----------------------------------------------------------------------- name-based secrets

SECRET_NAMES = [
    "GITHUB_TOKEN", "GH_TOKEN", "HF_TOKEN", "CI_JOB_TOKEN", "AWS_SESSION_TOKEN", "accessToken",
    "AWS_SECRET_ACCESS_KEY", "SECRET_KEY", "CLIENT_SECRET", "clientSecret", "SECRETS",
    "DB_PASSWORD", "PGPASSWORD", "MYSQL_ROOT_PASSWORD", "DB_PASS", "PASSWD", "SMTP_PASSWD",
    "MYSQL_PWD", "KEY_PASSPHRASE",
    "API_KEY", "api-key", "apiKey", "APIKEY", "OPENAI_APIKEY", "PRIVATE_KEY", "private.key",
    "STRIPE_KEY", "KEY", "SSH_KEYS",
    "CREDENTIAL", "CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS", "DOCKER_CREDS",
    "AUTH", "AUTH_TOKEN", "GITHUB_AUTH", "OAUTH", "BASIC_AUTH", "HTTP_AUTHORIZATION",
    "COOKIE", "SESSION_COOKIE", "SESSION", "SESSION_ID", "sessionId", "PRIVATE", "PRIVATE_TOKEN",
    "SENTRY_DSN", "DSN", "CONN_STR", "DB_CONNECTION_STRING", "ConnectionString", "TOKEN2",
]
HARMLESS_NAMES = [
    "PATH", "HOME", "PWD", "OLDPWD", "LANG", "TERM", "SHELL", "USER", "VIRTUAL_ENV", "EDITOR",
    "KEYBOARD", "KEYBOARD_LAYOUT", "MONKEY", "HOTKEY", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
    "AUTHOR", "AUTHORS", "XAUTHORITY", "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS",
    "XDG_SESSION_ID", "XDG_SESSION_TYPE", "XDG_SESSION_CLASS", "DESKTOP_SESSION", "GDMSESSION",
    "SESSION_MANAGER", "TOKENIZERS_PARALLELISM", "tokenizer", "max_tokens", "max_new_tokens",
    "num_tokens", "pad_token_id", "eos_token", "BYPASS", "PASSTHROUGH", "low_pass", "high_pass",
    "sort_key", "key_dim", "PASSWORD_FILE", "POSTGRES_PASSWORD_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "TOKEN_URL", "AUTH_TYPE", "SESSION_TIMEOUT", "password-stdin", "secretary", "COMPASS",
    "PASSPORT", "LS_COLORS", "COOKIECUTTER_CONFIG", "lr", "epochs", "",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert R.name_is_secret(name)
    assert_redacted(R.env({name: "plain-v4lue"}), "plain-v4lue")
    assert_redacted(R.tree({name: "plain-v4lue"}), "plain-v4lue")


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_harmless_names(name: str) -> None:
    assert not R.name_is_secret(name)


def test_secret_name_marks_even_ordinary_values() -> None:
    assert R.env({"DB_PASSWORD": "x"}) == {"DB_PASSWORD": marker(KEY, "x")}


# --------------------------------------------------------------------------------- argv forms

ARGV_SECRETS: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("--password X", ["mysql", "--password", "Arg1Secret"], ("Arg1Secret",)),
    ("--password=X", ["mysql", "--password=Arg2Secret"], ("Arg2Secret",)),
    ("--token X", ["gh", "--token", "Arg3Secret"], ("Arg3Secret",)),
    ("--api-key=X", ["tool", "--api-key=Arg4Secret"], ("Arg4Secret",)),
    ("--api_key X", ["tool", "--api_key", "Arg5Secret"], ("Arg5Secret",)),
    ("--secret X", ["tool", "--secret", "Arg6Secret"], ("Arg6Secret",)),
    ("--auth X", ["tool", "--auth", "user:Arg7Secret"], ("Arg7Secret",)),
    ("--passwd X", ["tool", "--passwd", "Arg8Secret"], ("Arg8Secret",)),
    ("--client-secret X", ["tool", "--client-secret", "Arg9Secret"], ("Arg9Secret",)),
    ("--hf-token X", ["train", "--hf-token", "Arg10Secret"], ("Arg10Secret",)),
    ("-token X (go style)", ["tool", "-token", "Arg11Secret"], ("Arg11Secret",)),
    ("--db-password X", ["tool", "--db-password", "Arg12Secret"], ("Arg12Secret",)),
    ("env-style", ["env", "AWS_SECRET_ACCESS_KEY=Arg13 Secret", "cmd"], ("Arg13", "Secret")),
    ("docker -e", ["docker", "run", "-e", "DB_PASSWORD=Arg14Secret", "img"], ("Arg14Secret",)),
    ("nested K=V", ["kubectl", "create", "secret", "generic", "s",
                    "--from-literal=password=Arg15Secret"], ("Arg15Secret",)),
    ("git config", ["git", "config", "user.password", "Arg16Secret"], ("Arg16Secret",)),
    ("aws configure", ["aws", "configure", "set", "aws_secret_access_key", "Arg17Secret"],
     ("Arg17Secret",)),
    ("curl -u", ["curl", "-u", "alice:Arg18Secret", "https://x"], ("Arg18Secret",)),
    ("curl header", ["curl", "-H", "Authorization: Bearer Arg19Secret0000", "https://x"],
     ("Arg19Secret",)),
    ("header api key", ["curl", "-H", "X-Api-Key: Arg20Secret", "https://x"], ("Arg20Secret",)),
    ("url creds", ["git", "clone", "https://bob:Arg21Secret@git.example.com/r.git"],
     ("Arg21Secret",)),
    ("sh -c", ["sh", "-c", "curl --token Arg22Secret https://x && echo ok"], ("Arg22Secret",)),
    ("token in flag name", ["tool", "--x" + "gh" + "p_" + body(36, 40)], (body(36, 40),)),
]


@pytest.mark.parametrize(("label", "argv", "secrets"), ARGV_SECRETS,
                         ids=[c[0] for c in ARGV_SECRETS])
def test_argv_forms_are_redacted(label: str, argv: list[str], secrets: tuple[str, ...]) -> None:
    out = R.argv(argv)
    assert len(out) == len(argv)
    assert out[0] == argv[0]
    assert_redacted(out, *secrets)


def test_argv_keeps_flags_and_structure() -> None:
    out = R.argv(["python", "train.py", "--token", "abc", "--api-key=xyz", "--epochs", "10"])
    assert out == ["python", "train.py", "--token", marker(KEY, "abc"),
                   f"--api-key={marker(KEY, 'xyz')}", "--epochs", "10"]


def test_argv_boolean_flags_do_not_eat_the_next_argument() -> None:
    argv = ["docker", "login", "--password-stdin", "registry.example.com"]
    assert R.argv(argv) == argv
    argv = ["tool", "--no-password", "target"]
    assert R.argv(argv) == argv
    assert R.argv(["tool", "--token", "--verbose"]) == ["tool", "--token", "--verbose"]


def test_argv_ambiguous_short_flags_are_left_alone() -> None:
    argv = ["docker", "run", "-p", "8080:80", "-u", "1000:1000", "img"]
    assert R.argv(argv) == argv


def test_argv_zero_is_kept() -> None:
    assert R.argv(["/opt/tools/secret-token-helper", "x"])[0] == "/opt/tools/secret-token-helper"
    assert R.argv([]) == []


# ------------------------------------------------------------------------------------- trees


def test_tree_redacts_under_secret_keys_and_token_strings() -> None:
    token = "gh" + "p_" + body(36, 50)
    params: dict[str, Any] = {"lr": 0.1, "db": {"password": 1234, "host": "db"}, "api_keys": ["k1x", "k2y"],
              "auth": {"user": "u", "pw": "p"}, "notes": ["see", f"tok={token}"],
              "apiKey": None, "ok": True, token: 1}
    out = R.tree(params)
    assert out["lr"] == 0.1
    # A params integer under a secret name is marked (a PIN parses as a number); strings one by one.
    assert out["db"] == {"password": marker(KEY, "1234"), "host": "db"}
    assert out["api_keys"] == [marker(KEY, "k1x"), marker(KEY, "k2y")]
    assert out["auth"] == {"user": marker(KEY, "u"), "pw": marker(KEY, "p")}
    assert out["notes"][0] == "see" and MARKER_RE.fullmatch(out["notes"][1])
    assert out["apiKey"] is None  # null and booleans are never credentials
    assert out["ok"] is True
    assert_redacted(out, token, "k1x", "1234")
    assert params["db"]["password"] == 1234  # the input is not modified


def test_tree_with_secret_name_and_scalars() -> None:
    assert R.tree("s3cret", name="password") == marker(KEY, "s3cret")
    assert R.tree(42, name="token") == marker(KEY, "42")
    assert R.tree(0.5, name="token") == 0.5 and R.tree(True, name="password") is True
    assert R.tree(42, name="token", metrics=True) == 42
    assert R.tree(42) == 42
    assert R.tree(("a", 1)) == ["a", 1]


# ---------------------------------------------------------------------- no false positives

REALISTIC_ENV = {
    "PATH": "/home/ann/.venv/bin:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/ann",
    "PWD": "/home/ann/projects/model",
    "OLDPWD": "/home/ann",
    "LANG": "en_US.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "xterm-256color",
    "SHELL": "/bin/bash",
    "USER": "ann",
    "LOGNAME": "ann",
    "HOSTNAME": "gpu-node-07",
    "VIRTUAL_ENV": "/home/ann/projects/model/.venv",
    "EDITOR": "vim",
    "PYTHONPATH": "/home/ann/projects/model/src",
    "CUDA_VISIBLE_DEVICES": "0,1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "8",
    "SSH_AUTH_SOCK": "/tmp/ssh-XXXXabcd/agent.1234",
    "XDG_SESSION_ID": "3",
    "XDG_SESSION_TYPE": "tty",
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
    "XAUTHORITY": "/home/ann/.Xauthority",
    "DISPLAY": ":0",
    "GIT_AUTHOR_NAME": "Ann Example",
    "GIT_COMMIT": SHA,
    "MODEL_FAMILY": "sk-learn",
    "REPO_URL": "https://github.com/a/b.git",
    "SSH_REPO": "git@github.com:a/b.git",
    "PIP_INDEX_URL": "https://pypi.org/simple",
    "JAVA_OPTS": "-Xmx4g -Dfile.encoding=UTF-8",
    "LS_COLORS": "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:"
                 "or=40;31;01:ex=01;32:*.tar=01;31:*.tgz=01;31:*.jpg=01;35:*.pem=00;33:",
    "HISTCONTROL": "ignoreboth",
    "LESSOPEN": "| /usr/bin/lesspipe %s",
    "PS1": r"\u@\h:\w\$ ",
    "TZ": "Europe/Berlin",
    "RUN_NOTE": "sk-learn-tutorial-for-beginners compare risk-averse disk-usage",
    "DATE": "2024-05-01T12:00:00+02:00",
    "DOCKER_HOST": "unix:///var/run/docker.sock",
    "HTTP_PROXY": "http://proxy.internal:3128",
    "UUID": "123e4567-e89b-12d3-a456-426614174000",
    "SHA256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}


def test_realistic_environment_is_untouched() -> None:
    assert R.env(REALISTIC_ENV) == REALISTIC_ENV


def test_ordinary_values_and_argv_are_untouched() -> None:
    for value in [SHA, "sk-learn", "lr=0.1", "https://github.com/a/b.git", "--epochs 10",
                  "git@github.com:a/b.git", "/usr/lib/x86_64-linux-gnu", "C:\\Users\\ann",
                  "name=value", "Bearer of good news", "a=1;b=2", "http://localhost:8080/x"]:
        assert R.value(value) == value, value
    argv = ["python", "train.py", "--epochs", "10", "lr=0.1", "--model", "sk-learn",
            "--repo", "https://github.com/a/b.git", "--commit", SHA, "-p", "8080",
            "--author", "Ann <ann@example.com>", "--tokenizer", "bert-base", "--max-tokens",
            "512", "tests/test_token.py", "fix_token_refresh", "main"]
    assert R.argv(argv) == argv
    params = {"lr": 0.1, "epochs": 10, "tokenizer": "bert", "max_tokens": 512,
              "pad_token_id": 0, "sort_key": "date", "low_pass": 0.3, "author": "ann",
              "url": "https://github.com/a/b.git", "commit": SHA, "model": "sk-learn"}
    assert R.tree(params) == params


# ------------------------------------------------------------------------ allow/deny/enabled


def test_allow_exempts_names_but_not_token_values() -> None:
    r = Redactor(KEY, allow=["github_token", "*_SESSION_ID"])
    token = "gh" + "p_" + body(36, 60)
    assert not r.name_is_secret("GITHUB_TOKEN")
    assert r.env({"GITHUB_TOKEN": "plain"}) == {"GITHUB_TOKEN": "plain"}
    assert r.env({"GITHUB_TOKEN": token}) == {"GITHUB_TOKEN": marker(KEY, token)}
    assert r.env({"MY_SESSION_ID": "42"}) == {"MY_SESSION_ID": "42"}
    assert r.name_is_secret("OTHER_TOKEN")
    assert r.argv(["t", "--github-token", "plain"]) == ["t", "--github-token", marker(KEY, "plain")]
    assert r.argv(["t", "--github_token", "plain"]) == ["t", "--github_token", "plain"]


def test_deny_adds_names_case_insensitively() -> None:
    r = Redactor(KEY, deny=["internal_*", "MODEL"])
    assert r.name_is_secret("INTERNAL_HOST") and r.name_is_secret("internal_url")
    assert r.env({"Internal_Host": "db.corp", "PATH": "/bin"}) == {
        "Internal_Host": marker(KEY, "db.corp"), "PATH": "/bin"}
    assert r.argv(["t", "--model", "m1", "--internal_url=u"]) == [
        "t", "--model", marker(KEY, "m1"), f"--internal_url={marker(KEY, 'u')}"]
    assert r.tree({"model": {"depth": 3}}) == {"model": {"depth": marker(KEY, "3")}}


def test_deny_wins_over_allow() -> None:
    r = Redactor(KEY, allow=["*"], deny=["DB_*"])
    assert r.name_is_secret("DB_HOST")
    assert not r.name_is_secret("API_TOKEN")


def test_disabled_changes_nothing() -> None:
    r = Redactor(KEY, enabled=False)
    token = "gh" + "p_" + body(36, 61)
    env = {"DB_PASSWORD": "x", "T": token}
    assert r.env(env) == env
    assert r.argv(["t", "--password", "x", token]) == ["t", "--password", "x", token]
    params = {"password": "x", "nested": [{"token": token}]}
    out = r.tree(params)
    assert out == params and out is not params and out["nested"] is not params["nested"]
    assert r.value(token) == token
    assert not r.name_is_secret("DB_PASSWORD")


# ------------------------------------------------------------------------------------ marker


def test_marker_format_and_stability() -> None:
    m = marker(KEY, "hunter2")
    assert MARKER in m and MARKER_RE.fullmatch(m)
    expected = hmac.new(KEY, b"hunter2", "sha256").hexdigest()[:16]
    assert m == f"[REDACTED hmac-sha256:{expected}]"
    assert marker(KEY, "hunter2") == m
    assert marker(KEY, "hunter3") != m
    assert marker(bytes(32), "hunter2") != m
    assert MARKER_RE.fullmatch(marker(KEY, "\udcff surrogate-escaped bytes"))


def test_redaction_is_idempotent_on_markers() -> None:
    once = R.env({"DB_PASSWORD": "x", "URL": "https://u:p4ssw0rd@h/x"})
    assert R.env(once) == once
    assert R.argv(R.argv(["t", "--token", "x"])) == R.argv(["t", "--token", "x"])


# -------------------------------------------------------------------------------- load_key


def test_load_key_creates_private_file_and_reuses_it(tmp_path: Path) -> None:
    state = tmp_path / "repo" / ".git" / "prov"
    key = load_key(state)
    path = state / "redact.key"
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(state) == key
    assert os.listdir(state) == ["redact.key"]  # no temp file left behind
    assert load_key(tmp_path / "other") != key


def test_load_key_keeps_an_existing_key(tmp_path: Path) -> None:
    (tmp_path / "redact.key").write_bytes(b"k" * 32)
    assert load_key(tmp_path) == b"k" * 32


def test_load_key_rejects_a_corrupt_key(tmp_path: Path) -> None:
    (tmp_path / "redact.key").write_bytes(b"k" * 40)
    with pytest.raises(ProvError, match=r"redact\.key"):
        load_key(tmp_path)


def test_load_key_reports_an_unusable_state_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ProvError, match="cannot read or create"):
        load_key(tmp_path / "file" / "prov")


def test_load_key_waits_for_a_writer_still_writing(tmp_path: Path) -> None:
    path = tmp_path / "redact.key"
    path.write_bytes(b"k" * 10)
    timer = threading.Timer(0.05, lambda: path.write_bytes(b"k" * 32))
    timer.start()
    try:
        assert load_key(tmp_path) == b"k" * 32
    finally:
        timer.join()


def _race_threads(state: Path, n: int = 8) -> list[bytes]:
    barrier = threading.Barrier(n)
    results: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        key = load_key(state)
        with lock:
            results.append(key)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_threads_agree_on_one_key(tmp_path: Path) -> None:
    for trial in range(10):
        state = tmp_path / f"t{trial}" / "prov"
        results = _race_threads(state)
        assert len(results) == 8 and len(set(results)) == 1
        assert (state / "redact.key").read_bytes() == results[0]
        assert os.listdir(state) == ["redact.key"]


def test_concurrent_threads_agree_without_hard_links(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(src: str, dst: str) -> None:
        raise PermissionError(1, "hard links not supported")

    monkeypatch.setattr(os, "link", no_link)
    for trial in range(5):
        state = tmp_path / f"t{trial}"
        results = _race_threads(state)
        assert len(set(results)) == 1
        path = state / "redact.key"
        assert path.read_bytes() == results[0]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert os.listdir(state) == ["redact.key"]


def test_concurrent_processes_agree_on_one_key(tmp_path: Path) -> None:
    state = tmp_path / "prov"
    start = time.time() + 1.0  # every process starts racing at the same moment
    code = ("import sys, time\nfrom pathlib import Path\nfrom prov_git.store.keys import load_key\n"
            f"time.sleep(max(0.0, {start} - time.time()))\n"
            "sys.stdout.write(load_key(Path(sys.argv[1])).hex())\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(state)], stdout=subprocess.PIPE,
                              text=True) for _ in range(8)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outputs)) == 1 and len(outputs[0]) == 64
    assert (state / "redact.key").read_bytes().hex() == outputs[0]


# ------------------------------------------------------------------------------ properties


def _prefixed(prefix: str, n: int, alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n).map(lambda b: prefix + b)


SECRETS = st.one_of(
    st.builds(lambda p, b: p + b, st.sampled_from(["gh" + c + "_" for c in "pousr"]),
              st.text(alphabet=ALNUM, min_size=36, max_size=40)),
    _prefixed("AK" + "IA", 16, UPPER_ALNUM),
    _prefixed("AS" + "IA", 16, UPPER_ALNUM),
    _prefixed("github" + "_pat_", 82, ALNUM + "_"),
    _prefixed("gl" + "pat-", 20, ALNUM + "_-"),
    _prefixed("hf" + "_", 34, string.ascii_letters),
    _prefixed("np" + "m_", 36, ALNUM),
    _prefixed("AI" + "za", 35, ALNUM + "_-"),
    _prefixed("xo" + "xb-", 40, ALNUM + "-"),
    _prefixed("sk" + "_live_", 24, ALNUM),
)
SURROUNDING = st.text(max_size=30)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True), secret=SECRETS,
       pre=SURROUNDING, post=SURROUNDING)
def test_property_env_never_leaks_tokens(name: str, secret: str, pre: str, post: str) -> None:
    out = R.env({name: pre + secret + post, "HOME": "/home/ann"})
    assert secret not in out[name] and MARKER in out[name]
    assert out["HOME"] == "/home/ann"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(st.text(max_size=12), max_size=6), secret=SECRETS, pre=SURROUNDING,
       post=SURROUNDING, where=st.integers(min_value=0, max_value=6),
       flag=st.sampled_from(["", "--opt", "--opt=", "NAME=", "--token", "-x"]))
def test_property_argv_never_leaks_tokens(args: list[str], secret: str, pre: str, post: str,
                                          where: int, flag: str) -> None:
    bearing = [flag, pre + secret + post] if flag and not flag.endswith("=") else [
        flag + pre + secret + post]
    argv = ["prog", *args]
    at = 1 + min(where, len(args))
    argv[at:at] = bearing
    out = R.argv(argv)
    assert len(out) == len(argv) and out[0] == "prog"
    assert all(secret not in arg for arg in out)


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=10))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4)
                         | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12),
       secret=SECRETS, pre=SURROUNDING, post=SURROUNDING, key=st.text(max_size=8))
def test_property_tree_never_leaks_tokens(tree: Any, secret: str, pre: str, post: str,
                                          key: str) -> None:
    params = {"a": tree, key: [1, {"b": pre + secret + post}], pre + secret: 1}
    assert secret not in dumped(R.tree(params))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(["https", "http", "postgres", "postgresql", "mysql", "mongodb+srv",
                               "redis", "amqp", "ftp"]),
       user=st.text(alphabet=string.ascii_lowercase, max_size=10),
       password=st.text(alphabet=string.ascii_letters + string.digits + "!$%&()*+,;=-._~@",
                        min_size=6, max_size=30).filter(lambda p: any(c.isupper() for c in p)),
       host=st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,5})?(:[0-9]{2,5})?", fullmatch=True),
       path=st.from_regex(r"(/[a-z0-9]{0,8}){0,3}", fullmatch=True),
       pre=st.sampled_from(["", "url ", "--url=", "DATABASE_URL=", "see: "]))
@example(scheme="https", user="", password="REDACT", host="a", path="", pre="")  # CI, stop 21
def test_property_url_passwords_never_survive(scheme: str, user: str, password: str, host: str,
                                              path: str, pre: str) -> None:
    url = f"{scheme}://{user}:{password}@{host}{path}"
    for out in (R.value(pre + url), R.argv(["prog", pre + url])[1], R.env({"X": pre + url})["X"]):
        # The marker's own text ("REDACTED") may contain a generated password: look outside it.
        assert password not in MARKER_RE.sub("", out) and MARKER in out
        assert f"@{host}{path}" in out


# The token shapes as gitleaks writes them, one regex each (prov_git/redact_rules.py before it split
# each into before / anchors / after): the anchored shapes must match exactly what these match.
GITLEAKS_AS_WRITTEN = (
    r'gh[pousr]_[A-Za-z0-9]{36,}',
    r'github_pat_[A-Za-z0-9_]{22,}',
    r'gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|agent|oas)-[A-Za-z0-9_-]{20,}',
    r'GR1348941[\w-]{20}',
    r'(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}',
    r'(?<![A-Za-z0-9])sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}',
    r'(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}',
    r'whsec_[A-Za-z0-9]{24,}',
    r'xox[abposre]-[A-Za-z0-9-]{10,}',
    r'xapp-[0-9]-[A-Za-z0-9-]{10,}',
    r'hf_[A-Za-z0-9]{30,}',
    r'api_org_[A-Za-z]{34}',
    r'npm_[A-Za-z0-9]{36}',
    r'pypi-AgE[A-Za-z0-9_-]{50,}',
    r'AIza[0-9A-Za-z_-]{35}',
    r'ya29\.[0-9A-Za-z_-]{20,}',
    r'SG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}',
    r'shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}',
    r'dapi[a-f0-9]{32}',
    r'do[opr]_v1_[a-f0-9]{64}',
    r'AGE-SECRET-KEY-1[0-9A-Z]{50,}',
    r'-----BEGIN[A-Z0-9 _-]*PRIVATE KEY',
    r'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*',
    r'hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}',
    r'discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]{20,}',
    r'hv[sb]\.[\w-]{24,}',
    r'ATATT3[A-Za-z0-9_=-]{30,}',
    r'glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}',
    r'glc_[A-Za-z0-9+/]{32,}',
    r'eyJrIjoi[A-Za-z0-9]{40,}',
    r'sntry[su]_[A-Za-z0-9+/=_]{40,}',
    r'dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{20,}',
    r'PMAK-[A-Fa-f0-9]{24}-[A-Fa-f0-9]{34}',
    r'(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])',
    r'lin_api_[A-Za-z0-9]{40}',
    r'ntn_[A-Za-z0-9]{40,}',
    r'(?i:[a-z0-9]{14}\.atlasv1\.[a-z0-9_=-]{60,})',
    r'pscale_(?:tkn|oauth|pw)_[\w=.-]{32,}',
    r'pnu_[A-Za-z0-9]{36}',
    r'pul-[a-f0-9]{40}',
    r'rubygems_[a-f0-9]{48}',
    r'pplx-[A-Za-z0-9]{48}',
    r'dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}',
    r'sha256~[\w-]{43}',
    r'(?i:(?<![\w-])(?:proxy-)?authorization[\"\']?\s*[:=]\s*\S)',
    r'(?i:\bauthorization\s+(?:basic|bearer|token|digest)\s+\S)',
    r'(?i:\bbearer\s+)(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}',
    r'(?i:\bbasic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}',
    r'(?i:\btoken\s+[0-9a-f]{40}\b)',
)
AS_WRITTEN = re.compile("|".join(GITLEAKS_AS_WRITTEN))


def _in_context(text: str) -> st.SearchStrategy[str]:
    return st.tuples(st.text(ALNUM + " -_./:=\n", max_size=6), st.text(ALNUM + " -_./:=\n", max_size=6)).map(
        lambda ends: ends[0] + text + ends[1])


@pytest.mark.parametrize("written", GITLEAKS_AS_WRITTEN)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_property_an_anchored_shape_matches_what_its_gitleaks_regex_matches(written: str, data: st.DataObject) -> None:
    text = data.draw(st.from_regex(written, fullmatch=True).flatmap(_in_context))
    # In context, not alone: text before it can defeat a lookbehind, for both alike.
    assert bool(_rx().token.search(text)) == bool(AS_WRITTEN.search(text)), (written, text)
    assert _rx().token.search(data.draw(st.from_regex(written, fullmatch=True))), written


@pytest.mark.parametrize("shape", rules.TOKEN_SHAPES, ids=lambda s: shape_pattern(s)[:40])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_property_an_anchored_shape_matches_nothing_its_gitleaks_regex_does_not(
        shape: Shape, data: st.DataObject) -> None:
    alone = data.draw(st.from_regex(shape_pattern(shape), fullmatch=True))
    assert AS_WRITTEN.search(alone), (shape, alone)
    text = data.draw(_in_context(alone))
    assert bool(_rx().token.search(text)) == bool(AS_WRITTEN.search(text)), (shape, text)
    # ... and text no anchored shape matches is what no gitleaks regex matches.
    near = data.draw(st.text(st.sampled_from(sorted(set(text) | set("sSkK_-. "))), max_size=60))
    assert bool(_rx().token.search(near)) == bool(AS_WRITTEN.search(near)), near


@pytest.mark.parametrize("text", [
    "Author\u0131zation: x",  # DOTLESS I matches i under re.IGNORECASE
    "author\u0130zation: x",  # and so does CAPITAL I WITH DOT ABOVE
    "to\u212aen " + "a" * 40,  # KELVIN SIGN matches k
    "ba\u017fic QWxhZGRpbjpvcGVu1",  # LONG S matches s
    "Bearer\u00a0" + "abc123" * 4,  # a no-break space is \s
    "\u00e9 token " + "0" * 40,  # non-ASCII elsewhere in the text
])
def test_any_case_shapes_in_non_ascii_text_match_as_the_union_does(text: str) -> None:
    assert AS_WRITTEN.search(text) and _rx().token.search(text), text
    assert R.value(text) == marker(KEY, text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(ALNUM + "_-.:/@=; \n\"'" + "ghpAKIAsk"), max_size=80))
def test_property_output_never_contains_a_token_shape(text: str) -> None:
    assert not _rx().token.search(R.value(text))
    assert not any(_rx().token.search(a) for a in R.argv(["prog", text, "--opt", text]))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True), max_size=3),
       word=st.sampled_from(["PASSWORD", "password", "Secret", "PASSWD", "CREDENTIALS",
                             "ApiKey", "api_key", "AUTH_TOKEN"]),
       sep=st.sampled_from(["_", "-", "."]))
def test_property_names_ending_in_a_secret_word_are_secret(prefix: list[str], word: str,
                                                           sep: str) -> None:
    assert R.name_is_secret(sep.join([*prefix, word]))


# ------------------------------------------------------------- issue 12: wider rules (3-6, 8)

HEX = "0123456789abcdef"
NEW_SECRET_NAMES = [
    "SSHPASS", "DB_PW", "MASTER_PW", "GITHUB_PAT", "GITLAB_PAT", "CR_PAT", "AZURE_DEVOPS_EXT_PAT",
    "SONAR_LOGIN", "SSH_PRIVKEY", "GPG_PRIVKEY", "OTP_SEED", "MFA_SEED", "TOTP_SECRET",
]


@pytest.mark.parametrize("name", NEW_SECRET_NAMES)
def test_new_secret_env_names(name: str) -> None:
    assert R.name_is_secret(name)
    assert_redacted(R.env({name: "plain-v4lue"}), "plain-v4lue")


@pytest.mark.parametrize("key", ["pw", "db_pw", "pwd", "psw", "pin", "passcode", "otp", "user_pin"])
def test_new_secret_params_keys(key: str) -> None:
    assert_redacted(R.tree({key: "plain-v4lue"}), "plain-v4lue")
    assert_redacted(R.tree({"db": {key: 4711}}), "4711")


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "pw_conv", "pin_memory", "PATTERN", "SONAR_HOST",
                                  "PIN_MEMORY", "PATH"])
def test_new_rules_keep_harmless_names(name: str) -> None:
    assert not R.name_is_secret(name)


def test_values_carrying_a_credential_inside() -> None:
    pw = "N3trcSecret"
    out = R.env({"NETRC_DATA": f"machine api.example.com login ann password {pw}",
                 "CURL_OPTS": "-sS -u ann:Cu7lSecret --retry 3"})
    assert_redacted(out, pw, "Cu7lSecret")
    assert "machine api.example.com login ann password [REDACTED" in out["NETRC_DATA"]
    assert out["CURL_OPTS"].startswith("-sS -u ann:[REDACTED") and out["CURL_OPTS"].endswith("--retry 3")


NEW_ARGV: list[tuple[str, list[str], str]] = [
    ("mysql -pX", ["mysql", "-u", "root", "-pMy5ecret", "db"], "My5ecret"),
    ("mysqldump -p X", ["mysqldump", "-p", "My5ecret", "db"], "My5ecret"),
    ("sshpass -p X", ["sshpass", "-p", "Ss5ecret", "ssh", "host"], "Ss5ecret"),
    ("sshpass -pX", ["sshpass", "-pSs5ecret", "ssh", "host"], "Ss5ecret"),
    ("docker login -p X", ["docker", "login", "-u", "me", "-p", "Dk5ecret", "reg.io"], "Dk5ecret"),
    ("redis-cli -a X", ["redis-cli", "-h", "cache", "-a", "Rd5ecret", "ping"], "Rd5ecret"),
    ("mongo -p X", ["mongo", "-u", "admin", "-p", "Mg5ecret", "db"], "Mg5ecret"),
    ("ldapsearch -w X", ["ldapsearch", "-x", "-D", "cn=admin", "-w", "Ld5ecret", "-b", "dc=x"], "Ld5ecret"),
    ("smbclient -U u%X", ["smbclient", "//srv/share", "-U", "ann%Sm5ecret"], "Sm5ecret"),
    ("smbclient -Uu%X", ["smbclient", "//srv/share", "-Uann%Sm5ecret"], "Sm5ecret"),
    ("openssl enc -k X", ["openssl", "enc", "-aes-256-cbc", "-k", "Os5ecret", "-in", "f"], "Os5ecret"),
    ("openssl -pass pass:X", ["openssl", "rsa", "-passin", "pass:Os6ecret", "-in", "k.pem"], "Os6ecret"),
    ("ssh-keygen -N X", ["ssh-keygen", "-t", "ed25519", "-N", "Sk5ecret", "-f", "k"], "Sk5ecret"),
    ("az login -p X", ["az", "login", "-u", "me@x.com", "-p", "Az5ecret"], "Az5ecret"),
    ("--pw X", ["tool", "--pw", "Pw5ecret"], "Pw5ecret"),
    ("--pwd X", ["tool", "--pwd", "Pw6ecret"], "Pw6ecret"),
    ("env DB_PW=X", ["env", "DB_PW=En5ecret", "python", "x.py"], "En5ecret"),
    ("env then mysql -pX", ["env", "A=1", "mysql", "-pEm5ecret"], "Em5ecret"),
    ("sh -c curl -u", ["sh", "-c", "curl -fsS -u ann:Sc5ecret https://x | jq ."], "Sc5ecret"),
    ("bash -lc mysql -pX", ["bash", "-lc", "cd /app && mysql -pSc6ecret db < dump.sql"], "Sc6ecret"),
    ("sh -c env", ["sh", "-c", "DB_PW=Sc7ecret ./run.sh"], "Sc7ecret"),
    ("sh -c quoted", ["sh", "-c", "sshpass -p 'Sc8 ecret' ssh h"], "Sc8 ecret"),
    ("url password with /", ["git", "clone", "https://ann:ab/Ur5ecret@git.example.com/r.git"], "ab/Ur5ecret"),
    ("curl --user=u:X", ["curl", "--user=ann:Cu5ecret", "https://x"], "Cu5ecret"),
]


@pytest.mark.parametrize(("label", "argv", "secret"), NEW_ARGV, ids=[c[0] for c in NEW_ARGV])
def test_new_argv_forms(label: str, argv: list[str], secret: str) -> None:
    out = R.argv(argv)
    assert len(out) == len(argv) and out[0] == argv[0]
    assert_redacted(out, secret)
    # The same command line written into one string (a Makefile variable, a CI step).
    if not any(" " in a for a in argv):
        assert_redacted(R.value(" ".join(argv)), secret)


def test_program_rules_leave_other_programs_alone() -> None:
    for argv in (["docker", "run", "-p", "8080:80", "img"], ["mysql", "-P", "3306", "-h", "db"],
                 ["python", "-p", "x"], ["openssl", "enc", "-kfile", "k.txt"], ["bash", "-x", "run.sh"],
                 ["sh", "-c", "python train.py --epochs 3"], ["ssh-keygen", "-t", "ed25519", "-f", "k"]):
        assert R.argv(argv) == argv, argv
    assert R.value("docker run -u 1000:1000 -p 80:80 img") == "docker run -u 1000:1000 -p 80:80 img"


NEW_TOKENS = [
    ("vault-service-token", "hv" + "s." + body(95, 60, ALNUM + "_-")),
    ("atlassian-api-token", "ATA" + "TT3" + body(186, 61)),
    ("grafana-service-account-token", "gl" + "sa_" + body(32, 62) + "_" + body(8, 63, HEX)),
    ("sentry-org-token", "sn" + "trys_eyJpYXQiO" + body(60, 64) + "_" + body(43, 65)),
    ("sentry-user-token", "sn" + "tryu_" + body(64, 66, HEX)),
    ("doppler service token", "dp" + ".st." + body(43, 67)),
    ("doppler-api-token", "dp" + ".pt." + body(43, 68)),
    ("postman-api-token", "PM" + "AK-" + body(24, 69, HEX) + "-" + body(34, 70, HEX)),
    ("twilio-api-key", "S" + "K" + body(32, 71, HEX)),
    ("linear-api-key", "lin" + "_api_" + body(40, 72)),
    ("notion-api-token", "nt" + "n_" + body(11, 73, string.digits) + body(35, 74)),
    ("hashicorp-tf-api-token", body(14, 75, HEX) + ".atlas" + "v1." + body(67, 76)),
    ("authorization token 40-hex", "Authorization: token " + body(40, 77, HEX)),
    ("authorization basic", "Authorization Basic " + "YW5uOn" + body(20, 78)),
]


@pytest.mark.parametrize(("rule", "token"), NEW_TOKENS, ids=[c[0] for c in NEW_TOKENS])
def test_new_token_shapes(rule: str, token: str) -> None:
    inner = token.split()[-1]
    assert_redacted(R.value(token), inner)
    assert_redacted(R.env({"BUILD_X": f"use {token} here"}), inner)
    assert_redacted(R.argv(["tool", token]), inner)


def test_a_40_hex_token_in_a_credential_position() -> None:
    hexed = body(40, 79, HEX)
    for text in (f"https://{hexed}@github.com/a/b.git", f"https://x-access-token:{hexed}@github.com/a",
                 f"token {hexed}"):
        assert_redacted(R.value(text), hexed)
    assert R.value(f"commit {hexed}") == f"commit {hexed}"  # a commit id alone is not a credential


METRICS = {"pass@1": 0.41, "pass@10": 0.7, "token_accuracy": 0.93, "token_loss": 1.2, "private_lb": 0.8,
           "key_recall": 0.5, "recall@5": 0.6, "auth_success": True}


def test_metrics_keep_their_numbers() -> None:
    found: list[str] = []
    assert R.tree(METRICS, metrics=True, found=found) == METRICS and found == []
    assert R.tree({"password_strength": 3, "token": 7}, metrics=True) == {"password_strength": 3, "token": 7}


def test_found_names_every_redacted_value() -> None:
    found: list[str] = []
    out = R.tree({"db": {"password": "x1", "port": 5432}, "lr": 0.1, "pin": 4711, "note": "hi"}, found=found)
    assert found == ["db.password", "pin"] and out["db"]["port"] == 5432 and out["note"] == "hi"
