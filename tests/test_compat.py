"""Compatibility across schema versions (docs/format.md "Compatibility"), end to end in real repositories.

A record of a newer version than this release knows, planted on a bare remote with plain pygit2 the
way a newer git prov would store it, is fetched, listed, shown byte for byte, diffed and verified. A
record that claims a version we know must match it exactly: with one unknown field it is refused by
fetch and reported by verify. A version 1 record written by git prov 0.1 (tests/data/run.v1.json)
keeps reading and diffs against a version 2 one.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Repo, Result, git, plant_run, record_id, stored_form

REF = "refs/prov/runs"
V1_RECORD = Path(__file__).parent / "data" / "run.v1.json"  # `git prov record` of git prov 0.1.0
V1_COMMIT = "1961a27a71d61ce4f5d54b420519ba05b9381c71"  # the commit it recorded: init_project's, dates pinned
FUTURE = 99


def bare_remote(repo: Repo, tmp_path: Path) -> Path:
    """A bare `origin` holding the project's main branch (so runs on it can pin its commits)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", bare.name)
    repo.git("remote", "add", "origin", bare.as_uri())
    repo.git("push", "-q", "origin", "main")
    return bare


def local_run(repo: Repo, lr: str = "0.1") -> dict[str, Any]:
    return repo.record("-q", "-p", f"lr={lr}", "-o", "out.txt", "--", "sh", "-c", "echo 1 > out.txt")


def later(stamp: str, seconds: int) -> str:
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_the_future(base: dict[str, Any]) -> dict[str, Any]:
    """base as a newer git prov would write it: new fields at the top, in a section and in an entry."""
    record = copy.deepcopy(base)
    record["schema_version"] = FUTURE
    record["name"] = "from-the-future"
    record["params"] = {"lr": 0.2}
    record["status"]["started_at"] = later(base["status"]["started_at"], 60)
    record["status"]["ended_at"] = later(base["status"]["ended_at"], 60)
    record["lineage"] = {"parents": [base["id"]], "note": "caf\u00e9 \u2615", "weights": [0.1, 1e-07, 3]}
    record["command"]["sandbox"] = {"kind": "bwrap", "level": 3}
    record["outputs"][0]["x_future_hint"] = "kept as sent"
    return record


def one_line_error(result: Result, code: int = 128) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    return result.err


def lr_changed(section: dict[str, Any]) -> bool:
    (change,) = section["changes"]
    return change["path"] in ("lr", "params.lr") and (change["old"], change["new"]) == (0.1, 0.2)


def run_json(run_id: str) -> str:
    return f"runs/{run_id[:2]}/{run_id}/run.json"


# ------------------------------------------------------------------------------ a newer version


def test_a_newer_record_is_fetched_listed_shown_diffed_and_verified(repo: Repo, tmp_path: Path) -> None:
    bare = bare_remote(repo, tmp_path)
    local = local_run(repo)
    future = plant_run(bare, from_the_future(local))
    run_id = future["id"]

    fetched = repo.prov("fetch", "origin")
    assert fetched.code == 0, fetched.err
    assert run_id in repo.run_ids() and local["id"] in repo.run_ids()

    lines = [json.loads(line) for line in repo.prov("log", "--json").out.splitlines()]
    assert [r["id"] for r in lines] == [run_id, local["id"]]  # newest first, by start time
    assert lines[0]["lineage"] == future["lineage"]
    text_log = repo.prov("log")
    assert text_log.code == 0 and run_id[:12] in text_log.out and "[from-the-future]" in text_log.out

    stored = repo.blob(run_id)
    assert stored == stored_form(future)
    shown = repo.prov("show", "--json", run_id[:8])
    assert shown.code == 0, shown.err
    assert shown.out.encode() == stored  # unknown fields byte for byte, as plain git reads them
    text = repo.prov("show", run_id)
    assert text.code == 0 and run_id in text.out, text.err

    diff = repo.prov("diff", "--json", local["id"], run_id)
    assert diff.code == 0, diff.err
    sections = diff.json()["sections"]
    assert lr_changed(sections["params"])
    assert not sections["command"]["changed"] and not sections["outputs"]["changed"]  # unknown fields ignored
    assert "not compared: command.sandbox, lineage, outputs[0].x_future_hint" in diff.err
    assert repo.prov("diff", local["id"], run_id).code == 0

    verified = repo.prov("verify", "--all")
    assert verified.code == 0, verified.out + verified.err
    assert repo.prov("verify", run_id).code == 0
    assert (repo.path / ".prov" / "runs" / run_id / "run.json").read_bytes() == stored


def test_a_newer_record_must_still_hold_the_rules_we_know(repo: Repo, tmp_path: Path) -> None:
    bare = bare_remote(repo, tmp_path)
    local = local_run(repo)
    broken = from_the_future(local)
    broken["status"]["exit_code"] = "zero"
    planted = plant_run(bare, broken)
    before = repo.git("rev-parse", REF)
    err = one_line_error(repo.prov("fetch", "origin"))
    assert f"{run_json(planted['id'])}: record does not match the run schema (version {FUTURE}, newer than 2)" \
        in err and "status.exit_code" in err and err.rstrip().endswith("nothing was merged"), err
    assert repo.git("rev-parse", REF) == before

    edited = plant_run(bare, {**from_the_future(local), "id": "0" * 64}, reidentify=False)
    err = one_line_error(repo.prov("fetch", "origin"))
    assert "does not match its content" in err and edited["id"][:12] in err, err


