"""Evidence rules for the code section (design.md "Evidence rules"): untracked code counts, outputs
are not code, the present is compared honestly, git's clean filters hold, sparse checkouts record clean.

Each test builds the situation in a real repository with real git, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from tests.helpers import Repo


def diff(repo: Repo, *args: str) -> dict[str, Any]:
    result = repo.prov("diff", "--json", *args)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


def code_files(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["path"], f["status"]) for f in data["sections"]["code"]["files"]]


def all_objects(repo: Repo) -> bytes:
    done = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo.path,
                          capture_output=True, check=True)
    return done.stdout


def tree_files(repo: Repo, commit: str) -> dict[str, str]:
    out = repo.git("ls-tree", "-r", commit)
    return {line.split("\t", 1)[1]: line.split()[2] for line in out.splitlines()}


# ------------------------------------------------------------------ untracked code counts


def test_untracked_helper_edit_is_a_code_change(repo: Repo) -> None:
    repo.write("helper.py", "SCALE = 1\n")
    a = repo.record("--", "true")
    assert a["git"]["dirty"] is True and a["git"]["untracked"] == ["helper.py"]
    assert tree_files(repo, a["git"]["snapshot"]).keys() == {"train.py", "helper.py"}
    repo.write("helper.py", "SCALE = 2\n")
    b = repo.record("--", "true")
    data = diff(repo)
    assert code_files(data) == [("helper.py", "modified")]
    assert data["sections"]["code"]["changed"] is True and data["identical"] is False
    assert repo.prov("diff", "--exit-code").code == 1
    shown = repo.prov("show", b["id"]).out
    assert "untracked: helper.py" in shown, shown
    # Nothing was staged: the user's index is untouched.
    assert repo.git("status", "--porcelain").strip() == "?? helper.py"


def test_ignored_files_are_not_code(repo: Repo) -> None:
    repo.write(".gitignore", "cache/\n")
    repo.commit_all("ignore")
    repo.write("cache/x.bin", "junk\n")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is False and run["git"]["snapshot"] is None
    assert "untracked" not in run["git"]


def test_large_untracked_file_is_named_by_size_and_digest(repo: Repo) -> None:
    repo.git("config", "prov.snapshot.maxFileSize", "100")
    repo.write("big.txt", "x" * 500)
    repo.write("small.py", "S = 1\n")
    result = repo.prov("record", "--", "true")
    assert result.code == 0, result.err
    assert "big.txt" in result.err and "500" in result.err, result.err
    a = repo.newest()
    assert a["git"]["untracked"] == ["small.py"]
    [big] = a["git"]["untracked_omitted"]
    assert big["path"] == "big.txt" and big["size"] == 500 and big["digest"].startswith("sha256:")
    assert "big.txt" not in tree_files(repo, a["git"]["snapshot"])
    assert b"x" * 500 not in all_objects(repo)
    repo.write("big.txt", "y" * 500)
    repo.record("--", "true")
    assert code_files(diff(repo)) == [("big.txt", "modified")]
    repo.record("--", "true")
    assert code_files(diff(repo)) == []


def test_untracked_file_count_and_total_bounds(repo: Repo) -> None:
    repo.git("config", "prov.snapshot.maxFiles", "2")
    for name in ("a.py", "b.py", "c.py"):
        repo.write(name, f"{name}\n")
    run = repo.record("--", "true")
    assert run["git"]["untracked"] == ["a.py", "b.py"]
    assert [o["path"] for o in run["git"]["untracked_omitted"]] == ["c.py"]
    repo.git("config", "--unset", "prov.snapshot.maxFiles")
    repo.git("config", "prov.snapshot.maxTotal", "8")
    run = repo.record("--", "true")
    assert run["git"]["untracked"] == ["a.py"]  # 5 bytes each: a second would pass 8
    assert [o["path"] for o in run["git"]["untracked_omitted"]] == ["b.py", "c.py"]


# ------------------------------------------------------------------ outputs are not code


def test_regenerated_committed_result_is_not_a_code_change(repo: Repo) -> None:
    script = "import sys; open('results/alpha.yml', 'w').write('alpha: %s\\n' % sys.argv[1])"
    repo.write("results/alpha.yml", "alpha: 0\n")
    repo.commit_all("results")
    a = repo.record("-o", "results/alpha.yml", "--", "python3", "-c", script, "1")
    assert a["git"]["dirty"] is False
    b = repo.record("-o", "results/alpha.yml", "--", "python3", "-c", script, "2")
    assert b["git"]["dirty"] is False, b["git"]  # the modified result is the run's output, not code
    data = diff(repo)
    assert data["sections"]["code"]["changed"] is False, data["sections"]["code"]
    assert data["sections"]["outputs"]["changed"] is True
    assert "diff --git" not in repo.prov("diff", "--patch").out
    # Committing the new result: the two runs' commits differ, but only in an output.
    repo.commit_all("new results")
    repo.record("-o", "results/alpha.yml", "--", "python3", "-c", script, "2")
    data = diff(repo)
    assert data["sections"]["code"]["changed"] is False, data["sections"]["code"]


def test_outputs_and_metrics_left_untracked_are_not_code(repo: Repo) -> None:
    script = ("import json, os, sys; os.makedirs('out', exist_ok=True); open('out/model.bin', 'w').write(sys.argv[1]);"
              "json.dump({'acc': float(sys.argv[1])}, open('metrics.json', 'w'))")
    a = repo.record("-o", "out", "-m", "metrics.json", "--", "python3", "-c", script, "0.5")
    assert a["git"]["dirty"] is False
    b = repo.record("-o", "out", "-m", "metrics.json", "--", "python3", "-c", script, "0.7")
    assert b["git"]["dirty"] is False and "untracked" not in b["git"], b["git"]
    data = diff(repo)
    assert data["sections"]["code"]["changed"] is False


def test_output_of_either_run_stays_out_of_the_code_diff(repo: Repo) -> None:
    # Run a left report.txt untracked and did not declare it; run b declares it as its output.
    repo.write("report.txt", "one\n")
    a = repo.record("--", "true")
    assert a["git"]["untracked"] == ["report.txt"]
    repo.write("report.txt", "two\n")
    repo.record("-o", "report.txt", "--", "true")
    data = diff(repo)
    assert data["sections"]["code"]["changed"] is False, data["sections"]["code"]
    assert "diff --git" not in repo.prov("diff", "--patch").out


# ------------------------------------------------------------------ the present, honestly


def test_worktree_right_after_a_dirty_record_is_the_same(repo: Repo) -> None:
    repo.write("train.py", "print('edited')\n")
    repo.write("helper.py", "H = 1\n")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is True
    data = diff(repo, "--worktree")
    assert data["sections"]["code"]["changed"] is False, data["sections"]["code"]
    assert code_files(data) == []
    repo.write("helper.py", "H = 2\n")
    assert code_files(diff(repo, "--worktree")) == [("helper.py", "modified")]


def test_worktree_after_staging_part_of_an_edit(repo: Repo) -> None:
    repo.write("train.py", "print('one')\n")
    repo.git("add", "train.py")
    repo.write("train.py", "print('two')\n")
    repo.record("--", "true")
    data = diff(repo, "--worktree")
    assert data["sections"]["code"]["changed"] is False, data["sections"]["code"]


# ------------------------------------------------------------------ git's clean filters


def _rot13_filter(repo: Repo) -> None:
    rot = "tr 'A-Za-z' 'N-ZA-Mn-za-m'"
    repo.git("config", "filter.crypt.clean", rot)
    repo.git("config", "filter.crypt.smudge", rot)
    repo.git("config", "filter.crypt.required", "true")
    repo.write(".gitattributes", "secret.txt filter=crypt\n")


def test_dirty_snapshot_goes_through_the_clean_filter(repo: Repo) -> None:
    _rot13_filter(repo)
    repo.write("secret.txt", "hunter two\n")
    repo.commit_all("encrypted")
    assert b"hunter two" not in all_objects(repo)
    repo.write("secret.txt", "plaintext password swordfish\n")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is True
    blob = tree_files(repo, run["git"]["snapshot"])["secret.txt"]
    assert repo.git("cat-file", "-p", blob) == "cynvagrkg cnffjbeq fjbeqsvfu\n"
    assert b"swordfish" not in all_objects(repo)
    # An untracked file under the filter is filtered too.
    repo.write(".gitattributes", "secret*.txt filter=crypt\n")
    repo.write("secret2.txt", "another swordfish\n")
    repo.record("--", "true")
    assert b"swordfish" not in all_objects(repo)


def test_a_filtered_file_unchanged_since_checkout_is_clean(repo: Repo) -> None:
    _rot13_filter(repo)
    repo.write("secret.txt", "hunter two\n")
    repo.commit_all("encrypted")
    # Touch it: same content, new stat data, so git's status must run the filter to compare.
    os.utime(repo.path / "secret.txt", (1, 1))
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is False, run["git"]


def test_lfs_style_filter_stores_the_pointer(repo: Repo) -> None:
    pointer = "printf 'version https://git-lfs.github.com/spec/v1\\nsize %s\\n' $(wc -c | tr -d ' ')"
    repo.git("config", "filter.lfs.clean", pointer)
    repo.git("config", "filter.lfs.smudge", "cat")
    repo.write(".gitattributes", "*.bin filter=lfs\n")
    repo.commit_all("lfs")
    repo.write("weights.bin", "W" * 64 + "\n")
    run = repo.record("--", "true")
    blob = tree_files(repo, run["git"]["snapshot"])["weights.bin"]
    assert repo.git("cat-file", "-p", blob).startswith("version https://git-lfs")
    assert b"W" * 64 not in all_objects(repo)


# ------------------------------------------------------------------ sparse checkout


def _sparse(repo: Repo, *extra: str) -> None:
    for i in range(3):
        repo.write(f"in/a{i}.py", "A\n")
        repo.write(f"out/b{i}.py", "B\n")
    repo.commit_all("two folders")
    repo.git("sparse-checkout", "set", "--cone", *extra, "in")
    assert not (repo.path / "out").exists()
    assert repo.git("status", "--porcelain").strip() == ""


def test_sparse_checkout_records_clean(repo: Repo) -> None:
    _sparse(repo)
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is False and run["git"]["snapshot"] is None, run["git"]
    repo.write("in/a0.py", "A2\n")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is True
    files = tree_files(repo, run["git"]["snapshot"])
    assert {"out/b0.py", "out/b1.py", "in/a0.py"} <= files.keys()  # nothing outside the cone deleted
    assert code_files(diff(repo)) == [("in/a0.py", "modified")]


def test_sparse_index_records_without_error(repo: Repo) -> None:
    _sparse(repo, "--sparse-index")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is False, run["git"]
    repo.write("in/a1.py", "A2\n")
    repo.write("in/new.py", "N\n")
    run = repo.record("--", "true")
    assert run["git"]["dirty"] is True and run["git"]["untracked"] == ["in/new.py"]
    files = tree_files(repo, run["git"]["snapshot"])
    assert {"out/b0.py", "in/a1.py", "in/new.py"} <= files.keys()
    assert sorted(code_files(diff(repo))) == [("in/a1.py", "modified"), ("in/new.py", "added")]
    assert diff(repo, "--worktree")["sections"]["code"]["changed"] is False


def test_show_json_lists_untracked(repo: Repo) -> None:
    repo.write("helper.py", "X\n")
    run = repo.record("--", "true")
    shown = json.loads(repo.prov("show", "--json", run["id"]).out)
    assert shown["git"]["untracked"] == ["helper.py"]
