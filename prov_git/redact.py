"""Secret redaction for what a run records: env vars, argv, params and metrics.

Pure functions, no I/O (the key is read by store/keys.py). A secret is replaced by a keyed marker,
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
import itertools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prov_git import redact_rules as rules

MARKER = "REDACTED"

_MARKER_RE = re.compile(r"\[REDACTED hmac-sha256:[0-9a-f]{16}\]")


# ------------------------------------------------------------------------------------ marker


def marker(key: bytes, value: str) -> str:
    """A keyed fingerprint of value: stable per repository, useless for guessing it."""
    import hmac  # here: it loads hashlib's OpenSSL binding (1-2.5 ms), and most records mark nothing

    digest = hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256")
    return f"[{MARKER} hmac-sha256:{digest.hex()[:16]}]"


# ------------------------------------------------------------------------------------- names

# A name splits into parts at non-alphanumerics and camelCase humps: apiKey -> API, KEY.
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# A part containing one of these is secret wherever it appears (DBPASSWORD, CLIENTSECRET).
_STRONG = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "COOKIE")
_STRONG_LOOKALIKES = ("SECRETAR", "COOKIECUTTER")
_STRONG_PARTS = frozenset({"CREDS", "PWD", "DSN", "AUTHORIZATION", "CONNSTR", "CONNSTRING",
                           "CONNECTIONSTRING", "SSHPASS", "PSW", "PASSCODE", "OTP", "TOTP", "HOTP"})
# Short words that are secret only as the last part (DB_PW, GITHUB_PAT, SIM_PIN) or alone, not
# as a prefix (pw_conv is a pointwise convolution, pin_memory a DataLoader switch).
_TAIL_ONLY = frozenset({"PW", "PAT", "PIN"})
# Two neighbouring parts that are secret together: gitleaks sonar-api-token (SONAR_LOGIN), MFA_SEED.
_SECRET_PAIRS = frozenset({("SONAR", "LOGIN"), ("MFA", "SEED"), ("TWOFA", "SEED"), ("FA", "SEED")})
# Harmless only as environment variables: the working directory; as a flag or key, --pwd is a password.
_HARMLESS_ENV = frozenset({"PWD", "OLDPWD"})
_HARMLESS_NAMES = frozenset({
    "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "DESKTOP_SESSION", "GDMSESSION",
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
              "STORAGE", "PRIV")
# Measurements named after a secret word keep their meaning: token_accuracy, key_recall, private_lb.
_METRIC_WORDS = frozenset({"ACC", "ACCURACY", "LOSS", "F", "RECALL", "PRECISION", "ERROR", "ERR",
                           "PPL", "PERPLEXITY", "ENTROPY", "SCORE", "AUC", "BLEU", "ROUGE", "MRR",
                           "NDCG", "HIT", "HITS", "MATCH", "EM", "LB", "LEADERBOARD", "RANK",
                           "TOP", "MAE", "MSE", "RMSE", "LOGPROB", "LOGPROBS", "PROB", "PROBS"})
# Weak words lose their meaning next to these neighbours: (parts before, parts after).
_NEIGHBOURS_LISTED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
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


_NEIGHBOURS = {word: (before, after | _METRIC_WORDS) for word, (before, after) in _NEIGHBOURS_LISTED.items()}
# recall@10, pass@1, ndcg@k: a metric at a cut-off, never a credential.
_AT_K = re.compile(r"@(?:\d+|k)$", re.IGNORECASE)


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
    if part in _TAIL_ONLY:
        return not after
    if (before, part) in _SECRET_PAIRS:
        return True
    if any(word in part for word in _STRONG) and not part.startswith(_STRONG_LOOKALIKES):
        return True
    word = _weak_word(part)
    if word is None:
        return False
    not_before, not_after = _NEIGHBOURS[word]
    return before not in not_before and after not in not_after


@functools.lru_cache(maxsize=4096)
def _default_secret(name: str, env: bool = True) -> bool:
    """The built-in deny list (see the module docstring), before allow/deny config; env: the name
    of an environment variable (PWD is then the working directory)."""
    upper = name.upper()
    if upper in _HARMLESS_NAMES or (env and upper in _HARMLESS_ENV) or _AT_K.search(name):
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

Shape = tuple[str, tuple[str, ...], str, bool]


def shape_pattern(shape: Shape) -> str:
    """The regular expression of a redact_rules shape: before, one of its anchors, after."""
    before, anchors, after, any_case = shape
    alternatives = "|".join(re.escape(a) for a in anchors)
    return f"(?:{before})(?{'i' if any_case else ''}:{alternatives})(?:{after})"


class _Shapes:
    """Whether a string matches one of a set of shapes, as the union of their patterns would say.
    Every match holds one of its shape's anchors, so only the shapes whose anchor the string holds
    are compiled and run: a record's environment usually holds none (the union costs ~2 ms to compile)."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        self._shapes = shapes
        self._exact = [(a, i) for i, (_, anchors, _, any_case) in enumerate(shapes) if not any_case for a in anchors]
        self._any_case = [(a, i) for i, (_, anchors, _, any_case) in enumerate(shapes) if any_case for a in anchors]
        self._compiled: dict[int, re.Pattern[str]] = {}

    def search(self, text: str) -> re.Match[str] | None:
        held = {i for anchor, i in self._exact if anchor in text}
        if self._any_case:
            # Only ASCII text has exactly the ASCII case variants of an anchor: under re.IGNORECASE,
            # "s" also matches U+017F and "k" the Kelvin sign, so other text tries every such shape.
            lowered = text.lower() if text.isascii() else None
            held.update(i for anchor, i in self._any_case if lowered is None or anchor in lowered)
        for i in sorted(held):
            pattern = self._compiled.get(i)
            if pattern is None:
                pattern = self._compiled[i] = re.compile(shape_pattern(self._shapes[i]))
            found = pattern.search(text)
            if found:
                return found
        return None


