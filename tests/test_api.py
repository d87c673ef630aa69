"""The Python API, driven from real `python -c` processes in real repositories."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers import Repo

SAME_WORK = "import shutil; shutil.copy('data.txt', 'out.txt')"


def python(repo: Repo, code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=repo.path, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, check=False)


def api(repo: Repo, code: str, env: dict[str, str] | None = None) -> Any:
    """Run code that prints one JSON value last; returns it."""
    done = python(repo, code, env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_block_is_recorded_like_the_cli_records_the_same_work(repo: Repo) -> None:
    repo.write("data.txt", "rows\n")
    cli = repo.record("-i", "data.txt", "-o", "out.txt", "-p", "lr=0.1", "--name", "copy", "--",
                      sys.executable, "-c", SAME_WORK)
    (repo.path / "out.txt").unlink()
    run_id = api(repo, f"""
        import json, prov_git
        with prov_git.run(name="copy", inputs=["data.txt"], outputs=["out.txt"], params={{"lr": 0.1}}) as run:
            {SAME_WORK}
        print(json.dumps(run.id))
    """)
    record = repo.newest()
    assert record["id"] == run_id
    for key in ("name", "params", "metrics", "inputs", "git", "schema_version", "recorder"):
        assert record[key] == cli[key], key
    assert [o["digest"] for o in record["outputs"]] == [o["digest"] for o in cli["outputs"]]
    assert record["command"]["argv"] == [sys.executable, "-c"] and record["command"]["executed"] is True
    assert record["command"]["cwd"] == cli["command"]["cwd"] == "."
    assert record["status"]["exit_code"] == 0 and record["status"]["resources"]["max_rss_kib"] > 0
    assert set(record["env"]) == set(cli["env"]) and record["env"]["packages"] == cli["env"]["packages"]


def test_params_and_metrics_added_during_the_block(repo: Repo) -> None:
    record = api(repo, """
        import json, prov_git
        with prov_git.run(params={"model": {"depth": 2}}) as run:
            run.param("model.width", 8)
            run.param("epochs", 10)
            run.metric("val.acc", 0.93)
        print(json.dumps(run.record))
    """)
    assert record["params"] == {"model": {"depth": 2, "width": 8}, "epochs": 10}
    assert record["metrics"] == {"val": {"acc": 0.93}}
    assert repo.newest()["id"] == record["id"]


def test_metrics_files_and_late_outputs_are_read_when_the_block_ends(repo: Repo) -> None:
    record = api(repo, """
        import json, prov_git
        with prov_git.run(metrics_files=["m.json"]) as run:
            open("m.json", "w").write('{"loss": 0.5}')
            open("late.txt", "w").write("x")
            run.output("late.txt")
        print(json.dumps(run.record))
    """)
    assert record["metrics"] == {"loss": 0.5}
    assert [o["path"] for o in record["outputs"]] == ["late.txt"]


def test_an_exception_records_a_failed_run_and_propagates(repo: Repo) -> None:
    done = python(repo, """
        import prov_git
        with prov_git.run(name="boom"):
            raise KeyError("missing column")
    """)
    assert done.returncode == 1 and "KeyError" in done.stderr
    status = repo.newest()["status"]
    assert status["exit_code"] == 1 and status["exception"] == "KeyError" and repo.newest()["name"] == "boom"


def test_a_killed_block_records_nothing(repo: Repo) -> None:
    done = python(repo, """
        import os, signal, prov_git
        with prov_git.run(name="killed"):
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert done.returncode == -9
    assert repo.run_ids() == []


def test_the_decorator_records_each_call(repo: Repo) -> None:
    ids = api(repo, """
        import json, prov_git
        @prov_git.recorded(params={"k": 1})
        def step(x):
            return x * 2
        assert step(2) == 4 and step(3) == 6
        print(json.dumps([r["name"] for r in prov_git.open(".").runs()]))
    """)
    assert ids == ["step", "step"]


def test_record_runs_a_command_like_the_cli(repo: Repo) -> None:
    record = api(repo, """
        import json, prov_git
        rec = prov_git.record(["sh", "-c", "echo hi > o.txt"], outputs=["o.txt"], params=["n=3"], name="sh")
        print(json.dumps(rec))
    """)
    assert record["command"]["argv"] == ["sh", "-c", "echo hi > o.txt"] and record["params"] == {"n": 3}
    assert repo.newest()["id"] == record["id"]


