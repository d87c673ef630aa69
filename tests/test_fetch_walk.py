"""The chain walk's shortcuts for run commits (store/merge.py). _Tips._one_more: a tree proven to be
its parent's with one entry added or changed gives exactly the entries a parse of both trees and a
set difference give, refusing the same malformed trees. _Shrink: a parent taken as its commit less
the run's folder only when it is exactly that. Raw tree objects, hostile ones included, are written
into a real repository."""

from __future__ import annotations

import random
from pathlib import Path

import pygit2
import pytest

from prov_git.errors import RefusedData
from prov_git.store import merge

TREE = pygit2.enums.ObjectType.TREE


def reference(data: bytes, base: bytes) -> list[tuple[bytes, bytes, bytes]] | str:
    """What the walk found before the shortcut: both trees parsed strictly, then a set difference."""
    whole, one = merge._tree_syntax(20)
    if whole.fullmatch(data) is None or whole.fullmatch(base) is None:
        return "refused"
    return sorted(set(one.findall(data)) - set(one.findall(base)))


def entry(name: bytes, oid: bytes, mode: bytes = b"40000") -> bytes:
    return mode + b" " + name + b"\0" + oid


def oid(rng: random.Random) -> bytes:
    return bytes(rng.choice((0, 32, 48, rng.randrange(256))) for _ in range(20))  # NULs and spaces inside ids


def variants(rng: random.Random, names: list[bytes], hint: bytes) -> list[tuple[bytes, bytes]]:
    """(tree, base) pairs: the honest change, and the changes a hostile chain could make instead."""
    base_entries = [entry(n, oid(rng)) for n in sorted(names)]
    base = b"".join(base_entries)
    new = entry(hint, oid(rng))
    at = sorted([*names, hint]).index(hint) if hint not in names else sorted(names).index(hint)
    inserted = b"".join([*base_entries[:at], new, *base_entries[at:]])
    replaced = b"".join([*base_entries[:at], new, *base_entries[at + 1:]]) if hint in names else inserted
    cut = rng.randrange(1, len(base)) if len(base) > 1 else 0
    out = [(inserted, base), (replaced, base), (base + new, base), (new + base, base),
           (inserted + base_entries[0], base) if base_entries else (inserted, base),
           (base[:cut] + new + base[cut:], base),  # spliced inside an entry
           (inserted.replace(b"\0", b"\0\0", 1), base), (inserted[:-1], base),
           (b"".join([*base_entries[:at], entry(hint, oid(rng), b"100644"), *base_entries[at:]]), base),
           (b"".join([*base_entries[:at], new, new, *base_entries[at:]]), base),
           (inserted, base + entry(b"zz\0z", oid(rng))), (inserted, base[:-3]),
           (inserted.replace(b"40000 ", b"40000  ", 1), base)]
    if base_entries:
        other = entry(base_entries[0][6:6 + len(hint)], oid(rng))  # the first name, another id
        out += [(other + base[len(other):], base), (b"".join([new, *base_entries[1:]]), base)]
    return out


@pytest.mark.parametrize("name_size", [2, 64])
def test_the_shortcut_finds_what_the_set_difference_finds(tmp_path: Path, name_size: int) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    rng = random.Random(name_size)
    hexdigits = b"0123456789abcdef"
    for _ in range(60):
        names = sorted({bytes(rng.choice(hexdigits) for _ in range(name_size)) for _ in range(rng.randrange(0, 12))})
        hint = rng.choice(names) if names and rng.random() < 0.4 else bytes(
            rng.choice(hexdigits) for _ in range(name_size))
        for data, base in variants(rng, names, hint):
            expected = reference(data, base)
            tree_id, base_id = repo.odb.write(TREE, data), repo.odb.write(TREE, base)
            if tree_id == base_id:
                continue
            for known in ("none", "tree", "base"):
                tips = merge._Tips(repo)
                try:
                    if known != "none":
                        tips.data(tree_id if known == "tree" else base_id, "known")
                    found: list[tuple[bytes, bytes, bytes]] | str = sorted(tips.new_entries(
                        tree_id, base_id, "tree", "base", hint))  # two entries of one name: in either order
                except RefusedData:
                    found = "refused"
                assert found == expected, (known, data, base, hint)


# ------------------------------------------------------------------ trees read ahead (store/catfile.Lookahead)


def _cat_file(path: Path, asks: list[str]) -> list[tuple[bytes, bytes]]:
    import subprocess

    from prov_git.store import catfile

    done = subprocess.run(["git", "cat-file", "--batch", "--buffer"], cwd=path, check=True, capture_output=True,
                          input="".join(f"{ask}\n" for ask in asks).encode())
    import io

    return list(catfile.trees(io.BufferedReader(io.BytesIO(done.stdout))))


def test_trees_read_ahead_are_the_trees_asked_and_nothing_else(tmp_path: Path) -> None:
    """Answers that are missing, ambiguous or not trees are passed over; each tree comes with the id
    git gives it, so a lookup can only ever get the bytes of the id it asks for."""
    from prov_git.store import catfile

    git = pygit2.init_repository(str(tmp_path))
    blob = git.create_blob(b"data\n")
    inner = git.TreeBuilder()
    inner.insert("f", blob, pygit2.enums.FileMode.BLOB)
    inner_id = inner.write()
    top = git.TreeBuilder()
    top.insert("dir", inner_id, pygit2.enums.FileMode.TREE)
    top.insert("file", blob, pygit2.enums.FileMode.BLOB)
    top_id = top.write()
    sig = pygit2.Signature("t", "t@example.invalid", 1_700_000_000, 0)
    head = git.create_commit("refs/heads/main", sig, sig, "c\n", top_id, [])
    got = _cat_file(tmp_path, [f"{head}^{{tree}}", f"{head}:missing", f"{head}:file", f"{head}", "0" * 40,
                               f"{head}:dir"])
    assert got == [(str(top_id).encode(), git.odb.read(top_id)[1]), (str(inner_id).encode(), git.odb.read(inner_id)[1])]
    ahead = catfile.Lookahead(iter(got))
    assert ahead(blob) is None  # never a tree: read (and refused) by the walk itself
    assert ahead(inner_id) == git.odb.read(inner_id)[1]  # out of order: from the window
    assert ahead(top_id) == git.odb.read(top_id)[1]
    assert ahead(top_id) is None  # each answer is taken once; the walk keeps what it read


