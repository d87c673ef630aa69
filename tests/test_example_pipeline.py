"""examples/pipeline/demo.sh end to end: a real throw-away repository, a real pipeline, real records.

Each case makes one change between two recorded runs of train.py; `git prov diff --json` must name
that cause, and only that cause (plus the results it changes)."""

from __future__ import annotations

import functools
import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "pipeline" / "demo.sh"


@functools.cache
def _demo(tmp: str) -> tuple[str, list[dict[str, Any]]]:
    """Run demo.sh once (the hermetic env of the first test that asks) and diff run N-1 -> N."""
    env = {**os.environ, "TMPDIR": tmp}
    out = subprocess.run(["sh", str(DEMO)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    repo = last.split("left in ", 1)[1].split(";", 1)[0]
    ids_dir = Path(last.rsplit("run ids in ", 1)[1].rstrip(")"))
    ids = [(ids_dir / str(n)).read_text().strip() for n in range(1, 8)]
    diffs = []
    for a, b in itertools.pairwise(ids):
        got = subprocess.run(["git", "prov", "diff", "--json", a, b], cwd=repo, env=env,
                             capture_output=True, text=True, check=True)
        diffs.append(json.loads(got.stdout))
    return out.stdout, diffs


@pytest.fixture
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return _demo(str(tmp_path_factory.getbasetemp()))[1]


def changed(diff: dict[str, Any]) -> set[str]:
    return {name for name, section in diff["sections"].items() if section["changed"]}


def code_files(diff: dict[str, Any]) -> list[str]:
    return [f["path"] for f in diff["sections"]["code"].get("files", [])]


@pytest.mark.slow
def test_each_single_cause_change_is_named(cases: list[dict[str, Any]]) -> None:
    param, helper, committed, data, package, nothing = cases
    # 1. the param is on the command line too, so command changes with params
    assert {"command", "params", "outputs", "metrics"} <= changed(param)
    assert changed(param) - {"code"} == {"command", "params", "outputs", "metrics"}
    # 2. an untracked helper is code
    assert changed(helper) == {"code", "outputs"}
    assert code_files(helper) == ["helper.py"]
    # 3. a committed edit of train.py (it changes only the rounding of the loss)
    assert changed(committed) == {"code", "metrics"}
    assert code_files(committed) == ["train.py"]
    # 4. the data: an input by digest; the untracked out/ results are not code
    assert changed(data) == {"inputs", "outputs", "metrics"}
    # 5. a package version
    assert changed(package) == {"env"}
    # 6. nothing
    assert nothing["identical"] is True
    assert changed(nothing) == set()


@pytest.mark.slow
def test_a_metrics_file_committed_between_runs_is_not_code(cases: list[dict[str, Any]]) -> None:
    assert "code" not in changed(cases[0])
    assert code_files(cases[0]) == []
