"""A good git citizen (design.md "Git citizenship"): the repository and settings found the way git
finds them, ids for scripts, pager and color by git's rules, output that fits the terminal, a manual
page and completion. Every check runs the installed console script in real repositories."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GIT_PROV, Repo, git, init_project, prov

SECRET_FREE = {"MY_PLAIN_VAR": "visible-value"}


def shown(repo: Repo, *git_args: str, env: dict[str, str] | None = None) -> str:
    """MY_PLAIN_VAR as `record --show-env` would store it, run as `git [ARGS] prov`."""
    done = subprocess.run(["git", *git_args, "prov", "record", "--show-env"], cwd=repo.path, capture_output=True,
                          env={**os.environ, **SECRET_FREE, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.decode().splitlines() if x.startswith("MY_PLAIN_VAR="))
    return line.partition("=")[2]


def git_says(repo: Repo, key: str, env: dict[str, str], *git_args: str) -> list[str]:
    done = subprocess.run(["git", *git_args, "config", "--get-all", key], cwd=repo.path, capture_output=True,
                          env={**os.environ, **env}, check=False)
    return done.stdout.decode().splitlines()


def test_a_plain_value_is_shown_plainly(repo: Repo) -> None:
    assert shown(repo) == "visible-value"


@pytest.mark.parametrize("form", ["git -c", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_GLOBAL",
                                  "GIT_CONFIG_SYSTEM", "include.path"])
def test_settings_are_read_the_way_git_reads_them(repo: Repo, tmp_path: Path, form: str) -> None:
    extra = tmp_path / "extra.gitconfig"
    extra.write_text("[prov \"redact\"]\n\tdeny = MY_PLAIN_*\n")
    args: list[str] = []
    env: dict[str, str] = {}
    if form == "git -c":
        args = ["-c", "prov.redact.deny=MY_PLAIN_*"]
    elif form == "GIT_CONFIG_COUNT":
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "prov.redact.deny", "GIT_CONFIG_VALUE_0": "MY_PLAIN_*"}
    elif form == "GIT_CONFIG_PARAMETERS":
        env = {"GIT_CONFIG_PARAMETERS": "'prov.redact.deny'='MY_PLAIN_*'"}
    elif form == "GIT_CONFIG_GLOBAL":
        env = {"GIT_CONFIG_GLOBAL": str(extra)}
    elif form == "GIT_CONFIG_SYSTEM":
        env = {"GIT_CONFIG_SYSTEM": str(extra), "GIT_CONFIG_NOSYSTEM": "0"}
    else:
        repo.git("config", "include.path", str(extra))
    assert git_says(repo, "prov.redact.deny", env, *args) == ["MY_PLAIN_*"]  # git's own answer
    assert "REDACTED" in shown(repo, *args, env=env)


def test_no_system_hides_the_system_file_as_it_does_for_git(repo: Repo, tmp_path: Path) -> None:
    system = tmp_path / "system.gitconfig"
    system.write_text("[prov \"redact\"]\n\tdeny = MY_PLAIN_*\n")
    env = {"GIT_CONFIG_SYSTEM": str(system), "GIT_CONFIG_NOSYSTEM": "1"}
    assert git_says(repo, "prov.redact.deny", env) == []
    assert shown(repo, env=env) == "visible-value"


@pytest.mark.parametrize(("raw", "redacted"), [("true", True), ("off", False), ("0", False), ("", False),
                                               ("YES", True), ("2", True), (None, True)])
def test_booleans_follow_gits_rules(repo: Repo, raw: str | None, redacted: bool) -> None:
    setting = "prov.redact.enabled" if raw is None else f"prov.redact.enabled={raw}"
    args = ["-c", setting, "-c", "prov.redact.deny=MY_PLAIN_*"]
    want = git(repo.path, *args[:2], "config", "--type=bool", "prov.redact.enabled").strip()
    assert (want == "true") == redacted
    assert ("REDACTED" in shown(repo, *args)) == redacted


@pytest.mark.parametrize(("key", "raw"), [("prov.redact.enabled", "nope"), ("prov.hashCache", "maybe"),
                                          ("prov.hashAlgorithm", "md5")])
def test_an_invalid_value_is_an_error_naming_the_key(repo: Repo, key: str, raw: str) -> None:
    result = repo.prov("record", "--", "true", env={"GIT_CONFIG_PARAMETERS": f"'{key}'='{raw}'"})
    assert result.code == 128
    assert key in result.err and raw in result.err and len(result.err.splitlines()) == 1
    assert repo.git("for-each-ref", "refs/prov").strip() == ""  # nothing recorded


def test_a_broken_config_file_is_gits_message(repo: Repo, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gitconfig"
    broken.write_text("[core\n")
    result = repo.prov("log", env={"GIT_CONFIG_GLOBAL": str(broken)})
    assert result.code == 128 and "bad config line 1" in result.err, result.err
    assert len(result.err.splitlines()) == 1


# Repository discovery: GIT_DIR, GIT_WORK_TREE, git --git-dir, git -C, git prov -C.

@pytest.fixture
def two(tmp_path: Path) -> tuple[Repo, Repo]:
    a, b = Repo(init_project(tmp_path / "a")), Repo(init_project(tmp_path / "b"))
    a.record("--name", "in-a", "--", "true")
    b.record("--name", "in-b", "--", "true")
    return a, b


def names(out: str) -> list[str]:
    return re.findall(r"\[(in-[ab])\]", out)


def test_git_dir_from_inside_another_repository_wins(two: tuple[Repo, Repo]) -> None:
    a, b = two
    assert names(b.prov("log").out) == ["in-b"]
    assert names(b.prov("log", env={"GIT_DIR": str(a.path / ".git")}).out) == ["in-a"]


@pytest.mark.parametrize("form", ["git --git-dir", "git -C", "git prov -C"])
def test_gits_own_options_choose_the_repository(two: tuple[Repo, Repo], form: str) -> None:
    a, b = two
    argv = {"git --git-dir": ["git", f"--git-dir={a.path / '.git'}", "prov", "log"],
            "git -C": ["git", "-C", str(a.path), "prov", "log"],
            "git prov -C": ["git", "prov", "-C", "..", "-C", "a", "log"]}[form]
    done = subprocess.run(argv, cwd=b.path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert names(done.stdout) == ["in-a"]


def test_a_missing_dash_c_folder_is_one_line(repo: Repo) -> None:
    result = repo.prov("-C", "nowhere", "log")
    assert result.code == 128 and "cannot change to 'nowhere'" in result.err


def test_git_work_tree_sets_the_root_paths_are_relative_to(tmp_path: Path) -> None:
    work, gitdir = tmp_path / "w", tmp_path / "store.git"
    work.mkdir()
    git(tmp_path, "init", "-q", f"--separate-git-dir={gitdir}", str(work))
    (work / ".git").unlink()  # the git dir is only reachable through GIT_DIR
    (work / "sub").mkdir()
    (work / "sub" / "f.txt").write_text("x\n")
    env = {"GIT_DIR": str(gitdir), "GIT_WORK_TREE": str(work)}
    prefix = subprocess.run(["git", "rev-parse", "--show-prefix"], cwd=work / "sub", env={**os.environ, **env},
                            capture_output=True, text=True, check=True).stdout.strip()
    assert prefix == "sub/"
    with_tree = prov(work / "sub", "record", "-q", "-i", "f.txt", "--", "true", env=env)
    assert with_tree.code == 0, with_tree.err
    # GIT_DIR alone: git takes the current folder as the top of the work tree.
    alone = prov(work / "sub", "record", "-q", "-i", "f.txt", "--", "true", env={"GIT_DIR": str(gitdir)})
    assert alone.code == 0, alone.err
    out = prov(work, "log", "--format", "%(short) %(inputs)", env=env).out.splitlines()
    assert '"path": "f.txt"' in out[0] and '"path": "sub/f.txt"' in out[1], out
    assert "core.worktree" not in (gitdir / "config").read_text()  # nothing written to the repository


# Ids for scripts.

def test_record_hands_back_the_id(repo: Repo, tmp_path: Path) -> None:
    id_file = tmp_path / "id"
    result = repo.prov("record", "--id-file", str(id_file), "--porcelain", "--", "sh", "-c", "exit 3")
    assert result.code == 3
    run_id = repo.newest()["id"]
    assert id_file.read_text() == run_id + "\n"
    assert result.err.splitlines()[-1] == f"recorded {run_id}"


# Terminal behaviour, in a real pseudo-terminal.

def in_pty(argv: list[str], cwd: Path, env: dict[str, str] | None = None, columns: int = 80,
           replace: bool = False) -> tuple[int, str]:
    """(exit status, everything written to the terminal) of argv run with a 24 x columns pty as its
    stdin, stdout and stderr."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full = {**({} if replace else os.environ), "TERM": "xterm", "COLUMNS": str(columns), **(env or {})}
    child = subprocess.Popen(argv, cwd=cwd, env=full, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return child.wait(timeout=60), b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


@pytest.fixture
def pagers(tmp_path: Path) -> Path:
    """Fake pagers `pager-a`, `pager-b` that log their name and LESS to pager.log, then pass text on."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("pager-a", "pager-b", "pager-c"):
        script = folder / name
        script.write_text(f"#!/bin/sh\necho \"{name} LESS=$LESS\" >> {tmp_path / 'pager.log'}\ncat\n")
        script.chmod(0o755)
    return folder


def paged_by(repo: Repo, pagers: Path, argv: list[str], env: dict[str, str]) -> str:
    log = pagers.parent / "pager.log"
    log.unlink(missing_ok=True)
    env = {**env, "PATH": f"{pagers}{os.pathsep}{os.environ['PATH']}"}
    code, out = in_pty(argv, repo.path, env, replace=True)
    assert code == 0, out
    return log.read_text().strip() if log.exists() else "none"


@pytest.mark.parametrize(("setup", "env", "argv", "want"), [
    ([], {"GIT_PAGER": "pager-a"}, ["log"], "pager-a LESS=FRX"),
    ([], {"GIT_PAGER": "pager-a", "LESS": "-R"}, ["log"], "pager-a LESS=-R"),
    (["core.pager=pager-b"], {}, ["log"], "pager-b LESS=FRX"),
    (["core.pager=pager-b"], {"GIT_PAGER": "pager-a"}, ["log"], "pager-a LESS=FRX"),
    (["core.pager=pager-b"], {"PAGER": "pager-c"}, ["show"], "pager-b LESS=FRX"),
    ([], {"PAGER": "pager-c"}, ["compare"], "pager-c LESS=FRX"),
    (["core.pager=pager-b", "pager.prov=pager-c"], {}, ["diff"], "pager-c LESS=FRX"),
    (["pager.prov=false"], {"GIT_PAGER": "pager-a"}, ["log"], "none"),
    ([], {"GIT_PAGER": "pager-a"}, ["--no-pager", "log"], "none"),
    ([], {"GIT_PAGER": "cat"}, ["log"], "none"),
])
def test_the_pager_is_chosen_the_way_git_chooses_it(repo: Repo, pagers: Path, setup: list[str],
                                                    env: dict[str, str], argv: list[str], want: str) -> None:
    repo.record("--", "true")
    repo.record("--", "echo", "two")
    for item in setup:
        key, _, value = item.partition("=")
        repo.git("config", key, value)
    full = {k: v for k, v in os.environ.items() if k not in ("GIT_PAGER", "PAGER")}
    assert paged_by(repo, pagers, [GIT_PROV, *argv], {**full, **env}) == want


def test_no_pager_when_not_a_terminal(repo: Repo, pagers: Path) -> None:
    repo.record("--", "true")
    result = repo.prov("log", env={"GIT_PAGER": "pager-a", "PATH": f"{pagers}{os.pathsep}{os.environ['PATH']}"})
    assert result.code == 0 and not (pagers.parent / "pager.log").exists()


ANSI = "\x1b["


@pytest.mark.parametrize(("config", "flags", "colored"), [
    ({}, [], False),
    ({}, ["--color"], True),
    ({}, ["--color=always"], True),
    ({}, ["--color", "auto"], False),
    ({"color.ui": "always"}, [], True),
    ({"color.ui": "always"}, ["--no-color"], False),
    ({"color.ui": "always"}, ["--color=never"], False),
    ({"color.ui": "always", "color.prov": "never"}, [], False),
    ({"color.ui": "never", "color.prov": "always"}, [], True),
    ({"color.ui": "true"}, [], False),  # git's true is auto: a pipe stays plain
])
@pytest.mark.parametrize("command", ["log", "show", "diff"])
def test_color_follows_gits_settings_when_piped(repo: Repo, config: dict[str, str], flags: list[str],
                                                colored: bool, command: str) -> None:
    repo.record("--", "true")
    repo.prov("record", "--", "sh", "-c", "exit 1")
    for key, value in config.items():
        repo.git("config", key, value)
    result = repo.prov(command, *flags)
    assert result.code == 0, result.err
    assert (ANSI in result.out) == colored, result.out


@pytest.mark.parametrize(("config", "colored"), [({}, True), ({"color.ui": "false"}, False),
                                                 ({"color.prov": "auto"}, True)])
def test_color_on_a_terminal(repo: Repo, config: dict[str, str], colored: bool) -> None:
    repo.record("--", "true")
    for key, value in config.items():
        repo.git("config", key, value)
    code, out = in_pty([GIT_PROV, "log"], repo.path)
    assert code == 0 and (ANSI in out) == colored, out


def test_color_under_gits_own_pager(repo: Repo, pagers: Path) -> None:
    # `git -p prov log`: git runs the pager and sets GIT_PAGER_IN_USE; auto color stays on, as for git log.
    repo.record("--", "true")
    log = pagers.parent / "pager.log"
    env = {"PATH": f"{pagers}{os.pathsep}{os.environ['PATH']}", "GIT_PAGER": "pager-a"}
    code, out = in_pty(["git", "-p", "prov", "log"], repo.path, env)
    assert code == 0 and ANSI in out, out
    assert log.read_text().splitlines() == ["pager-a LESS=FRX"]  # one pager, git's


def test_a_bad_color_setting_names_the_key(repo: Repo) -> None:
    repo.record("--", "true")
    result = repo.prov("log", env={"GIT_CONFIG_PARAMETERS": "'color.ui'='sometimes'"})
    assert result.code == 128 and "color.ui" in result.err


def test_a_closed_pipe_ends_quietly(repo: Repo) -> None:
    repo.record("--", "true")
    template = "%(id)%n" * 15000  # ~1 MB: far more than a pipe holds
    done = subprocess.run(f"{GIT_PROV} log --format '{template}' | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
                          shell=True, executable="/bin/bash", cwd=repo.path, capture_output=True, text=True,
                          check=False)
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f]{64}", lines[0]) and lines[-1] in ("status=0", "status=141"), done.stdout
    assert done.stderr == ""


# Terminal fit at 80 columns.

def visible(text: str) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line) for line in text.splitlines()]


@pytest.fixture
def varied(repo: Repo) -> Repo:
    """Runs with a long command, a name, a dirty tree, a signal and a failure, as a real history has."""
    repo.write("data/input.csv", "a,b\n" * 1000)
    repo.record("-i", "data/input.csv", "-o", "data/input.csv", "-p", "lr=0.1", "--name", "baseline", "--",
                "python3", "-c", "import sys; print('a long command line that goes on and on and on and on')")
    repo.write("train.py", "print('changed')\n")  # dirty from here on
    repo.prov("record", "--", "sh", "-c", "kill -TERM $$")
    repo.prov("record", "-p", "lr=0.2", "--", "sh", "-c", "echo " + "word " * 40 + "; exit 3")
    return repo


@pytest.mark.parametrize("argv", [["log"], ["log", "--oneline"], ["show"], ["show", "@~2"], ["diff"],
                                  ["diff", "@~2", "@"], ["compare"]])
def test_no_line_is_wider_than_the_terminal(varied: Repo, argv: list[str]) -> None:
    code, out = in_pty([GIT_PROV, *argv], varied.path, {"GIT_PAGER": "cat"})
    assert code in (0, 1), out
    too_wide = [line for line in visible(out) if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)


def test_log_columns_align_and_piped_lines_stay_whole(varied: Repo) -> None:
    code, out = in_pty([GIT_PROV, "log"], varied.path, {"GIT_PAGER": "cat"})
    lines = visible(out)
    assert code == 0 and len(lines) == 3
    # the command column starts at the same place whatever the status (`signal 15`, `exit 3`) and `+dirty`
    commands = {len(re.match(r"^(\S+\s+){6}", line).group(0)) for line in lines}  # type: ignore[union-attr]
    assert len(commands) == 1, lines
    assert any(line.endswith("…") for line in lines)
    piped = varied.prov("log").out.splitlines()
    assert any(len(line) > 80 and "word " * 40 in line for line in piped)


def test_show_is_short_unless_asked(varied: Repo) -> None:
    text = varied.prov("show", "baseline@").out
    record = json_record(varied, "baseline@")
    digest = record["inputs"][0]["digest"]
    assert digest not in text and digest[:19] in text  # sha256: + 12 hex
    assert "3.9 KiB" in text  # 4000 bytes
    full = varied.prov("show", "--full", "baseline@").out
    assert digest in full and "4000 B" in full
    assert digest in varied.prov("show", "--json", "baseline@").out


def json_record(repo: Repo, spec: str) -> dict[str, Any]:
    import json

    out: dict[str, Any] = json.loads(repo.prov("show", "--json", spec).out)
    return out


@pytest.mark.parametrize(("mode", "pattern"), [
    ("iso", r"2\d{3}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"),
    ("iso-strict", r"2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    ("relative", r"\d+ seconds? ago|\d+ minutes? ago"),
    ("short", r"2\d{3}-\d\d-\d\d"),
    ("unix", r"\d{10}"),
    ("local", r"2\d{3}-\d\d-\d\d \d\d:\d\d:\d\d"),
    ("format:%Y/%m", r"2\d{3}/\d\d"),
])
def test_dates_as_git_shows_them(repo: Repo, mode: str, pattern: str) -> None:
    repo.record("--", "true")
    flag = repo.prov("log", "--format", "%(date)", f"--date={mode}")
    assert flag.code == 0 and re.fullmatch(pattern, flag.out.strip()), flag.out
    repo.git("config", "log.date", mode)
    configured = repo.prov("log", "--format", "%(date)")
    assert re.fullmatch(pattern, configured.out.strip()), configured.out


def test_local_dates_follow_tz(repo: Repo) -> None:
    repo.record("--", "true")
    utc = repo.prov("log", "--date=local", "--format", "%(date)", env={"TZ": "UTC"}).out
    east = repo.prov("log", "--date=local", "--format", "%(date)", env={"TZ": "Asia/Kolkata"}).out
    assert utc != east and utc[14:16] != east[14:16]  # +05:30 moves the minutes


def test_a_bad_date_mode_is_named(repo: Repo) -> None:
    repo.record("--", "true")
    assert repo.prov("log", "--date=sometime").code == 2
    bad = repo.prov("log", env={"GIT_CONFIG_PARAMETERS": "'log.date'='sometime'"})
    assert bad.code == 128 and "log.date" in bad.err


def test_log_format_placeholders(repo: Repo) -> None:
    run = repo.record("-p", "lr=0.5", "-p", "model.depth=3", "--name", "fit", "--", "true")
    out = repo.prov("log", "--format", "%H|%h|%(name)|%(status)|%(params.lr)|%(params.model.depth)|"
                    "%(metrics.none)|%(commit)|%(command)|100%%").out.strip()
    assert out == f"{run['id']}|{run['id'][:12]}|fit|exit 0|0.5|3||{run['git']['commit'][:10]}|true|100%"
    oneline = repo.prov("log", "--oneline").out.strip()
    assert oneline == f"{run['id'][:12]} exit 0    fit"


def test_the_progress_bar_fits_the_terminal() -> None:
    import fcntl
    import pty
    import struct
    import termios

    from prov_git.capture import hashing

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with os.fdopen(slave, "w") as stream:
        bar = hashing.Progress(1023 * 1024**3, stream=stream, delay=0)
        bar.advance(1000 * 1024**3)
        bar.finish()
    drawn = os.read(master, 65536).decode()
    os.close(master)
    line = visible(drawn.split("\r")[1])[0]
    assert "hashing [" in line and len(line) <= 80, line


# The manual, help and completion.

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(GIT_PROV).parent


def test_the_manual_page_is_what_the_code_says() -> None:
    done = subprocess.run([str(VENV_BIN / "python"), str(ROOT / "tools" / "manpage.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    page = (ROOT / "man" / "git-prov.1").read_text()
    for needed in (".SH EXIT STATUS", ".SH SETTINGS", ".SH EXAMPLES", "prov.redact.deny", "\\-\\-id\\-file"):
        assert needed in page


@pytest.mark.parametrize("argv", [["git", "help", "prov"], ["git", "prov", "--help"]])
def test_git_shows_the_installed_manual(repo: Repo, argv: list[str]) -> None:
    if not (VENV_BIN.parent / "share" / "man" / "man1" / "git-prov.1").exists():
        pytest.fail("the venv has no share/man/man1/git-prov.1: reinstall with pip install -e .")
    env = {**os.environ, "MANPAGER": "cat", "MANWIDTH": "80", "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MANPATH", None)
    done = subprocess.run(argv, cwd=repo.path, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "git-prov - record what went into a run" in done.stdout
    assert "EXIT STATUS" in done.stdout and "git prov diff" in done.stdout


def test_help_for_one_command(repo: Repo) -> None:
    result = repo.prov("help", "diff")
    assert result.code == 0 and "Usage: git prov diff" in result.out and "--exit-code" in result.out
    assert repo.prov("diff", "-h").out == result.out
    assert repo.prov("help", "nope").code == 2
    assert "completion" in repo.prov("help").out


GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")


def complete(repo: Repo, line: str) -> tuple[list[str], str, str]:
    """(candidates, `complete -p git` before, after) for line typed in bash with git's completion and ours."""
    if not GIT_COMPLETION.exists():
        pytest.skip("git's bash completion is not installed (apt-get install bash-completion)")
    script = repo.prov("completion", "bash").out
    (repo.path.parent / "prov.bash").write_text(script)
    words = line.split(" ")
    program = f"""
source {GIT_COMPLETION}
before="$(complete -p git)"
source {repo.path.parent / 'prov.bash'}
after="$(complete -p git)"
COMP_WORDS=({' '.join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT=${{#COMP_LINE}}
__git_wrap__git_main
printf '%s\\n' "$before" "$after" "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=repo.path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    before, after, *candidates = done.stdout.splitlines()
    return [c.strip() for c in candidates], before, after


def test_bash_completion_extends_gits_own(repo: Repo) -> None:
    candidates, before, after = complete(repo, "git prov di")
    assert candidates == ["diff"]
    assert before == after and "__git_wrap__git_main" in after


def test_bash_completion_knows_options_runs_names_and_remotes(repo: Repo, tmp_path: Path) -> None:
    run = repo.record("--name", "fit", "--", "true")
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    repo.git("remote", "add", "origin", str(tmp_path / "remote.git"))
    assert "--oneline" in complete(repo, "git prov log --one")[0]
    assert complete(repo, "git prov show fi")[0] == ["fit@"]
    assert complete(repo, f"git prov diff {run['id'][:6]}")[0] == [run["id"][:12]]
    assert complete(repo, "git prov push or")[0] == ["origin"]
    assert {"stash", "status"} <= set(complete(repo, "git st")[0])  # git's own completion still works


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(repo: Repo, shell: str) -> None:
    result = repo.prov("completion", shell)
    assert result.code == 0 and "record" in result.out and "--oneline" in result.out.replace("-l oneline", "--oneline")


# One settings table.

def test_every_prov_key_in_the_code_is_a_known_setting() -> None:
    from prov_git import settings

    used = set()
    for path in (ROOT / "prov_git").rglob("*.py"):
        used |= set(re.findall(r"[\"'](prov\.[A-Za-z]+(?:\.[A-Za-z]+)*)[\"']", path.read_text()))
    unknown = {key for key in used if key.lower() not in settings.BY_NAME}
    assert not unknown, f"add these to prov_git/settings.py: {sorted(unknown)}"


def test_the_readme_settings_table_is_generated_from_the_settings_module() -> None:
    from prov_git import settings

    assert settings.readme_table() in (ROOT / "README.md").read_text()
