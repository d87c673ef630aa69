"""Readable change paths (`model.depth`, `env.vars.PATH`, `argv[2]`) and the noise filter.

Noise: values that differ between runs by nature, so they never make two runs differ on their
own. A pattern is a glob (fnmatch, case-sensitive) over the section-qualified path
`<section>.<path>`: `env.vars.PWD`, `params.seed`, `outputs.logs/*`, `code.notebooks/*`.
`git config --add prov.diff.ignore GLOB` adds patterns; `!GLOB` un-ignores (wins over every
ignore pattern, the defaults included), e.g. `!env.vars.DISPLAY`.

A pattern without a `/` also matches the last component alone, as in .gitignore: the file name of
an input or output (`residuals.png` matches `outputs.results/residuals.png`) or the last key of a
structured path (`seed` matches `params.train.seed`).

A key that is not plain (a dot, a space, a quote...) is quoted with backticks in paths, the same
way as in show and the query language: ``params.`axes.labelsize` `` is one key holding a dot,
`params.axes.labelsize` is `labelsize` inside `axes`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Shell bookkeeping, terminal and login-session identity: they change with every shell or
# window, not with what the command computes. DISPLAY is here too: which X display a run saw
# names a session, not a configuration.
DEFAULT_IGNORE = (
    "env.vars.PWD", "env.vars.OLDPWD", "env.vars.SHLVL", "env.vars._",
    "env.vars.TERM_SESSION_ID", "env.vars.SSH_*", "env.vars.WINDOWID", "env.vars.DISPLAY",
    "env.vars.XAUTHORITY", "env.vars.XDG_SESSION_ID", "env.vars.XDG_VTNR", "env.vars.GPG_TTY",
    "env.vars.TMUX", "env.vars.TMUX_PANE", "env.vars.STY", "env.vars.WINDOW",
    "env.vars.ITERM_SESSION_ID", "env.vars.KITTY_WINDOW_ID", "env.vars.KITTY_PID",
    "env.vars.WEZTERM_PANE", "env.vars.ALACRITTY_WINDOW_ID", "env.vars.WT_SESSION",
    "env.vars.GNOME_TERMINAL_SCREEN", "env.vars.KONSOLE_DBUS_*", "env.vars.SECURITYSESSIONID",
    "env.vars.Apple_PubSub_Socket_Render", "env.vars.VSCODE_IPC_HOOK*", "env.vars.VSCODE_GIT_IPC_HANDLE",
    "env.vars.INVOCATION_ID", "env.vars.JOURNAL_STREAM", "env.vars.COLUMNS", "env.vars.LINES",
    "env.vars.DBUS_SESSION_BUS_ADDRESS",
)

_FILE_SECTIONS = ("code.", "inputs.", "outputs.")
_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")

Part = str | int


def key(part: str) -> str:
    """One key as a path segment: plain as is, anything else in backticks (a backtick doubled)."""
    return part if _PLAIN.match(part) else "`" + part.replace("`", "``") + "`"


def readable(parts: Iterable[Part]) -> str:
    """["model", "depth"] -> model.depth; ["argv", 2] -> argv[2]; odd keys -> a.`b.c`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{key(part)}" if out else key(part)
    return out


@dataclass(frozen=True)
class Noise:
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    keep: tuple[str, ...] = ()

    def ignores(self, qualified: str, last: str | None = None) -> bool:
        """Whether the section-qualified path is noise; last is its last component (a key; for a
        file path it is the file name, found here), which a pattern without `/` may match alone."""
        if last is None and qualified.startswith(_FILE_SECTIONS):
            last = qualified.split(".", 1)[1].rsplit("/", 1)[-1]
        if any(_matches(qualified, last, p) for p in self.keep):
            return False
        return any(_matches(qualified, last, p) for p in self.ignore)


def _matches(qualified: str, last: str | None, pattern: str) -> bool:
    if fnmatch.fnmatchcase(qualified, pattern):
        return True
    return last is not None and "/" not in pattern and fnmatch.fnmatchcase(last, pattern)


NONE = Noise(ignore=(), keep=())


def noise_from_config(values: Sequence[str]) -> Noise:
    """The defaults plus prov.diff.ignore values (a leading ! un-ignores)."""
    keep = tuple(v[1:] for v in values if v.startswith("!") and len(v) > 1)
    extra = tuple(v for v in values if v and not v.startswith("!"))
    return Noise(ignore=DEFAULT_IGNORE + extra, keep=keep)
