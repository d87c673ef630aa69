"""One exception hierarchy; the CLI turns it into one line on stderr and an exit status."""

from __future__ import annotations

FATAL = 128
USAGE = 2


class ProvError(Exception):
    """Root of every error git prov reports to a user. The message is one line and says what to do."""

    exit_code: int = FATAL


class UsageError(ProvError):
    """The command line is malformed."""

    exit_code = USAGE


class ConfigError(ProvError):
    """A setting git prov reads has a value git would refuse (the message names the key)."""


class NotARepository(ProvError):
    pass


class NoWorkTree(ProvError):
    pass


class RunNotFound(ProvError):
    pass


class AmbiguousRun(ProvError):
    pass


class CorruptRecord(ProvError):
    """A stored record does not parse, does not match the schema, or does not match its id."""


class InvalidRecord(CorruptRecord):
    """A record fails schema validation (raised by prov_git.records.schema)."""


class InputError(ProvError):
    """An input, output or params path is missing, unreadable, of an odd type or outside the repo."""


class ParamsError(ProvError):
    """A -p value or a params/metrics file is malformed."""


class StoreError(ProvError):
    """refs/prov/runs could not be updated (lock held, too many concurrent writers)."""


class SnapshotRace(StoreError):
    """The work tree changed as it was snapshotted, or a concurrent prune deleted the snapshot before
    it was held: another try may succeed (unlike a conflicted or unreadable index)."""


class RunPending(StoreError):
    """The command ran; its record could not go into refs/prov/runs and waits under .git/prov/pending/
    for `git prov recover`."""


class RemoteError(ProvError):
    """A remote could not be reached or refused a push or sent data we reject."""


class CommandNotFound(ProvError):
    """The command to record could not be started: 127, as a shell says for a command not found."""

    exit_code = 127


class MissingCommit(ProvError):
    """A commit a run recorded is not in this repository, so its code cannot be compared."""


class RefusedData(RemoteError):
    """Data fetched from a remote breaks the store's rules (layout, names, modes, sizes, schema, ids)."""


class RunConflict(RemoteError):
    """One run id holds different content here and on a remote: tampering, never merged silently."""

    def __init__(self, message: str, run_ids: list[str]) -> None:
        super().__init__(message)
        self.run_ids = run_ids


class NotReplayable(ProvError):
    """A run cannot be rerun as recorded: a redacted argument, or inputs that changed or vanished."""


class NotAttestable(ProvError):
    """A run cannot be attested or exported as asked (a failed run, a file that changed), or an envelope
    given to check is not one."""