# ------------------------------------------------------------------------------ a known version, exactly


def with_unknown_field(base: dict[str, Any], version: int, where: str) -> dict[str, Any]:
    record = copy.deepcopy(base)
    record["schema_version"] = version
    if where == "top":
        record["extra"] = 1
    else:
        record["git"]["worktree"] = "linked"
    return record


def v1_record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(V1_RECORD.read_bytes())
    return record


KNOWN = [(1, "top"), (2, "top"), (2, "nested")]
UNEXPECTED = {"top": "record: unexpected 'extra'", "nested": "record.git: unexpected 'worktree'"}


@pytest.mark.parametrize(("version", "where"), KNOWN)
def test_a_known_version_with_an_unknown_field_is_refused_by_fetch(repo: Repo, tmp_path: Path, version: int,
                                                                   where: str) -> None:
    bare = bare_remote(repo, tmp_path)
    base = v1_record() if version == 1 else local_run(repo)
    local_run(repo, "0.3")
    planted = plant_run(bare, with_unknown_field(base, version, where))
    before = repo.git("rev-parse", REF)
    err = one_line_error(repo.prov("fetch", "origin"))
    assert err.startswith(f"git prov: error: refused {REF} from origin: {run_json(planted['id'])}: "), err
    assert f"record does not match the run schema version {version}: {UNEXPECTED[where]}" in err, err
    assert err.rstrip().endswith("nothing was merged"), err
    assert repo.git("rev-parse", REF) == before and planted["id"] not in repo.run_ids()
    assert repo.git("for-each-ref", "refs/prov/remotes") == ""


@pytest.mark.parametrize(("version", "where"), KNOWN)
def test_a_known_version_with_an_unknown_field_is_reported_by_verify(repo: Repo, version: int,
                                                                      where: str) -> None:
    base = v1_record() if version == 1 else local_run(repo)
    planted = plant_run(repo.path, with_unknown_field(base, version, where))
    run_id = planted["id"]
    verified = repo.prov("verify", "--json", run_id)
    assert verified.code == 1, verified.err
    found = [p for p in verified.json()["problems"] if p["kind"] == "schema"]
    assert len(found) == 1 and found[0]["path"] == f"{REF}:{run_json(run_id)}", found
    assert f"run schema version {version}" in found[0]["message"] and "unexpected" in found[0]["message"]
    for args in (("show", run_id), ("show", "--json", run_id), ("diff", run_id, run_id), ("log",)):
        err = one_line_error(repo.prov(*args))
        assert f"run {run_id[:12]}: record does not match the run schema version {version}" in err, err


@pytest.mark.parametrize("claimed", [0, -1, 2.5, "3", None])
def test_a_version_that_is_no_version_is_refused(repo: Repo, tmp_path: Path, claimed: object) -> None:
    bare = bare_remote(repo, tmp_path)
    planted = plant_run(bare, {**local_run(repo), "schema_version": claimed})
    err = one_line_error(repo.prov("fetch", "origin"))
    assert f"{run_json(planted['id'])}: record does not match the run schema: record.schema_version: " \
           f"{json.dumps(claimed)} is not a version (an integer, 1 or more)" in err, err


# ------------------------------------------------------------------------------ version 1 forever


def test_a_v1_record_of_the_old_release_reads_and_diffs_against_a_v2_one(repo: Repo, tmp_path: Path) -> None:
    assert repo.git("rev-parse", "HEAD").strip() == V1_COMMIT  # the fixture's commit is this repo's
    old_bytes = V1_RECORD.read_bytes()
    old = v1_record()
    assert old["schema_version"] == 1 and record_id(old) == old["id"] and stored_form(old) == old_bytes
    bare = bare_remote(repo, tmp_path)
    plant_run(bare, old, reidentify=False)
    assert repo.prov("fetch", "origin").code == 0
    new = local_run(repo, "0.2")
    assert new["schema_version"] == 2

    assert [json.loads(line)["id"] for line in repo.prov("log", "--json").out.splitlines()] == [new["id"], old["id"]]
    assert repo.prov("show", "--json", old["id"]).out.encode() == old_bytes == repo.blob(old["id"])
    assert repo.prov("show", old["id"][:10]).code == 0
    diff = repo.prov("diff", "--json", old["id"], new["id"])
    assert diff.code == 0 and "not compared" not in diff.err, diff.err
    sections = diff.json()["sections"]
    assert lr_changed(sections["params"])
    assert not sections["outputs"]["changed"] and not sections["code"]["changed"]
    verified = repo.prov("verify", "--all")
    assert verified.code == 0, verified.out + verified.err
