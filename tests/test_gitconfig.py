"""git's settings read ahead (store/gitconfig.read_ahead): `record` starts `git config` before it
loads pygit2, and must end up with exactly the settings a fresh read gives, of the repository it
opened, never of the one it guessed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from prov_git.store import gitconfig
from tests.helpers import Repo, git, init_project


@pytest.fixture
def inside(tmp_path: Path) -> Iterator[None]:
    before = os.getcwd()
    yield
    os.chdir(before)
    gitconfig._ahead = None


def test_a_record_from_a_subfolder_uses_the_settings_of_its_repository(repo: Repo) -> None:
    repo.git("config", "prov.redact.deny", "MY_PLAIN_*")
    (repo.path / "deep" / "er").mkdir(parents=True)
    done = repo.prov("-C", "deep/er", "record", "--", "true", env={"MY_PLAIN_VALUE": "visible"})
    assert done.code == 0, done.err
    assert "visible" not in repo.newest()["env"]["vars"]["MY_PLAIN_VALUE"]


def test_a_record_in_a_linked_worktree_reads_its_settings_without_a_guess(repo: Repo, tmp_path: Path) -> None:
    repo.git("config", "prov.redact.deny", "MY_PLAIN_*")
    repo.git("worktree", "add", "-q", str(tmp_path / "linked"))
    done = Repo(tmp_path / "linked").prov("record", "--", "true", env={"MY_PLAIN_VALUE": "visible"})
    assert done.code == 0, done.err
    assert "visible" not in repo.newest()["env"]["vars"]["MY_PLAIN_VALUE"]


def test_the_settings_read_ahead_are_what_a_fresh_read_gives(repo: Repo, inside: None) -> None:
    repo.git("config", "prov.env.exclude", "A_*")
    repo.git("config", "--add", "prov.env.exclude", "B_*")
    (repo.path / "sub").mkdir()
    os.chdir(repo.path / "sub")
    gitconfig.read_ahead()
    assert gitconfig._ahead is not None
    ahead = gitconfig.read_config(repo.path / ".git")
    assert gitconfig._ahead is None  # taken
    assert ahead == gitconfig.read_config(repo.path / ".git")
    assert ahead["prov.env.exclude"] == ["A_*", "B_*"]


def test_a_guess_that_missed_is_not_used(tmp_path: Path, inside: None) -> None:
    guessed, opened = init_project(tmp_path / "guessed"), init_project(tmp_path / "opened")
    git(guessed, "config", "prov.hashAlgorithm", "blake3")
    os.chdir(guessed)
    gitconfig.read_ahead()
    assert gitconfig._ahead is not None
    pid = gitconfig._ahead[3].pid
    found = gitconfig.read_config(opened / ".git")
    assert "prov.hashalgorithm" not in found
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # the guessed read was reaped


def test_a_changed_environment_is_read_again(repo: Repo, inside: None, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chdir(repo.path)
    gitconfig.read_ahead()
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'prov.hashalgorithm'='blake3'")
    assert gitconfig.read_config(repo.path / ".git")["prov.hashalgorithm"] == ["blake3"]


@pytest.mark.parametrize("variable", ["GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES"])
def test_nothing_is_guessed_when_git_would_not_walk_up(repo: Repo, inside: None, variable: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    os.chdir(repo.path)
    monkeypatch.setenv(variable, str(repo.path / ".git"))
    gitconfig.read_ahead()
    assert gitconfig._ahead is None
