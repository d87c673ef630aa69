"""Every `prov.*` setting in one table (name, type, default, meaning), and git's rules for reading a
value: booleans and integers parse exactly as `git config --type=bool|int` does, and a value git
would refuse is an error naming the key. The README's settings table is generated from SETTINGS
(tests/test_citizen.py checks it); the raw values come from store/repo.py, which asks git."""

from __future__ import annotations

from typing import NamedTuple, Union

from prov_git.errors import ConfigError

Value = Union[bool, int, str, list[str], None]  # noqa: UP007 (evaluated at run time on 3.10)


class Setting(NamedTuple):
    name: str
    kind: str  # "bool", "int", "str", "list" (multi-valued), or "a|b|c" (one of these, any case)
    default: Value
    shown_default: str  # the README's default column
    doc: str


SETTINGS: tuple[Setting, ...] = (
    Setting("prov.hashAlgorithm", "sha256|blake3", "sha256", "`sha256`",
            "or `blake3` (`pip install 'git-prov[blake3]'`)"),
    Setting("prov.hashCache", "bool", True, "`true`",
            "reuse digests of unchanged files (`.git/prov/hashcache-*`, keyed by size, mtime, ctime, inode)"),
    Setting("prov.env.include", "list", [], "all",
            "glob patterns (multi-valued) of the environment variables to record"),
    Setting("prov.env.exclude", "list", [], "none",
            "glob patterns (multi-valued) of environment variables never recorded"),
    Setting("prov.redact.enabled", "bool", True, "`true`",
            "redaction of credentials in env, argv and params"),
    Setting("prov.redact.allow", "list", [], "none",
            "glob patterns of names exempted from redaction"),
    Setting("prov.redact.deny", "list", [], "none",
            "glob patterns of names always redacted"),
    Setting("prov.remote", "str", None, "upstream, else `origin`",
            "default remote of push/fetch/sync"),
    Setting("prov.diff.ignore", "list", [], "timings, `PWD`, `SHLVL`, terminal/session vars",
            "glob patterns over paths like `params.seed` or `env.vars.X` that never make runs differ (a "
            "pattern without `/` also matches a file name or last key alone: `residuals.png`; `diff` names "
            "what they ignored); `!pattern` un-ignores"),
    Setting("prov.sign", "bool", None, "`commit.gpgSign`",
            "sign run and merge commits on `refs/prov/runs` as git signs commits"),
    Setting("prov.fetch.requireSigned", "bool", False, "`false`",
            "refuse fetched runs not signed by a trusted key"),
)
BY_NAME = {s.name.lower(): s for s in SETTINGS}

_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off", "")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_bool(key: str, raw: str | None) -> bool:
    """git's boolean: a key without `=` is true; true/yes/on, false/no/off/empty, or an integer."""
    if raw is None:
        return True
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    try:
        return _parse_int(raw) != 0
    except ValueError:
        raise ConfigError(f"bad boolean config value '{raw}' for '{key}'") from None


def parse_int(key: str, raw: str | None) -> int:
    """git's integer: decimal (or 0x/0 prefixed), with an optional k, m or g unit."""
    try:
        if raw is None:
            raise ValueError
        return _parse_int(raw)
    except ValueError:
        raise ConfigError(f"bad numeric config value '{raw}' for '{key}': invalid unit") from None


def _parse_int(raw: str) -> int:
    text = raw.strip()
    unit = text[-1:].lower() if text[-1:].lower() in _UNITS else ""
    number = text[: len(text) - len(unit)]
    if not number or number.strip() != number:
        raise ValueError(raw)
    return int(number, 0) * _UNITS[unit]


def value(name: str, values: list[str | None]) -> Value:
    """The typed value of the prov.* setting name, from its raw values in git's order."""
    setting = BY_NAME.get(name.lower())
    if setting is None:
        raise KeyError(f"{name} is not a git prov setting (add it to prov_git/settings.py)")
    if setting.kind == "list":
        return ["" if v is None else v for v in values]
    if not values:
        return setting.default
    raw = values[-1]
    if setting.kind == "bool":
        return parse_bool(setting.name, raw)
    if setting.kind == "int":
        return parse_int(setting.name, raw)
    if raw is None:
        raise ConfigError(f"missing value for '{setting.name}'")
    if "|" in setting.kind:
        choices = setting.kind.split("|")
        if raw.lower() not in choices:
            raise ConfigError(f"bad config value '{raw}' for '{setting.name}': one of {', '.join(choices)}")
        return raw.lower()
    return raw


def color_choice(key: str, raw: str | None) -> bool | None:
    """color.ui / color.prov: always -> True, never -> False, auto (and git's true) -> None."""
    if raw is None:
        return None
    word = raw.strip().lower()
    if word == "always":
        return True
    if word == "never":
        return False
    if word == "auto":
        return None
    return None if parse_bool(key, raw) else False


def pager_choice(key: str, raw: str | None) -> bool | str:
    """pager.prov: a boolean (page or not) or a pager command of its own."""
    if raw is None:
        return True
    try:
        return parse_bool(key, raw)
    except ConfigError:
        return raw


def readme_table() -> str:
    """The README's settings table, generated so the two cannot drift."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.shown_default} | {s.doc} |" for s in SETTINGS]
    return "\n".join(rows)
