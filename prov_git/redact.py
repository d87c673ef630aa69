"""Secret redaction for what a run records: env vars, argv, params and metrics.

Pure functions apart from `load_key`. A secret is replaced by a keyed marker,
``[REDACTED hmac-sha256:<16 hex>]``: equal secrets give equal markers under one repository's
key, so `git prov diff` can say that a secret changed without storing it, and the key (kept in
.git/prov, never pushed) stops anyone with the records from guessing short secrets offline.

Two detectors, either one redacts:
- names (env var names, flag names, KEY=VALUE keys, params keys), see `_default_secret`;
- values: token shapes anywhere in a string (the whole string becomes a marker), and
  credentials inside a string (URL passwords, NAME=VALUE pairs, ``--flag value`` in shell
  snippets, ``Header: value``): only the credential is replaced.

Name decisions (conservative: an unneeded marker costs a little diff detail, a leak costs a key):
- secret words: PASSWORD, PASSWD, PASSPHRASE, SECRET, CREDENTIAL(S), CREDS, COOKIE, DSN, TOKEN,
  PASS, KEY(S) (also APIKEY, ACCESSKEY, ...), AUTH (also OAUTH, AUTHORIZATION), SESSION, PRIVATE,
  CONN_STR/CONNECTION_STRING, and PWD as a part of a longer name (MYSQL_PWD).
- not secret: PWD and OLDPWD (paths), AUTHOR, KEYBOARD, MONKEY, TOKENS/TOKENIZER(S) (counts and
  tokenizer settings), XAUTHORITY, SSH_AUTH_SOCK, XDG_SESSION_*, DBUS_SESSION_BUS_ADDRESS,
  DESKTOP_SESSION, SESSION_MANAGER (all harmless session plumbing).
- a name whose last part says it holds a reference, not the secret (PASSWORD_FILE, TOKEN_URL,
  AUTH_TYPE, SESSION_TIMEOUT, --password-stdin), is not secret; its value is still scanned.
- ML vocabulary keeps its meaning: pad_token_id, max_tokens, low_pass, sort_key, key_dim.
"""

from __future__ import annotations

import fnmatch
import functools
import hmac
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prov_git.errors import ProvError

MARKER = "REDACTED"
KEY_FILE = "redact.key"
KEY_BYTES = 32

_MARKER_RE = re.compile(r"\[REDACTED hmac-sha256:[0-9a-f]{16}\]")


# --------------------------------------------------------------------------------------- key


def load_key(state_dir: Path) -> bytes:
    """The repository's redaction key, created on first use (first writer wins)."""
    state_dir = Path(state_dir)
    path = state_dir / KEY_FILE
    try:
        for _ in range(200):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                _create_key(state_dir, path)
                continue
            if len(data) == KEY_BYTES:
                return data
            if len(data) > KEY_BYTES:
                raise ProvError(f"{path} is corrupt; delete it (old runs' secret markers will differ)")
            # Short only while a writer without hard links is still writing it: wait for it.
            time.sleep(0.005)
    except OSError as exc:
        raise ProvError(f"cannot read or create {path}: {exc.strerror or exc}; "
                        f"check the permissions of {state_dir}") from None
    raise ProvError(f"{path} stays incomplete; delete it and run again")


def _create_key(state_dir: Path, path: Path) -> None:
    import tempfile  # only on the first record in a repository

    state_dir.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600, so the key is never readable by others, not even briefly.
    fd, tmp = tempfile.mkstemp(prefix=".redact.key.", dir=state_dir)
    try:
        _write_key(fd)
        try:
            # link() fails if the name exists: the first writer wins, a loser re-reads its key.
            # (os.replace would let the last writer win and two runs could see two keys.)
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:
            _create_key_without_links(path)
    finally:
        os.unlink(tmp)