class _Patterns:
    """Each pattern is compiled on its first use (0.1-0.8 ms apiece): importing this module costs
    nothing for log or diff, and a record compiles only the ones its values need."""

    @functools.cached_property
    def token(self) -> _Shapes:
        return _Shapes(rules.TOKEN_SHAPES)

    @functools.cached_property
    def url(self) -> re.Pattern[str]:
        # scheme://user:password@ ; the password runs to the last @ before the path, or, when
        # it holds a "/" (not valid in a URL, common in pasted ones), to the first @.
        return re.compile(
            r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^\s:/?#@\[\]]*)"
            r"(?::(?P<pw>[^\s/?#]*|[^\s@]*))?@"
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

    @functools.cached_property
    def program(self) -> re.Pattern[str]:
        # A string that runs one of the programs of redact_rules is read as a command line.
        names = "|".join(re.escape(n) for n in sorted(rules.PROGRAMS, key=len, reverse=True))
        return re.compile(rf"(?:^|[\s;&|(`])(?:\S*/)?(?:{names})(?=\s)")

    @functools.cached_property
    def user_opt(self) -> re.Pattern[str]:
        # -u user:password inside a string (CURL_OPTS="-u u:pw"); uid:gid pairs are left alone.
        return re.compile(r"(?<![\w-])(?P<flag>-u|--user|--proxy-user)(?P<sep>=|\s+)"
                          r"(?P<user>[^\s:'\"]+):(?P<pw>[^\s'\"]+)")

    @functools.cached_property
    def netrc(self) -> re.Pattern[str]:
        # .netrc text ("machine h login u password X") carried in a variable.
        return re.compile(r"(?<![\w-])(?P<kw>password|passwd|account)(?P<sep>\s+)(?P<val>\"[^\"]*\"|\S+)",
                          re.IGNORECASE)


    @functools.cached_property
    def secret_file(self) -> re.Pattern[str]:
        return re.compile("|".join(fnmatch.translate(p) for p in rules.SECRET_FILE_NAMES), re.IGNORECASE)

    @functools.cached_property
    def secret_content(self) -> _Shapes:
        return _Shapes(rules.KEY_SHAPES)


@functools.lru_cache(maxsize=1)
def _rx() -> _Patterns:
    return _Patterns()


def secret_file(name: str, content: bytes | None) -> str | None:
    """Why a file (its own name, and its contents when read) looks like it holds credentials, or None.
    Used on untracked files before they go into a snapshot: what enters git is pushed for good."""
    if _rx().secret_file.match(name):
        return "its name"
    if content is not None and _rx().secret_content.search(content.decode("latin-1")):
        return "a key or token in it"
    return None


# Names that are secret only in a NAME=VALUE pair: URL signatures (Azure SAS, AWS presigned).
_PAIR_ONLY = frozenset({"SIG", "SIGNATURE", "X-AMZ-SIGNATURE"})
# "Pwd" is ODBC's password key; alone as an env name it is the working directory.
_ADO_ONLY = _PAIR_ONLY | {"PWD"}


class Redactor:
    """Replaces secrets by keyed markers; configured from prov.redact.* in git config."""

    def __init__(self, key: bytes, *, allow: Sequence[str] = (), deny: Sequence[str] = (),
                 enabled: bool = True) -> None:
        self.key = key
        self.enabled = enabled
        self._allow = _globs(allow)
        self._deny = _globs(deny)

    # names

    def name_is_secret(self, name: str, env: bool = True) -> bool:
        """env=False for flag names and params keys, where PWD is a password, not a folder."""
        if not self.enabled or not name:
            return False
        # deny wins over allow: when both match, redacting is the safe reading.
        if self._deny is not None and self._deny.match(name):
            return True
        if self._allow is not None and self._allow.match(name):
            return False
        return _default_secret(name, env)

    def _flag_is_secret(self, flag: str) -> bool:
        name = flag.lstrip("-")
        # --no-password, --no-auth take no value: nothing to hide, and the next arg is not theirs.
        if name[:3].lower() in ("no-", "no_"):
            return False
        return self.name_is_secret(name, env=False)

    def _mark(self, value: str) -> str:
        return value if _MARKER_RE.fullmatch(value) else marker(self.key, value)

    # values

    def value(self, value: str) -> str:
        if not self.enabled or not value:
            return value
        rx = _rx()
        if rx.token.search(value):
            return self._mark(value)
        if any(c in value for c in " \t\n") and rx.program.search(value):
            return self._shell(value)
        return self._inline(value)

    def _inline(self, value: str) -> str:
        """The credentials inside a string: URL passwords, --flag X, NAME=X, Header: X, netrc."""
        rx = _rx()
        out = value
        if "://" in out:
            out = rx.url.sub(self._url_credentials, out)
        if "-" in out:
            out = rx.flag.sub(self._inline_flag, out)
            if ":" in out:
                out = rx.user_opt.sub(self._inline_user, out)
        if "=" in out:
            if ";" in out:
                out = rx.ado.sub(self._ado_pair, out)
            out = rx.pair.sub(self._inline_pair, out)
        if ":" in out:
            header = rx.header.fullmatch(out)
            if header and self.name_is_secret(header["name"], env=False):
                out = f"{header['name']}: {self._mark(header['val'])}"
        lowered = out.lower()
        if "pass" in lowered and any(w in lowered for w in ("machine", "login", "default")):
            out = rx.netrc.sub(lambda m: f"{m['kw']}{m['sep']}{self._mark_quoted(m['val'])}", out)
        return out

    def _shell(self, text: str) -> str:
        """A command line in a string (`sh -c "..."`, CMD="mysql -pX"): the argv rules per command.

        Each word the argv rules change is replaced where it stands in the text; a word that does
        not stand there verbatim (escapes, quotes inside a word) makes the whole text one marker.
        """
        import shlex  # only for strings that name a program

        try:
            lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
            lexer.whitespace_split = True
            lexer.commenters = ""
            words = list(lexer)
        except ValueError:  # unbalanced quotes: words as the whitespace splits them
            words = text.split()
        commands: list[list[str]] = [[]]
        for word in words:
            if word and all(c in ";&|()<>" for c in word):
                commands.append([])
            else:
                commands[-1].append(word)
        out = text
        for command in commands:
            for old, new in zip(command, self._command(command), strict=True):
                if old == new:
                    continue
                if old not in out:
                    return self._mark(text)
                out = out.replace(old, new)
        return self._inline(out)

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

    def _inline_user(self, m: re.Match[str]) -> str:
        if m["user"].isdigit() and m["pw"].isdigit():  # uid:gid (docker run -u 1000:1000)
            return m[0]
        return f"{m['flag']}{m['sep']}{m['user']}:{self._mark(m['pw'])}"

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
        return self._command(args)

    def _command(self, args: Sequence[str]) -> list[str]:
        """One command's words redacted. The first is the program (kept: redacting it would hide
        what ran) unless it is NAME=VALUE; a word naming a program of redact_rules (after env,
        sudo, ...) starts reading that program's flags."""
        reader = _Flags(self)
        out: list[str] = []
        for i, arg in enumerate(args):
            if reader.pending is not None and not reader.pending_refuses(arg):
                out.append(reader.pending(arg))
                reader.pending = None
                continue
            reader.pending = None
            if i == 0 and "=" not in arg and not _rx().token.search(arg):
                reader.program(arg)
                out.append(arg)
                continue
            redacted = reader.arg(arg)
            # Flag names and NAME= keys are kept verbatim above: a token hiding there still goes.
            out.append(self._mark(arg) if _rx().token.search(redacted) else redacted)
        return out

    def _user_password(self, value: str) -> str:
        user, sep, password = value.partition(":")
        return f"{user}:{self._mark(password)}" if sep and password else self.value(value)

    def _samba_user(self, value: str) -> str:
        user, sep, password = value.partition("%")
        return f"{user}%{self._mark(password)}" if sep and password else self.value(value)

    def _openssl_pass(self, value: str) -> str:
        # openssl-passphrase-options(1): pass:X holds it; env:, file:, fd:, stdin only point to it.
        kind, sep, rest = value.partition(":")
        if sep and kind in ("env", "file", "fd"):
            return value
        if value == "stdin":
            return value
        return f"pass:{self._mark(rest)}" if kind == "pass" and sep else self._mark(value)

    def _shell_or_value(self, script: str) -> str:
        return self._shell(script) if any(c in script for c in " \t\n") else self.value(script)

    def _names_a_secret(self, word: str) -> bool:
        # Only compound names that end in a secret word, so test_token.py or `secret list` pass.
        parts = _parts(word)
        return len(parts) > 1 and self.name_is_secret(word) and _default_secret(parts[-1])

    def tree(self, obj: Any, name: str = "", *, metrics: bool = False,
             found: list[str] | None = None) -> Any:
        """A redacted copy of a params/metrics object (JSON-like: dict, list, str, number).

        Under a secret name only strings are marked: numbers, booleans and null are measurements
        or switches, never credentials (pass@1 keeps its 0.4). In params (metrics=False) an
        integer under a secret name is marked too: `-p pin=4711` parses as a number.
        found collects the path of every value that was changed, for a warning.
        """
        if not self.enabled:
            return _copy(obj)
        secret = bool(name) and self.name_is_secret(name, env=False)
        return self._tree(obj, secret, not metrics, found, name)

    def _tree(self, obj: Any, secret: bool, integers: bool, found: list[str] | None, path: str) -> Any:
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                shown = self.value(key) if isinstance(key, str) else key
                where = f"{path}.{shown}" if path else str(shown)
                if shown != key and found is not None:
                    found.append(where)
                inner = secret or self.name_is_secret(str(key), env=False)
                out[shown] = self._tree(value, inner, integers, found, where)
            return out
        if isinstance(obj, (list, tuple)):
            return [self._tree(item, secret, integers, found, f"{path}[{i}]") for i, item in enumerate(obj)]
        if isinstance(obj, str):
            new = self._mark(obj) if secret else self.value(obj)
        elif secret and integers and isinstance(obj, int) and not isinstance(obj, bool):
            new = self._mark(str(obj))
        else:
            return obj
        if new != obj and found is not None:
            found.append(path)
        return new


class _Flags:
    """Reads one command's arguments in order: which program's flags they are, and whether the
    previous argument said that this one holds a secret (`pending`)."""

    def __init__(self, redactor: Redactor) -> None:
        self.r = redactor
        self.prog = ""
        self.short = ""  # this program's short flags whose value is a secret
        self.needs = ""  # the subcommand that must come first ("login"), "" for none
        self.pending: Callable[[str], str] | None = None
        self.strict = False  # pending was set by a short flag: a following -x is the next option

    def pending_refuses(self, arg: str) -> bool:
        # A long option is never the value of the previous one (--token --verbose).
        return arg.startswith("--") or (self.strict and arg.startswith("-") and len(arg) > 1)

    def program(self, word: str) -> None:
        prog = os.path.basename(word).lower()
        self.prog = prog
        self.short, self.needs = rules.SECRET_SHORT_FLAGS.get(prog, ("", ""))

    def _expect(self, then: Callable[[str], str], strict: bool = False) -> str | None:
        self.pending, self.strict = then, strict
        return None

    def arg(self, arg: str) -> str:
        r, rx = self.r, _rx()
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            special = self._short(arg)
            if special is not None:
                return special
        flag = rx.flag_arg.fullmatch(arg)
        if flag is not None:
            name, val = flag["name"], flag["val"]
            if val is None:
                if r._flag_is_secret(name):
                    self._expect(r._mark)
                elif self.prog in rules.CURL and name in rules.CURL_USER:
                    self._expect(r._user_password)
                elif self.prog in rules.SAMBA and arg in rules.SAMBA_USER_FLAGS:
                    self._expect(r._samba_user)
                return arg
            if r._flag_is_secret(name):
                return f"{flag['dash']}{name}={r._mark(val)}"
            if self.prog in rules.CURL and name in rules.CURL_USER:
                return f"{flag['dash']}{name}={r._user_password(val)}"
            if self.prog in rules.SAMBA and f"--{name}" in rules.SAMBA_USER_FLAGS:
                return f"{flag['dash']}{name}={r._samba_user(val)}"
            return f"{flag['dash']}{name}={r.value(val)}"
        pair = rx.pair_arg.fullmatch(arg)
        if pair is not None:  # env-style NAME=VALUE: the whole rest is the value
            name, val = pair["name"], pair["val"]
            return f"{name}={r._mark(val) if r.name_is_secret(name) else r.value(val)}"
        if rx.word_arg.fullmatch(arg):
            if os.path.basename(arg).lower() in rules.PROGRAMS:
                self.program(arg)
                return arg
            if self.needs and arg == self.needs:
                self.needs = ""
                return arg
            if r._names_a_secret(arg):
                # `git config user.password X`, `aws configure set aws_secret_access_key X`
                self._expect(r._mark)
                return arg
        elif "/" in arg and os.path.basename(arg).lower() in rules.PROGRAMS:
            self.program(arg)
            return arg
        return r.value(arg)

    def _short(self, arg: str) -> str | None:
        """A single-dash argument by this program's own rules, or None for the general ones."""
        r, letter, rest = self.r, arg[1], arg[2:]
        if self.prog in rules.SHELLS:
            if arg[1:].isalpha() and "c" in arg[1:]:  # -c, -lc, -ec: the next word is a script
                self._expect(r._shell_or_value, strict=True)
                return arg
            return None
        if self.prog == "openssl":
            if arg[1:] == "k":
                self._expect(r._mark, strict=True)
                return arg
            if arg[1:] in rules.OPENSSL_PASS_OPTIONS:
                self._expect(r._openssl_pass, strict=True)
                return arg
            return None
        if self.prog in rules.SAMBA and letter == "U" and rest:
            return f"-U{r._samba_user(rest)}"
        if letter in self.short and not self.needs:
            if rest:
                return f"-{letter}{r._mark(rest)}"
            self._expect(r._mark, strict=True)
            return arg
        return None


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_copy(item) for item in obj]
    return obj
