"""`git prov verify`: every check finds what it should, names the run and the path, exit 0/1."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import rfc8785

from tests.helpers import Repo, git, plant


def reidentify(record: dict[str, Any]) -> dict[str, Any]:
    """A forged record whose id is honestly recomputed: only content checks can catch it."""
    body = {k: v for k, v in record.items() if k != "id"}
    return {**body, "id": hashlib.sha256(rfc8785.dumps(body)).hexdigest()}


def encode(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def problems(repo: Repo, *args: str) -> tuple[int, list[dict[str, str]]]:
    result = repo.prov("verify", "--json", *args)
    assert "Traceback" not in result.err, result.err
    return result.code, result.json()["problems"]


def kinds(found: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(p["kind"], p["path"]) for p in found}


def test_clean_run_verifies(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    record = repo.record("-i", "data", "-i", "train.py", "-o", "out.txt", "--", "sh", "-c", "echo x > out.txt")
    result = repo.prov("verify")
    assert result.code == 0, result.out
    assert result.out == "" and "verified 1 run(s), 3 path(s): ok" in result.err
    assert repo.prov("verify", record["id"][:8]).code == 0
    assert repo.prov("verify", "--all").code == 0
    report = repo.prov("verify", "--json").json()
    assert report == {"ok": True, "runs": [record["id"]], "paths_checked": 3, "problems": [],
                      "absent": []}


def test_changed_and_vanished_paths_are_named(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    repo.write("data/sub/b.csv", "2\n")
    record = repo.record("-i", "data", "-i", "train.py", "-o", "model.pkl", "--", "sh", "-c", "echo m > model.pkl")
    repo.write("data/a.csv", "changed\n")
    (repo.path / "data/sub/b.csv").unlink()
    repo.write("data/new.csv", "3\n")
    repo.write("train.py", "print('edited')\n")
    (repo.path / "model.pkl").unlink()
    result = repo.prov("verify")
    assert result.code == 1
    lines = result.out.splitlines()
    short = record["id"][:12]
    assert all(line.startswith(f"run {short}: ") for line in lines)
    by_path = {line.split(": ")[1]: line for line in lines}
    assert set(by_path) == {"data/a.csv", "data/sub/b.csv", "data/new.csv", "train.py", "model.pkl"}
    assert "changed" in by_path["data/a.csv"] and "vanished" in by_path["data/sub/b.csv"]
    assert "appeared" in by_path["data/new.csv"] and "vanished" in by_path["model.pkl"]
    code, found = problems(repo)
    assert code == 1
    assert kinds(found) == {("changed", "data/a.csv"), ("vanished", "data/sub/b.csv"), ("added", "data/new.csv"),
                            ("changed", "train.py"), ("vanished", "model.pkl")}


def test_type_change_and_symlink_target(repo: Repo) -> None:
    os.symlink("train.py", repo.path / "link")
    repo.write("thing", "file\n")
    repo.record("-i", "link", "-i", "thing", "--no-exec")
    (repo.path / "link").unlink()
    os.symlink("elsewhere", repo.path / "link")
    (repo.path / "thing").unlink()
    (repo.path / "thing").mkdir()
    code, found = problems(repo)
    assert code == 1 and kinds(found) == {("changed", "link"), ("type", "thing")}


def test_mirror_gap_and_damage_are_reported_until_mirror_runs(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    record = repo.record("-i", "data", "--no-exec")
    folder = repo.path / ".prov" / "runs" / record["id"]
    manifest = record["inputs"][0]["manifest"]
    (folder / "run.json").unlink()
    (folder / manifest).write_text("{}")
    (folder / "extra.txt").write_text("planted")
    code, found = problems(repo)
    mirror = f".prov/runs/{record['id']}"
    assert code == 1 and kinds(found) == {("mirror", f"{mirror}/run.json"), ("mirror", f"{mirror}/{manifest}"),
                                          ("mirror", f"{mirror}/extra.txt")}
    assert "git prov mirror" in found[0]["message"]
    (folder / "extra.txt").unlink()
    assert repo.prov("mirror").code == 0
    assert repo.prov("verify", "--all").code == 0
    # A whole folder gone is one problem; a folder the ref does not know is another.
    import shutil

    shutil.rmtree(folder)
    (repo.path / ".prov" / "runs" / ("ab" * 32)).mkdir()
    code, found = problems(repo, "--all")
    assert kinds(found) == {("mirror", mirror), ("mirror", f".prov/runs/{'ab' * 32}")}
    assert repo.prov("mirror").code == 0
    code, found = problems(repo, "--all")
    assert kinds(found) == {("mirror", f".prov/runs/{'ab' * 32}")}


def test_a_mirror_file_a_power_cut_left_empty_is_reported_and_rewritten(repo: Repo) -> None:
    """record does not fsync the mirror (a view of the ref, which is synced): after a power cut
    a run.json may come back empty; verify names it and `git prov mirror` writes it again."""
    record = repo.record("--no-exec")
    target = repo.path / ".prov" / "runs" / record["id"] / "run.json"
    whole = target.read_bytes()
    target.write_bytes(b"")
    code, found = problems(repo, "--all")
    assert code == 1 and kinds(found) == {("mirror", f".prov/runs/{record['id']}/run.json")}
    assert repo.prov("mirror").code == 0
    assert target.read_bytes() == whole and repo.prov("verify", "--all").code == 0


def test_verify_all_on_every_core_reports_what_one_process_reports(repo: Repo, monkeypatch: Any) -> None:
    """From PARALLEL_FROM runs, verify --all checks records and the mirror in forked workers: the
    same problems, in the same order, as the one-process path, mirror damage included."""
    import shutil

    from prov_git.app import verify
    from prov_git.store.repo import open_repo

    repo.write("data/a.csv", "1\n")
    made = [repo.record("-i", "data", "-p", f"n={n}", "--no-exec") for n in range(4)]
    edited = {**made[1], "params": {"n": 99}}
    plant(repo, made[1]["id"], {"run.json": encode(edited)})
    mirror = repo.path / ".prov" / "runs"
    (mirror / made[0]["id"] / "run.json").write_text("{}")
    (mirror / made[0]["id"] / "extra.txt").write_text("planted")
    shutil.rmtree(mirror / made[2]["id"])
    repo.write("data/a.csv", "2\n")  # the path check reads what the workers sent back of each record
    reports, paths = [], []
    for parallel_from in (10**9, 1):
        monkeypatch.setattr(verify, "PARALLEL_FROM", parallel_from)
        report = verify.verify_all(open_repo(repo.path))
        reports.append([(p.run, p.kind, p.path, p.message) for p in report.problems])
        paths.append((report.paths, [(p.run, p.path) for p in report.absent]))
    assert reports[0] == reports[1] and paths[0] == paths[1] and paths[1][0] == 1
    found = {(run, kind, path) for run, kind, path, _ in reports[1]}
    assert {(made[0]["id"], "mirror", f".prov/runs/{made[0]['id']}/run.json"),
            (made[0]["id"], "mirror", f".prov/runs/{made[0]['id']}/extra.txt"),
            (made[2]["id"], "mirror", f".prov/runs/{made[2]['id']}")} <= found
    assert any(run == made[1]["id"] and kind == "id" for run, kind, _ in found)
    assert any(path.startswith("data") and kind not in ("mirror", "id") for _, kind, path in found), found


def test_interrupted_mirror_temp_files_are_not_runs(repo: Repo) -> None:
    record = repo.record("--", "true")
    folder = repo.path / ".prov" / "runs" / record["id"]
    (folder / ".run.json.abc123.tmp").write_text('{"half": ')
    assert repo.prov("verify", "--all").code == 0


def test_edited_record_fails_its_id(repo: Repo) -> None:
    record = repo.record("-p", "lr=0.1", "--", "true")
    edited = {**record, "params": {"lr": 0.5}}  # id kept: the content no longer hashes to it
    plant(repo, record["id"], {"run.json": encode(edited)})
    code, found = problems(repo, record["id"])
    assert code == 1
    assert ("id", f"refs/prov/runs:runs/{record['id'][:2]}/{record['id']}/run.json") in kinds(found)
    assert any("edited" in p["message"] for p in found)
    # show refuses it as well, in one line
    shown = repo.prov("show", record["id"])
    assert shown.code == 128 and shown.err.count("\n") == 1


def test_record_moved_under_another_id(repo: Repo) -> None:
    record = repo.record("--", "true")
    forged = reidentify({**record, "name": "forged"})
    plant(repo, record["id"], {"run.json": encode(forged)})
    code, found = problems(repo, record["id"])
    assert code == 1 and any("stored under" in p["message"] for p in found)


def test_schema_violation_is_found_by_jsonschema(repo: Repo) -> None:
    record = repo.record("--", "true")
    forged = reidentify({**record, "status": {**record["status"], "exit_code": "zero"}})
    plant(repo, forged["id"], {"run.json": encode(forged)})
    code, found = problems(repo, forged["id"])
    assert code == 1 and found[0]["kind"] == "schema" and "exit_code" in found[0]["message"]


def test_invalid_json_in_the_ref(repo: Repo) -> None:
    record = repo.record("--", "true")
    plant(repo, record["id"], {"run.json": b'{"id": "'})
    result = repo.prov("verify", record["id"])
    assert result.code == 1 and "not valid JSON" in result.out and record["id"][:12] in result.out
    assert len(result.out.splitlines()) == 2  # the record, and the mirror that no longer equals it


def test_tampered_manifest(repo: Repo) -> None:
    repo.write("data/a.csv", "1\n")
    record = repo.record("-i", "data", "--no-exec")
    name = record["inputs"][0]["manifest"]
    plant(repo, record["id"], {name: b'{"files":[],"path":"data"}\n'})
    code, found = problems(repo)
    assert code == 1 and found[0]["kind"] == "manifest" and "hashes to" in found[0]["message"]


def test_missing_and_unpinned_commits(repo: Repo) -> None:
    record = repo.record("--", "true")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("side.txt", "x")
    unpinned = repo.commit_all("side")
    ghost = "1" * 40
    for commit, words in ((ghost, "does not exist"), (unpinned, "not reachable")):
        forged = reidentify({**record, "git": {**record["git"], "commit": commit}})
        plant(repo, forged["id"], {"run.json": encode(forged)})
        for args in ((forged["id"],), ("--all",)):
            code, found = problems(repo, *args)
            assert code == 1
            assert any(p["kind"] == "pin" and words in p["message"] and p["run"] == forged["id"]
                       for p in found), found


def test_all_holds_each_path_to_its_newest_run(repo: Repo) -> None:
    older = repo.record("-o", "out.txt", "--", "sh", "-c", "echo one > out.txt")
    newer = repo.record("-o", "out.txt", "--", "sh", "-c", "echo two > out.txt")
    assert repo.prov("verify", "--all").code == 0
    assert repo.prov("verify", newer["id"]).code == 0
    code, found = problems(repo, older["id"])
    assert code == 1 and kinds(found) == {("changed", "out.txt")}
    code, found = problems(repo, older["id"], newer["id"])
    assert code == 1 and [p["run"] for p in found] == [older["id"]]
    repo.write("out.txt", "three\n")
    code, found = problems(repo, "--all")
    assert code == 1 and [(p["run"], p["path"]) for p in found] == [(newer["id"], "out.txt")]


def test_usage_and_unknown_runs(repo: Repo, empty_repo: Repo) -> None:
    record = repo.record("--", "true")
    assert repo.prov("verify", "--all", record["id"]).code == 2
    unknown = repo.prov("verify", "deadbeef")
    assert unknown.code == 128 and unknown.err.count("\n") == 1 and "unknown run" in unknown.err
    assert empty_repo.prov("verify").code == 128
    none = empty_repo.prov("verify", "--all")
    assert none.code == 0 and "verified 0 run(s)" in none.err


def test_bare_repository_checks_integrity_only(repo: Repo, tmp_path: Path) -> None:
    repo.record("-o", "out.txt", "--", "sh", "-c", "echo x > out.txt")
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    git(bare, "fetch", "-q", str(repo.path), "refs/prov/runs:refs/prov/runs")
    result = Repo(bare).prov("verify", "--all")
    assert result.code == 0, result.out + result.err
    assert Repo(bare).prov("verify").code == 0


def test_forged_path_through_a_symlink_is_not_followed_out_of_the_repo(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root\n")
    os.symlink(outside, repo.path / "etc")
    record = repo.record("--", "true")
    entry = {"path": "etc/passwd", "type": "file", "size": 5,
             "digest": "sha256:" + hashlib.sha256(b"root\n").hexdigest()}
    forged = reidentify({**record, "inputs": [entry]})
    plant(repo, forged["id"], {"run.json": encode(forged)})
    code, found = problems(repo, forged["id"])
    assert code == 1 and [(p["kind"], p["path"]) for p in found if p["kind"] != "mirror"] == \
        [("unreadable", "etc/passwd")]
    assert "outside the repository" in found[-1]["message"]
