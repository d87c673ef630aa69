"""One module per subcommand, listed in prov_git.cli.COMMANDS.

A module defines a click command (`@click.command`), keeps its library imports inside the function
(so `git prov record` never pays for them), calls one function of prov_git.app, renders what it
returns, and returns its exit status as an int. Errors are raised, never printed: cli turns them
into one line and a status.
"""
