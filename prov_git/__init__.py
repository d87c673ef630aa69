"""git prov: a git-native provenance recorder.

    import prov_git

    with prov_git.run(name="train", inputs=["data/"], outputs=["model.pkl"], params={"lr": 0.1}) as run:
        run.metric("acc", 0.93)
    print(run.id)

    repo = prov_git.open(".")
    best = repo.runs(where="metrics.acc > 0.9", sort=["-metrics.acc"], limit=1)

docs/api.md is the manual. `import prov_git` stays cheap: the API loads on first use, and none of
pygit2, click, jsonschema or deepdiff is imported until a function needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prov_git.errors import ProvError

__version__ = "0.2.0"

__all__ = ["ProvError", "Repository", "Run", "__version__", "errors", "open", "record", "recorded", "run"]

if TYPE_CHECKING:
    from prov_git import errors
    from prov_git.api import Repository, Run, open, record, recorded, run


def __getattr__(name: str) -> Any:
    if name in ("Repository", "Run", "open", "record", "recorded", "run"):
        from prov_git import api

        return getattr(api, name)
    if name == "errors":
        from prov_git import errors

        return errors
    raise AttributeError(f"module 'prov_git' has no attribute {name!r}")
