"""Write man/git-prov.1 from the click commands and prov_git/settings.py, so the manual cannot drift
from the program (tests/test_citizen.py runs `--check`). The wheel installs the page into
share/man/man1, where `man git-prov`, `git help prov` and `git prov --help` find it.

    python tools/manpage.py           # rewrite man/git-prov.1
    python tools/manpage.py --check   # exit 1 when the committed page is not what the code says
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "man" / "git-prov.1"
sys.path.insert(0, str(ROOT))

from prov_git import __version__, settings  # noqa: E402
from prov_git.cli import cli  # noqa: E402

EXIT_STATUS = [
    ("0", "success"),
    ("1", "diff --exit-code: the runs differ; verify: a check failed; rerun --check: an output differs"),
    ("2", "malformed command line"),
    ("127", "record: the command could not be started (nothing recorded)"),
    ("128", "fatal: unknown or ambiguous run, missing input, not a repository, invalid setting, corrupt record"),
    ("the command's", "record exits with the recorded command's status (128+N for signal N)"),
]
GIT_SETTINGS = [
    ("color.ui, color.prov", "always, never, auto (git's true is auto); color.prov wins; --color[=WHEN] over both"),
    ("core.pager, pager.prov", "the pager of log, show, diff and compare on a terminal (GIT_PAGER first; "
                               "pager.prov=false: none); LESS=FRX unless LESS is set"),
    ("log.date", "the default of log --date"),
    ("user.name, user.email", "the author of the commits on refs/prov/runs"),
]
ENVIRONMENT = [
    ("GIT_DIR, GIT_WORK_TREE", "the repository and work tree, as for git (also git --git-dir, git -C, git prov -C)"),
    ("GIT_CONFIG_PARAMETERS, GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n, GIT_CONFIG_VALUE_n",
     "settings given on the command line (git -c KEY=VALUE prov ...)"),
    ("GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM, GIT_CONFIG_NOSYSTEM", "which settings files git reads"),
    ("GIT_PAGER, PAGER, LESS", "the pager and its options"),
    ("NO_COLOR, TERM=dumb", "no color unless asked for with --color"),
    ("PROV_DEBUG=1", "show the traceback of an error"),
]
EXAMPLES = [
    ("Record a training run with its inputs, parameters, outputs and metrics:",
     "git prov record \\-i data/ \\-p lr=0.1 \\-o model.pkl \\-m metrics.json \\-\\- python train.py"),
    ("What changed between the last two runs:", "git prov diff"),
    ("The id of a run, for a script:", "git prov record \\-\\-id\\-file id.txt \\-\\- make; cat id.txt"),
    ("Runs of a sweep, best first:", "git prov compare \\-\\-sort \\-metrics.acc"),
    ("Share the runs through a remote:", "git prov sync origin"),
]


def roff(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, no line starting with a control character."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in out.split("\n"))


def command_section(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [".SS " + roff(f"git prov {name} {usage}".rstrip()), roff(command.help or "").strip() or "."]
    if isinstance(command, click.Group):
        for sub in command.list_commands(ctx):
            subcommand = command.get_command(ctx, sub)
            if subcommand is not None:
                lines += [".TP", f".B {roff(sub)}", roff(subcommand.get_short_help_str(200))]
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or "--help" in record[0]:
            continue
        lines += [".TP", f".B {roff(record[0])}", roff(record[1])]
    return lines


def render() -> str:
    root = click.Context(cli, info_name="git prov")
    lines = [
        f'.TH GIT\\-PROV 1 "" "git prov {__version__}" "Git Manual"',
        ".SH NAME", "git\\-prov \\- record what went into a run and what came out; diff two runs",
        ".SH SYNOPSIS",
        ".B git prov", "[\\-C \\fIPATH\\fR] [\\-\\-no\\-pager] \\fICOMMAND\\fR [\\fIARGS\\fR]",
        ".SH DESCRIPTION",
        roff("git prov records how a result was produced, inside the git repository that produced it: the "
             "command, the digests of its inputs and outputs, parameters, metrics, the commit (and a snapshot "
             "of a dirty tree), the environment and the exit status, as a JSON record on refs/prov/runs. "
             "Runs are named by a full id, a unique prefix of 4+ characters, @ (the newest), @~N, NAME@ or "
             "NAME@~N. `git prov help COMMAND` or `git prov COMMAND -h` shows a command's help."),
        ".SH OPTIONS",
    ]
    for param in cli.get_params(root):
        record = param.get_help_record(root)
        if record is not None:
            lines += [".TP", f".B {roff(record[0])}", roff(record[1])]
    lines.append(".SH COMMANDS")
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is not None:
            lines += command_section(name, command, root)
    lines += [".SH SETTINGS", roff("Read with git's own rules (git config, git -c); booleans and integers "
                                   "as git parses them; an invalid value is an error naming the key.")]
    for s in settings.SETTINGS:
        default = s.shown_default.replace("`", "")
        lines += [".TP", f".B {roff(s.name)}", roff(f"{s.doc.replace('`', '')} (default: {default})")]
    for key, meaning in GIT_SETTINGS:
        lines += [".TP", f".B {roff(key)}", roff(meaning)]
    lines.append(".SH EXIT STATUS")
    for status, meaning in EXIT_STATUS:
        lines += [".TP", f".B {roff(status)}", roff(meaning)]
    lines.append(".SH ENVIRONMENT")
    for name, meaning in ENVIRONMENT:
        lines += [".TP", f".B {roff(name)}", roff(meaning)]
    lines.append(".SH EXAMPLES")
    for what, example in EXAMPLES:
        lines += [roff(what), ".PP", ".RS 4", ".nf", example, ".fi", ".RE", ".PP"]
    lines += [".SH SEE ALSO", "\\fBgit\\fR(1), \\fBgit\\-config\\fR(1), \\fBgit\\-push\\fR(1)", ""]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python tools/manpage.py", file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
