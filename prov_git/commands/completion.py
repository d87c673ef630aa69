"""`git prov completion bash|zsh|fish`: a completion script built from the command table, so it
knows every subcommand and option. The bash script only defines `_git_prov`, the function git's own
completion calls for `git prov ...`; it never replaces `complete -p git`."""

from __future__ import annotations

import click

from prov_git.commands._options import CONTEXT

# Subcommands whose arguments are runs, and those whose argument is a remote.
TAKES_RUNS = ("show", "diff", "verify", "compare", "rerun", "forget", "lineage")
TAKES_REMOTE = ("fetch", "push", "sync")


def _table(ctx: click.Context) -> dict[str, tuple[str, list[str]]]:
    """name -> (one-line help, its long and short options, or for a group its subcommands)."""
    root = ctx.find_root()
    group = root.command
    assert isinstance(group, click.Group)
    found: dict[str, tuple[str, list[str]]] = {}
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        if command is None:
            continue
        options = [opt for param in command.params if isinstance(param, click.Option)
                   for opt in (*param.opts, *param.secondary_opts)]
        if isinstance(command, click.Group):
            options = command.list_commands(root)
        found[name] = (command.get_short_help_str(60), sorted(set(options)))
    return found


def bash(table: dict[str, tuple[str, list[str]]]) -> str:
    cases = "\n".join(f"\t{name}) opts=\"{' '.join([*opts, '--help'])}\" ;;" for name, (_, opts) in table.items())
    groups = "\n".join(f"\t{name}) __gitcomp \"{' '.join(opts)}\" ;;" for name, (_, opts) in table.items()
                       if opts and not opts[0].startswith("-"))
    return f'''# git prov completion for bash: source it after git's own completion, e.g. in ~/.bashrc
#   source <(git prov completion bash)
# It defines _git_prov, which git's completion calls for `git prov ...`.
_git_prov_runs ()
{{
\tgit prov log --format='%(short)' 2>/dev/null
\tgit prov log --format='%(name)' 2>/dev/null | awk 'NF && !seen[$0]++ {{ print $0 "@" }}'
\tprintf '%s\\n' @ @~1 @~2
}}

_git_prov ()
{{
\tlocal subcommands="{' '.join(table)}"
\tlocal subcommand
\tsubcommand="$(__git_find_on_cmdline "$subcommands")"
\tif [ -z "$subcommand" ]; then
\t\tcase "$cur" in
\t\t-*) __gitcomp "-C --no-pager --help --version" ;;
\t\t*) __gitcomp "$subcommands" ;;
\t\tesac
\t\treturn
\tfi
\tlocal opts=""
\tcase "$subcommand" in
{cases}
\tesac
\tcase "$cur" in
\t-*) __gitcomp "$opts"; return ;;
\tesac
\tcase "$subcommand" in
\t{'|'.join(TAKES_REMOTE)}) __gitcomp_nl "$(__git_remotes)" ;;
\t{'|'.join(TAKES_RUNS)}) __gitcomp_nl "$(_git_prov_runs)" ;;
\trecord) ;;
{groups}
\tcompletion) __gitcomp "bash zsh fish" ;;
\thelp) __gitcomp "$subcommands" ;;
\tesac
}}

# `git-prov ...` typed directly gets the same, through git's helper (when git's completion is loaded).
if declare -F __git_complete >/dev/null 2>&1; then
\t__git_complete git-prov _git_prov
fi
'''


def zsh(table: dict[str, tuple[str, list[str]]]) -> str:
    described = "\n".join(f"    '{name}:{help.replace(chr(39), '')}'" for name, (help, _) in table.items())
    cases = "\n".join(f"    {name}) _arguments '*:argument:_files' {' '.join(repr(o) for o in opts)} ;;"
                      for name, (_, opts) in table.items())
    return f'''#compdef git-prov
# git prov completion for zsh: git's _git calls _git-prov for `git prov ...`.
#   git prov completion zsh > "${{fpath[1]}}/_git-prov"
_git-prov () {{
  local -a subcommands
  subcommands=(
{described}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'git prov command' subcommands
    return
  fi
  case $words[2] in
{cases}
  esac
}}
compdef _git-prov git-prov
'''


def fish(table: dict[str, tuple[str, list[str]]]) -> str:
    names = " ".join(table)
    lines = ["# git prov completion for fish: git prov completion fish > ~/.config/fish/completions/git-prov.fish",
             f"complete -c git -f -n '__fish_seen_subcommand_from prov; and not __fish_seen_subcommand_from {names}'"
             f" -a '{names}'"]
    for name, (help, opts) in table.items():
        condition = f"__fish_seen_subcommand_from prov; and __fish_seen_subcommand_from {name}"
        for opt in opts:
            if opt.startswith("--"):
                lines.append(f"complete -c git -n '{condition}' -l {opt[2:]}")
            elif opt.startswith("-"):
                lines.append(f"complete -c git -n '{condition}' -s {opt[1:]}")
        lines.append(f"complete -c git -f -n '__fish_seen_subcommand_from prov; and not __fish_seen_subcommand_from "
                     f"{names}' -a {name} -d '{help.replace(chr(39), '')}'")
    return "\n".join(lines) + "\n"


@click.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> int:
    """Print a completion script for SHELL (bash: source it after git's completion)."""
    click.echo({"bash": bash, "zsh": zsh, "fish": fish}[shell](_table(ctx)), nl=False)
    return 0
