"""`git prov diff`: compare two run records section by section.

One comparison module per kind of section, each a pure function over two records:
`structure` (command, params, env: a JSON differ), `metrics` (the same, plus numeric deltas),
`files` (inputs, outputs, with directory manifests), `code` (a git tree diff computed by the
store), `status` (exit and signal; duration and resources as information). `compare` assembles
them, `gather` is the I/O edge (store, present state), `render_text` and `render_json` format.
"""

from prov_git.records.sections import NAMES as SECTIONS

__all__ = ["SECTIONS"]