def test_a_lookup_off_the_predicted_path_reads_a_bounded_number_ahead() -> None:
    """A walk that leaves the first-parent line (a merge's other side) asks for trees the stream does
    not hold: each such lookup reads at most PULL answers more and keeps at most WINDOW of them, and
    the answers in the window still serve the walk when it comes back."""
    from prov_git.store import catfile

    stream = [(f"{n:040x}".encode(), b"tree %d" % n) for n in range(1000)]
    ahead = catfile.Lookahead(iter(stream))
    assert ahead(pygit2.Oid(hex="f" * 40)) is None
    assert len(ahead.window) == catfile.Lookahead.PULL
    for _ in range(40):
        ahead(pygit2.Oid(hex="e" * 40))
    assert len(ahead.window) == catfile.Lookahead.WINDOW
    first_kept = 41 * catfile.Lookahead.PULL - catfile.Lookahead.WINDOW
    assert f"{first_kept - 1:040x}".encode() not in ahead.window  # pushed out: the walk reads it itself
    for n in range(first_kept, first_kept + 300):
        assert ahead(pygit2.Oid(hex=f"{n:040x}")) == b"tree %d" % n


# ------------------------------------------------------------------ the fast path (store/merge._Shrink)


def _tree(repo: pygit2.Repository, layout: dict[str, dict[str, pygit2.Oid]], extra: dict[str, pygit2.Oid] | None = None
          ) -> pygit2.Oid:
    """A store tree: runs/<xx>/<id> folders (empty fans and runs/ left out), plus extra top folders."""
    top = repo.TreeBuilder()
    fans = repo.TreeBuilder()
    for xx, folders in sorted(layout.items()):
        fan = repo.TreeBuilder()
        for run_id, folder in folders.items():
            fan.insert(run_id, folder, pygit2.enums.FileMode.TREE)
        if folders:
            fans.insert(xx, fan.write(), pygit2.enums.FileMode.TREE)
    if any(layout.values()):
        top.insert("runs", fans.write(), pygit2.enums.FileMode.TREE)
    for name, oid in (extra or {}).items():
        top.insert(name, oid, pygit2.enums.FileMode.TREE)
    return top.write()


def test_the_fast_path_takes_only_a_parent_that_is_the_commit_less_its_run(tmp_path: Path) -> None:
    """parent_without_run is true exactly when the parent's tree is the commit's without the run's
    folder (and its fan, or runs/, once empty), and that folder is the tip's: any other parent, and
    the walk's slow path (whose refusals test_hostile checks) decides instead."""
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    rng = random.Random(7)

    def folder(text: str) -> pygit2.Oid:
        files = repo.TreeBuilder()
        files.insert("run.json", repo.create_blob(text.encode()), pygit2.enums.FileMode.BLOB)
        return files.write()

    def run_id() -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))

    sig = pygit2.Signature("t", "t@example.invalid", 1_700_000_000, 0)
    for case in range(40):
        layout: dict[str, dict[str, pygit2.Oid]] = {}
        for _ in range(rng.randrange(0, 6)):
            other = run_id()
            layout.setdefault(other[:2], {})[other] = folder(other)
        run = run_id() if rng.random() < 0.8 else (next(iter(layout)) + run_id()[2:] if layout else run_id())
        mine = {xx: dict(f) for xx, f in layout.items()}
        mine.setdefault(run[:2], {})[run] = folder(run)
        tip_tree = _tree(repo, mine)
        honest = _tree(repo, layout)
        another = {xx: dict(f) for xx, f in layout.items()}
        another.setdefault(run[:2], {})[run] = folder("another copy")
        extra = {xx: dict(f) for xx, f in layout.items()}
        stray = run[:2] + run_id()[2:]
        extra.setdefault(run[:2], {})[stray] = folder(stray)
        parents = {
            "honest": (honest, True), "the same tree": (tip_tree, False), "another copy of the run": (
                _tree(repo, another), False), "one more folder": (_tree(repo, extra), False),
            "a forget folder too": (_tree(repo, layout, {"forgotten": folder("f")}), False),
        }
        commits = {label: (tip_tree, *parent) for label, parent in parents.items()}
        # An older commit holding another copy of the run than the tip, over its own honest parent.
        commits["an older commit's other copy"] = (_tree(repo, another), honest, False)
        for label, (commit_tree, parent_tree, expected) in commits.items():
            parent = repo.create_commit(None, sig, sig, "prov: root\n", parent_tree, [])
            commit = repo.create_commit(None, sig, sig, f"prov: run {run}\n", commit_tree, [parent])
            shrink = merge._Shrink(merge._Tips(repo), tip_tree)
            made = repo.get(commit)
            assert isinstance(made, pygit2.Commit)
            found = shrink.parent_without_run(made, parent, run, "commit")
            assert found is expected, (case, label)