def test_reading_the_history(repo: Repo) -> None:
    first = repo.record("--name", "a", "-p", "x=1", "--", "true")
    second = repo.record("--name", "b", "-p", "x=2", "--", "true")
    out = api(repo, """
        import json, prov_git
        repo = prov_git.open(".")
        print(json.dumps({"show": repo.show("@")["id"], "prev": repo.show("@~1")["id"],
                          "runs": [r["id"] for r in repo.runs()], "named": [r["id"] for r in repo.runs(name="a")],
                          "limited": len(repo.runs(limit=1)), "diff": repo.diff("@~1", "@")}))
    """)
    assert out["show"] == second["id"] and out["prev"] == first["id"]
    assert out["runs"] == [second["id"], first["id"]] and out["named"] == [first["id"]] and out["limited"] == 1
    cli = repo.prov("diff", "--json", "@~1", "@").json()
    assert out["diff"] == cli and out["diff"]["sections"]["params"]["changed"] is True


def test_queries_which_and_lineage(repo: Repo) -> None:
    repo.write("raw.txt", "r\n")
    repo.record("-p", "lr=0.1", "-m", "m1.json", "--name", "sweep", "--", "sh", "-c", "echo '{\"acc\": 0.7}' > m1.json")
    repo.record("-p", "lr=0.3", "-m", "m2.json", "--name", "sweep", "--", "sh", "-c", "echo '{\"acc\": 0.9}' > m2.json")
    made = repo.record("-i", "raw.txt", "-o", "clean.txt", "--", "cp", "raw.txt", "clean.txt")
    out = api(repo, """
        import json, prov_git
        repo = prov_git.open(".")
        best = repo.runs(where="metrics.acc > 0.8", sort=["-metrics.acc"])
        print(json.dumps({"best": [r["params"] for r in best], "by_lr": [r["params"]["lr"] for r in
                          repo.runs(name="sweep", sort=["params.lr"])], "which": repo.which("clean.txt"),
                          "lineage": repo.lineage("clean.txt")}))
    """)
    assert out["best"] == [{"lr": 0.3}] and out["by_lr"] == [0.1, 0.3]
    assert [p["run"] for p in out["which"][0]["produced_by"]] == [made["id"]]
    produced = {"from": f"run:{made['id']}", "to": f"file:{out['which'][0]['digest']}", "kind": "generated"}
    assert produced in out["lineage"]["edges"]
    bad = api(repo, """
        import json, prov_git
        try:
            prov_git.open(".").runs(where="metrics.acc >")
        except prov_git.ProvError as exc:
            print(json.dumps([exc.exit_code, str(exc)]))
    """)
    assert bad[0] == 2 and "position 14" in bad[1]


def test_errors_are_prov_errors(repo: Repo, tmp_path: Path) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    out = api(repo, f"""
        import json, prov_git
        from prov_git.errors import NotARepository, RunNotFound, InputError
        found = []
        for call, kind in ((lambda: prov_git.open({str(outside)!r}), NotARepository),
                           (lambda: prov_git.open(".").show("@"), RunNotFound)):
            try:
                call()
            except prov_git.ProvError as exc:
                found.append([isinstance(exc, kind), str(exc)])
        try:
            with prov_git.run(inputs=["absent.csv"]):
                found.append("block ran")
        except InputError as exc:
            found.append([True, str(exc)])
        print(json.dumps(found))
    """)
    assert [ok for ok, _ in out] == [True, True, True], out
    assert "not a git repository" in out[0][1] and "absent.csv" in out[2][1]
    assert repo.run_ids() == []


def test_a_notebook_is_named_by_its_path(repo: Repo) -> None:
    done = python(repo, """
        import prov_git
        with prov_git.run():
            pass
    """, env={"JPY_SESSION_NAME": str(repo.path / "analysis.ipynb")})
    assert done.returncode == 0, done.stderr
    assert "only its saved .ipynb is in the snapshot" in done.stderr
    assert repo.newest()["command"]["argv"] == [str(repo.path / "analysis.ipynb")]


def test_import_is_cheap(repo: Repo) -> None:
    heavy = api(repo, """
        import json, sys, prov_git
        prov_git.ProvError, prov_git.__version__
        print(json.dumps(sorted(m for m in sys.modules
                                if m.split(".")[0] in ("pygit2", "click", "jsonschema", "deepdiff", "yaml"))))
    """)
    assert heavy == []


CLIENT = '''
from __future__ import annotations

import prov_git
from prov_git.records.model import RunRecord


def best(path: str) -> float | None:
    runs: list[RunRecord] = prov_git.open(path).runs(limit=5)
    with prov_git.run(name="typed", params={"lr": 0.1}) as run:
        run.metric("acc", 0.5)
    assert run.id is not None
    record: RunRecord = prov_git.open(path).show(run.id)
    value = record["metrics"].get("acc")
    return float(value) if value is not None and runs is not None else None
'''


def test_a_typed_client_passes_mypy_strict(tmp_path: Path) -> None:
    client = tmp_path / "client.py"
    client.write_text(CLIENT)
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(client)],
                          capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stdout + done.stderr