def _create_key_without_links(path: Path) -> None:
    """Filesystems without hard links: O_EXCL create; readers wait while it is short."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    _write_key(fd)


def _write_key(fd: int) -> None:
    """A fresh random key into fd, on disk before anyone can rely on it; closes fd."""
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)


def marker(key: bytes, value: str) -> str:
    """A keyed fingerprint of value: stable per repository, useless for guessing it."""
    digest = hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256")
    return f"[{MARKER} hmac-sha256:{digest.hex()[:16]}]"


# ------------------------------------------------------------------------------------- names

# A name splits into parts at non-alphanumerics and camelCase humps: apiKey -> API, KEY.
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# A part containing one of these is secret wherever it appears (DBPASSWORD, CLIENTSECRET).
_STRONG = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "COOKIE")
_STRONG_LOOKALIKES = ("SECRETAR", "COOKIECUTTER")
_STRONG_PARTS = frozenset({"CREDS", "PWD", "DSN", "AUTHORIZATION", "CONNSTR", "CONNSTRING",
                           "CONNECTIONSTRING"})
_HARMLESS_NAMES = frozenset({
    "PWD", "OLDPWD", "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "DESKTOP_SESSION", "GDMSESSION",
    "SESSION_MANAGER", "XAUTHORITY", "XDG_SESSION_ID", "XDG_SESSION_TYPE", "XDG_SESSION_CLASS",
    "XDG_SESSION_DESKTOP", "XDG_SESSION_PATH",
})
# A last part that makes the name a pointer to, or a property of, a secret rather than the secret.
_REFERENCE_TAIL = frozenset({
    "FILE", "FILES", "FILENAME", "PATH", "DIR", "FD", "STDIN", "URL", "URI", "ENDPOINT", "HOST",
    "PORT", "TYPE", "MODE", "METHOD", "TIMEOUT", "TTL", "EXPIRY", "EXPIRES", "EXPIRATION",
    "LENGTH", "LEN", "SIZE", "HELPER", "CMD", "COMMAND", "SOCK", "SOCKET", "ALGORITHM", "ALG",
    "FORMAT", "NAME", "ENABLED", "DISABLED", "REQUIRED", "PROVIDER", "REGION",
})
# KEY compounds written as one word (APIKEY, ACCESSKEY); MONKEY or HOTKEY stay harmless.
_KEY_STEMS = ("API", "ACCESS", "SECRET", "PRIVATE", "AUTH", "SIGNING", "MASTER", "ENCRYPTION",
              "ENC", "CRYPT", "SSH", "CLIENT", "APP", "SERVICE", "ACCOUNT", "LICENSE", "LICENCE",
              "SESSION", "HMAC", "GPG", "PGP", "DEPLOY", "WEBHOOK", "SUBSCRIPTION", "SHARED",
              "STORAGE")
# Weak words lose their meaning next to these neighbours: (parts before, parts after).
_NEIGHBOURS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "TOKEN": (
        frozenset({"PAD", "EOS", "BOS", "UNK", "SEP", "CLS", "MASK", "START", "END", "STOP",
                   "SPECIAL", "MAX", "MIN", "NUM", "N", "NEW", "FIRST", "LAST", "NEXT", "IMAGE",
                   "DECODER", "PREFIX"}),
        frozenset({"ID", "IDS", "COUNT", "COUNTS", "LIMIT", "LEN", "LENGTH", "SIZE", "TYPE",
                   "TYPES", "INDEX", "IDX", "BUDGET", "USAGE", "EMBEDDING", "EMBEDDINGS",
                   "LEVEL", "DROPOUT", "MIXING", "POSITION", "POOLING"}),
    ),
    "PASS": (
        frozenset({"LOW", "HIGH", "BAND", "ALL", "BY", "FORWARD", "BACKWARD", "FIRST", "SECOND",
                   "SINGLE", "MULTI", "TWO", "ONE", "NUM", "N", "EACH", "LAST", "FINAL"}),
        frozenset({"THROUGH", "THRU", "FILTER", "RATE", "COUNT", "NUM", "INDEX", "IDX", "K"}),
    ),
    "KEY": (
        frozenset({"SORT", "PRIMARY", "FOREIGN", "CACHE", "PARTITION", "GROUP", "JOIN", "INDEX",
                   "LOOKUP", "HASH", "DICT", "MAP", "ROUTING", "SHARD", "RNG", "PRNG", "SEED",
                   "MERGE", "UNIQUE", "COMPOSITE", "ORDER", "DEDUP", "HOT", "SHORTCUT",
                   "TRANSLATION"}),
        frozenset({"ID", "DIM", "DIMS", "COLUMN", "COLUMNS", "COL", "COLS", "FIELD", "FIELDS",
                   "FUNC", "FN", "MAP", "BINDING", "BINDINGS", "CODE", "CODES", "PRESS", "TYPE",
                   "PATTERN", "PREFIX", "SUFFIX", "SEP", "ORDER", "SPACE", "SIZE", "LEN"}),
    ),
    "AUTH": (
        frozenset(),
        frozenset({"SOCK", "SOCKET", "TYPE", "METHOD", "MODE", "URL", "URI", "ENDPOINT", "HOST",
                   "SERVER", "PROVIDER", "REALM", "DOMAIN", "ENABLED", "REQUIRED", "SCHEME",
                   "PLUGIN", "SOURCE"}),
    ),
    "SESSION": (
        frozenset({"XDG", "DBUS", "DESKTOP", "GDM", "TMUX", "LOGIN"}),
        frozenset({"BUS", "TYPE", "CLASS", "DESKTOP", "MANAGER", "SEAT", "NAME", "COUNT",
                   "LENGTH", "TIMEOUT", "LIFETIME", "DIR", "PATH", "BACKEND", "ENGINE"}),
    ),
    "PRIVATE": (
        frozenset(),
        frozenset({"IP", "IPS", "NETWORK", "NETWORKS", "SUBNET", "SUBNETS", "DNS", "ZONE",
                   "LINK", "REGISTRY", "REPO", "MODE", "BROWSING"}),
    ),
}


def _parts(name: str) -> list[str]:
    # Digits at the ends do not change meaning: TOKEN2, PASSWORD_1.
    parts = (p.strip("0123456789").upper() for p in _SPLIT.split(name))
    return [p for p in parts if p]


def _weak_word(part: str) -> str | None:
    if part.endswith("TOKEN"):  # TOKEN, ACCESSTOKEN; TOKENS and TOKENIZER are not credentials
        return "TOKEN"
    if part == "PASS":  # DB_PASS; BYPASS, PASSTHROUGH are not
        return "PASS"
    stem = part[:-4] if part.endswith("KEYS") else part[:-3] if part.endswith("KEY") else None
    if stem is not None and (stem == "" or stem.endswith(_KEY_STEMS)):
        return "KEY"
    if part.endswith("AUTH"):  # AUTH, OAUTH, BASICAUTH; AUTHOR, AUTHORITY are not
        return "AUTH"
    if part.startswith("SESSION"):
        return "SESSION"
    if part.startswith("PRIVATE"):
        return "PRIVATE"
    return None


def _part_secret(part: str, before: str, after: str) -> bool:
    if part in _STRONG_PARTS or part.endswith("DSN"):
        return True
    if any(word in part for word in _STRONG) and not part.startswith(_STRONG_LOOKALIKES):
        return True
    word = _weak_word(part)
    if word is None:
        return False
    not_before, not_after = _NEIGHBOURS[word]
    return before not in not_before and after not in not_after


@functools.lru_cache(maxsize=4096)
def _default_secret(name: str) -> bool:
    """The built-in deny list (see the module docstring), before allow/deny config."""
    if name.upper() in _HARMLESS_NAMES:
        return False
    parts = _parts(name)
    if len(parts) > 1 and parts[-1] in _REFERENCE_TAIL:
        return False
    for i, part in enumerate(parts):
        before = parts[i - 1] if i else ""
        after = parts[i + 1] if i + 1 < len(parts) else ""
        if _part_secret(part, before, after):
            return True
    return any(a in ("CONN", "CONNECTION") and b in ("STR", "STRING")
               for a, b in itertools.pairwise(parts))


def _globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(p) for p in patterns), re.IGNORECASE)


# ------------------------------------------------------------------------------------ values

_TOKEN_SHAPES = (
    r"gh[pousr]_[A-Za-z0-9]{36,}",  # GitHub classic tokens
    r"github_pat_[A-Za-z0-9_]{22,}",  # GitHub fine-grained tokens
    r"gl(?:pat|dt|rt|ptt|soat|cbt)-[A-Za-z0-9_-]{20,}",  # GitLab
    r"(?:AKIA|ASIA)[A-Z0-9]{16}",  # AWS access key ids
    # OpenAI/Anthropic style; needs a digit and 20+ chars so "sk-learn" and kebab words pass.
    r"(?<![A-Za-z0-9])sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}",
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe secret and restricted keys
    r"whsec_[A-Za-z0-9]{24,}",  # Stripe webhook secrets
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"xapp-[0-9]-[A-Za-z0-9-]{10,}",  # Slack app tokens
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"npm_[A-Za-z0-9]{36}",  # npm
    r"pypi-AgE[A-Za-z0-9_-]{50,}",  # PyPI (macaroon)
    r"AIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"ya29\.[0-9A-Za-z_-]{20,}",  # Google OAuth access tokens
    r"SG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}",  # SendGrid
    r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",  # Shopify
    r"dapi[a-f0-9]{32}",  # Databricks
    r"do[opr]_v1_[a-f0-9]{64}",  # DigitalOcean
    r"AGE-SECRET-KEY-1[0-9A-Z]{50,}",  # age
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY",  # any PEM private key (RSA, EC, OPENSSH, PGP, ...)
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # JWT (signed or not)
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}",
    r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]{20,}",
    r"(?i:(?<![\w-])(?:proxy-)?authorization\s*:\s*\S)",  # an HTTP Authorization header
    r"(?i:\bbearer\s+)(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}",
)


class _Patterns:
    """Each pattern is compiled on its first use (0.1-0.8 ms apiece): importing this module costs
    nothing for log or diff, and a record compiles only the ones its values need."""

    @functools.cached_property
    def token(self) -> re.Pattern[str]:
        return re.compile("|".join(_TOKEN_SHAPES))

    @functools.cached_property
    def url(self) -> re.Pattern[str]:
        # scheme://user:password@ ; greedy password up to the last @ before the path.
        return re.compile(
            r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s:/?#@\[\]]*)"
            r"(?::(?P<pw>[^\s/?#]*))?@"
        )

    @functools.cached_property
    def flag(self) -> re.Pattern[str]:
        # --flag value / --flag=value inside a string (a shell snippet, JAVA_OPTS, ...);
        # a following -x is the next option, not a value.
        return re.compile(
            r"(?<![\w-])(?P<flag>--?[A-Za-z][\w.-]*)(?P<sep>=|\s+(?!-))"
            rf"(?P<val>{_MARKER_RE.pattern}|\"[^\"]*\"|'[^']*'|[^\s'\"]+)"
        )

    @functools.cached_property
    def pair(self) -> re.Pattern[str]:
        # NAME=VALUE inside a string (query strings, ADO connection strings, `export X=...`).
        return re.compile(
            r"(?<![\w.-])(?P<name>[A-Za-z_][\w.-]*)\s*=\s*"
            rf"(?P<val>{_MARKER_RE.pattern}|\"[^\"]*\"|'[^']*'|[^\s;&|'\"]+)"
        )

    @functools.cached_property
    def ado(self) -> re.Pattern[str]:
        # ADO/ODBC "Server=h;User Id=u;Password=a b;": a value runs to the next ';'.
        return re.compile(
            r"(?:^|(?<=;))\s*(?P<name>[A-Za-z_][\w .-]*?)\s*=\s*"
            r"(?P<val>\"[^\"]*\"|'[^']*'|[^;]*[^;\s])"
        )

    @functools.cached_property
    def header(self) -> re.Pattern[str]:
        return re.compile(r"\s*(?P<name>[A-Za-z][\w-]*)\s*:\s*(?P<val>\S.*)", re.DOTALL)

    @functools.cached_property
    def flag_arg(self) -> re.Pattern[str]:
        return re.compile(r"(?P<dash>--?)(?P<name>[A-Za-z][\w.-]*)(?:=(?P<val>.*))?", re.DOTALL)

    @functools.cached_property
    def pair_arg(self) -> re.Pattern[str]:
        return re.compile(r"(?P<name>[A-Za-z_][\w.-]*)=(?P<val>.*)", re.DOTALL)

    @functools.cached_property
    def word_arg(self) -> re.Pattern[str]:
        return re.compile(r"[A-Za-z_][\w.-]*")


@functools.lru_cache(maxsize=1)
def _rx() -> _Patterns:
    return _Patterns()


# Names that are secret only in a NAME=VALUE pair: URL signatures (Azure SAS, AWS presigned).
_PAIR_ONLY = frozenset({"SIG", "SIGNATURE", "X-AMZ-SIGNATURE"})
# "Pwd" is ODBC's password key; alone as an env name it is the working directory.
_ADO_ONLY = _PAIR_ONLY | {"PWD"}
_CURL = frozenset({"curl", "curl.exe"})
_CURL_USER = frozenset({"u", "user", "U", "proxy-user"})


class Redactor:
    """Replaces secrets by keyed markers; configured from prov.redact.* in git config."""

    def __init__(self, key: bytes, *, allow: Sequence[str] = (), deny: Sequence[str] = (),
                 enabled: bool = True) -> None:
        self.key = key
        self.enabled = enabled
        self._allow = _globs(allow)
        self._deny = _globs(deny)

    # names

    def name_is_secret(self, name: str) -> bool:
        if not self.enabled or not name:
            return False
        # deny wins over allow: when both match, redacting is the safe reading.
        if self._deny is not None and self._deny.match(name):
            return True
        if self._allow is not None and self._allow.match(name):
            return False
        return _default_secret(name)

    def _flag_is_secret(self, flag: str) -> bool:
        name = flag.lstrip("-")
        # --no-password, --no-auth take no value: nothing to hide, and the next arg is not theirs.
        if name[:3].lower() in ("no-", "no_"):
            return False
        return self.name_is_secret(name)

    def _mark(self, value: str) -> str:
        return value if _MARKER_RE.fullmatch(value) else marker(self.key, value)

    # values

    def value(self, value: str) -> str:
        if not self.enabled or not value:
            return value
        rx = _rx()
        if rx.token.search(value):
            return self._mark(value)
        out = value
        if "://" in out:
            out = rx.url.sub(self._url_credentials, out)
        if "-" in out:
            out = rx.flag.sub(self._inline_flag, out)
        if "=" in out:
            if ";" in out:
                out = rx.ado.sub(self._ado_pair, out)
            out = rx.pair.sub(self._inline_pair, out)
        if ":" in out:
            header = rx.header.fullmatch(out)
            if header and self.name_is_secret(header["name"]):
                out = f"{header['name']}: {self._mark(header['val'])}"
        return out

    def _url_credentials(self, m: re.Match[str]) -> str:
        user, pw = m["user"], m["pw"]
        if pw is None:
            # A lone user part that looks like a token (https://<40 hex>@github.com/...).
            if len(user) >= 20 and any(c.isdigit() for c in user):
                user = self._mark(user)
            return f"{m['pre']}{user}@"
        return f"{m['pre']}{user}:{self._mark(pw) if pw else pw}@"

    def _inline_flag(self, m: re.Match[str]) -> str:
        if not self._flag_is_secret(m["flag"]):
            return m[0]
        return f"{m['flag']}{m['sep']}{self._mark_quoted(m['val'])}"

    def _inline_pair(self, m: re.Match[str]) -> str:
        return self._pair(m, m["name"], _PAIR_ONLY)

    def _ado_pair(self, m: re.Match[str]) -> str:
        return self._pair(m, m["name"].strip(), _ADO_ONLY)

    def _pair(self, m: re.Match[str], name: str, also_secret: frozenset[str]) -> str:
        """A NAME=VALUE match with the value marked when the name is secret (or in also_secret)."""
        if not (self.name_is_secret(name) or name.upper() in also_secret):
            return m[0]
        return f"{m[0][: m.start('val') - m.start()]}{self._mark_quoted(m['val'])}"

    def _mark_quoted(self, val: str) -> str:
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            return f"{val[0]}{self._mark(val[1:-1])}{val[0]}"
        return self._mark(val)

    # records

    def env(self, variables: Mapping[str, str]) -> dict[str, str]:
        if not self.enabled:
            return dict(variables)
        return {name: self._mark(val) if self.name_is_secret(name) else self.value(val)
                for name, val in variables.items()}

    def argv(self, argv: Sequence[str]) -> list[str]:
        args = list(argv)
        if not self.enabled or not args:
            return args
        prog = os.path.basename(args[0]).lower()
        out = [args[0]]  # the program: redacting it would hide what ran
        take_next: Callable[[str], str] | None = None
        for arg in args[1:]:
            # A long option is never the value of the previous one (--token --verbose).
            if take_next is not None and not arg.startswith("--"):
                out.append(take_next(arg))
                take_next = None
                continue
            redacted, take_next = self._arg(arg, prog)
            # Flag names and NAME= keys are kept verbatim above: a token hiding there still goes.
            out.append(self._mark(arg) if _rx().token.search(redacted) else redacted)
        return out

    def _arg(self, arg: str, prog: str) -> tuple[str, Callable[[str], str] | None]:
        """One argument redacted, and how to redact the next one if this one names it."""
        rx = _rx()
        flag = rx.flag_arg.fullmatch(arg)
        if flag is not None:
            name, val = flag["name"], flag["val"]
            if val is None:
                if self._flag_is_secret(name):
                    return arg, self._mark
                if prog in _CURL and name in _CURL_USER:
                    return arg, self._user_password
                return arg, None
            secret = self._flag_is_secret(name)
            return f"{flag['dash']}{name}={self._mark(val) if secret else self.value(val)}", None
        pair = rx.pair_arg.fullmatch(arg)
        if pair is not None:  # env-style NAME=VALUE: the whole rest is the value
            name, val = pair["name"], pair["val"]
            secret = self.name_is_secret(name)
            return f"{name}={self._mark(val) if secret else self.value(val)}", None
        if rx.word_arg.fullmatch(arg) and self._names_a_secret(arg):
            # `git config user.password X`, `aws configure set aws_secret_access_key X`
            return arg, self._mark
        return self.value(arg), None

    def _names_a_secret(self, word: str) -> bool:
        # Only compound names that end in a secret word, so test_token.py or `secret list` pass.
        parts = _parts(word)
        return len(parts) > 1 and self.name_is_secret(word) and _default_secret(parts[-1])

    def _user_password(self, value: str) -> str:
        user, sep, password = value.partition(":")
        return f"{user}:{self._mark(password)}" if sep and password else self.value(value)

    def tree(self, obj: Any, name: str = "") -> Any:
        """A redacted copy of a params/metrics object (JSON-like: dict, list, str, number)."""
        if not self.enabled:
            return _copy(obj)
        if name and self.name_is_secret(name):
            if isinstance(obj, str):
                return self._mark(obj)
            return self._mark(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str))
        if isinstance(obj, dict):
            return {self.value(k) if isinstance(k, str) else k: self.tree(v, str(k))
                    for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.tree(item) for item in obj]
        if isinstance(obj, str):
            return self.value(obj)
        return obj


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_copy(item) for item in obj]
    return obj
