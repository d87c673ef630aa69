"""`git prov export`: W3C PROV documents that the `prov` package reads back, connecting runs by digest."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from prov.model import (
    ProvActivity,
    ProvAgent,
    ProvAssociation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvMembership,
    ProvUsage,
)

from tests.helpers import Repo

FORMATS = {"prov-json": "json", "prov-n": "provn", "prov-jsonld": "jsonld"}


def pipeline(repo: Repo) -> tuple[dict[str, Any], dict[str, Any]]:
    """prepare: raw.csv -> clean.csv and parts/; train: clean.csv and parts/a -> model.bin."""
    repo.write("raw.csv", "x\n1\n2\n")
    first = repo.record("-q", "--name", "prepare", "-i", "raw.csv", "-o", "clean.csv", "-o", "parts", "--",
                        "sh", "-c", "grep -v x raw.csv > clean.csv; mkdir -p parts; echo a > parts/a")
    second = repo.record("-q", "--name", "train", "-i", "clean.csv", "-i", "parts/a", "-o", "model.bin",
                         "-p", "lr=0.5", "--", "sh", "-c", "cat clean.csv parts/a > model.bin")
    return first, second


def load(text: str, fmt: str = "prov-json") -> ProvDocument:
    return ProvDocument.deserialize(content=text, format=FORMATS[fmt])


def export(repo: Repo, *args: str) -> str:
    done = repo.prov("export", *args)
    assert done.code == 0, done.err
    return done.out


def ids(doc: ProvDocument, kind: type) -> list[str]:
    return sorted(str(r.identifier) for r in doc.get_records(kind))


def pairs(doc: ProvDocument, kind: type) -> set[tuple[str, str]]:
    """(first, second) formal attributes of each relation record, as strings."""
    return {(str(r.formal_attributes[0][1]), str(r.formal_attributes[1][1])) for r in doc.get_records(kind)}


def entity(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"file:{algorithm}-{hexdigest}"


def test_a_two_run_pipeline_is_connected_by_entity_digest(repo: Repo) -> None:
    first, second = pipeline(repo)
    doc = load(export(repo, "@~1", "@", "--to", "prov-json"))
    assert ids(doc, ProvActivity) == sorted([f"run:{first['id']}", f"run:{second['id']}"])
    clean = entity(first["outputs"][0]["digest"])
    assert clean == entity(second["inputs"][0]["digest"])
    generated, used = pairs(doc, ProvGeneration), pairs(doc, ProvUsage)
    assert (clean, f"run:{first['id']}") in generated
    assert (f"run:{second['id']}", clean) in used
    # A file inside an output directory is a member of it, and the same entity the next run used.
    part = entity(second["inputs"][1]["digest"])
    assert (entity(first["outputs"][1]["digest"]), part) in pairs(doc, ProvMembership)
    assert (f"run:{second['id']}", part) in used
    raw = hashlib.sha256((repo.path / "raw.csv").read_bytes()).hexdigest()
    assert (f"run:{first['id']}", f"file:sha256-{raw}") in used
    # The code commit is used and is the plan; a person and the software are the agents.
    commit = f"commit:{first['git']['commit']}"
    assert (f"run:{first['id']}", commit) in used
    plans = {str(r.formal_attributes[2][1]) for r in doc.get_records(ProvAssociation) if r.formal_attributes[2][1]}
    assert commit in plans
    agents = {str(a.identifier): {str(t) for t in a.get_asserted_types()} for a in doc.get_records(ProvAgent)}
    assert {"prov:Person", "prov:SoftwareAgent"} <= set().union(*agents.values())
    person = next(a for a in doc.get_records(ProvAgent) if "prov:Person" in {str(t) for t in a.get_asserted_types()})
    assert "Prov Tester" in {str(v) for v in person.get_attribute("prov:label")}
    activity = next(a for a in doc.get_records(ProvActivity) if str(a.identifier) == f"run:{second['id']}")
    assert isinstance(activity, ProvActivity)
    assert activity.get_startTime() is not None and activity.get_endTime() is not None
    assert '"lr":0.5' in str(next(iter(activity.get_attribute("gitprov:params"))))
    assert str(next(iter(activity.get_attribute("gitprov:exitCode")))) == "0"


@pytest.mark.parametrize("fmt", ["prov-json", "prov-n", "prov-jsonld"])
def test_every_format_round_trips(repo: Repo, fmt: str) -> None:
    pipeline(repo)
    text = export(repo, "@~1", "@", "--to", fmt)
    doc = load(text, fmt)
    assert len(list(doc.get_records(ProvActivity))) == 2
    assert len(list(doc.get_records(ProvEntity))) >= 6
    again = load(doc.serialize(format=FORMATS[fmt]), fmt)  # type: ignore[arg-type]
    assert again == doc


def test_default_is_the_newest_run_and_output_goes_to_a_file(repo: Repo) -> None:
    _, second = pipeline(repo)
    assert ids(load(export(repo)), ProvActivity) == [f"run:{second['id']}"]
    out = repo.path / "prov.json"
    done = repo.prov("export", "-o", str(out))
    assert done.code == 0 and "wrote prov-json" in done.err
    assert load(out.read_text()) == load(export(repo))


def test_lineage_exports_everything_upstream_of_a_path(repo: Repo) -> None:
    first, second = pipeline(repo)
    repo.record("-q", "--name", "unrelated", "--", "true")
    doc = load(export(repo, "--lineage", "model.bin"))
    assert ids(doc, ProvActivity) == sorted([f"run:{first['id']}", f"run:{second['id']}"])


def test_unknown_run_and_format(repo: Repo) -> None:
    pipeline(repo)
    assert repo.prov("export", "ffffff").code == 128
    assert repo.prov("export", "--to", "prov-xml").code == 2
