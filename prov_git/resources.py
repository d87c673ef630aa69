"""Runtime files shipped inside the wheel (schemas/, hooks/), found the same way installed or not."""

from __future__ import annotations

from pathlib import Path


def resource_path(*parts: str) -> Path:
    # The wheel maps the top-level schemas/ and hooks/ into the package (pyproject force-include);
    # an editable install runs from the checkout, where they sit one level up. The package is always
    # a plain directory (never zipped), so its folder is what importlib.resources.files() would give,
    # without that module's 4 ms import on every record.
    here = Path(__file__).resolve().parent
    packaged = here.joinpath(*parts)
    if packaged.exists():
        return packaged
    return here.parent.joinpath(*parts)


def read_text(*parts: str) -> str:
    return resource_path(*parts).read_text(encoding="utf-8")
