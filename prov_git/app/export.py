"""`git prov export`: runs as a W3C PROV document (PROV-JSON, PROV-N, PROV-JSONLD) built with `prov`.

The mapping (design.md "Signatures and standard formats", docs/verifying.md):

- each run is an activity `run:<id>` with its start and end, argv, cwd, exit status, params, name;
- each input and output (a file or a directory) is an entity named by its content digest
  (`file:<algorithm>-<hex>`), so one run's output and the next run's input are the same entity; a
  directory is a prov:Collection whose members are its files, named the same way;
- `used` (inputs, the code commit and dirty snapshot) and `wasGeneratedBy` (outputs the run wrote);
- the code (the snapshot when the tree was dirty, else the commit) is the plan of the association
  between the run and the software agent git-prov, which acted on behalf of the person who
  recorded the run (the author of its commit on refs/prov/runs).

`prov` is imported here only: `record` never pays for it (tests/test_startup.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prov_git import __version__
from prov_git import records as rec
from prov_git.errors import NotAttestable
from prov_git.records.manifest import manifest_files
from prov_git.store import runs, sign
from prov_git.store.repo import Repo
from prov_git.store.resolve import resolve

if TYPE_CHECKING:
    from prov.model import ProvDocument

FORMATS = {"prov-json": "json", "prov-n": "provn", "prov-jsonld": "jsonld"}
NAMESPACES = {
    "gitprov": "urn:git-prov:",
    "run": "urn:git-prov:run:",
    "file": "urn:git-prov:digest:",
    "commit": "urn:git-prov:commit:",
    "agent": "urn:git-prov:agent:",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def entity_id(digest: str) -> str:
    """The entity of a content digest: `sha256:ab..` -> `file:sha256-ab..`."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"file:{algorithm}-{hexdigest}"


