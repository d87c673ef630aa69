"""Hermetic test set-up: every test gets its own HOME, git identity, config and a fresh repository."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import GIT_PROV, Repo, git, init_project


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
                 "NO_COLOR", "PAGER", "LESS", *(n for n in os.environ if n.startswith("PROV_"))):
        monkeypatch.delenv(name, raising=False)
    # Never a prompt for credentials, never a pager: a test that would wait on a terminal fails instead.
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("GIT_PAGER", "cat")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Prov Tester\n\temail = tester@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[protocol \"file\"]\n\tallow = always\n"
    )
    # git-prov and git must be on PATH for `git prov` and hooks.
    monkeypatch.setenv("PATH", str(Path(GIT_PROV).parent) + os.pathsep + os.environ["PATH"])
    for var, value in (("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
                       ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")):
        monkeypatch.setenv(var, value)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    yield Repo(init_project(tmp_path / "work"))


@pytest.fixture
def empty_repo(tmp_path: Path) -> Repo:
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q")
    return Repo(path)


def pytest_configure(config: pytest.Config) -> None:
    if not Path(GIT_PROV).exists():
        raise pytest.UsageError(f"{GIT_PROV} missing: pip install -e '.[test]' first")
