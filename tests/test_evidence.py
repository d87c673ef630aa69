"""Evidence you can trust on real pipelines (issue 10, design.md "Evidence rules"): each case is built
in a real repository the way a user ran into it."""

from __future__ import annotations

import sys

from tests.helpers import Repo

PY = sys.executable


def test_a_failed_run_does_not_claim_the_previous_runs_files(repo: Repo) -> None:
    """A step that writes metrics.json and model.bin, then the same step failing before it writes."""
    repo.write("step.py", "import json, sys\n"
               "if open('fail.txt').read().strip() == '1':\n    sys.exit(1)\n"
               "json.dump({'acc': 0.99}, open('metrics.json', 'w'))\n"
               "open('model.bin', 'wb').write(b'weights')\n")
    args = ["-o", "model.bin", "-m", "metrics.json", "--", PY, "step.py"]
    repo.write("fail.txt", "0")
    good = repo.record(*args)
    assert good["metrics"] == {"acc": 0.99}
    assert [o["written"] for o in good["outputs"]] == [True]
    repo.write("fail.txt", "1")
    result = repo.prov("record", *args)
    assert result.code == 1
    failed = repo.newest()
    assert failed["id"] != good["id"]
    assert failed["outputs"][0]["written"] is False
    assert failed["metrics"] == {}, "a stale metrics file contributes nothing"
    assert "model.bin was not written by this run" in result.err
    assert "metrics file metrics.json was not written by this run" in result.err
    verify = repo.prov("verify", "--json", failed["id"])
    assert verify.code == 1, "verify must not say ok for an output the run did not write"
    assert {(p["kind"], p["path"]) for p in verify.json()["problems"]} == {("not-written", "model.bin")}
    assert repo.prov("verify", good["id"]).code == 0


def test_written_is_null_without_running_and_true_for_a_rewrite(repo: Repo) -> None:
    repo.write("out.txt", "same")
    assert repo.record("-o", "out.txt", "--no-exec")["outputs"][0]["written"] is None
    # Rewriting the same bytes is still this run's write.
    record = repo.record("-o", "out.txt", "--", PY, "-c", "open('out.txt', 'w').write('same')")
    assert record["outputs"][0]["written"] is True
    # A directory is written when any file below it changed.
    repo.write("res/a.txt", "a")
    repo.write("res/b.txt", "b")
    assert repo.record("-o", "res", "--", "true")["outputs"][0]["written"] is False
    record = repo.record("-o", "res", "--", PY, "-c", "open('res/b.txt', 'w').write('B')")
    assert record["outputs"][0]["written"] is True