def _time(stamp: str) -> datetime:
    return datetime.fromtimestamp(runs.parse_time(stamp), tz=timezone.utc)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _Builder:
    def __init__(self) -> None:
        from prov.constants import PROV
        from prov.model import ProvDocument

        self.kinds = PROV  # prov:Person etc. as qualified names, not strings
        self.doc = ProvDocument()
        for prefix, uri in NAMESPACES.items():
            self.doc.add_namespace(prefix, uri)
        self.entities: set[str] = set()
        self.agents: set[str] = set()
        self.software = f"agent:git-prov-{_UNSAFE.sub('_', __version__)}"

    def entity(self, digest: str, path: str, attributes: dict[str, Any] | None = None) -> str:
        ident = entity_id(digest)
        if ident not in self.entities:  # the first path that named this content labels it
            self.entities.add(ident)
            self.doc.entity(ident, {"prov:label": path, "gitprov:digest": digest, **(attributes or {})})  # type: ignore[dict-item]
        return ident

    def commit(self, oid: str, kind: str) -> str:
        ident = f"commit:{oid}"
        if ident not in self.entities:
            self.entities.add(ident)
            self.doc.entity(ident, {"prov:label": f"git {kind} {oid}", "gitprov:gitCommit": oid})
        return ident

    def person(self, who: tuple[str, str] | None) -> str | None:
        if who is None:
            return None
        name, email = who
        ident = f"agent:{_UNSAFE.sub('_', email or name)}"
        if ident not in self.agents:
            self.agents.add(ident)
            self.doc.agent(ident, {"prov:type": self.kinds["Person"], "prov:label": name, "gitprov:email": email})
        return ident

    def software_agent(self) -> str:
        if self.software not in self.agents:
            self.agents.add(self.software)
            self.doc.agent(self.software, {"prov:type": self.kinds["SoftwareAgent"],
                                           "prov:label": f"git-prov {__version__}"})
        return self.software

    def entry(self, entry: Mapping[str, Any], stored: dict[str, bytes]) -> str | None:
        """The entity of one recorded input or output; a directory with its files as members."""
        if entry["type"] == "missing" or not entry.get("digest"):
            return None
        attributes: dict[str, Any] = {"gitprov:type": entry["type"]}
        if entry.get("size") is not None:
            attributes["gitprov:size"] = entry["size"]
        if entry["type"] == "dir":
            attributes["prov:type"] = self.kinds["Collection"]
        known = entity_id(entry["digest"]) in self.entities
        ident = self.entity(entry["digest"], entry["path"], attributes)
        if entry["type"] == "dir" and not known:
            for member in manifest_files(stored.get(entry.get("manifest") or "", b"")) or []:
                if member.get("digest"):
                    self.doc.hadMember(ident, self.entity(member["digest"], member["path"],
                                                          {"gitprov:type": member.get("type", "file")}))
        return ident

    def run(self, record: rec.Record, stored: dict[str, bytes], who: tuple[str, str] | None) -> None:
        status, command, git = record["status"], record["command"], record["git"]
        started, ended = _time(status["started_at"]), _time(status["ended_at"])
        attributes: dict[str, Any] = {
            "prov:label": record.get("name") or " ".join(command["argv"])[:200],
            "gitprov:argv": _json(command["argv"]), "gitprov:cwd": command["cwd"],
            "gitprov:params": _json(record.get("params", {})), "gitprov:metrics": _json(record.get("metrics", {})),
        }
        if status["exit_code"] is not None:
            attributes["gitprov:exitCode"] = status["exit_code"]
        if status.get("signal") is not None:
            attributes["gitprov:signal"] = status["signal"]
        if record.get("name"):
            attributes["gitprov:name"] = record["name"]
        activity = f"run:{record['id']}"
        self.doc.activity(activity, started, ended, attributes)
        for entry in record["inputs"]:
            ident = self.entry(entry, stored)
            if ident is not None:
                self.doc.used(activity, ident, started, other_attributes={"prov:role": entry["path"]})
        for entry in record["outputs"]:
            ident = self.entry(entry, stored) if entry.get("written") is not False else None
            if ident is not None:
                self.doc.wasGeneratedBy(ident, activity, ended, other_attributes={"prov:role": entry["path"]})
        plan = None
        if git["commit"]:
            plan = self.commit(git["commit"], "commit")
            self.doc.used(activity, plan, started, other_attributes={"prov:role": "code"})
        if git["snapshot"]:
            snapshot = self.commit(git["snapshot"], "snapshot of a dirty work tree")
            if plan is not None:
                self.doc.wasDerivedFrom(snapshot, plan)
            self.doc.used(activity, snapshot, started, other_attributes={"prov:role": "code"})
            plan = snapshot
        software = self.software_agent()
        self.doc.wasAssociatedWith(activity, software, plan)
        person = self.person(who)
        if person is not None:
            self.doc.wasAssociatedWith(activity, person)
            self.doc.actedOnBehalfOf(software, person, activity)


def document(repo: Repo, run_ids: Sequence[str]) -> ProvDocument:
    commits = {ref.id: ref.commit for ref in runs.iter_newest(repo)} if run_ids else {}
    builder = _Builder()
    for run_id in dict.fromkeys(run_ids):
        record = rec.decode(runs.read_file(repo, run_id), expected_id=run_id, where=f"run {run_id[:12]}")
        who = sign.identity(repo, commits[run_id]) if run_id in commits else None
        builder.run(record, runs.run_files(repo, run_id), who)
    return builder.doc


def export(repo: Repo, specs: Sequence[str], fmt: str, lineage: str | None = None) -> str:
    """The runs (RUN specs, or every run upstream of a path with lineage) as PROV text in fmt."""
    if fmt not in FORMATS:
        raise NotAttestable(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    run_ids = [resolve(repo, spec) for spec in specs]
    if lineage is not None:
        from prov_git.app.query import lineage as walk

        run_ids += [node["run"] for node in walk(repo, lineage).nodes if node["kind"] == "run"]
    elif not run_ids:
        run_ids = [resolve(repo, "@")]
    doc = document(repo, run_ids)
    text = doc.serialize(format="provn") if fmt == "prov-n" else doc.serialize(format=FORMATS[fmt], indent=2)
    assert isinstance(text, str)
    return text if text.endswith("\n") else text + "\n"
