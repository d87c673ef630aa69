"""Rules on the shape of a fetched refs/prov/runs chain that no single commit breaks on its own.

Merges that add nothing: a merge commit whose tree equals one of its chain parents' trees brings
nothing to that side. Honest clones make some (two clones that merged the same runs in other orders,
then fetched each other's merge; a push racing another), a few per run at most, and the merge of
store/merge.py makes none when the remote holds every run and forget entry here and what only the
local chain has is merges (only_merges_beyond: it moves to the remote's tip instead). A chain of 200,000 of them
holds nothing and costs every clone that takes it a walk over all of them, so a fetch accepts at
most EMPTY_MERGE_FLOOR of them plus EMPTY_MERGES_PER_COMMIT for each other new commit (run, forget
or merge that adds something), counted over the commits the walk of store/merge.check_chain has
fed to EmptyMerges.see so far.
"""

from __future__ import annotations

import pygit2

from prov_git.errors import RefusedData

EMPTY_MERGE_FLOOR = 1000
EMPTY_MERGES_PER_COMMIT = 4
RULE = "merges that add nothing"


class EmptyMerges:
    """Counts, over the new commits of one fetched chain, merges whose tree equals a parent's tree."""

    def __init__(self, git: pygit2.Repository) -> None:
        self.git = git
        self.empty = 0
        self.other = 0
        self.first: pygit2.Oid | None = None  # the first one met (from the tip): named in the refusal

    def see(self, commit: pygit2.Commit, parents: list[pygit2.Oid]) -> None:
        """Count one new commit; refuses as soon as the merges that add nothing exceed the limit
        over the commits seen so far (honest ones are spread among the runs, so a prefix of the walk
        holds as few: a padded chain is refused after ~1,000 of them, not after all)."""
        if len(parents) > 1 and commit.tree_id in {self._tree_of(p) for p in parents}:
            self.empty += 1
            self.first = self.first or commit.id
            if self.empty > self.allowed():
                raise RefusedData(
                    f"commit {str(self.first)[:12]}: {self.empty} {RULE} (tree equal to a parent's tree) "
                    f"among the first {self.empty + self.other} new commits; the limit is "
                    f"{EMPTY_MERGE_FLOOR} + {EMPTY_MERGES_PER_COMMIT} per other new commit")
        else:
            self.other += 1

    def _tree_of(self, oid: pygit2.Oid) -> pygit2.Oid | None:
        found = self.git.get(oid)
        return found.tree_id if isinstance(found, pygit2.Commit) else None

    def allowed(self) -> int:
        return EMPTY_MERGE_FLOOR + EMPTY_MERGES_PER_COMMIT * self.other


def only_merges_beyond(git: pygit2.Repository, local: pygit2.Oid, remote: pygit2.Oid, limit: int = 64) -> bool:
    """Whether every commit local reaches and remote does not is a merge (at most limit of them): when
    remote's tree holds all of local's, moving to remote then drops no run commit nor the code commits
    it pins, and no merge that adds nothing is made (two clones that merged the same runs in other
    orders would otherwise make one each time they fetch each other)."""
    walker = git.walk(local, pygit2.enums.SortMode.NONE)
    walker.hide(remote)
    return all(n < limit and commit.message.startswith("prov: merge") for n, commit in enumerate(walker))
