"""Subcommands beyond record/log/show/mirror, one module each; every module here is registered.

A module defines click commands with `@cli.command(...)` (from prov_git.cli import cli) and keeps
its library imports inside the command functions, so `git prov record` never pays for them.
"""
